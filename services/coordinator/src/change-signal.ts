// "Something changed" for the coordinator's shared state (slot ledger, reorder windows): listeners for
// progress and load reports, and a one-shot wait for loops that wait for room, ended early by an abort.
import { EventEmitter } from 'node:events';

export interface ChangeSignal {
  emit(): void;
  /** Calls `listener` on every change; returns the unsubscribe function. */
  onChange(listener: () => void): () => void;
  /** Resolves on the next change (or at once when the signal aborts). */
  changed(signal?: AbortSignal): Promise<void>;
}

export function createChangeSignal(): ChangeSignal {
  const events = new EventEmitter();
  // Every waiting job and batch loop listens at once; their number is bounded elsewhere, not here.
  events.setMaxListeners(0);
  return {
    emit() {
      events.emit('change');
    },
    onChange(listener) {
      events.on('change', listener);
      return () => events.off('change', listener);
    },
    changed(signal) {
      return new Promise((resolve) => {
        if (signal?.aborted) return resolve();
        const done = (): void => {
          events.off('change', done);
          signal?.removeEventListener('abort', done);
          resolve();
        };
        events.on('change', done);
        signal?.addEventListener('abort', done, { once: true });
      });
    },
  };
}
