export type {
  ConsulDiscoveryOptions,
  Discovery,
  DiscoveryOptions,
  DiscoveryProviderName,
  DiscoveryView,
  EtcdDiscoveryOptions,
  FileDiscoveryOptions,
  NodeInfo,
  NodeKindName,
  Registration,
  RegistrationState,
} from './types.js';
export { NODE_KINDS } from './types.js';
export {
  DiscoveryClosedError,
  DiscoveryConfigError,
  DiscoveryError,
  DiscoveryUnavailableError,
  InvalidNodeInfoError,
} from './errors.js';
export { isNodeKind, newNodeInfo, validateNodeInfo, type NewNodeInfo } from './node-info.js';
export {
  createDiscovery,
  discoveryFromFlags,
  resolveDiscoveryOptions,
  DEFAULT_REGISTRY_DIR,
  type DiscoveryFlags,
} from './create-discovery.js';
export { nodeKey, nodesPrefix } from './etcd/keys.js';
