import assert from 'node:assert/strict';
import { DataFormat, RecordEncoding } from '@flowmesh/contracts';
import type { ExecuteBatchResponse } from '@flowmesh/contracts';
import { waitFor } from '@flowmesh/testing';
import pino from 'pino';
import { createChecksum } from '@flowmesh/flow';
import type { AttemptRunner } from '../src/attempt-runner.js';
import { createJobDriver, type BatchSource, type DriverJob } from '../src/job-driver.js';
import { createSlotLedger, type ExecutorView } from '../src/slot-ledger.js';

const logger = pino({ level: 'silent' });
const ex = (id: string, slots: number): ExecutorView => ({ id, address: id, slots, fileRoots: ['data'], load: 0 });

function source(batches: number): BatchSource {
  let i = 0;
  return {
    bytesTotal: batches * 10,
    file: { root: 'data', path: 'in.csv' },
    async next() {
      if (i >= batches) return undefined;
      const index = i++;
      return { index, offset: index * 10, length: 10, firstLine: index + 2, firstRecord: 0, records: 1 };
    },
    read: async (_o, length) => Buffer.alloc(length),
    header: () => Buffer.alloc(0),
  };
}

const job = (patch: Partial<DriverJob> = {}): DriverJob => ({
  jobId: 'j1',
  epoch: 1,
  flow: 'f',
  flowRevision: 1,
  flowSource: '',
  vars: {},
  format: DataFormat.DATA_FORMAT_CSV,
  encoding: RecordEncoding.RECORD_ENCODING_JSONL,
  includeRejects: false,
  maxInstances: 4,
  order: 'input',
  retries: 2,
  globals: {},
  ...patch,
});

interface FakeOptions {
  /** Milliseconds an attempt takes (by batch index, attempt and executor). */
  delay?: (index: number, attempt: number, executor: string) => number;
  /** Corrupt the trailer of this attempt. */
  corrupt?: (index: number, attempt: number, executor: string) => boolean;
}

/** An in-process executor: one JSONL record per batch, a correct trailer unless told otherwise. */
function fakeRunner(opts: FakeOptions = {}) {
  const seen: Array<{ index: number; attempt: number; executor: string; mayWait: boolean }> = [];
  let running = 0;
  let peak = 0;
  const perExecutor = new Map<string, number>();
  const peakPerExecutor = new Map<string, number>();
  let cancelled = 0;
  const run: AttemptRunner = async function* (req, signal) {
    const a = req.assignment;
    seen.push({ index: a.batchIndex, attempt: a.attempt, executor: req.executor.id, mayWait: a.mayWait });
    running++;
    peak = Math.max(peak, running);
    const n = (perExecutor.get(req.executor.id) ?? 0) + 1;
    perExecutor.set(req.executor.id, n);
    peakPerExecutor.set(req.executor.id, Math.max(peakPerExecutor.get(req.executor.id) ?? 0, n));
    try {
      yield { msg: { $case: 'started', started: { executorId: req.executor.id } } } as ExecuteBatchResponse;
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(resolve, opts.delay?.(a.batchIndex, a.attempt, req.executor.id) ?? 1);
        signal.addEventListener(
          'abort',
          () => {
            clearTimeout(t);
            cancelled++;
            reject(new Error('cancelled'));
          },
          { once: true },
        );
      });
      const data = Buffer.from(`{"batch":${a.batchIndex}}\n`);
      const sum = createChecksum();
      sum.update(data);
      const bad = opts.corrupt?.(a.batchIndex, a.attempt, req.executor.id) ?? false;
      yield {
        msg: {
          $case: 'records',
          records: { jobId: a.jobId, batchIndex: a.batchIndex, seq: 0, recordCount: 1, data, records: [] },
        },
      };
      yield {
        msg: {
          $case: 'trailer',
          trailer: {
            jobId: a.jobId,
            batchIndex: a.batchIndex,
            attempt: a.attempt,
            epoch: a.epoch,
            counts: {
              recordsIn: 1,
              recordsOut: 1,
              recordsRejected: 0,
              recordsFiltered: 0,
              bytesIn: 10,
              bytesOut: data.length,
            },
            chunks: 1,
            checksum: bad ? '00000000' : sum.digest(),
            checksumAlgorithm: 'crc32',
            counterDeltas: { seen: 1 },
            cacheSets: {},
            aggregates: { n: 1 },
            durationMs: 1,
            executorId: req.executor.id,
            outputPart: undefined,
          },
        },
      };
    } finally {
      running--;
      perExecutor.set(req.executor.id, (perExecutor.get(req.executor.id) ?? 1) - 1);
    }
  };
  return { run, seen, peak: () => peak, peakPerExecutor, cancelled: () => cancelled };
}

