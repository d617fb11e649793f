import assert from 'node:assert/strict';
import type { RecordChunk, RejectChunk } from '@flowmesh/contracts';
import { createResultTracker } from '../src/result-tracker.js';
import { coalescedAsRecords } from '../src/coalesced-records.js';

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

  it('coalesced batches (issue 7): each is whole at once; after a re-attach, the ones already had are cut out', () => {
    const t = createResultTracker();
    const seen: string[] = [];
    const feedRec = (m: ReturnType<typeof rec> | ReturnType<typeof rej>) => {
      if (t.accept(m))
        seen.push(m.$case === 'records' ? `${m.records.batchIndex}.${m.records.seq}` : `r${m.rejects.batchIndex}`);
    };
    const feedMany = (batches: number[]) => {
      const keep = t.acceptWhole(batches);
      batches.forEach((b, i) => keep[i] && seen.push(`${b}*`));
    };
    // Arrival order: a batch with rejects and a large one come plainly, the small ones coalesced.
    feedMany([1, 0]);
    [rec(3, 0), rec(3, 1), rej(3)].forEach(feedRec);
    feedMany([2, 5]);
    feedRec(rec(4, 0));
    assert.equal(t.reattach(), 3, '0–3 and 5 whole; 4 cut after one chunk');
    // The new coordinator groups differently: 4 (one chunk: already had), 5 (whole: dropped), 6 (new).
    feedMany([5, 4, 6]);
    feedMany([7]);
    assert.equal(t.reattach(), 7);
    feedMany([6, 7, 8]);
    assert.deepEqual(seen, ['1*', '0*', '3.0', '3.1', 'r3', '2*', '5*', '4.0', '6*', '7*', '8*']);
  });

  it('a coalesced message becomes one records chunk of the batches kept', () => {
    const c = {
      jobId: 'j',
      batchIndices: [4, 2, 9],
      batchRecords: [1, 2, 1],
      batchBytes: [3, 6, 3],
      data: Buffer.from('a4\nb2\nc2\nd9\n'),
    };
    const all = coalescedAsRecords(c, [true, true, true])!;
    assert.equal(all.data, c.data, 'the received bytes, not a copy');
    assert.deepEqual(
      { ...all, data: all.data.toString() },
      { jobId: 'j', batchIndex: 4, seq: 0, recordCount: 4, data: 'a4\nb2\nc2\nd9\n', records: [] },
    );
    const some = coalescedAsRecords(c, [false, true, true])!;
    assert.deepEqual([some.batchIndex, some.recordCount, some.data.toString()], [2, 3, 'b2\nc2\nd9\n']);
    assert.equal(coalescedAsRecords(c, [false, false, false]), undefined);
    assert.throws(() => coalescedAsRecords({ ...c, batchBytes: [3, 6, 4] }, [true, true, true]), /does not add up/);
  });
});
