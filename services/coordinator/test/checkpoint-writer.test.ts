import assert from 'node:assert/strict';
import type { BatchTrailer, JobCheckpoint } from '@flowmesh/contracts';
import { waitFor } from '@flowmesh/testing';
import pino from 'pino';
import type { VerifiedAttempt } from '../src/attempt-collector.js';
import { DeposedError, type CheckpointStore, type StoredCheckpoint } from '../src/checkpoint-store.js';
import { createCheckpointWriter, initialCheckpoint } from '../src/checkpoint-writer.js';

const logger = pino({ level: 'silent' });

/** config-store's compare-and-set semantics in memory; `loseAnswers` drops the answer of a write that landed. */
function memoryStore() {
  const data = new Map<string, StoredCheckpoint>();
  let rev = 0;
  const writes: JobCheckpoint[] = [];
  const state = { loseAnswers: 0 };
  const store: CheckpointStore = {
    async get(jobId) {
      return data.get(jobId);
    },
    async list() {
      return [...data.values()];
    },
    async put(checkpoint, expected) {
      const now = data.get(checkpoint.jobId);
      if ((now?.revision ?? 0) !== expected)
        throw new DeposedError(`revision ${now?.revision ?? 0}, expected ${expected}`);
      data.set(checkpoint.jobId, { checkpoint: structuredClone(checkpoint), revision: ++rev });
      writes.push(structuredClone(checkpoint));
      if (state.loseAnswers > 0) {
        state.loseAnswers--;
        throw Object.assign(new Error('deadline exceeded'), { code: 4 });
      }
      return rev;
    },
    async remove(jobId, expected) {
      if (data.get(jobId)?.revision !== expected) throw new DeposedError('changed');
      data.delete(jobId);
    },
  };
  return { store, data, writes, state };
}

const result = (recordsIn: number, aggregate: number): VerifiedAttempt => ({
  trailer: {
    counts: { recordsIn, recordsOut: recordsIn, recordsRejected: 0, recordsFiltered: 0, bytesIn: 1, bytesOut: 1 },
    counterDeltas: { seen: recordsIn },
    cacheSets: { last: String(recordsIn) },
    aggregates: { n: aggregate },
  } as unknown as BatchTrailer,
  chunks: [],
  rejects: [],
  records: recordsIn,
  bytes: 0,
});

const base = () =>
  initialCheckpoint({
    jobId: 'j1',
    owner: 'c1',
    spec: { flow: 'f', jobId: 'j1' } as JobCheckpoint['spec'] & object,
    globals: { flow: 'x' },
    createdAt: new Date(0),
    streamResults: false,
    planSlots: 2,
  });

