// The per-slot prefetch (issue 7, target 4). With one batch per slot, a slot that finishes a tiny batch
// idles for a whole round trip (trailer → coordinator → next assign) — at 10-record batches that round trip
// is most of the batch's time, and 2 slots dispatched ~750 batches/s. So a small batch may be sent ahead to
// an executor whose slots are busy, to wait there (`may_wait`) while the slot runs the batch before it. A
// slot still runs one batch at a time; the executor holds a bounded number per slot and announces it.
// Large batches are not sent ahead: their round trip is a small share of their time, and a batch bound
// early to a busy executor may finish later than on one that frees up first.

// Tiny batches go deeper (session 5): the executor answers a run of them in one message (its outbox holds a
// bundle while another attempt of the call is about to answer, up to 6 trailers) and the coordinator sends
// the next few assigns in one message — which needs room for those few beyond what runs and what is in
// transit.

/** Batches sent ahead per slot, beyond the one it runs (at most what the executor says it holds). */
export const AHEAD_PER_SLOT = 2;

/** Only batches up to this many bytes are sent ahead. */
export const AHEAD_MAX_BYTES = 256 * 1024;

/** Batches up to this many bytes are tiny: their run is shorter than a round trip to the executor. */
export const TINY_MAX_BYTES = 16 * 1024;

/** Tiny batches sent ahead per slot (at most what the executor says it holds). */
export const AHEAD_PER_SLOT_TINY = 8;

/** How many batches per slot a batch of `bytes` may be sent ahead of (0: it waits for a free slot). */
export function aheadFor(bytes: number): number {
  if (bytes <= TINY_MAX_BYTES) return AHEAD_PER_SLOT_TINY;
  return bytes <= AHEAD_MAX_BYTES ? AHEAD_PER_SLOT : 0;
}
