// Heartbeats of running (and waiting) attempts, on the main thread's timers: the transform runs on a worker
// or is short, so they keep flowing while the CPU is busy. At most one is outstanding per attempt; a call that
// is not draining gets no pile of heartbeats.
//
// One timer for all attempts of the same interval rather than a setInterval per attempt (issue 7, target 4):
// at thousands of tiny batches per second, creating and clearing a timer per batch showed in the executor's
// profile while almost none of them ever fired. The timer ticks every quarter interval while attempts run and
// stops at the first tick that finds none, so an attempt heartbeats between 3/4 and 1 interval after its start
// and after its previous heartbeat — never later than with its own timer.
import type { ExecuteBatchResponse } from '@flowmesh/contracts';

/** What heartbeats need from an attempt's carrier. */
export interface HeartbeatTarget {
  signal: AbortSignal;
  send(msg: ExecuteBatchResponse): Promise<void>;
}

export interface Heartbeat {
  stop(): void;
}

interface Entry {
  target: HeartbeatTarget;
  recordsDone: () => number;
  due: number;
  pending: boolean;
}

interface Ticker {
  entries: Set<Entry>;
  timer: NodeJS.Timeout | undefined;
}

const tickers = new Map<number, Ticker>();

/** Heartbeats `target` every `everyMs` (with its records done so far) until stop(). */
export function startHeartbeats(target: HeartbeatTarget, everyMs: number, recordsDone: () => number): Heartbeat {
  let ticker = tickers.get(everyMs);
  if (!ticker) {
    ticker = { entries: new Set(), timer: undefined };
    tickers.set(everyMs, ticker);
  }
  const tickMs = Math.max(1, Math.floor(everyMs / 4));
  const entry: Entry = { target, recordsDone, due: Date.now() + everyMs - tickMs, pending: false };
  ticker.entries.add(entry);
  if (!ticker.timer) {
    const t = ticker;
    t.timer = setInterval(() => tick(t, everyMs, tickMs), tickMs);
    // Attempts keep the process busy on their own; an idle executor's timer stops at its next tick.
    t.timer.unref();
  }
  const entries = ticker.entries;
  return {
    stop() {
      entries.delete(entry);
    },
  };
}

function tick(t: Ticker, everyMs: number, tickMs: number): void {
  if (t.entries.size === 0) {
    clearInterval(t.timer);
    t.timer = undefined;
    return;
  }
  const now = Date.now();
  for (const e of t.entries) {
    if (now < e.due || e.pending || e.target.signal.aborted) continue;
    e.due = now + everyMs - tickMs;
    e.pending = true;
    e.target.send({ msg: { $case: 'heartbeat', heartbeat: { recordsDone: e.recordsDone() } } }).then(
      () => (e.pending = false),
      () => (e.pending = false),
    );
  }
}
