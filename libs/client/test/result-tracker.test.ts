import assert from 'node:assert/strict';
import type { RecordChunk, RejectChunk } from '@flowmesh/contracts';
import { createResultTracker } from '../src/result-tracker.js';

const rec = (batchIndex: number, seq: number) => ({
  $case: 'records' as const,
  records: {
    jobId: 'j',
    batchIndex,
    seq,
    recordCount: 1,
    data: Buffer.from(`${batchIndex}.${seq}\n`),
    records: [],
  } as RecordChunk,
});
const rej = (batchIndex: number) => ({
  $case: 'rejects' as const,
  rejects: { jobId: 'j', batchIndex, rejects: [] } as unknown as RejectChunk,
});

describe('result tracker (re-attach without loss or duplicate)', () => {
  it('in input order: resumes after the last whole batch and drops the received chunks of the cut one', () => {
    const t = createResultTracker();
    const seen: string[] = [];
    const feed = (m: ReturnType<typeof rec> | ReturnType<typeof rej>) => {
      if (t.accept(m))
        seen.push(m.$case === 'records' ? `${m.records.batchIndex}.${m.records.seq}` : `r${m.rejects.batchIndex}`);
    };
    [rec(0, 0), rec(0, 1), rej(0), rec(1, 0), rec(1, 1), rec(2, 0)].forEach(feed);
    assert.equal(t.reattach(), 1, 'batches 0 and 1 are whole; 2 was cut after one chunk');
    // The new coordinator re-sends from batch 2: its first chunk is a repeat.
    [rec(2, 0), rec(2, 1), rej(2), rec(3, 0)].forEach(feed);
    assert.deepEqual(seen, ['0.0', '0.1', 'r0', '1.0', '1.1', '2.0', '2.1', 'r2', '3.0']);
  });

  it('in arrival order: whole batches past the prefix are dropped when re-sent; a cut after all records keeps the rejects', () => {
    const t = createResultTracker();
    const seen: string[] = [];
    const feed = (m: ReturnType<typeof rec> | ReturnType<typeof rej>) => {
      if (t.accept(m))
        seen.push(m.$case === 'records' ? `${m.records.batchIndex}.${m.records.seq}` : `r${m.rejects.batchIndex}`);
    };
    [rec(1, 0), rec(0, 0), rec(3, 0), rec(2, 0)].forEach(feed);
    assert.equal(t.reattach(), 1, '0 and 1 whole, 3 whole, 2 cut');
    // Re-sent after batch 1, in another arrival order; a second cut and re-attach in between.
    [rec(3, 0), rec(2, 0), rej(2), rec(5, 0)].forEach(feed);
    assert.equal(t.reattach(), 3);
    [rec(4, 0), rec(5, 0), rec(6, 0)].forEach(feed);
    assert.deepEqual(seen, ['1.0', '0.0', '3.0', '2.0', 'r2', '5.0', '4.0', '6.0']);
  });
});
