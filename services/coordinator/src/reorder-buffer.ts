// Holds verified batch outputs until they may be sent: in input order (batch index order) or in arrival
// order. Bounded by admission: a batch may only be dispatched while fewer than `window` batches are
// admitted and not yet emitted (input order: only batches with index < next + window), so a slow caller
// or a slow head batch stops planning and dispatch instead of growing memory.
import { createChangeSignal } from './change-signal.js';

export type OutputOrder = 'input' | 'arrival';

export interface ReorderBuffer<T> {
  /** Reserves room for batch `index`; false when the window is full (try again after `changed`). Idempotent. */
  tryAdmit(index: number): boolean;
  /** Stores the verified output of an admitted batch. */
  put(index: number, item: T): void;
  /**
   * Removes and returns up to `max` outputs that may be emitted now, in emission order. Taking one at a
   * time keeps the window honest: a taken output no longer counts, so it should be written before the next.
   */
  take(max?: number): Array<{ index: number; item: T }>;
  /** Batches admitted and not yet emitted (running or held). */
  outstanding(): number;
  /** Outputs held, waiting for their turn. */
  held(): number;
  emitted(): number;
  /** Resolves on the next put or take (or at once when the signal aborts). */
  changed(signal?: AbortSignal): Promise<void>;
  /** Calls `listener` on every put or take; returns the unsubscribe function. */
  onChange(listener: () => void): () => void;
}

export function createReorderBuffer<T>(opts: {
  order: OutputOrder;
  window: number;
  firstIndex?: number;
}): ReorderBuffer<T> {
  if (opts.window < 1) throw new RangeError('window must be at least 1');
  const admitted = new Set<number>();
  const ready = new Map<number, T>();
  const arrivals: number[] = [];
  let next = opts.firstIndex ?? 0;
  let emitted = 0;
  const changes = createChangeSignal();

  return {
    tryAdmit(index) {
      if (admitted.has(index)) return true;
      const room = opts.order === 'input' ? index < next + opts.window : admitted.size < opts.window;
      if (room) admitted.add(index);
      return room;
    },
    put(index, item) {
      if (!admitted.has(index)) throw new Error(`batch ${index} was not admitted`);
      if (ready.has(index)) throw new Error(`batch ${index} stored twice`);
      ready.set(index, item);
      arrivals.push(index);
      changes.emit();
    },
    take(max = Infinity) {
      const out: Array<{ index: number; item: T }> = [];
      if (opts.order === 'input') {
        while (out.length < max && ready.has(next)) {
          out.push({ index: next, item: ready.get(next)! });
          ready.delete(next);
          admitted.delete(next);
          next++;
        }
      } else {
        const n = Math.min(max, arrivals.length);
        for (const index of arrivals.splice(0, n)) {
          out.push({ index, item: ready.get(index)! });
          ready.delete(index);
          admitted.delete(index);
        }
      }
      emitted += out.length;
      if (out.length > 0) changes.emit();
      return out;
    },
    outstanding: () => admitted.size,
    held: () => ready.size,
    emitted: () => emitted,
    onChange: changes.onChange,
    changed: changes.changed,
  };
}
