// How far a batch thread's old generation may grow before the thread collects it, between two batches.
//
// Why (issue 7 target 5: executors' peak RSS must not grow with the job; bench/README.md "Executors' RSS
// growth"): a batch thread promotes a little per batch that dies soon after (the batch's rejects, its
// trailer's parts: ~0.25 MB per 4 MiB batch of the orders data). V8 collects the old generation when it
// reaches a limit that starts at a share of the maximum heap (~130 MB for a thread that inherits the
// process's) or when external memory grows by 64 MB. Since a big batch's input goes back to the main thread
// (input-buffers.ts) nothing external starts a collection, so the old space filled with dead objects the
// longer a job ran: the executors' peak was ~45 MB higher after 10M records than after 1M. V8's own knobs
// for a thread's heap cost more than they save: a 1 GB `resourceLimits` maximum (plus a 16 MB initial old
// space) bounded the peak but cost ~10% of the executors' CPU, measured in the mesh. A full collection here
// costs ~10–20 ms at ~9 MB live and, with an 8 MB bound, happens ~5 times per executor in a 10M-record job
// (one batch in ~22); 16 MB left ~8 MB more at the 10M peak.
//
// Hand-written: V8 exposes a collection only through `--expose-gc`; the policy is ours.
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';

/** Old-space growth since the last collection (ours or V8's) after which a batch thread collects. */
export const OLD_SPACE_GROWTH_BYTES = 8 * 1024 * 1024;

/**
 * Input bytes run between two looks at the heap: reading its statistics costs ~3 µs, nothing next to a
 * 4 MiB batch (which looks after each) but a tenth of a tiny batch's own cost (those look every ~1,000
 * batches); what a batch promotes grows with its input.
 */
export const CHECK_EVERY_INPUT_BYTES = 1024 * 1024;

let exposed = false;

/**
 * Makes V8 give isolates created from now on — the batch threads — a `gc` function (V8's `--expose-gc`,
 * which a Worker refuses in its execArgv). The main thread's context exists already and gets none.
 */
export function exposeCollectorToBatchThreads(): void {
  if (exposed) return;
  exposed = true;
  setFlagsFromString('--expose-gc');
}

/**
 * The collector V8 installed as the thread's global `gc`, taken off the global (V8 makes it writable but not
 * configurable: it is set to undefined) so that plugin code does not call it; undefined when there is none.
 */
export function takeCollector(): (() => void) | undefined {
  const g = globalThis as { gc?: unknown };
  const gc = g.gc;
  if (typeof gc !== 'function') return undefined;
  g.gc = undefined;
  return gc as () => void;
}

/** The old space's used bytes in this thread's heap. */
export function oldSpaceUsed(): number {
  for (const space of getHeapSpaceStatistics()) if (space.space_name === 'old_space') return space.space_used_size;
  return 0;
}

export interface OldSpaceBound {
  /**
   * Called between batches with the batch's input size: once CHECK_EVERY_INPUT_BYTES have run since the last
   * look, collects when the old space grew past the bound; true when it did.
   */
  afterBatch(inputBytes: number): boolean;
  /** Collections made so far. */
  readonly collections: number;
}

export interface OldSpaceBoundOptions {
  collect: () => void;
  /** @default OLD_SPACE_GROWTH_BYTES */
  growthBytes?: number;
  /** @default oldSpaceUsed */
  used?: () => number;
  /** @default CHECK_EVERY_INPUT_BYTES */
  checkEveryBytes?: number;
}

export function createOldSpaceBound(opts: OldSpaceBoundOptions): OldSpaceBound {
  const growth = opts.growthBytes ?? OLD_SPACE_GROWTH_BYTES;
  const used = opts.used ?? oldSpaceUsed;
  const checkEvery = opts.checkEveryBytes ?? CHECK_EVERY_INPUT_BYTES;
  let sinceCheck = Infinity;
  // The lowest old space seen since the last collection of ours: V8's own collections lower it too, and
  // growth is counted from what the latest one left.
  let floor = -1;
  let collections = 0;
  return {
    afterBatch(inputBytes) {
      sinceCheck += inputBytes;
      if (sinceCheck < checkEvery) return false;
      sinceCheck = 0;
      const now = used();
      if (floor < 0 || now < floor) {
        floor = now;
        return false;
      }
      if (now - floor <= growth) return false;
      opts.collect();
      collections++;
      floor = used();
      return true;
    },
    get collections() {
      return collections;
    },
  };
}
