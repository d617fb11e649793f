// Key layout of discovery in etcd (docs/key-layout.md): `/<namespace>/nodes/<kind>/<id>` → NodeInfo JSON,
// attached to the node's lease.
import { DiscoveryConfigError } from '../errors.js';
import type { NodeInfo, NodeKindName } from '../types.js';

const NAMESPACE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;

export function checkNamespace(namespace: string): string {
  if (!NAMESPACE_PATTERN.test(namespace)) {
    throw new DiscoveryConfigError(`namespace: "${namespace}" must match ${NAMESPACE_PATTERN.source}`);
  }
  return namespace;
}

export function nodesPrefix(namespace: string, kind?: NodeKindName): string {
  return kind ? `/${namespace}/nodes/${kind}/` : `/${namespace}/nodes/`;
}

export function nodeKey(namespace: string, node: Pick<NodeInfo, 'kind' | 'id'>): string {
  return `${nodesPrefix(namespace, node.kind)}${node.id}`;
}

/** The node id of a key under `nodesPrefix(namespace)`, or undefined for a foreign key. */
export function idFromKey(namespace: string, key: string): string | undefined {
  const prefix = nodesPrefix(namespace);
  if (!key.startsWith(prefix)) return undefined;
  const rest = key.slice(prefix.length).split('/');
  return rest.length === 2 && rest[1] ? rest[1] : undefined;
}
