// flowmesh.v1.ConfigStore: thin handlers over the ResourceStore of @flowmesh/config. Plain async
// functions (testable without a server) plus the grpc-js implementation built from them.
import { ResourceExhaustedError, serverStream, unary, write, type CallContext, type MeshMetrics } from '@flowmesh/runtime';
import {
  type AppendAuditRequest,
  type AppendAuditResponse,
  type ConfigStoreServer,
  type CreateApiKeyRequest,
  type CreateApiKeyResponse,
  type DeleteRequest,
  type DeleteResponse,
  type GetRequest,
  type GetResponse,
  type ListFlowRevisionsRequest,
  type ListFlowRevisionsResponse,
  type ListRequest,
  type ListResponse,
  type PutRequest,
  type PutResponse,
  type VerifyApiKeyRequest,
  type VerifyApiKeyResponse,
  type WatchRequest,
  type WatchResponse,
} from '@flowmesh/contracts';
import { translateStoreError, type ResourceStore } from '@flowmesh/config';
import type { ServerWritableStream } from '@grpc/grpc-js';

/** Responses a watch may hold for a slow reader before it is ended (the client resumes from its revision). */
export const WATCH_BUFFER = 1024;

export interface ConfigStoreHandlers {
  get(req: GetRequest): Promise<GetResponse>;
  put(req: PutRequest): Promise<PutResponse>;
  delete(req: DeleteRequest): Promise<DeleteResponse>;
  list(req: ListRequest): Promise<ListResponse>;
  watch(
    req: WatchRequest,
    ctx: Pick<CallContext, 'signal'>,
    send: (res: WatchResponse) => Promise<void>,
  ): Promise<void>;
  listFlowRevisions(req: ListFlowRevisionsRequest): Promise<ListFlowRevisionsResponse>;
  appendAudit(req: AppendAuditRequest): Promise<AppendAuditResponse>;
  createApiKey(req: CreateApiKeyRequest): Promise<CreateApiKeyResponse>;
  verifyApiKey(req: VerifyApiKeyRequest): Promise<VerifyApiKeyResponse>;
}

export function createConfigStoreHandlers(store: ResourceStore, opts: { metrics?: MeshMetrics } = {}): ConfigStoreHandlers {
  return {
    async get(req) {
      return store.get(req.kind, req.name, req.flowRevision);
    },
    async put(req) {
      const opts = { expectedRevision: req.expectedRevision, actor: req.actor };
      if (!req.revisionOnly) return store.put(req.resource, opts);
      return { resource: undefined, revision: (await store.putRevision(req.resource, opts)).revision };
    },
    async delete(req) {
      return store.delete(req.kind, req.name, { expectedRevision: req.expectedRevision, actor: req.actor });
    },
    async list(req) {
      return store.list(req.kind, { prefix: req.prefix, pageSize: req.pageSize, pageToken: req.pageToken });
    },
    async listFlowRevisions(req) {
      return { revisions: await store.listFlowRevisions(req.name) };
    },
    async appendAudit(req) {
      return store.appendAudit(req.entry);
    },
    async createApiKey(req) {
      const created = await store.createApiKey({
        user: req.user,
        role: req.role,
        description: req.description,
        actor: req.actor,
        secret: req.secret,
      });
      return { keyId: created.keyId, secret: created.secret, resource: created.resource };
    },
    async verifyApiKey(req) {
      return store.verifyApiKey(req.secret);
    },
    watch: (req, ctx, send) => watchResources(store, req, ctx, send, opts.metrics),
  };
}

/**
 * Streams `created`, then every change after `start_revision`. Changes queue in a bounded buffer while
 * the client reads; a client too slow to keep up gets RESOURCE_EXHAUSTED and resumes from its revision.
 */
async function watchResources(
  store: ResourceStore,
  req: WatchRequest,
  ctx: Pick<CallContext, 'signal'>,
  send: (res: WatchResponse) => Promise<void>,
  metrics?: MeshMetrics,
): Promise<void> {
  const queue: WatchResponse[] = [];
  let newest = 0;
  let wake: (() => void) | undefined;
  const notify = (): void => {
    wake?.();
    wake = undefined;
  };
  // Rejected on overflow or a store error; raced against every send, so a reader that stopped reading
  // (a send that never completes) does not keep this call open.
  let failed = false;
  let rejectFailure!: (err: unknown) => void;
  const failure = new Promise<never>((_, reject) => (rejectFailure = reject));
  failure.catch(() => undefined);
  const fail = (err: unknown): void => {
    if (failed) return;
    failed = true;
    rejectFailure(err);
    notify();
  };
  const startRevision = req.startRevision > 0 ? req.startRevision : await store.revision();
  const handle = store.watch(
    { kinds: req.kinds, prefix: req.prefix, startRevision },
    {
      onEvents(events, revision) {
        if (queue.length >= WATCH_BUFFER) {
          fail(
            new ResourceExhaustedError(
              `watcher fell ${WATCH_BUFFER} responses behind; watch again from your last revision`,
            ),
          );
        } else {
          queue.push({ events, revision, created: false });
          newest = Math.max(newest, revision);
          notify();
        }
      },
      onError: (err) => fail(translateStoreError(err, 'watch')),
    },
  );
  const onAbort = (): void => notify();
  ctx.signal.addEventListener('abort', onAbort);
  const sendOrFail = (res: WatchResponse): Promise<void> => {
    const sending = send(res);
    sending.catch(() => undefined); // abandoned when the watch fails first
    return Promise.race([sending, failure]);
  };
  try {
    await Promise.race([handle.ready, failure]);
    await sendOrFail({ events: [], revision: startRevision, created: true });
    for (;;) {
      if (ctx.signal.aborted) return;
      const next = queue.shift();
      if (next) {
        if (metrics) observeLag(metrics, next, newest);
        await sendOrFail(next);
        continue;
      }
      await Promise.race([new Promise<void>((r) => (wake = r)), failure]);
    }
  } finally {
    ctx.signal.removeEventListener('abort', onAbort);
    await handle.close();
  }
}

/** Watch lag as a watcher sees it: now − the write's time, and how many revisions it is behind the newest. */
function observeLag(metrics: MeshMetrics, res: WatchResponse, newest: number): void {
  const written = res.events.reduce((t, e) => Math.max(t, e.resource?.updatedAt?.getTime() ?? 0), 0);
  metrics.watchLag(written > 0 ? Date.now() - written : Number.NaN, newest - res.revision + 1);
}

export function configStoreImplementation(h: ConfigStoreHandlers): ConfigStoreServer {
  return {
    get: unary((req: GetRequest) => h.get(req)),
    put: unary((req: PutRequest) => h.put(req)),
    delete: unary((req: DeleteRequest) => h.delete(req)),
    list: unary((req: ListRequest) => h.list(req)),
    listFlowRevisions: unary((req: ListFlowRevisionsRequest) => h.listFlowRevisions(req)),
    appendAudit: unary((req: AppendAuditRequest) => h.appendAudit(req)),
    createApiKey: unary((req: CreateApiKeyRequest) => h.createApiKey(req)),
    verifyApiKey: unary((req: VerifyApiKeyRequest) => h.verifyApiKey(req)),
    watch: serverStream(
      (req: WatchRequest, ctx: CallContext, call: ServerWritableStream<WatchRequest, WatchResponse>) =>
        h.watch(req, ctx, (res) => write(call, res)),
    ),
  };
}
