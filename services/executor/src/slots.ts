// Slot accounting. The coordinator only sends batches to free slots; this is the executor's own guard, so a
// confused or racing coordinator gets RESOURCE_EXHAUSTED instead of oversubscribing the worker threads.
import { ResourceExhaustedError } from '@flowmesh/runtime';

export interface Slots {
  readonly total: number;
  busy(): number;
  /** Takes a slot or throws RESOURCE_EXHAUSTED; the returned function frees it (idempotent). */
  acquire(): () => void;
  /** Resolves when no slot is busy (used by graceful drain). */
  idle(): Promise<void>;
  /** Called after every acquire and release, e.g. to update the discovery record. */
  onChange(listener: (busy: number) => void): void;
}

export function createSlots(total: number): Slots {
  if (!Number.isInteger(total) || total < 1) throw new RangeError(`slots must be a positive integer, got ${total}`);
  let busy = 0;
  const listeners: Array<(busy: number) => void> = [];
  let idleWaiters: Array<() => void> = [];

  function changed(): void {
    for (const l of listeners) l(busy);
    if (busy === 0) {
      const waiters = idleWaiters;
      idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  return {
    total,
    busy: () => busy,
    acquire() {
      if (busy >= total) {
        throw new ResourceExhaustedError(`all ${total} slots of this executor are busy`);
      }
      busy++;
      changed();
      let released = false;
      return () => {
        if (released) return;
        released = true;
        busy--;
        changed();
      };
    },
    idle() {
      if (busy === 0) return Promise.resolve();
      return new Promise<void>((resolve) => idleWaiters.push(resolve));
    },
    onChange(listener) {
      listeners.push(listener);
    },
  };
}
