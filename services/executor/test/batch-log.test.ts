// Per-batch log lines: a failed attempt names its job, batch and attempt at info; a successful one writes
// no info line (the hot path); the start is at debug.
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { parseFaults } from '../src/faults.js';
import { assignment, execute, ordersFixture, startInProcess } from './executor-harness.js';
import type { InProcessExecutor, OrdersFixture } from './executor-harness.js';

interface Line {
  level: number;
  msg: string;
  jobId?: string;
  batchIndex?: number;
  attempt?: number;
  err?: { message: string };
}

const INFO = 30;
const DEBUG = 20;

describe('executor per-batch log lines', function () {
  let fixture: OrdersFixture;
  let ex: InProcessExecutor;
  const lines: Line[] = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as Line) });
  const batchLines = (jobId: string) => lines.filter((l) => l.jobId === jobId);

  before(async () => {
    fixture = await ordersFixture(2000, 32 * 1024);
    ex = await startInProcess(fixture, { logger, faults: parseFaults('fail:job=job-fails;batch=1') });
  });
  after(async () => {
    await ex?.stop();
    await fixture?.cleanup();
  });

  it('a failed attempt logs one info line with its job id, batch index and attempt', async () => {
    const got = await execute(ex.client, assignment(fixture, fixture.batches[1]!, { jobId: 'job-fails', attempt: 3 }));
    assert.ok(got.error, 'the injected fault should fail the attempt');
    const mine = batchLines('job-fails');
    assert.equal(mine.length, 1, JSON.stringify(mine));
    assert.deepEqual(
      { level: mine[0]!.level, msg: mine[0]!.msg, batchIndex: mine[0]!.batchIndex, attempt: mine[0]!.attempt },
      { level: INFO, msg: 'batch failed', batchIndex: 1, attempt: 3 },
    );
    assert.match(mine[0]!.err?.message ?? '', /injected fault: fail/);
  });

  it('a successful attempt writes no line at info level', async () => {
    const got = await execute(ex.client, assignment(fixture, fixture.batches[0]!, { jobId: 'job-ok' }));
    assert.equal(got.error, undefined, got.error?.message);
    assert.deepEqual(batchLines('job-ok'), []);
  });

  it('at debug level the start is logged with the same fields', async () => {
    logger.level = 'debug';
    try {
      const got = await execute(
        ex.client,
        assignment(fixture, fixture.batches[0]!, { jobId: 'job-debug', attempt: 2 }),
      );
      assert.equal(got.error, undefined, got.error?.message);
    } finally {
      logger.level = 'info';
    }
    const mine = batchLines('job-debug');
    assert.deepEqual(
      mine.map((l) => [l.level, l.msg, l.batchIndex, l.attempt]),
      [[DEBUG, 'batch started', 0, 2]],
    );
  });
});
