// Local hand-off (issue 7 target 1): a caller on this machine that shares the spool reads each part itself,
// so a batch's records cross no gRPC call at all (the gateway relayed ~1.3 µs/record of CPU between itself
// and the client for bytes already in a file here). The proof is the spool's random id, as for executors:
// the caller sends the id it read from its spool (CALLER_SPOOL_ID_METADATA_KEY); only an equal id turns it
// on — never a path comparison. The caller then gets a LocalPart per batch instead of its records, checks
// it (size, CRC-32) before passing any of it on, and acks the batch once its records were taken. Only then
// does the gateway remove the part and confirm it to the coordinator (PartSent), whose window of unconfirmed
// parts thus bounds the spool by what the caller has not yet consumed, as on the streamed path.
import { join } from 'node:path';
import type { Metadata } from '@grpc/grpc-js';
import type { LocalPart, RecordsPart } from '@flowmesh/contracts';
import { CALLER_SPOOL_ID_METADATA_KEY, SPOOL_DIR_METADATA_KEY } from '@flowmesh/runtime';
import { checkPartOfCall, type CallSpool, type ResultSpool } from './result-spool.js';
import { removePart } from './spool-files.js';

export interface LocalHandoff {
  /** The response header naming the call's directory (relative to the spool) to the caller. */
  readonly header: readonly [string, string];
  /**
   * The caller's reference to a part; `confirm` runs when the caller acks its batch (after the part is
   * removed). Throws DataLossError when the part is not in the call's directory.
   */
  offer(part: RecordsPart, confirm: () => void): LocalPart;
  /** The caller consumed the batch: its part is removed and confirmed. Unknown batches are ignored. */
  ack(batchIndex: number): void;
  /** A part the caller is not sent (it has the batch already: a run again): removed and confirmed now. */
  drop(part: RecordsPart, confirm: () => void): void;
  /**
   * Resolves once every part handed off was acked and removed — the job's summary (or its error) may reach
   * the caller before it has read the last parts, and the call's directory goes when the call ends — or when `signal`
   * aborts or `timeoutMs` passes (a caller that never acks: the call's end removes what is left).
   */
  settled(signal: AbortSignal, timeoutMs: number): Promise<void>;
}

/** True when the caller proved it shares this spool (its id in the call metadata equals the spool's). */
export function callerSharesSpool(spool: ResultSpool | undefined, metadata: Metadata): boolean {
  const claimed = metadata.get(CALLER_SPOOL_ID_METADATA_KEY)[0];
  return spool !== undefined && typeof claimed === 'string' && claimed.length > 0 && claimed === spool.id;
}

export function createLocalHandoff(call: CallSpool): LocalHandoff {
  // Parts handed off and not yet acked: at most the coordinator's window (a few), so no bound of its own.
  const pending = new Map<number, { file: string; confirm: () => void }>();
  let onSettled: (() => void) | undefined;
  const settle = (file: string, confirm: () => void): void => {
    // Removed before confirmed: the coordinator's next part may follow at once, the disk bound holds.
    removePart(file);
    confirm();
    if (pending.size === 0) onSettled?.();
  };
  return {
    header: [SPOOL_DIR_METADATA_KEY, call.dir],
    offer(part, confirm) {
      const what = `job ${part.jobId}: batch ${part.batchIndex}'s records part ${part.path}`;
      checkPartOfCall(call.dir, part, what);
      pending.set(part.batchIndex, { file: join(call.spoolDir, part.path), confirm });
      return {
        jobId: part.jobId,
        batchIndex: part.batchIndex,
        path: part.path.slice(call.dir.length + 1),
        bytes: part.bytes,
        records: part.records,
        checksum: part.checksum,
        chunkBytes: part.chunkBytes,
        chunkRecords: part.chunkRecords,
      };
    },
    ack(batchIndex) {
      const p = pending.get(batchIndex);
      if (!p) return;
      pending.delete(batchIndex);
      settle(p.file, p.confirm);
    },
    drop(part, confirm) {
      settle(join(call.spoolDir, part.path), confirm);
    },
    settled(signal, timeoutMs) {
      if (pending.size === 0 || signal.aborted) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          signal.removeEventListener('abort', done);
          onSettled = undefined;
          resolve();
        };
        const timer = setTimeout(done, timeoutMs);
        signal.addEventListener('abort', done, { once: true });
        onSettled = done;
      });
    },
  };
}
