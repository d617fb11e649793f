// Accepted small batches held for a moment and sent to the caller together, as one `coalesced` message
// (issue 7, target 4), to a caller that asked for it (JobSpec / WatchJobRequest `coalesce_batches`). A
// message costs each hop (coordinator → gateway → client) a roughly fixed amount of CPU whatever its size —
// at 10-record batches one message per batch was the whole of the gateway's and client's cost — so N
// batches per message cut that N-fold. Only a batch whose records came as one chunk is taken (it is whole
// by itself, so a caller that re-attaches may count it done); anything else is sent as before, after what
// is held, so the order of the results never changes. What is held is bounded in bytes and batches, and in
// time: the first held batch waits at most `maxDelayMs`, and the job's end sends it at once.
import type { RecordChunk, RunJobResponse } from '@flowmesh/contracts';
import { encodeCoalescedMessage, type CoalescedBatch } from '@flowmesh/runtime';

export interface CoalesceOptions {
  /** Records bytes held before they are sent without waiting. @default 65536 */
  maxBytes?: number;
  /** Batches held before they are sent without waiting. @default 256 */
  maxBatches?: number;
  /** How long the first held batch may wait for others. @default 5 */
  maxDelayMs?: number;
  /** Largest batch (records bytes) that is held; a larger one gains nothing and is sent alone. @default 16384 */
  maxBatchBytes?: number;
}

export interface BatchCoalescer {
  /**
   * Holds the batch with these records: true once held (when that fills the holding, once the stream took
   * it — the caller's backpressure); false when it is not taken (send it yourself, after `flush`).
   */
  add(index: number, chunks: readonly RecordChunk[]): Promise<boolean>;
  /** The held batches must go before anything else is sent: sends them (resolves once the stream took them). */
  flush(): Promise<void>;
  /** True when a batch is held. */
  readonly holding: boolean;
  /** Drops what is held (the job failed or was cancelled: whole batches only ever reach the caller). */
  drop(): void;
}

export function createBatchCoalescer(
  jobId: string,
  send: (msg: RunJobResponse) => Promise<void>,
  onError: (err: unknown) => void,
  options: CoalesceOptions = {},
): BatchCoalescer {
  const maxBytes = options.maxBytes ?? 64 * 1024;
  const maxBatches = options.maxBatches ?? 256;
  const maxDelayMs = options.maxDelayMs ?? 5;
  const maxBatchBytes = options.maxBatchBytes ?? 16 * 1024;
  let held: CoalescedBatch[] = [];
  let bytes = 0;
  let timer: NodeJS.Timeout | undefined;
  /** A send started by the timer or a full holding: `flush` waits for it, so every send is awaited by someone. */
  let sending: Promise<void> = Promise.resolve();

  const sendHeld = (): Promise<void> => {
    clearTimeout(timer);
    timer = undefined;
    if (held.length === 0) return sending;
    const coalesced = encodeCoalescedMessage(jobId, held);
    held = [];
    bytes = 0;
    // Enqueued now (the caller's sender keeps the order of its calls), awaited by the next flush.
    const sent = send({ msg: { $case: 'coalesced', coalesced } });
    sending = sent.catch(() => undefined);
    return sent;
  };

  return {
    async add(index, chunks) {
      const c = chunks[0];
      if (chunks.length !== 1 || !c || c.seq !== 0 || c.records.length > 0 || c.data.length > maxBatchBytes)
        return false;
      held.push({ index, records: c.recordCount, data: c.data });
      bytes += c.data.length;
      if (bytes >= maxBytes || held.length >= maxBatches) await sendHeld();
      // A slow caller: at most one timer's message is queued beyond what the driver waits for.
      else
        timer ??= setTimeout(() => {
          sendHeld().catch(onError);
        }, maxDelayMs);
      return true;
    },
    async flush() {
      await sendHeld();
      await sending;
    },
    get holding() {
      return held.length > 0;
    },
    drop() {
      clearTimeout(timer);
      timer = undefined;
      held = [];
      bytes = 0;
    },
  };
}
