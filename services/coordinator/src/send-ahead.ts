// The per-slot prefetch (issue 7, target 4). With one batch per slot, a slot that finishes a tiny batch
// idles for a whole round trip (trailer → coordinator → next assign) — at 10-record batches that round trip
// is most of the batch's time, and 2 slots dispatched ~750 batches/s. So a small batch may be sent ahead to
// an executor whose slots are busy, to wait there (`may_wait`) while the slot runs the batch before it. A
// slot still runs one batch at a time; the executor holds a bounded number per slot and announces it.
// Large batches are not sent ahead: their round trip is a small share of their time, and a batch bound
// early to a busy executor may finish later than on one that frees up first.

/** Batches sent ahead per slot, beyond the one it runs (at most what the executor says it holds). */
export const AHEAD_PER_SLOT = 2;

/** Only batches up to this many bytes are sent ahead. */
export const AHEAD_MAX_BYTES = 256 * 1024;
