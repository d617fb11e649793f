// The access table of the public API (issue 5): every public RPC → the least role that may call it.
// Roles are ordered (viewer < operator < admin, see common.proto), so "may" is a comparison.
import { ResourceKind, Role } from '@flowmesh/contracts';

/** What a request may need beyond its method: reads of secrets-adjacent kinds need admin. */
export interface AccessRule {
  /** Full gRPC path, e.g. `/flowmesh.v1.JobService/RunJob`. */
  method: string;
  /** Least role, or a function of the request for methods whose sensitivity depends on the resource kind. */
  minRole: Role | ((request: unknown) => Role);
  /** A change the audit log must record even when allowed. */
  audited: boolean;
}

/** Resource kinds anyone with a key may read; users, keys, the audit log and checkpoints are admin-only. */
const VIEWER_READABLE_KINDS = new Set<ResourceKind>([
  ResourceKind.RESOURCE_KIND_FLOW,
  ResourceKind.RESOURCE_KIND_FILE_ROOT,
  ResourceKind.RESOURCE_KIND_REFERENCE_TABLE,
  ResourceKind.RESOURCE_KIND_JOB,
]);

/** `GetResource` / `ListResources`: viewer for operational kinds, admin for identity and audit data. */
export function roleForResourceRead(request: unknown): Role {
  const kind = (request as { kind?: ResourceKind } | undefined)?.kind ?? ResourceKind.RESOURCE_KIND_UNSPECIFIED;
  return VIEWER_READABLE_KINDS.has(kind) ? Role.ROLE_VIEWER : Role.ROLE_ADMIN;
}

const J = '/flowmesh.v1.JobService/';
const F = '/flowmesh.v1.FlowService/';
const C = '/flowmesh.v1.ClusterService/';
const { ROLE_VIEWER: VIEWER, ROLE_OPERATOR: OPERATOR, ROLE_ADMIN: ADMIN } = Role;

export const ROLE_TABLE: readonly AccessRule[] = [
  { method: `${J}RunJob`, minRole: OPERATOR, audited: false },
  { method: `${J}SubmitJob`, minRole: OPERATOR, audited: false },
  { method: `${J}WatchJob`, minRole: VIEWER, audited: false },
  { method: `${J}GetJob`, minRole: VIEWER, audited: false },
  { method: `${J}ListJobs`, minRole: VIEWER, audited: false },
  { method: `${J}CancelJob`, minRole: OPERATOR, audited: true },
  { method: `${F}PutFlow`, minRole: ADMIN, audited: true },
  { method: `${F}GetFlow`, minRole: VIEWER, audited: false },
  { method: `${F}ListFlows`, minRole: VIEWER, audited: false },
  { method: `${F}ListFlowVersions`, minRole: VIEWER, audited: false },
  { method: `${F}DeleteFlow`, minRole: ADMIN, audited: true },
  { method: `${C}ListNodes`, minRole: VIEWER, audited: false },
  { method: `${C}GetResource`, minRole: roleForResourceRead, audited: false },
  { method: `${C}ListResources`, minRole: roleForResourceRead, audited: false },
  { method: `${C}PutResource`, minRole: ADMIN, audited: true },
  { method: `${C}DeleteResource`, minRole: ADMIN, audited: true },
  { method: `${C}CreateApiKey`, minRole: ADMIN, audited: true },
  { method: `${C}WhoAmI`, minRole: VIEWER, audited: false },
];

const BY_METHOD = new Map(ROLE_TABLE.map((rule) => [rule.method, rule]));

export function accessRule(method: string): AccessRule | undefined {
  return BY_METHOD.get(method);
}

/** The least role for this call; an unknown method needs admin (deny by default for anything unlisted). */
export function requiredRole(method: string, request?: unknown): Role {
  const rule = BY_METHOD.get(method);
  if (!rule) return ADMIN;
  return typeof rule.minRole === 'function' ? rule.minRole(request) : rule.minRole;
}

export function roleAllows(role: Role, min: Role): boolean {
  // UNSPECIFIED / UNRECOGNIZED (0 / -1) are below viewer: they may do nothing.
  return role >= VIEWER && role >= min;
}

export function roleName(role: Role): string {
  switch (role) {
    case VIEWER:
      return 'viewer';
    case OPERATOR:
      return 'operator';
    case ADMIN:
      return 'admin';
    default:
      return 'none';
  }
}

export function parseRole(name: string): Role | undefined {
  const n = name
    .trim()
    .toLowerCase()
    .replace(/^role_/, '');
  if (n === 'viewer') return VIEWER;
  if (n === 'operator') return OPERATOR;
  if (n === 'admin') return ADMIN;
  return undefined;
}
