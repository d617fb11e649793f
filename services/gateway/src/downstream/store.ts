// config-store as the gateway calls it: the generated client behind promise methods that each carry a
// deadline (the caller's, capped by our budget), the caller's cancellation and the cluster token. Reads
// are retried once on UNAVAILABLE; writes are not (a compare-and-set retry could double-apply).
import type { Metadata } from '@grpc/grpc-js';
import type {
  AppendAuditRequest,
  AppendAuditResponse,
  ConfigStoreClient,
  CreateApiKeyRequest,
  CreateApiKeyResponse,
  DeleteRequest,
  DeleteResponse,
  GetRequest,
  GetResponse,
  ListFlowRevisionsRequest,
  ListFlowRevisionsResponse,
  ListRequest,
  ListResponse,
  PutRequest,
  PutResponse,
  VerifyApiKeyRequest,
  VerifyApiKeyResponse,
} from '@flowmesh/contracts';
import { status } from '@grpc/grpc-js';
import { grpcCode, unaryCall, type UnaryMethod } from './unary-call.js';

/** The part of a call context a downstream call inherits. */
export interface Parent {
  signal?: AbortSignal;
  deadline?: Date;
}

export interface Store {
  get(req: GetRequest, parent?: Parent): Promise<GetResponse>;
  list(req: ListRequest, parent?: Parent): Promise<ListResponse>;
  listFlowRevisions(req: ListFlowRevisionsRequest, parent?: Parent): Promise<ListFlowRevisionsResponse>;
  put(req: PutRequest, parent?: Parent): Promise<PutResponse>;
  delete(req: DeleteRequest, parent?: Parent): Promise<DeleteResponse>;
  appendAudit(req: AppendAuditRequest, parent?: Parent): Promise<AppendAuditResponse>;
  createApiKey(req: CreateApiKeyRequest, parent?: Parent): Promise<CreateApiKeyResponse>;
  verifyApiKey(req: VerifyApiKeyRequest, parent?: Parent): Promise<VerifyApiKeyResponse>;
}

export interface StoreOptions {
  metadata: () => Metadata;
  /** Budget of one call. @default 5000 */
  timeoutMs?: number;
}

/** The client to use now: config-store instances come and go in discovery, so it is looked up per call. */
export type ConfigStoreClientSource = () => ConfigStoreClient;

type MethodName =
  'get' | 'list' | 'listFlowRevisions' | 'put' | 'delete' | 'appendAudit' | 'createApiKey' | 'verifyApiKey';

export function createStore(source: ConfigStoreClientSource, opts: StoreOptions): Store {
  const timeoutMs = opts.timeoutMs ?? 5000;
  const call =
    <Req, Res>(name: MethodName, idempotent: boolean) =>
    (req: Req, parent?: Parent): Promise<Res> => {
      const client = source();
      return unaryCall((client[name] as unknown as UnaryMethod<Req, Res>).bind(client), req, {
        timeoutMs,
        idempotent,
        metadata: opts.metadata(),
        signal: parent?.signal,
        deadline: parent?.deadline,
      });
    };
  return {
    get: call<GetRequest, GetResponse>('get', true),
    list: call<ListRequest, ListResponse>('list', true),
    listFlowRevisions: call<ListFlowRevisionsRequest, ListFlowRevisionsResponse>('listFlowRevisions', true),
    put: call<PutRequest, PutResponse>('put', false),
    delete: call<DeleteRequest, DeleteResponse>('delete', false),
    appendAudit: call<AppendAuditRequest, AppendAuditResponse>('appendAudit', false),
    createApiKey: call<CreateApiKeyRequest, CreateApiKeyResponse>('createApiKey', false),
    verifyApiKey: call<VerifyApiKeyRequest, VerifyApiKeyResponse>('verifyApiKey', true),
  };
}

/**
 * A resource, or undefined when config-store has none by that name: its NOT_FOUND arrives as a gRPC error,
 * and callers that ask "is it recorded (yet)?" need absence as a value, not as a failure.
 */
export async function findResource(
  store: Pick<Store, 'get'>,
  kind: GetRequest['kind'],
  name: string,
  parent?: Parent,
): Promise<GetResponse['resource']> {
  try {
    return (await store.get({ kind, name, flowRevision: 0 }, parent)).resource;
  } catch (err) {
    if (grpcCode(err) === status.NOT_FOUND) return undefined;
    throw err;
  }
}
