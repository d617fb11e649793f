// Where each resource kind lives in the store (relative to the backend's namespace; see docs/key-layout.md).
import { ResourceKind } from '@flowmesh/contracts';

const KIND_PREFIX: ReadonlyMap<ResourceKind, string> = new Map([
  [ResourceKind.RESOURCE_KIND_FLOW, 'flows/'],
  [ResourceKind.RESOURCE_KIND_FILE_ROOT, 'file-roots/'],
  [ResourceKind.RESOURCE_KIND_REFERENCE_TABLE, 'reference-tables/'],
  [ResourceKind.RESOURCE_KIND_USER, 'users/'],
  [ResourceKind.RESOURCE_KIND_API_KEY, 'api-keys/'],
  [ResourceKind.RESOURCE_KIND_JOB, 'jobs/'],
  [ResourceKind.RESOURCE_KIND_AUDIT, 'audit/'],
  [ResourceKind.RESOURCE_KIND_CHECKPOINT, 'checkpoints/'],
]);

/** Every version of a flow, by flow revision: `flow-history/<name>/<flow revision, 10 digits>`. */
export const FLOW_HISTORY_PREFIX = 'flow-history/';
/** The last audit sequence number handed out. */
export const AUDIT_SEQ_KEY = 'meta/audit-seq';

export const ALL_KINDS: readonly ResourceKind[] = [...KIND_PREFIX.keys()];

export function kindPrefix(kind: ResourceKind): string {
  const p = KIND_PREFIX.get(kind);
  if (!p) throw new Error(`no key prefix for kind ${kind}`);
  return p;
}

export function resourceKey(kind: ResourceKind, name: string): string {
  return kindPrefix(kind) + name;
}

export function flowHistoryKey(name: string, flowRevision: number): string {
  return `${FLOW_HISTORY_PREFIX}${name}/${String(flowRevision).padStart(10, '0')}`;
}

/** Kind and name of a resource key; undefined for internal keys (history, counters). */
export function parseResourceKey(key: string): { kind: ResourceKind; name: string } | undefined {
  for (const [kind, prefix] of KIND_PREFIX) {
    if (key.startsWith(prefix)) return { kind, name: key.slice(prefix.length) };
  }
  return undefined;
}

export function auditName(seq: number): string {
  return String(seq).padStart(16, '0');
}
