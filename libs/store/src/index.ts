export type {
  KvBackend,
  KvEntry,
  KvEvent,
  KvOp,
  CasOptions,
  CommitResult,
  ListOptions,
  ListPage,
  WatchHandle,
  WatchListener,
} from './types.js';
export { MAX_COMMIT_OPS } from './types.js';
export * from './errors.js';
export { createEtcdBackend, type EtcdBackendOptions } from './etcd-backend.js';
export type { AutoCompactOptions } from './etcd-compactor.js';
export { createEmbeddedBackend, type EmbeddedBackendOptions } from './embedded-backend.js';
export { MAX_LIST_LIMIT, DEFAULT_LIST_LIMIT } from './keys.js';
export { putViaCommit, deleteViaCommit, type CommitFn } from './single-ops.js';
