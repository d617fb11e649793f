// A `coalesced` message (several small whole batches, issue 7 target 4) as the `records` event callers of
// runJob have always received: one chunk holding the records of the batches that are new to the caller —
// all of them, except after a re-attach, when the ones already passed on are cut out. The chunk's
// `batchIndex` is the first batch it holds; `recordCount` and `data` cover all of them.
import type { CoalescedRecords, RecordChunk } from '@flowmesh/contracts';

export function coalescedAsRecords(c: CoalescedRecords, keep: readonly boolean[]): RecordChunk | undefined {
  const n = c.batchIndices.length;
  let bytes = 0;
  for (const b of c.batchBytes) bytes += b;
  // A malformed message would make the re-attach bookkeeping lie: refuse it rather than guess.
  if (c.batchRecords.length !== n || c.batchBytes.length !== n || bytes !== c.data.length)
    throw new Error(
      `job ${c.jobId}: a coalesced records message does not add up (${n} batches, ${c.data.length} bytes)`,
    );
  let first: number | undefined;
  let records = 0;
  const parts: Buffer[] = [];
  let all = true;
  for (let i = 0, at = 0; i < n; at += c.batchBytes[i]!, i++) {
    if (!keep[i]) {
      all = false;
      continue;
    }
    first ??= c.batchIndices[i]!;
    records += c.batchRecords[i]!;
    parts.push(c.data.subarray(at, at + c.batchBytes[i]!));
  }
  if (first === undefined) return undefined;
  return {
    jobId: c.jobId,
    batchIndex: first,
    seq: 0,
    recordCount: records,
    data: all ? c.data : Buffer.concat(parts),
    records: [],
  };
}
