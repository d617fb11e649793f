// The gate every public call passes first: key → identity (UNAUTHENTICATED), identity + method → allowed
// (PERMISSION_DENIED). Every refusal is written to the audit log with who, what and why.
import type { Metadata } from '@grpc/grpc-js';
import { PermissionDeniedError, UnauthenticatedError, UnavailableError } from '@flowmesh/runtime';
import { AuthenticationFailed, type Authenticator, type Identity } from './authenticator.js';
import type { AuditLog } from './audit-log.js';
import { accessRule, requiredRole, roleAllows, roleName } from './role-table.js';

export interface Guard {
  /** Resolves with the caller's identity when `method` is allowed for it, else throws (and audits). */
  check(method: string, metadata: Metadata, request?: unknown, peer?: string): Promise<Identity>;
  /** Records an allowed change (admin changes and cancels), with its outcome. */
  recordChange(identity: Identity, method: string, target: string, outcome: string): void;
}

export function shortMethod(method: string): string {
  return method.replace(/^\/flowmesh\.v1\./, '');
}

export function createGuard(auth: Authenticator, audit: AuditLog): Guard {
  return {
    async check(method, metadata, request, peer) {
      let identity: Identity;
      try {
        identity = await auth.authenticate(metadata.get('authorization'));
      } catch (err) {
        if (!(err instanceof AuthenticationFailed)) {
          // The store could not be asked: not the caller's fault, and not a refusal to audit.
          throw new UnavailableError('cannot verify the API key right now (config-store unavailable); retry', {
            cause: err,
          });
        }
        audit.record({
          actor: 'anonymous',
          action: shortMethod(method),
          target: '',
          allowed: false,
          detail: `UNAUTHENTICATED: ${err.message}${peer ? ` (peer ${peer})` : ''}`,
        });
        throw new UnauthenticatedError(err.message);
      }
      const min = requiredRole(method, request);
      if (!roleAllows(identity.role, min)) {
        const message = `${shortMethod(method)} needs role ${roleName(min)}; key ${identity.keyId} of ${identity.user} has ${roleName(identity.role)}`;
        audit.record({
          actor: identity.user,
          action: shortMethod(method),
          target: targetOf(request),
          allowed: false,
          detail: `PERMISSION_DENIED: ${message}`,
        });
        throw new PermissionDeniedError(message);
      }
      return identity;
    },
    recordChange(identity, method, target, outcome) {
      if (!accessRule(method)?.audited) return;
      audit.record({ actor: identity.user, action: shortMethod(method), target, allowed: true, detail: outcome });
    },
  };
}

/** A short name of what a request is about, for audit entries. */
export function targetOf(request: unknown): string {
  if (!request || typeof request !== 'object') return '';
  const r = request as Record<string, unknown>;
  const resource = r['resource'] as { name?: string } | undefined;
  for (const v of [
    r['name'],
    r['jobId'],
    r['user'],
    resource?.name,
    (r['spec'] as { flow?: string } | undefined)?.flow,
  ]) {
    if (typeof v === 'string' && v) return v;
  }
  return '';
}
