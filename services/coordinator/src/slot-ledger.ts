// Executor slots as this coordinator uses them, shared by all its jobs: at most one batch per slot,
// least-loaded executor first, and a retry goes to an executor the batch has not failed on when one
// exists (issue 4, item 3). Discovery's own busy figures lag, so we count our own dispatches.
import { createChangeSignal } from './change-signal.js';

export interface ExecutorView {
  id: string;
  address: string;
  slots: number;
  /** File roots the executor reads directly; others get batch bytes inline. */
  fileRoots: string[];
  /** Load as the executor reports it (0..1), used to break ties. */
  load: number;
  /** Id of the result spool the executor writes output parts into (issue 7); absent: none. */
  spool?: string;
}

/**
 * Picks the executor for one batch: a free slot, then the lowest share of busy slots, then the lowest
 * reported load, then the fewest busy slots, then id (deterministic). Executors in `avoid` are used only
 * when no other executor exists at all; when others exist but are full, the batch waits for them.
 * `capacity` is how many batches an executor may have at once (its slots, or more when it holds batches
 * sent ahead: the per-slot prefetch).
 */
export function pickExecutor(
  executors: readonly ExecutorView[],
  busy: (id: string) => number,
  avoid: ReadonlySet<string> = new Set(),
  capacity: (e: ExecutorView) => number = (e) => e.slots,
): ExecutorView | undefined {
  const others = executors.filter((e) => !avoid.has(e.id));
  const pool = others.length > 0 ? others : executors;
  let best: ExecutorView | undefined;
  let bestKey: [number, number, number, string] | undefined;
  for (const e of pool) {
    const b = busy(e.id);
    if (e.slots <= 0 || b >= capacity(e)) continue;
    const key: [number, number, number, string] = [b / e.slots, e.load, b, e.id];
    if (!bestKey || compareKeys(key, bestKey) < 0) {
      best = e;
      bestKey = key;
    }
  }
  return best;
}

function compareKeys(a: [number, number, number, string], b: [number, number, number, string]): number {
  for (let i = 0; i < 3; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return a[3] < b[3] ? -1 : a[3] > b[3] ? 1 : 0;
}

export interface SlotLedger {
  setExecutors(executors: ExecutorView[]): void;
  executors(): ExecutorView[];
  busy(id: string): number;
  /** Batches this coordinator has in flight on all executors. */
  inFlight(): number;
  /**
   * An executor with room for one more batch. `ahead`: the batch may be sent ahead to a busy slot, to wait
   * there for it behind at most this many per slot (prefetch, only to executors that hold such batches, and
   * only as deep as they hold them); 0 or absent: only a free slot counts.
   */
  pick(avoid?: ReadonlySet<string>, ahead?: number): ExecutorView | undefined;
  acquire(id: string): void;
  /** Leaves the executor out of `pick` for `ms` (unreachable, draining). */
  suspend(id: string, ms: number): void;
  release(id: string): void;
  /** Resolves on the next release or membership change (or at once when the signal aborts). */
  changed(signal?: AbortSignal): Promise<void>;
  /** Calls `listener` on every release or membership change; returns the unsubscribe function. */
  onChange(listener: () => void): () => void;
}

export interface SlotLedgerOptions {
  /**
   * Batches the executor holds per slot when sent ahead, to wait there while the slot runs another (issue 7,
   * target 4: a tiny batch's round trip otherwise leaves the slot idle); `pick`'s `ahead` is capped by it.
   * @default none
   */
  aheadPerSlot?: (e: ExecutorView) => number;
}

export function createSlotLedger(initial: ExecutorView[] = [], opts: SlotLedgerOptions = {}): SlotLedger {
  const aheadPerSlot = opts.aheadPerSlot;
  const deep = (ahead: number) => (e: ExecutorView): number =>
    e.slots * (1 + Math.min(ahead, aheadPerSlot ? aheadPerSlot(e) : 0));
  let members = new Map(initial.map((e) => [e.id, e]));
  const used = new Map<string, number>();
  let total = 0;
  const changes = createChangeSignal();
  const suspended = new Map<string, number>();
  const busy = (id: string): number => used.get(id) ?? 0;
  const available = (): ExecutorView[] => {
    const now = Date.now();
    const all = [...members.values()];
    if (suspended.size === 0) return all;
    for (const [id, until] of suspended) if (until <= now) suspended.delete(id);
    return all.filter((e) => !suspended.has(e.id));
  };
  return {
    setExecutors(executors) {
      members = new Map(executors.map((e) => [e.id, e]));
      changes.emit();
    },
    executors: () => [...members.values()],
    busy,
    inFlight: () => total,
    pick: (avoid, ahead) => pickExecutor(available(), busy, avoid, ahead && aheadPerSlot ? deep(ahead) : undefined),
    suspend(id, ms) {
      suspended.set(id, Date.now() + ms);
      // Wake waiters when it is back, so a batch waiting only for this executor is not stuck.
      setTimeout(() => changes.emit(), ms + 1).unref();
    },
    acquire(id) {
      used.set(id, busy(id) + 1);
      total++;
    },
    release(id) {
      const n = busy(id);
      if (n <= 0) return;
      if (n === 1) used.delete(id);
      else used.set(id, n - 1);
      total--;
      changes.emit();
    },
    onChange: changes.onChange,
    changed: changes.changed,
  };
}
