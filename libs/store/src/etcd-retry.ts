// Retries of etcd calls across members and leader elections, within one overall budget.
import { isRecoverableError } from 'etcd3';
import { isBrokenCircuitError } from 'cockatiel';
import { StoreUnavailableError } from './errors.js';

export interface RetryBudget {
  /** Give up after this long. @default 10000 (a leader election plus a slow member) */
  totalMs: number;
  /** First pause between attempts, doubled up to 500 ms. @default 25 */
  initialDelayMs: number;
}

export const defaultRetryBudget: RetryBudget = { totalMs: 10_000, initialDelayMs: 25 };

export function isTransient(err: unknown): boolean {
  return (
    err instanceof Error &&
    (isRecoverableError(err) ||
      isBrokenCircuitError(err) ||
      /leader|timed out|unavailable|no connection/i.test(err.message))
  );
}

/**
 * Runs `attempt(n)` (n from 0) until it succeeds, a non-transient error occurs, or the budget ends.
 * The attempt number lets a write tell a first try from a replay after an ambiguous failure.
 */
export async function withRetry<T>(what: string, budget: RetryBudget, attempt: (n: number) => Promise<T>): Promise<T> {
  const giveUpAt = Date.now() + budget.totalMs;
  let delay = budget.initialDelayMs;
  for (let n = 0; ; n++) {
    try {
      return await attempt(n);
    } catch (err) {
      if (!isTransient(err)) throw err;
      if (Date.now() + delay >= giveUpAt) {
        throw new StoreUnavailableError(
          `etcd unavailable for ${what} after ${n + 1} attempts: ${(err as Error).message}`,
          { cause: err },
        );
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 500);
    }
  }
}
