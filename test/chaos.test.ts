// The chaos suite, short form (issue 6, item 5; docs/guarantees.md): one mesh of real processes (etcd ×3,
// config-store, 2 coordinators, 3 executors behind TCP proxies); for each fault a few seeds, each a 40k-record
// orders job run while the fault is injected on the seed's schedule. Every job must SUCCEED with 0 lost,
// 0 duplicated, 0 unexpected and (input order asked on odd seeds) 0 out-of-order records — except the
// poison batch, whose job must FAIL with a report while every other batch's output stays intact.
// The coordinator is also SIGKILLed mid-job: the other one must take the job over from its checkpoint.
// The long form (many seeds): `npm run chaos` (scripts/chaos.ts).
import assert from 'node:assert/strict';
import type { FaultName } from '@flowmesh/testing';
import { startChaosMesh, type ChaosMesh } from './chaos-mesh.js';
import { BATCH_RECORDS, poisonPlan, runScenario, type ScenarioOutcome } from './chaos-scenarios.js';

const SEEDS = [1, 2];
// Long enough that every held fault outlasts its timeout before the job ends, even on quiet cores.
const RECORDS = 120_000;
const HEARTBEAT_TIMEOUT_MS = 1500;
const FAULTS: FaultName[] = [
  'executor-sigkill',
  'executor-sigterm',
  'executor-sigstop',
  'executor-partition',
  'etcd-member',
];

function explain(o: ScenarioOutcome): string {
  const events = o.events.map((e) => `${e.atMs} ms ${e.target}: ${e.action}`).join('; ');
  const why = o.diagnostics?.length ? `\n${o.diagnostics.join('\n')}` : '';
  return `${o.name} (job ${o.jobId}, ${o.ordered ? 'input' : 'arrival'} order, faults: ${events || 'none'}): ${o.problems.join(' | ')}${why}`;
}

describe('chaos (short form): no record lost or duplicated whatever fails', function () {
  this.timeout(90_000);
  let mesh: ChaosMesh;

  before(async function () {
    this.timeout(180_000);
    const batches = Math.ceil(RECORDS / BATCH_RECORDS);
    mesh = await startChaosMesh({
      records: RECORDS,
      coordinators: 2,
      heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS,
      executorFaults: SEEDS.map((s) => poisonPlan(s, batches).spec),
    });
  });

  after(async function () {
    this.timeout(60_000);
    await mesh?.stop();
  });

  for (const fault of FAULTS) {
    for (const seed of SEEDS) {
      it(`${fault}, seed ${seed}: the job succeeds with every record once${seed % 2 === 1 ? ', in input order' : ''}`, async () => {
        const o = await runScenario(mesh, { fault, seed, plan: { maxFaults: 2 } }, HEARTBEAT_TIMEOUT_MS);
        assert.ok(o.events.length > 0, `${o.name}: no fault was injected`);
        assert.equal(o.state, 'JOB_STATE_SUCCEEDED', explain(o));
        assert.ok(o.check, explain(o));
        assert.equal(o.check.lost, 0, explain(o));
        assert.equal(o.check.duplicated, 0, explain(o));
        assert.equal(o.check.unexpected, 0, explain(o));
        assert.equal(o.check.outOfOrder, 0, explain(o));
        assert.deepEqual(o.problems, [], explain(o));
      });
    }
  }

  // A few kill points: the 10/50/90 % of the long form for seed 1, half-way for seed 2; a file sink
  // (taken over by the other coordinator) and a streamed result (the client re-attaches through the gateway).
  for (const [seed, progressAt, sink] of [
    [1, 0.1, 'file'],
    [1, 0.5, 'file'],
    [1, 0.9, 'file'],
    [2, 0.5, 'file'],
    [1, 0.5, 'parts'],
    [2, 0.5, 'parts'],
    [1, 0.1, 'stream'],
    [1, 0.5, 'stream'],
    [1, 0.9, 'stream'],
    [2, 0.5, 'stream'],
  ] as const) {
    const what =
      sink !== 'stream'
        ? `another coordinator resumes the file-sink job${sink === 'parts' ? ' (a directory of parts)' : ''}, every record once, in order`
        : `the client re-attaches and sees every record once${seed % 2 === 1 ? ', in input order' : ''}`;
    it(`coordinator-kill at ${progressAt * 100} %, ${sink} sink, seed ${seed}: ${what}`, async () => {
      const o = await runScenario(mesh, { fault: 'coordinator-kill', seed, progressAt, sink }, HEARTBEAT_TIMEOUT_MS);
      assert.ok(o.events.length > 0, `${o.name}: the coordinator was not killed`);
      assert.equal(o.state, 'JOB_STATE_SUCCEEDED', explain(o));
      assert.ok(o.check, explain(o));
      assert.equal(o.check.lost, 0, explain(o));
      assert.equal(o.check.duplicated, 0, explain(o));
      assert.equal(o.check.unexpected, 0, explain(o));
      assert.equal(o.check.outOfOrder, 0, explain(o));
      assert.deepEqual(o.problems, [], explain(o));
    });
  }

  for (const seed of SEEDS) {
    it(`poison batch, seed ${seed}: the job fails after its retry budget naming batch, byte range and errors; other batches intact`, async () => {
      const o = await runScenario(mesh, { fault: 'poison', seed }, HEARTBEAT_TIMEOUT_MS);
      assert.equal(o.state, 'JOB_STATE_FAILED', explain(o));
      assert.match(o.error ?? '', /batch \d+ \(bytes \d+\.\.\d+\) failed after 4 attempts/, explain(o));
      assert.ok(o.check, explain(o));
      assert.equal(o.check.duplicated, 0, explain(o));
      assert.equal(o.check.unexpected, 0, explain(o));
      assert.equal(o.check.outOfOrder, 0, explain(o));
      assert.deepEqual(o.problems, [], explain(o));
    });
  }
});
