// What a caller has received of a job's result stream, so it can re-attach after the job's coordinator
// died (issue 6) and still see every record exactly once. The coordinator sends one batch at a time (its
// record chunks, then its rejects), so a batch is whole once a message of another batch follows it. On
// re-attach the caller asks for the batches after the last whole prefix; the new coordinator re-runs and
// re-sends the rest, and this tracker drops what was already received: whole batches, and the first chunks
// of the batch that was cut (a re-run batch reproduces the same chunks when the flow's steps are
// deterministic — docs/guarantees.md).
import type { RejectChunk, RecordChunk } from '@flowmesh/contracts';

export interface ResultTracker {
  /** False when the message repeats what was already received (drop it). */
  accept(msg: { $case: 'records'; records: RecordChunk } | { $case: 'rejects'; rejects: RejectChunk }): boolean;
  /**
   * A coalesced message (issue 7): several batches, each whole. Which of them are new (pass those on); the
   * others were received before a re-attach. All of them count as whole from now on.
   */
  acceptWhole(batches: readonly number[]): boolean[];
  /** The caller is about to re-attach: every batch up to the returned index is whole (-1: none). */
  reattach(): number;
}

export function createResultTracker(): ResultTracker {
  let prefix = -1;
  const whole = new Set<number>();
  let current: { batch: number; chunks: number; rejects: boolean } | undefined;
  // After a re-attach: what of the batch that was cut must not be passed on again.
  let cut: { batch: number; chunks: number; rejects: boolean } | undefined;

  const close = (batch: number): void => {
    whole.add(batch);
    while (whole.delete(prefix + 1)) prefix++;
  };

  return {
    accept(msg) {
      const batch = msg.$case === 'records' ? msg.records.batchIndex : msg.rejects.batchIndex;
      if (batch <= prefix || whole.has(batch)) return false;
      if (current && current.batch !== batch) {
        close(current.batch);
        current = undefined;
      }
      current ??= { batch, chunks: 0, rejects: false };
      if (cut && cut.batch === batch) {
        if (msg.$case === 'records' && cut.chunks > 0) {
          cut.chunks--;
          return false;
        }
        if (msg.$case === 'rejects' && cut.rejects) {
          cut.rejects = false;
          return false;
        }
      }
      if (msg.$case === 'records') current.chunks++;
      else current.rejects = true;
      return true;
    },
    acceptWhole(batches) {
      // A message of other batches: the one in progress is whole (a batch is never sent in both forms by
      // one coordinator; after a re-attach nothing is in progress).
      if (current) close(current.batch);
      current = undefined;
      return batches.map((batch) => {
        if (batch <= prefix || whole.has(batch)) return false;
        close(batch);
        // The batch that was cut held one chunk (a coalesced batch is one chunk): it was passed on whole.
        if (cut && cut.batch === batch && cut.chunks > 0) {
          cut.chunks--;
          return false;
        }
        return true;
      });
    },
    reattach() {
      // The batch in progress may be whole or not: its received part is remembered and skipped when re-sent.
      if (current) cut = { ...current };
      current = undefined;
      return prefix;
    },
  };
}
