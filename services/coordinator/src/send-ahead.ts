// The per-slot prefetch (issue 7, target 4). With one batch per slot, a slot that finishes a tiny batch
// idles for a whole round trip (trailer → coordinator → next assign) — at 10-record batches that round trip
// is most of the batch's time, and 2 slots dispatched ~750 batches/s. So a small batch may be sent ahead to
// an executor whose slots are busy, to wait there (`may_wait`) while the slot runs the batch before it. A
// slot still runs one batch at a time; the executor holds a bounded number per slot and announces it.
// Large batches (issue 7, target 1a) are sent ahead one per slot, and only while at least as many batches as
// there are slots stay queued behind it: each executor's batch thread otherwise idles 5-14% of a big job
// (the trailer → coordinator → next assign round trip, under load 8-10) where the worker pool never idles;
// a batch bound early to a busy executor may finish later than on one that frees up first, so the file's
// last batches still wait for a free slot — by then each slot has at most one queued behind its running one.

// Tiny batches go deeper (session 5): the executor answers a run of them in one message (its outbox holds a
// bundle while another attempt of the call is about to answer, up to 12 trailers) and the coordinator sends
// the next few assigns in one message — which needs room for those few beyond what runs and what is in
// transit.

/** Batches sent ahead per slot, beyond the one it runs (at most what the executor says it holds). */
export const AHEAD_PER_SLOT = 2;

/** Only batches up to this many bytes are sent ahead. */
export const AHEAD_MAX_BYTES = 256 * 1024;

/** Batches up to this many bytes are tiny: their run is shorter than a round trip to the executor. */
export const TINY_MAX_BYTES = 16 * 1024;

/** Tiny batches sent ahead per slot (at most what the executor says it holds). */
export const AHEAD_PER_SLOT_TINY = 16;

/** Large batches sent ahead per slot, while enough stay queued (at most what the executor says it holds). */
export const AHEAD_PER_SLOT_LARGE = 1;

/**
 * How many batches per slot a batch of `bytes` may be sent ahead of (0: it waits for a free slot).
 * `queuedBehind`: batches still queued once this one is taken; `slots`: all slots of all executors.
 */
export function aheadFor(bytes: number, queuedBehind = 0, slots = 0): number {
  if (bytes <= TINY_MAX_BYTES) return AHEAD_PER_SLOT_TINY;
  if (bytes <= AHEAD_MAX_BYTES) return AHEAD_PER_SLOT;
  return slots > 0 && queuedBehind >= slots ? AHEAD_PER_SLOT_LARGE : 0;
}
