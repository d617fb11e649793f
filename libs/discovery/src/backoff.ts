// Bounded exponential backoff for re-registration and re-listing loops.

export interface BackoffOptions {
  /** @default 100 */
  initialMs?: number;
  /** Upper bound of one delay. @default 2000 */
  maxMs?: number;
}

/** Delay before retry number `attempt` (0-based): initial × 2^attempt, capped, with ±20 % jitter. */
export function backoffDelay(attempt: number, opts: BackoffOptions = {}): number {
  const initial = opts.initialMs ?? 100;
  const max = opts.maxMs ?? 2000;
  const base = Math.min(max, initial * 2 ** Math.min(attempt, 20));
  return Math.round(base * (0.8 + Math.random() * 0.4));
}

/** Resolves after `ms`, or early (without error) when `signal` aborts; the timer never holds the process. */
export function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    timer.unref();
    signal?.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}
