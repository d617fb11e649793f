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
  avoid: ReadonlySet<string> = NONE,
  capacity?: (e: ExecutorView) => number,
): ExecutorView | undefined {
  // One pass, no arrays or key tuples: called once per dispatched batch and again on every wake that
  // finds no room, thousands of times a second with tiny batches (issue 7, target 4).
  let skipAvoided = false;
  if (avoid.size > 0) for (const e of executors) if (!avoid.has(e.id)) skipAvoided = true;
  let best: ExecutorView | undefined;
  let bestShare = 0;
  let bestBusy = 0;
  for (const e of executors) {
    if (skipAvoided && avoid.has(e.id)) continue;
    const b = busy(e.id);
    if (e.slots <= 0 || b >= (capacity ? capacity(e) : e.slots)) continue;
    const share = b / e.slots;
    if (!best || better(share, e.load, b, e.id, bestShare, best.load, bestBusy, best.id)) {
      best = e;
      bestShare = share;
      bestBusy = b;
    }
  }
  return best;
}

const NONE: ReadonlySet<string> = new Set();

/** Lower share of busy slots, then lower reported load, then fewer busy slots, then id. */
function better(
  share: number,
  load: number,
  busy: number,
  id: string,
  bShare: number,
  bLoad: number,
  bBusy: number,
  bId: string,
): boolean {
  if (share !== bShare) return share < bShare;
  if (load !== bLoad) return load < bLoad;
  if (busy !== bBusy) return busy < bBusy;
  return id < bId;
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
  // The depth of the pick in progress, read by `deep` (one function for the ledger, not one per pick).
  let pickAhead = 0;
  const deep = (e: ExecutorView): number => e.slots * (1 + Math.min(pickAhead, aheadPerSlot ? aheadPerSlot(e) : 0));
  let members = new Map(initial.map((e) => [e.id, e]));
  // The members as an array, rebuilt only when they change (not per pick).
  let memberList = [...members.values()];
  const used = new Map<string, number>();
  let total = 0;
  const changes = createChangeSignal();
  const suspended = new Map<string, number>();
  const busy = (id: string): number => used.get(id) ?? 0;
  const available = (): readonly ExecutorView[] => {
    if (suspended.size === 0) return memberList;
    const now = Date.now();
    for (const [id, until] of suspended) if (until <= now) suspended.delete(id);
    return memberList.filter((e) => !suspended.has(e.id));
  };
  return {
    setExecutors(executors) {
      members = new Map(executors.map((e) => [e.id, e]));
      memberList = [...members.values()];
      changes.emit();
    },
    executors: () => [...members.values()],
    busy,
    inFlight: () => total,
    pick(avoid, ahead) {
      if (!ahead || !aheadPerSlot) return pickExecutor(available(), busy, avoid);
      pickAhead = ahead;
      return pickExecutor(available(), busy, avoid, deep);
    },
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
