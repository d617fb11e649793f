import assert from 'node:assert/strict';
import { JobState, type Job, type JobProgress } from '@flowmesh/contracts';
import { renderTable, renderJson } from '../libs/cli/src/output/table.js';
import { progressView, formatProgressLine, formatDuration } from '../libs/cli/src/output/progress-format.js';
import { renderJobSummary } from '../libs/cli/src/output/job-summary.js';

const progress = (p: Partial<JobProgress>): JobProgress => ({
  jobId: 'j1',
  state: JobState.JOB_STATE_RUNNING,
  counts: { recordsIn: 0, recordsOut: 0, recordsRejected: 0, recordsFiltered: 0, bytesIn: 0, bytesOut: 0 },
  batchesPlanned: 0,
  batchesDone: 0,
  batchesRunning: 0,
  batchesRetried: 0,
  batchesSpeculative: 0,
  planningDone: false,
  bytesTotal: 0,
  bytesDone: 0,
  elapsedMs: 0,
  ...p,
});

describe('cli output', () => {
  it('renders aligned tables with right-aligned numbers', () => {
    const text = renderTable(
      [
        { header: 'name', value: (r: { n: string; c: number }) => r.n },
        { header: 'count', value: (r) => r.c, align: 'right' },
      ],
      [
        { n: 'a', c: 1234 },
        { n: 'longer', c: 5 },
      ],
    );
    assert.equal(text, 'NAME    COUNT\na       1,234\nlonger      5\n');
    assert.match(renderTable([{ header: 'x', value: () => 1 }], []), /\(none\)/);
  });

  it('renders JSON with dates and bytes', () => {
    const parsed = JSON.parse(renderJson({ at: new Date(0), data: Buffer.from('hi') }));
    assert.deepEqual(parsed, { at: '1970-01-01T00:00:00.000Z', data: 'aGk=' });
  });

  it('computes rate and ETA from bytes done', () => {
    const v = progressView(
      progress({
        bytesTotal: 1000,
        bytesDone: 250,
        elapsedMs: 2000,
        batchesDone: 3,
        batchesPlanned: 10,
        counts: { recordsIn: 20000, recordsOut: 0, recordsRejected: 7, recordsFiltered: 0, bytesIn: 0, bytesOut: 0 },
      }),
    );
    assert.equal(v.fraction, 0.25);
    assert.equal(v.rate, 10000);
    assert.equal(v.etaSeconds, 6);
    assert.equal(v.batches, '3/10+');
    const line = formatProgressLine(v, 8);
    assert.equal(line, '[██░░░░░░]  25% | 20,000 records | batches 3/10+ | 10.0k/s | ETA 6s | 7 rejected');
  });

  it('has no ETA before anything is known', () => {
    const v = progressView(progress({}));
    assert.equal(v.fraction, undefined);
    assert.equal(v.etaSeconds, undefined);
    assert.match(formatProgressLine(v), /\?% .*ETA --/);
    assert.equal(formatDuration(125), '2m05s');
  });

  it('summarises a job with batches per executor', () => {
    const job: Job = {
      id: 'j1',
      flow: 'orders',
      flowRevision: 2,
      state: JobState.JOB_STATE_SUCCEEDED,
      vars: {},
      progress: progress({
        elapsedMs: 4000,
        batchesDone: 10,
        planningDone: true,
        counts: { recordsIn: 1000, recordsOut: 990, recordsRejected: 10, recordsFiltered: 0, bytesIn: 0, bytesOut: 0 },
      }),
      coordinatorId: 'c',
      submittedBy: 'root',
      createdAt: undefined,
      startedAt: undefined,
      finishedAt: undefined,
      error: '',
      failures: [],
      aggregates: undefined,
      globals: undefined,
      output: undefined,
      rejectsOutput: undefined,
      executors: [
        { executorId: 'ex-b', batches: 4, records: 400 },
        { executorId: 'ex-a', batches: 6, records: 600 },
      ],
    };
    const text = renderJobSummary(job, { output: '/tmp/out.jsonl' });
    assert.match(text, /Job j1 \(orders r2\) succeeded/);
    assert.match(text, /records out: +990/);
    assert.match(text, /records rejected: +10/);
    assert.match(text, /time: +4\.00s \(250\/s\)/);
    assert.match(text, /output: +\/tmp\/out\.jsonl/);
    assert.match(text, /ex-a +6 +600 +60%\nex-b +4 +400 +40%/);
  });
});
