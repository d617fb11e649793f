// API-key authentication (issue 5): `authorization: Bearer KEY` → identity, verified by config-store's
// VerifyApiKey and cached briefly (by a hash of the key, never the key itself) so a busy client does not
// cost a store round trip per call. Unknown keys are not cached: a key created a moment ago must work.
// A revoked key or disabled user is dropped from the cache as soon as the gateway's watch of keys and
// users sees the change (see key-watch.ts); the TTL bounds it when that watch is down.
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
  /** Drop cached identities (after a key is revoked through this gateway, or changes may have been missed). */
  invalidate(): void;
  /** Drop the cached identities `match` selects (a key or user changed in config-store, seen by a watch). */
  forget(match: (identity: Identity) => boolean): void;
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
  // Raised by every invalidation: a verification that was in flight across one may have read the key
  // before the change, so its answer serves that call but is not cached.
  let generation = 0;

  return {
    async authenticate(authorization) {
      const secret = bearerSecret(authorization);
      if (!secret) throw new AuthenticationFailed('missing API key: send metadata "authorization: Bearer <key>"');
      const digest = createHash('sha256').update(secret).digest('base64url');
      const hit = cache.get(digest);
      if (hit && hit.until > now()) return hit.identity;
      cache.delete(digest);
      // Concurrent first calls with the same key share one store round trip.
      const startedAt = generation;
      let lookup = pending.get(digest);
      if (!lookup) {
        lookup = opts.verify(secret).finally(() => pending.delete(digest));
        pending.set(digest, lookup);
      }
      const identity = await lookup;
      if (!identity) throw new AuthenticationFailed('unknown or revoked API key');
      if (startedAt !== generation) return identity;
      if (cache.size >= maxEntries) {
        const oldest = cache.keys().next();
        if (!oldest.done) cache.delete(oldest.value);
      }
      cache.set(digest, { identity, until: now() + ttlMs });
      return identity;
    },
    invalidate() {
      generation++;
      cache.clear();
    },
    forget(match) {
      generation++;
      for (const [digest, entry] of cache) if (match(entry.identity)) cache.delete(digest);
    },
  };
}
