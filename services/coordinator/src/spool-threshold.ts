// Which batches go through the caller's result spool (issue 7). A part costs a fixed set of file operations
// per batch: the executor opens, writes, closes and renames it, and the gateway opens, stats, reads, closes
// and removes it — measured on a 5,000-batch job of 10-record batches (load 6.8), those were ~30% of the
// gateway's busy time (~1,200 µs CPU per batch) and a good part of each executor's. Through gRPC a record
// costs ~4.5 ns per byte per hop, so below a few tens of KiB the part is the dearer road; such batches
// stream their records and large ones keep the part.

/** Input bytes from which a batch's output is written to the spool as a part (JSONL is ~2× CSV input). */
export const SPOOL_MIN_BATCH_BYTES = 32 * 1024;

/** True when a batch of `inputBytes` should hand its records over as a spool part. */
export function spoolWorthIt(inputBytes: number, min = SPOOL_MIN_BATCH_BYTES): boolean {
  return inputBytes >= min;
}