describe('checkpoint writer', () => {
  it('coalesces completed batches into few CAS writes holding exactly the done batches and their merged state', async () => {
    const m = memoryStore();
    const cp = base();
    let sinkBytes = 0;
    let synced = 0;
    const w = createCheckpointWriter(
      {
        store: m.store,
        owner: 'c1',
        logger,
        everyMs: 30,
        mergeAggregates: (a, b) => ({ n: (a as { n: number }).n + (b as { n: number }).n }),
        syncSink: async () => void synced++,
        sinkLengths: () => ({ output: sinkBytes, rejects: 0 }),
        onDeposed: () => assert.fail('not deposed'),
      },
      cp,
      m.store.put(cp, 0, 'c1'),
    );
    for (const i of [0, 1, 3, 4, 2, 6]) {
      sinkBytes += 10;
      w.done(i, result(i + 1, 1), 100);
    }
    await waitFor(() => m.writes.length >= 2, { timeoutMs: 2000, what: 'a coalesced write' });
    assert.equal(m.writes.length, 2, 'one creating write, then one for six batches');
    const last = m.data.get('j1')!.checkpoint;
    assert.equal(last.doneBelow, 5, 'batches 0..4 done');
    assert.deepEqual(
      last.batches.map((b) => b.index),
      [6],
    );
    assert.equal(last.counts?.recordsIn, 1 + 2 + 4 + 5 + 3 + 7);
    assert.equal(last.bytesDone, 600);
    assert.equal(last.outputBytes, 60);
    assert.deepEqual(last.globals, { flow: 'x', seen: 22, last: '7' });
    assert.deepEqual(last.aggregates, { n: 6 });
    assert.equal(last.planSlots, 2, 'a takeover plans the same batch ranges');
    assert.ok(synced >= 1, 'the sink is synced before its lengths are recorded');
    await w.flush({ committing: true });
    assert.equal(m.data.get('j1')!.checkpoint.committing, true);
    await w.remove();
    assert.equal(m.data.size, 0);
  });

  it('records the sink lengths of the done batches only, not bytes of a batch still being written', async () => {
    // A batch reaches the sink in several awaited writes before it is marked done; a checkpoint taken in
    // between must not claim those bytes, or the next owner keeps them and writes the batch again.
    const m = memoryStore();
    const cp = base();
    let sinkBytes = 0;
    const w = createCheckpointWriter(
      {
        store: m.store,
        owner: 'c1',
        logger,
        everyMs: 10_000,
        sinkLengths: () => ({ output: sinkBytes, rejects: 0 }),
        onDeposed: () => assert.fail('not deposed'),
      },
      cp,
      m.store.put(cp, 0, 'c1'),
    );
    sinkBytes += 100;
    w.done(0, result(1, 1), 10);
    sinkBytes += 70; // batch 1 half written
    await w.flush();
    const cpNow = m.data.get('j1')!.checkpoint;
    assert.equal(cpNow.doneBelow, 1);
    assert.equal(cpNow.outputBytes, 100, 'only batch 0 is done: its bytes, not the half of batch 1');
    sinkBytes += 30;
    w.done(1, result(1, 1), 10);
    await w.flush();
    assert.equal(m.data.get('j1')!.checkpoint.outputBytes, 200);
  });

  it('a write lost in flight but landed is recognised as ours; a takeover deposes the old owner', async () => {
    const m = memoryStore();
    const cp = base();
    const deposed: string[] = [];
    const w = createCheckpointWriter(
      { store: m.store, owner: 'c1', logger, everyMs: 10_000, onDeposed: (r) => deposed.push(r) },
      cp,
      m.store.put(cp, 0, 'c1'),
    );
    w.done(0, result(1, 1), 10);
    m.state.loseAnswers = 1;
    await assert.rejects(w.flush(), /deadline/);
    w.done(1, result(1, 1), 10);
    await w.flush();
    assert.equal(m.data.get('j1')!.checkpoint.doneBelow, 2);
    assert.deepEqual(deposed, []);

    // Another coordinator takes the job over: CAS naming it, epoch raised.
    const now = m.data.get('j1')!;
    await m.store.put({ ...now.checkpoint, coordinatorId: 'c2', epoch: 2 }, now.revision, 'c2');
    w.done(2, result(1, 1), 10);
    await assert.rejects(w.flush(), DeposedError);
    assert.equal(deposed.length, 1);
    assert.match(deposed[0]!, /coordinator c2 owns job j1 at epoch 2/);
    assert.equal(m.data.get('j1')!.checkpoint.coordinatorId, 'c2', "the new owner's checkpoint is untouched");
    await w.remove();
    assert.equal(m.data.size, 1, 'a deposed owner removes nothing');
  });

  it('a deferred creating write: nothing is written until anchored; a writer never anchored removes nothing', async () => {
    const m = memoryStore();
    const cp = base();
    let creates = 0;
    const create = (): Promise<number> => {
      creates++;
      return m.store.put(cp, 0, 'c1');
    };
    const short = createCheckpointWriter(
      { store: m.store, owner: 'c1', logger, everyMs: 10_000, onDeposed: () => undefined },
      cp,
      create,
    );
    short.done(0, result(1, 1), 10);
    assert.equal(short.anchored, false);
    short.close();
    await short.remove();
    assert.equal(creates, 0);
    assert.equal(m.writes.length, 0, 'a job that ended before its anchor touched no checkpoint');

    const long = createCheckpointWriter(
      { store: m.store, owner: 'c1', logger, everyMs: 10_000, onDeposed: () => undefined },
      cp,
      create,
    );
    long.anchor();
    long.anchor();
    assert.equal(creates, 1, 'anchored once');
    long.done(0, result(2, 1), 10);
    await long.flush();
    assert.equal(m.writes.length, 2, 'the create, then the update on its revision');
    assert.equal(m.data.get('j1')!.checkpoint.doneBelow, 1);
    long.close();
    await long.remove();
    assert.equal(m.data.size, 0);

    // A first write (a flush) anchors a writer that was not yet.
    const flushed = createCheckpointWriter(
      { store: m.store, owner: 'c1', logger, everyMs: 10_000, onDeposed: () => undefined },
      cp,
      create,
    );
    flushed.done(0, result(1, 1), 10);
    await flushed.flush();
    assert.equal(flushed.anchored, true);
    assert.equal(m.data.get('j1')!.checkpoint.doneBelow, 1);
    flushed.close();
    await flushed.remove();
    assert.equal(m.data.size, 0);
  });

  it('a resumed writer knows which batches earlier epochs did', () => {
    const m = memoryStore();
    const cp = {
      ...base(),
      epoch: 2,
      doneBelow: 3,
      batches: [{ index: 5, done: true } as JobCheckpoint['batches'][0]],
    };
    const w = createCheckpointWriter(
      { store: m.store, owner: 'c2', logger, everyMs: 10, onDeposed: () => undefined },
      cp,
      1,
    );
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5, 6].filter((i) => w.isDone(i)),
      [0, 1, 2, 5],
    );
    assert.equal(w.epoch, 2);
    w.close();
  });
});
