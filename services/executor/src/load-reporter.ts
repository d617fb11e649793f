// Publishes slotsBusy/load to discovery as batches start and end, throttled: at most one update per
// interval and one in flight, always carrying the latest figures (a burst of short batches is one write).
// Once a second by default (it was 5/s): with thousands of tiny batches per second the slots change all the
// time, so every interval was a write — a registry file rewritten (temp file + rename) or an etcd put, and a
// rescan or watch event in every node that watches executors — ~6% of a busy executor's CPU in a profile
// (issue 7, target 4). The figures only break ties between executors a coordinator counts as equally busy
// itself (slot-ledger.ts) and show in the cluster view; exact counts are in GetExecutorStatus.
export interface LoadTarget {
  update(patch: { slotsBusy: number; load: number }): Promise<void>;
}

export interface LoadReporter {
  /** Notes a change; the update follows within `intervalMs`. */
  changed(): void;
  /** Stops publishing (pending updates are dropped). */
  stop(): void;
}

export function createLoadReporter(opts: {
  target: LoadTarget;
  slots: { total: number; busy(): number };
  /** @default 1000 */
  intervalMs?: number;
  onError?: (err: unknown) => void;
}): LoadReporter {
  const intervalMs = opts.intervalMs ?? 1000;
  let timer: NodeJS.Timeout | undefined;
  let inFlight = false;
  let dirty = false;
  let lastSent = 0;
  let stopped = false;
  /** The figure last handed to the target (the registration starts with no slot busy). */
  let published = 0;

  function schedule(): void {
    if (stopped || timer || inFlight || !dirty) return;
    const wait = Math.max(0, lastSent + intervalMs - Date.now());
    timer = setTimeout(send, wait);
    timer.unref();
  }

  function send(): void {
    timer = undefined;
    if (stopped || !dirty) return;
    dirty = false;
    const busy = opts.slots.busy();
    // Back where it was last published (a short job came and went within the interval, issue 7 target 3):
    // nothing to write, and no rescan or watch event in the nodes that watch executors.
    if (busy === published) return;
    inFlight = true;
    lastSent = Date.now();
    published = busy;
    opts.target
      .update({ slotsBusy: busy, load: busy / opts.slots.total })
      .catch((err: unknown) => {
        published = -1; // unknown: the next change writes whatever it is
        opts.onError?.(err);
      })
      .finally(() => {
        inFlight = false;
        schedule();
      });
  }

  return {
    changed() {
      dirty = true;
      schedule();
    },
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
    },
  };
}
