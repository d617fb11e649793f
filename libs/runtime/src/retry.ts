// Retry for idempotent unary calls only (reads, compare-and-set with a revision): UNAVAILABLE means the
// request did not reach a handler or the node is draining, so sending it again is safe.
import { setTimeout as delay } from 'node:timers/promises';
import { status } from '@grpc/grpc-js';

export interface RetryOptions {
  /** Total attempts, including the first. @default 3 */
  attempts?: number;
  /** First backoff; doubles each time, with full jitter. @default 50 */
  baseDelayMs?: number;
  /** Stops retrying (and waiting) when aborted. */
  signal?: AbortSignal;
  /** Which errors to retry. @default code === UNAVAILABLE */
  retryOn?: (err: unknown) => boolean;
}

const isUnavailable = (err: unknown): boolean =>
  typeof err === 'object' && err !== null && (err as { code?: unknown }).code === status.UNAVAILABLE;

export async function retryIdempotent<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const attempts = Math.max(1, opts.attempts ?? 3);
  const base = opts.baseDelayMs ?? 50;
  const retryOn = opts.retryOn ?? isUnavailable;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt >= attempts || !retryOn(err) || opts.signal?.aborted) throw err;
      await delay(Math.random() * base * 2 ** (attempt - 1), undefined, { signal: opts.signal });
    }
  }
}
