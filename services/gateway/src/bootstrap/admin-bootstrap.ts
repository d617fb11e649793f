// First start of an empty store (issue 5): create the `admin` user and an admin API key, and hand the
// key to the operator once. Several gateways may start together: the user is created with
// compare-and-set (expected revision 0), so exactly one of them creates and prints a key. A key given
// in FLOWMESH_ADMIN_KEY is ensured on every start instead (config-store answers idempotently for it).
import { status } from '@grpc/grpc-js';
import { ResourceKind, Role } from '@flowmesh/contracts';
import type { Store } from '../downstream/store.js';
import { grpcCode } from '../downstream/unary-call.js';

export const ADMIN_USER = 'admin';

export type BootstrapResult =
  { kind: 'created'; keyId: string; secret: string; fromEnv: boolean } | { kind: 'existing' };

export async function bootstrapAdmin(
  store: Store,
  opts: { adminKey?: string; actor: string },
): Promise<BootstrapResult> {
  const created = await createAdminUser(store, opts.actor);
  if (!created && !opts.adminKey) return { kind: 'existing' };
  if (!created) {
    // Not the first start, but the operator named the admin key: make sure it exists (idempotent).
    const res = await store.createApiKey({
      user: ADMIN_USER,
      role: Role.ROLE_ADMIN,
      description: 'bootstrap admin key',
      actor: opts.actor,
      secret: opts.adminKey!,
    });
    return { kind: 'created', keyId: res.keyId, secret: res.secret, fromEnv: true };
  }
  const res = await store.createApiKey({
    user: ADMIN_USER,
    role: Role.ROLE_ADMIN,
    description: 'bootstrap admin key',
    actor: opts.actor,
    secret: opts.adminKey ?? '',
  });
  await store.appendAudit({
    entry: {
      actor: opts.actor,
      action: 'BootstrapAdmin',
      target: `user/${ADMIN_USER}`,
      allowed: true,
      detail: `created key ${res.keyId}`,
      at: new Date(),
    },
  });
  return { kind: 'created', keyId: res.keyId, secret: res.secret, fromEnv: !!opts.adminKey };
}

/** True when this call created the admin user (the store had no users); false when someone else had. */
async function createAdminUser(store: Store, actor: string): Promise<boolean> {
  const users = await store.list({ kind: ResourceKind.RESOURCE_KIND_USER, prefix: '', pageSize: 1, pageToken: '' });
  if (users.resources.length > 0) return false;
  try {
    await store.put({
      resource: {
        kind: ResourceKind.RESOURCE_KIND_USER,
        name: ADMIN_USER,
        revision: 0,
        createRevision: 0,
        version: 0,
        updatedAt: undefined,
        updatedBy: actor,
        spec: {
          $case: 'user',
          user: { role: Role.ROLE_ADMIN, disabled: false, description: 'created on first start' },
        },
      },
      expectedRevision: 0,
      actor,
    });
    return true;
  } catch (err) {
    const code = grpcCode(err);
    // Another gateway won the compare-and-set: it prints the key.
    if (code === status.FAILED_PRECONDITION || code === status.ALREADY_EXISTS || code === status.ABORTED) return false;
    throw err;
  }
}
