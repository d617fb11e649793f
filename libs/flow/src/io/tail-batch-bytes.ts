// Batch sizes toward a file's end, so every slot finishes together (issue 7, target 1a).
// With equal batches, one slot runs the file's last batch while the others have nothing left: on 2 slots
// and 4 MiB batches that is up to ~100 ms of a ~2 s job with half the machine idle. Near the end the batch
// size follows the bytes left, as in guided self-scheduling ("factoring": each batch is at most the bytes
// left / (2 × slots), so a round of batches covers half of what is left), down to a floor where a batch's
// fixed cost would outweigh the balance it buys. Only bytes left and slots decide a size: the plan stays a
// pure function of the file, so a coordinator taking a job over plans the same ranges again (issue 6).

export interface TailPolicy {
  /** Slots that run the batches in parallel (1: nothing to balance, every batch is full size). */
  slots: number;
  /** Where the data ends (the file's size when it was opened). */
  endOffset: number;
  /**
   * The smallest tail batch. Above the executors' send-ahead limit for small batches (256 KiB), so the file's
   * last batches still wait for a free slot rather than queue behind a busy one (send-ahead.ts).
   * @default 512 KiB
   */
  minBytes?: number;
}

/** See TailPolicy.minBytes. */
export const TAIL_MIN_BYTES = 512 * 1024;

/**
 * The target size of the batch that starts with `bytesLeft` bytes to the end of the data: `batchBytes` while
 * plenty is left, then bytes left / (2 × slots), at least `minBytes` (or all that is left when what would remain
 * after it is under half of `minBytes`, so the file does not end with a sliver of a batch).
 */
export function tailBatchBytes(bytesLeft: number, batchBytes: number, policy: TailPolicy): number {
  const slots = Math.floor(policy.slots);
  if (!(slots > 1) || !Number.isFinite(batchBytes)) return batchBytes;
  const share = Math.ceil(bytesLeft / (2 * slots));
  if (share >= batchBytes) return batchBytes;
  const floor = Math.min(batchBytes, Math.max(1, policy.minBytes ?? TAIL_MIN_BYTES));
  const target = Math.max(floor, share);
  return bytesLeft - target < floor / 2 ? Math.max(1, bytesLeft) : target;
}
