export { createResourceStore, kindName } from './resource-store.js';
export type {
  ResourceStore,
  ResourceStoreDeps,
  ResourceEvent,
  ResourceWatchListener,
  WriteOptions,
} from './resource-store.js';
export type { CreateApiKeyInput, CreatedApiKey, VerifiedApiKey } from './api-keys.js';
export type { FlowChecker, FlowCheckContext, FlowIssue } from './flow-check.js';
export { parseIssues as flowParseIssues } from './flow-check.js';
export { NAME_PATTERN, LIMITS } from './validate.js';
export { ALL_KINDS, kindPrefix } from './keys.js';
export { translateStoreError } from './store-errors.js';
export {
  createConfigClient,
  jobResource,
  isNotFound,
  type ConfigClient,
  type ConfigClientOptions,
  type CallOpts,
} from './config-client.js';
export {
  CONFIG_REVISION_HEADER,
  createConfigCache,
  type ConfigCache,
  type ConfigCacheOptions,
  type ConfigCacheChange,
} from './config-cache.js';
export { newResource, type NewResource } from './new-resource.js';
