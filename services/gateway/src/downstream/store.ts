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
import { unaryCall, type UnaryMethod } from './unary-call.js';

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

export function createStore(client: ConfigStoreClient, opts: StoreOptions): Store {
  const timeoutMs = opts.timeoutMs ?? 5000;
  const call =
    <Req, Res>(method: UnaryMethod<Req, Res>, idempotent: boolean) =>
    (req: Req, parent?: Parent): Promise<Res> =>
      unaryCall(method.bind(client) as UnaryMethod<Req, Res>, req, {
        timeoutMs,
        idempotent,
        metadata: opts.metadata(),
        signal: parent?.signal,
        deadline: parent?.deadline,
      });
  return {
    get: call<GetRequest, GetResponse>(client.get, true),
    list: call<ListRequest, ListResponse>(client.list, true),
    listFlowRevisions: call<ListFlowRevisionsRequest, ListFlowRevisionsResponse>(client.listFlowRevisions, true),
    put: call<PutRequest, PutResponse>(client.put, false),
    delete: call<DeleteRequest, DeleteResponse>(client.delete, false),
    appendAudit: call<AppendAuditRequest, AppendAuditResponse>(client.appendAudit, false),
    createApiKey: call<CreateApiKeyRequest, CreateApiKeyResponse>(client.createApiKey, false),
    verifyApiKey: call<VerifyApiKeyRequest, VerifyApiKeyResponse>(client.verifyApiKey, true),
  };
}
