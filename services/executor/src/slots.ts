// Slot accounting. The coordinator only sends batches to free slots; this is the executor's own guard, so a
// confused or racing coordinator gets RESOURCE_EXHAUSTED instead of oversubscribing the worker threads.
// An attempt the coordinator sent ahead (`may_wait`, its per-slot prefetch: issue 7, target 4) may instead
// wait for a slot, first come first served, in a bounded queue; a freed slot passes straight to the next
// waiter, so `idle()` (graceful drain) only resolves once the held attempts have run too.
import { CancelledError, ResourceExhaustedError } from '@flowmesh/runtime';

export interface Slots {
  readonly total: number;
  busy(): number;
  /** Takes a slot or throws RESOURCE_EXHAUSTED; the returned function frees it (idempotent). */
  acquire(): () => void;
  /**
   * Takes a slot, waiting behind earlier waiters when none is free; RESOURCE_EXHAUSTED when `maxWaiting`
   * attempts already wait, CANCELLED when `signal` aborts first. Resolves to the release function.
   */
  wait(signal: AbortSignal, maxWaiting: number): Promise<() => void>;
  /** Attempts waiting for a slot. */
  waiting(): number;
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
  // Attempts waiting for a slot, in arrival order (a Set keeps insertion order and deletes in O(1)).
  const queue = new Set<SlotWaiter>();

  function changed(): void {
    for (const l of listeners) l(busy);
    if (busy === 0) {
      const waiters = idleWaiters;
      idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  const releaser = (): (() => void) => {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = queue.values().next();
      if (!next.done) {
        // The slot passes to the oldest waiter: busy stays the same, nobody sees it idle in between.
        const w = next.value;
        queue.delete(w);
        w.signal.removeEventListener('abort', w);
        w.resolve(releaser());
        return;
      }
      busy--;
      changed();
    };
  };

  return {
    total,
    busy: () => busy,
    waiting: () => queue.size,
    acquire() {
      if (busy >= total) {
        throw new ResourceExhaustedError(`all ${total} slots of this executor are busy`);
      }
      busy++;
      changed();
      return releaser();
    },
    wait(signal, maxWaiting) {
      if (signal.aborted) return Promise.reject(new CancelledError('batch cancelled'));
      if (busy < total && queue.size === 0) {
        busy++;
        changed();
        return Promise.resolve(releaser());
      }
      if (queue.size >= maxWaiting) {
        return Promise.reject(
          new ResourceExhaustedError(`all ${total} slots of this executor are busy and ${queue.size} batches wait`),
        );
      }
      return new Promise((resolve, reject) => {
        const w = new SlotWaiter(signal, resolve, reject, queue);
        queue.add(w);
        signal.addEventListener('abort', w, { once: true });
      });
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

/**
 * An attempt waiting for a slot; it is its own abort listener. An object rather than two named closures per
 * held attempt (a `__name` call each under tsx; thousands of tiny attempts a second wait here: issue 7, target 4).
 */
class SlotWaiter {
  constructor(
    readonly signal: AbortSignal,
    readonly resolve: (release: () => void) => void,
    private readonly reject: (err: unknown) => void,
    private readonly queue: Set<SlotWaiter>,
  ) {}

  handleEvent(): void {
    this.queue.delete(this);
    this.reject(new CancelledError('batch cancelled'));
  }
}
