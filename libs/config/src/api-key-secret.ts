// API key secrets: `fmk_<id>_<secret>`, 16 hex digits of id and 256 random bits of secret. Only a SHA-256
// of the full key is stored: with that much entropy a fast hash cannot be reversed by guessing, and
// verification stays cheap on the gateway's hot path. Comparison is constant-time.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { InvalidArgumentError } from '@flowmesh/runtime';
import type { KeyHash } from './record.js';

const FORMAT = /^fmk_([0-9a-f]{16})_([A-Za-z0-9_-]{32,256})$/;
/** Operator-chosen keys (bootstrap from an environment variable) must be at least this long. */
export const MIN_CUSTOM_KEY_LENGTH = 32;

export function generateKey(): { keyId: string; key: string } {
  const keyId = randomBytes(8).toString('hex');
  return { keyId, key: `fmk_${keyId}_${randomBytes(32).toString('base64url')}` };
}

/**
 * The key id a presented key belongs to: from the `fmk_` format, or derived from an operator-chosen key
 * (so a bootstrap key from the environment needs no particular shape). Undefined when it cannot be a key.
 */
export function keyIdOf(key: string): string | undefined {
  const m = FORMAT.exec(key);
  if (m) return m[1];
  if (key.length < MIN_CUSTOM_KEY_LENGTH || key.length > 512) return undefined;
  return createHash('sha256').update('flowmesh-key-id\0').update(key).digest('hex').slice(0, 16);
}

export function checkCustomKey(key: string, field: string): string {
  const id = keyIdOf(key);
  if (!id || /\s/.test(key))
    throw new InvalidArgumentError(field, `must be ${MIN_CUSTOM_KEY_LENGTH} to 512 characters without spaces`);
  return id;
}

export function hashKey(key: string): KeyHash {
  return { alg: 'sha256', digest: createHash('sha256').update(key).digest('hex') };
}

/** Constant-time for equal-length digests (all SHA-256 digests are). */
export function keyMatches(key: string, stored: KeyHash | undefined): boolean {
  const given = Buffer.from(hashKey(key).digest, 'hex');
  const want = Buffer.from(stored?.digest ?? '00'.repeat(32), 'hex');
  const equal = want.length === given.length && timingSafeEqual(given, want);
  return equal && stored !== undefined;
}

/** The last four characters, to tell keys apart in listings. */
export function hintOf(key: string): string {
  return key.slice(-4);
}
