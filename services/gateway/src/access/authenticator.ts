// API-key authentication (issue 5): `authorization: Bearer KEY` → identity, verified by config-store's
// VerifyApiKey and cached briefly (by a hash of the key, never the key itself) so a busy client does not
// cost a store round trip per call. Unknown keys are not cached: a key created a moment ago must work.
import { createHash } from 'node:crypto';
import type { Role } from '@flowmesh/contracts';

export interface Identity {
  keyId: string;
  user: string;
  role: Role;
}

/** Why a call was not authenticated, for the audit log and the status message. */
export class AuthenticationFailed extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuthenticationFailed';
  }
}

export interface AuthenticatorOptions {
  /** Asks config-store; resolves undefined for an unknown or revoked key, rejects when the store fails. */
  verify: (secret: string) => Promise<Identity | undefined>;
  /** How long a verified key is trusted without asking again. @default 10000 */
  ttlMs?: number;
  /** Cache entries kept; the oldest goes first. @default 1000 */
  maxEntries?: number;
  now?: () => number;
}

export interface Authenticator {
  /** From the `authorization` metadata values; throws AuthenticationFailed for missing or unknown keys. */
  authenticate(authorization: readonly unknown[]): Promise<Identity>;
  /** Drop cached identities (after a key is revoked through this gateway). */
  invalidate(): void;
}

export function bearerSecret(authorization: readonly unknown[]): string | undefined {
  const value = authorization.find((v) => typeof v === 'string');
  if (typeof value !== 'string') return undefined;
  const m = /^\s*bearer\s+(\S+)\s*$/i.exec(value);
  return m?.[1];
}

export function createAuthenticator(opts: AuthenticatorOptions): Authenticator {
  const ttlMs = opts.ttlMs ?? 10_000;
  const maxEntries = opts.maxEntries ?? 1000;
  const now = opts.now ?? Date.now;
  const cache = new Map<string, { identity: Identity; until: number }>();
  const pending = new Map<string, Promise<Identity | undefined>>();

  return {
    async authenticate(authorization) {
      const secret = bearerSecret(authorization);
      if (!secret) throw new AuthenticationFailed('missing API key: send metadata "authorization: Bearer <key>"');
      const digest = createHash('sha256').update(secret).digest('base64url');
      const hit = cache.get(digest);
      if (hit && hit.until > now()) return hit.identity;
      cache.delete(digest);
      // Concurrent first calls with the same key share one store round trip.
      let lookup = pending.get(digest);
      if (!lookup) {
        lookup = opts.verify(secret).finally(() => pending.delete(digest));
        pending.set(digest, lookup);
      }
      const identity = await lookup;
      if (!identity) throw new AuthenticationFailed('unknown or revoked API key');
      if (cache.size >= maxEntries) {
        const oldest = cache.keys().next();
        if (!oldest.done) cache.delete(oldest.value);
      }
      cache.set(digest, { identity, until: now() + ttlMs });
      return identity;
    },
    invalidate() {
      cache.clear();
    },
  };
}