const deps = (ledgerExecutors: ExecutorView[], run: AttemptRunner) => ({
  ledger: createSlotLedger(ledgerExecutors),
  runner: run,
  logger,
  heartbeatTimeoutMs: 2000,
  noExecutorTimeoutMs: 200,
});

describe('job driver (in-process executors)', () => {
  it('honours maxInstances and slots with more batches than slots, and emits in input order', async () => {
    const fake = fakeRunner({ delay: (i) => (i % 3) * 3 + 1 });
    const d = createJobDriver(deps([ex('a', 2), ex('b', 2)], fake.run), job({ maxInstances: 3 }));
    const order: number[] = [];
    const outcome = await d.run(source(40), async (index) => void order.push(index));
    assert.deepEqual(outcome, { state: 'succeeded' });
    assert.deepEqual(order, [...Array(40).keys()]);
    assert.equal(fake.peak(), 3, 'peak in flight equals maxInstances');
    assert.equal(d.load().peakInFlight, 3);
    const fake2 = fakeRunner({ delay: () => 2 });
    const d2 = createJobDriver(deps([ex('a', 1), ex('b', 1)], fake2.run), job({ maxInstances: 8 }));
    await d2.run(source(20), async () => undefined);
    assert.equal(fake2.peak(), 2, 'never more than the slots');
    assert.ok([...fake2.peakPerExecutor.values()].every((p) => p === 1));
    assert.equal((d.globals() as { seen: number }).seen, 40);
  });

  it('resumes a taken-over job: batches done under the earlier epoch are neither run nor emitted, counts carried', async () => {
    const fake = fakeRunner();
    const done = new Set([0, 1, 2, 5]);
    const d = createJobDriver(
      deps([ex('a', 2)], fake.run),
      job({
        epoch: 3,
        globals: { seen: 4 },
        resume: {
          done: (i) => done.has(i),
          counted: (i) => done.has(i),
          counts: { recordsIn: 4, recordsOut: 4, recordsRejected: 0, recordsFiltered: 0, bytesIn: 40, bytesOut: 40 },
          bytesDone: 40,
        },
      }),
    );
    const order: number[] = [];
    const outcome = await d.run(source(8), async (index, _r, bytes) => {
      assert.equal(bytes, 10);
      order.push(index);
    });
    assert.deepEqual(outcome, { state: 'succeeded' });
    assert.deepEqual(order, [3, 4, 6, 7], 'only the batches not done are emitted, in input order');
    assert.deepEqual(fake.seen.map((s) => s.index).sort(), [3, 4, 6, 7], 'only they run');
    assert.ok(fake.seen.every((s) => s.attempt === 1));
    const p = d.progress(2);
    assert.equal(p.batchesDone, 8);
    assert.equal(p.counts?.recordsIn, 8, "the earlier epochs' counts plus the re-run batches");
    assert.equal(p.bytesDone, 80);
    assert.equal((d.globals() as { seen: number }).seen, 8);
  });

  it('re-sends batches a re-attached caller lacks without counting them twice', async () => {
    const fake = fakeRunner();
    const counted = new Set([0, 1, 2, 3]);
    const d = createJobDriver(
      deps([ex('a', 2)], fake.run),
      job({
        epoch: 2,
        globals: { seen: 4 },
        resume: {
          // The caller has batches 0 and 1; 2 and 3 were sent (and counted) but did not reach it.
          done: (i) => i <= 1,
          counted: (i) => counted.has(i),
          counts: { recordsIn: 4, recordsOut: 4, recordsRejected: 0, recordsFiltered: 0, bytesIn: 40, bytesOut: 40 },
          bytesDone: 40,
        },
      }),
    );
    const order: number[] = [];
    await d.run(source(6), async (index) => void order.push(index));
    assert.deepEqual(order, [2, 3, 4, 5]);
    const p = d.progress(2);
    assert.equal(p.counts?.recordsIn, 6, 'batches 2 and 3 are not counted again');
    assert.equal(p.bytesDone, 60);
    assert.equal((d.globals() as { seen: number }).seen, 6);
  });

  it('emits in arrival order when asked', async () => {
    const fake = fakeRunner({ delay: (i) => (i === 0 ? 40 : 1) });
    const d = createJobDriver(deps([ex('a', 4)], fake.run), job({ maxInstances: 4, order: 'arrival' }));
    const order: number[] = [];
    await d.run(source(4), async (index) => void order.push(index));
    assert.equal(order.length, 4);
    assert.notEqual(order[0], 0, 'the slow first batch does not hold the others back');
  });

  it('retries a batch whose trailer does not match on another executor and accepts only the good attempt', async () => {
    const fake = fakeRunner({ corrupt: (i, attempt) => i === 3 && attempt === 1 });
    const d = createJobDriver(deps([ex('a', 1), ex('b', 1)], fake.run), job({ maxInstances: 2 }));
    const emitted: Array<{ index: number; executor: string }> = [];
    const outcome = await d.run(
      source(6),
      async (index, r) => void emitted.push({ index, executor: r.trailer.executorId }),
    );
    assert.equal(outcome.state, 'succeeded');
    assert.deepEqual(
      emitted.map((e) => e.index),
      [0, 1, 2, 3, 4, 5],
      'each batch exactly once',
    );
    const tries = fake.seen.filter((s) => s.index === 3);
    assert.equal(tries.length, 2);
    assert.notEqual(tries[0]!.executor, tries[1]!.executor, 'the retry went to the other executor');
    assert.equal(d.progress(2).batchesRetried, 1);
    assert.equal(d.progress(2).counts?.recordsOut, 6, 'the refused attempt is not counted');
  });

  it('backs up a batch far slower than its peers on another executor; the backup wins, the slow one is cancelled', async () => {
    // Batch 2's first attempt would take 10 s; every other attempt (its backup too) takes ~5 ms.
    const fake = fakeRunner({ delay: (i, attempt) => (i === 2 && attempt === 1 ? 10_000 : 5) });
    const d = createJobDriver(
      { ...deps([ex('a', 1), ex('b', 1)], fake.run), speculation: { multiple: 3, minAgeMs: 50 } },
      job({ maxInstances: 2, retries: 0 }),
    );
    const emitted: Array<{ index: number; executor: string; attempt: number }> = [];
    const started = Date.now();
    const outcome = await d.run(source(6), async (index, r) => {
      emitted.push({ index, executor: r.trailer.executorId, attempt: r.trailer.attempt });
    });
    assert.equal(outcome.state, 'succeeded');
    assert.ok(Date.now() - started < 5_000, 'the job did not wait for the slow attempt');
    assert.deepEqual(
      emitted.map((e) => e.index),
      [0, 1, 2, 3, 4, 5],
      'each batch exactly once, in order',
    );
    const tries = fake.seen.filter((s) => s.index === 2);
    assert.equal(tries.length, 2, 'one backup attempt');
    assert.notEqual(tries[0]!.executor, tries[1]!.executor, 'the backup ran on the other executor');
    assert.equal(emitted[2]!.attempt, 2, 'the backup won');
    assert.equal(emitted[2]!.executor, tries[1]!.executor);
    assert.equal(fake.cancelled(), 1, 'the slow attempt was cancelled');
    const p = d.progress(2);
    assert.equal(p.batchesSpeculative, 1);
    assert.equal(p.batchesRetried, 0, 'a cancelled loser is not a failure');
    assert.equal(p.batchesDone, 6);
    assert.equal(p.counts?.recordsOut, 6, 'exactly one output of the backed-up batch');
    assert.equal(d.load().inFlight, 0);
  });

  it('starts no backup beyond maxInstances', async () => {
    const fake = fakeRunner({ delay: (i, attempt) => (i === 1 && attempt === 1 ? 300 : 5) });
    const d = createJobDriver(
      { ...deps([ex('a', 2), ex('b', 2)], fake.run), speculation: { multiple: 3, minAgeMs: 20 } },
      job({ maxInstances: 1 }),
    );
    const outcome = await d.run(source(4), async () => undefined);
    assert.equal(outcome.state, 'succeeded');
    assert.equal(fake.seen.length, 4, 'no backup: the only slot was busy');
    assert.equal(fake.peak(), 1);
    assert.equal(d.progress(2).batchesSpeculative, 0);
  });

  it('quarantines a batch after its retry budget and fails the job with a report', async () => {
    const fake = fakeRunner({ corrupt: (i) => i === 2 });
    const d = createJobDriver(deps([ex('a', 1), ex('b', 1)], fake.run), job({ maxInstances: 2, retries: 1 }));
    const outcome = await d.run(source(5), async () => undefined);
    assert.equal(outcome.state, 'failed');
    if (outcome.state !== 'failed') return;
    assert.match(outcome.error, /batch 2 \(bytes 20\.\.30\) failed after 2 attempts/);
    assert.equal(outcome.failures[0]?.batchIndex, 2);
    assert.equal(outcome.failures[0]?.errors.length, 2);
  });

  it('cancel stops every running attempt', async () => {
    const fake = fakeRunner({ delay: () => 10_000 });
    const d = createJobDriver(deps([ex('a', 2), ex('b', 2)], fake.run), job({ maxInstances: 4 }));
    const running = d.run(source(10), async () => undefined);
    await waitFor(() => fake.seen.length === 4, { what: '4 attempts started' });
    d.cancel('user asked');
    const outcome = await running;
    assert.deepEqual(outcome, { state: 'cancelled', reason: 'user asked' });
    assert.equal(fake.cancelled(), 4);
    assert.equal(d.load().inFlight, 0);
  });

  it('fails the job when no executor shows up', async () => {
    const d = createJobDriver(deps([], fakeRunner().run), job());
    const outcome = await d.run(source(2), async () => undefined);
    assert.equal(outcome.state, 'failed');
  });

  it('bounds planning by the reorder window while a slow caller reads', async () => {
    const fake = fakeRunner();
    const d = createJobDriver({ ...deps([ex('a', 4)], fake.run), reorderWindow: 3 }, job({ maxInstances: 4 }));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let calls = 0;
    const running = d.run(source(30), async () => {
      calls++;
      if (calls === 1) await gate;
    });
    await waitFor(() => fake.seen.length >= 3, { what: 'first batches' });
    assert.ok(d.progress(2).batchesPlanned <= 4, `planned ${d.progress(2).batchesPlanned} while the caller is stuck`);
    release();
    assert.equal((await running).state, 'succeeded');
  });

  it('starts no new batch while the output held for a stuck caller exceeds the byte limit', async () => {
    const fake = fakeRunner();
    // A window of 100 batches would admit them all: only the byte limit (3 outputs of ~13 bytes) holds them.
    const d = createJobDriver(
      { ...deps([ex('a', 4)], fake.run), reorderWindow: 100, heldBytesLimit: 36 },
      job({ maxInstances: 4 }),
    );
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const emitted: number[] = [];
    const running = d.run(source(30), async (i) => {
      emitted.push(i);
      if (i === 0) await gate;
    });
    // Settled: nothing in flight while batches are queued (only the limit leaves a batch queued with a free slot).
    await waitFor(
      () => {
        const l = d.load();
        return l.inFlight === 0 && l.queued > 0;
      },
      { what: 'dispatch to stop while the caller is stuck', timeoutMs: 5000 },
    );
    const done = d.progress(2).batchesDone;
    // Batch 0 (taken by the caller), ≤ 3 held up to the limit, and at most the 4 that were already in flight.
    assert.ok(done <= 8, `${done} batches done while the caller read nothing`);
    release();
    assert.equal((await running).state, 'succeeded');
    assert.deepEqual(emitted, [...Array(30).keys()]);
  });

  it('still runs the batch an in-order caller waits for when the held output is over the limit', async () => {
    // Batch 1 fails its first attempt: batches after it are held (over the limit) until its retry runs.
    const fake = fakeRunner({ corrupt: (i, attempt) => i === 1 && attempt === 1, delay: (i) => (i === 1 ? 20 : 1) });
    const d = createJobDriver(
      { ...deps([ex('a', 2), ex('b', 2)], fake.run), reorderWindow: 100, heldBytesLimit: 20 },
      job({ maxInstances: 4 }),
    );
    const emitted: number[] = [];
    const outcome = await d.run(source(20), async (i) => {
      emitted.push(i);
    });
    assert.equal(outcome.state, 'succeeded');
    assert.deepEqual(emitted, [...Array(20).keys()]);
    assert.ok(
      fake.seen.some((s) => s.index === 1 && s.attempt === 2),
      'batch 1 was retried',
    );
  });

  it('starts each free slot on a batch as soon as it is planned, before planning the rest of the lookahead', async () => {
    const s = source(20);
    let planned = 0;
    const counting: BatchSource = {
      ...s,
      async next() {
        const b = await s.next();
        if (b) planned++;
        return b;
      },
    };
    const fake = fakeRunner({ delay: () => 2 });
    const plannedAtStart: number[] = [];
    const run: AttemptRunner = (req, signal) => {
      plannedAtStart.push(planned);
      return fake.run(req, signal);
    };
    const d = createJobDriver(deps([ex('a', 1), ex('b', 1)], run), job({ maxInstances: 8 }));
    assert.deepEqual(await d.run(counting, async () => undefined), { state: 'succeeded' });
    // Before, both slots waited until the whole lookahead (maxInstances = 8 batches) was planned.
    assert.deepEqual(plannedAtStart.slice(0, 2), [1, 2]);
    assert.equal(plannedAtStart.length, 20);
  });

  it('sends large batches ahead one per slot while enough stay queued; the last ones wait for a free slot', async () => {
    const big = 4 * 1024 * 1024;
    const large = (batches: number): BatchSource => {
      const s = source(batches);
      return {
        ...s,
        bytesTotal: batches * big,
        async next() {
          const b = await s.next();
          return b && { ...b, offset: b.index * big, length: big };
        },
      };
    };
    const fake = fakeRunner({ delay: () => 3 });
    const held = { ...deps([ex('a', 1), ex('b', 1)], fake.run), ledger: createSlotLedger([ex('a', 1), ex('b', 1)], { aheadPerSlot: () => 8 }) };
    const d = createJobDriver(held, job({ maxInstances: 8 }));
    const order: number[] = [];
    assert.deepEqual(await d.run(large(12), async (i) => void order.push(i)), { state: 'succeeded' });
    assert.deepEqual(order, [...Array(12).keys()]);
    assert.deepEqual([...fake.peakPerExecutor.values()], [2, 2], 'one batch per slot sent ahead, not more');
    const waits = new Map(fake.seen.map((s) => [s.index, s.mayWait]));
    // The first batch of each slot starts as soon as it is planned (a free slot, nothing queued behind it yet);
    // the last ones wait for a free slot.
    assert.deepEqual(
      [...Array(12).keys()].filter((i) => !waits.get(i)),
      [0, 1, 10, 11],
      'the last batches (fewer queued behind them than slots) are not bound to a busy executor',
    );
    // An executor that does not say it holds batches gets one at a time, as before.
    const fake2 = fakeRunner({ delay: () => 3 });
    const d2 = createJobDriver(deps([ex('a', 1), ex('b', 1)], fake2.run), job({ maxInstances: 8 }));
    assert.deepEqual(await d2.run(large(12), async () => undefined), { state: 'succeeded' });
    assert.deepEqual([...fake2.peakPerExecutor.values()], [1, 1]);
  });

  it('ends a job without batches (empty input)', async () => {
    const d = createJobDriver(deps([ex('a', 1)], fakeRunner().run), job());
    assert.deepEqual(await d.run(source(0), async () => undefined), { state: 'succeeded' });
    assert.equal(d.progress(2).planningDone, true);
  });

  it('ends when planning finishes after the last batch was emitted', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let served = 0;
    const slowEnd: BatchSource = {
      ...source(1),
      async next() {
        if (served++ === 0) return { index: 0, offset: 0, length: 10, firstLine: 2, firstRecord: 0, records: 1 };
        await gate; // the end of the input is found only after batch 0 went out
        return undefined;
      },
    };
    const d = createJobDriver(deps([ex('a', 1)], fakeRunner().run), job({ maxInstances: 1 }));
    const emitted: number[] = [];
    const running = d.run(slowEnd, async (i) => {
      emitted.push(i);
      setImmediate(release);
    });
    assert.deepEqual(await running, { state: 'succeeded' });
    assert.deepEqual(emitted, [0]);
  });

  it('cancels while waiting for input that does not come', async () => {
    const stalled: BatchSource = { ...source(0), next: () => new Promise(() => undefined) };
    const d = createJobDriver(deps([ex('a', 1)], fakeRunner().run), job());
    const running = d.run(stalled, async () => undefined);
    setImmediate(() => d.cancel('stop'));
    assert.deepEqual(await running, { state: 'cancelled', reason: 'stop' });
  });
});
