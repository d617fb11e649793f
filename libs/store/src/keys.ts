// Key helpers shared by both backends.
import { MAX_COMMIT_OPS, type KvOp } from './types.js';
import { StoreArgumentError } from './errors.js';

/** Largest page a list may return, whatever the caller asks. */
export const MAX_LIST_LIMIT = 1000;
export const DEFAULT_LIST_LIMIT = 100;

export function clampLimit(limit: number | undefined): number {
  if (limit === undefined || limit <= 0) return DEFAULT_LIST_LIMIT;
  return Math.min(Math.floor(limit), MAX_LIST_LIMIT);
}

/** The smallest byte string greater than every string with this prefix (etcd's range_end). */
export function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i] = end[i]! + 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]); // every key: etcd's "\0" range end
}

export function checkKey(key: string): void {
  if (key.length === 0) throw new StoreArgumentError('empty key');
  if (Buffer.byteLength(key) > 1024) throw new StoreArgumentError(`key longer than 1024 bytes: ${key.slice(0, 40)}…`);
}

export function checkOps(ops: KvOp[]): void {
  if (ops.length === 0) throw new StoreArgumentError('empty commit');
  if (ops.length > MAX_COMMIT_OPS)
    throw new StoreArgumentError(`commit of ${ops.length} ops (at most ${MAX_COMMIT_OPS})`);
  const seen = new Set<string>();
  for (const op of ops) {
    checkKey(op.key);
    if (seen.has(op.key)) throw new StoreArgumentError(`key ${op.key} appears twice in one commit`);
    seen.add(op.key);
    if (op.expectedRevision !== undefined && (!Number.isSafeInteger(op.expectedRevision) || op.expectedRevision < 0)) {
      throw new StoreArgumentError(`expected revision of ${op.key} must be a non-negative integer`);
    }
  }
}
