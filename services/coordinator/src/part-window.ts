// Credit for records parts sent to a caller but not yet confirmed by it (issue 7, direct result path):
// the bound that HTTP/2 flow control gives record bytes, for parts whose messages are only their names.
// While the window is full the job's output waits, so the reorder buffer fills and dispatch stops, as for
// a slow caller of streamed records.
import { CancelledError } from '@flowmesh/runtime';

export interface PartWindow {
  /** Resolves once fewer than `size` parts are unconfirmed (and counts one more); rejects when `signal` aborts. */
  acquire(signal?: AbortSignal): Promise<void>;
  /** One part was confirmed. */
  release(): void;
}

export function createPartWindow(size: number): PartWindow {
  let outstanding = 0;
  const waiting: Array<() => void> = [];
  return {
    async acquire(signal) {
      while (outstanding >= size) {
        if (signal?.aborted) throw new CancelledError('the caller went away while parts were unconfirmed');
        await new Promise<void>((resolve) => {
          const wake = (): void => {
            signal?.removeEventListener('abort', wake);
            resolve();
          };
          waiting.push(wake);
          signal?.addEventListener('abort', wake, { once: true });
        });
      }
      outstanding++;
    },
    release() {
      if (outstanding > 0) outstanding--;
      // Every waiter checks again (one at a time in practice: a job's output is emitted in sequence).
      for (const wake of waiting.splice(0)) wake();
    },
  };
}
