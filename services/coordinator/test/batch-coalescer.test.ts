// The batch coalescer (issue 7, target 4): small one-chunk batches held and sent together, bounded by
// bytes, batches and time; anything else refused (sent alone, after what is held); a slow caller's
// backpressure reaches the driver; a failed job drops what is held.
import assert from 'node:assert/strict';
import type { CoalescedRecords, RecordChunk, RunJobResponse } from '@flowmesh/contracts';
import { createBatchCoalescer } from '../src/batch-coalescer.js';

const chunk = (index: number, text: string, seq = 0): RecordChunk => ({
  jobId: 'j',
  batchIndex: index,
  seq,
  recordCount: text.split('\n').length - 1,
  data: Buffer.from(text),
  records: [],
});

function sink() {
  const sent: CoalescedRecords[] = [];
  let gate: Promise<void> = Promise.resolve();
  return {
    sent,
    /** Every send waits for this (a caller that does not read). */
    hold(p: Promise<void>) {
      gate = p;
    },
    send: async (m: RunJobResponse): Promise<void> => {
      await gate;
      if (m.msg?.$case === 'coalesced') sent.push(m.msg.coalesced);
    },
  };
}

/** A send from the timer must not fail in these cases. */
const fail = (err: unknown): void => assert.fail(String(err));

describe('batch coalescer', () => {
  it('holds one-chunk batches and sends them as one message on flush, in the order taken', async () => {
    const s = sink();
    const c = createBatchCoalescer('j', s.send, fail, { maxDelayMs: 60_000 });
    assert.equal(await c.add(3, [chunk(3, 'a\n')]), true);
    assert.equal(await c.add(1, [chunk(1, 'b\nc\n')]), true);
    assert.equal(s.sent.length, 0, 'held');
    await c.flush();
    assert.equal(s.sent.length, 1);
    const m = s.sent[0]!;
    assert.deepEqual([m.jobId, m.batchIndices, m.batchRecords, m.batchBytes], ['j', [3, 1], [1, 2], [2, 4]]);
    assert.equal(m.data.toString(), 'a\nb\nc\n');
    await c.flush();
    assert.equal(s.sent.length, 1, 'nothing held: nothing sent');
  });

  it('refuses batches of several chunks, of JSON texts, or too large: the caller sends those itself', async () => {
    const s = sink();
    const c = createBatchCoalescer('j', s.send, fail, { maxBatchBytes: 8 });
    assert.equal(await c.add(0, [chunk(0, 'a\n'), chunk(0, 'b\n', 1)]), false);
    assert.equal(await c.add(1, [{ ...chunk(1, ''), records: ['{}'], recordCount: 1 }]), false);
    assert.equal(await c.add(2, [chunk(2, '0123456789\n')]), false);
    assert.equal(await c.add(3, []), false);
    assert.equal(c.holding, false);
  });

  it('sends at once when the held bytes or batches reach their bound, and waits for the stream then', async () => {
    const s = sink();
    const c = createBatchCoalescer('j', s.send, fail, { maxBytes: 6, maxBatches: 100, maxDelayMs: 60_000 });
    let release!: () => void;
    s.hold(new Promise((r) => (release = r)));
    await c.add(0, [chunk(0, 'aa\n')]);
    let full = false;
    const adding = c.add(1, [chunk(1, 'bb\n')]).then(() => (full = true));
    await new Promise((r) => setImmediate(r));
    assert.equal(full, false, 'a full holding waits for the caller to take it (backpressure)');
    release();
    await adding;
    assert.deepEqual(
      s.sent.map((m) => m.batchIndices),
      [[0, 1]],
    );

    const byCount = createBatchCoalescer('j', s.send, fail, { maxBatches: 2, maxDelayMs: 60_000 });
    await byCount.add(5, [chunk(5, 'x\n')]);
    await byCount.add(6, [chunk(6, 'y\n')]);
    assert.deepEqual(
      s.sent.map((m) => m.batchIndices),
      [
        [0, 1],
        [5, 6],
      ],
    );
  });

  it('sends what it holds after maxDelayMs without being asked', async () => {
    const s = sink();
    let sent!: () => void;
    const arrived = new Promise<void>((r) => (sent = r));
    const c = createBatchCoalescer(
      'j',
      async (m) => {
        await s.send(m);
        sent();
      },
      fail,
      { maxDelayMs: 5 },
    );
    await c.add(7, [chunk(7, 'z\n')]);
    await arrived;
    assert.deepEqual(
      s.sent.map((m) => m.batchIndices),
      [[7]],
    );
    assert.equal(c.holding, false);
  });

  it('a send that fails from the timer is reported; drop discards what is held', async () => {
    let reported: unknown;
    let failed!: () => void;
    const done = new Promise<void>((r) => (failed = r));
    const c = createBatchCoalescer(
      'j',
      () => Promise.reject(new Error('caller gone')),
      (err) => {
        reported = err;
        failed();
      },
      { maxDelayMs: 1 },
    );
    await c.add(0, [chunk(0, 'a\n')]);
    await done;
    assert.match((reported as Error).message, /caller gone/);

    const s = sink();
    const d = createBatchCoalescer('j', s.send, fail, { maxDelayMs: 1 });
    await d.add(0, [chunk(0, 'a\n')]);
    d.drop();
    assert.equal(d.holding, false);
    await d.flush();
    assert.equal(s.sent.length, 0, 'dropped batches are never sent');
  });
});
