// The long form of the chaos suite (issue 6; docs/guarantees.md): many seeds per fault, one mesh per
// fault, every scenario checked for lost, duplicated, unexpected and out-of-order records.
//   npm run chaos -- [--seeds N] [--first-seed S] [--fault NAME]… [--records N] [--max-minutes M]
// Exits 1 if any scenario breaks the guarantee, and prints what broke. Bounded: --max-minutes (default
// 30) stops starting new scenarios once spent.
import { parseArgs } from 'node:util';
import { FAULTS, type FaultName } from '@flowmesh/testing';
import { startChaosMesh } from '../test/chaos-mesh.js';
import { BATCH_RECORDS, poisonPlan, runScenario, type ScenarioOutcome } from '../test/chaos-scenarios.js';

const HEARTBEAT_TIMEOUT_MS = 1500;
const COORDINATOR_KILL_AT = [0.1, 0.5, 0.9];

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '10' },
    'first-seed': { type: 'string', default: '1' },
    fault: { type: 'string', multiple: true },
    records: { type: 'string', default: '120000' },
    'max-minutes': { type: 'string', default: '30' },
    verbose: { type: 'boolean', default: false },
  },
});
const seedCount = Number(values.seeds);
const firstSeed = Number(values['first-seed']);
const records = Number(values.records);
const maxMinutes = Number(values['max-minutes']);
for (const [flag, v] of [
  ['--seeds', seedCount],
  ['--first-seed', firstSeed],
  ['--records', records],
  ['--max-minutes', maxMinutes],
] as const) {
  if (!Number.isInteger(v) || v < (flag === '--first-seed' ? 0 : 1)) {
    console.error(`chaos: ${flag} must be a positive integer`);
    process.exit(2);
  }
}
const faults = (values.fault ?? [...FAULTS]) as FaultName[];
for (const f of faults) {
  if (!FAULTS.includes(f)) {
    console.error(`chaos: unknown --fault "${f}" (known: ${FAULTS.join(', ')})`);
    process.exit(2);
  }
}
const seeds = Array.from({ length: seedCount }, (_, i) => firstSeed + i);
const deadline = Date.now() + maxMinutes * 60_000;
const outcomes: ScenarioOutcome[] = [];
const log = values.verbose ? (l: string) => console.log(`  · ${l}`) : undefined;

for (const fault of faults) {
  if (Date.now() > deadline) break;
  const batches = Math.ceil(records / BATCH_RECORDS);
  const mesh = await startChaosMesh({
    records,
    coordinators: fault === 'coordinator-kill' ? 2 : 1,
    heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS,
    executorFaults: fault === 'poison' ? seeds.map((s) => poisonPlan(s, batches).spec) : [],
    ...(log ? { log } : {}),
  });
  try {
    for (const seed of seeds) {
      for (const [progressAt, sink] of fault === 'coordinator-kill'
        ? COORDINATOR_KILL_AT.flatMap((p) => [[p, 'file'] as const, [p, 'parts'] as const, [p, 'stream'] as const])
        : [[undefined, undefined] as const]) {
        if (Date.now() > deadline) break;
        const o = await runScenario(
          mesh,
          { fault, seed, ...(progressAt !== undefined ? { progressAt } : {}), ...(sink ? { sink } : {}) },
          HEARTBEAT_TIMEOUT_MS,
        );
        outcomes.push(o);
        const verdict = o.problems.length === 0 ? 'ok  ' : 'FAIL';
        const c = o.check;
        console.log(
          `${verdict} ${o.name.padEnd(30)} ${(o.elapsedMs / 1000).toFixed(1)}s ${o.ordered ? 'input' : 'arrival'} order, ` +
            `${o.events.length} fault events, ${o.retried} retried, state ${o.state}` +
            (o.rerun ? `, ${o.rerun.by} ran ${o.rerun.ran} of ${o.rerun.planned} batches` : '') +
            (o.killTries && o.killTries > 1
              ? `, killed on job ${o.killTries} (earlier ones ended before the kill point)`
              : '') +
            // A poison job fails: the batches it never emitted are absent by design, not lost.
            (c
              ? `; ${fault === 'poison' ? 'absent' : 'lost'} ${c.lost} dup ${c.duplicated} unexpected ${c.unexpected} out-of-order ${c.outOfOrder}`
              : ''),
        );
        for (const e of o.events) console.log(`       ${String(e.atMs).padStart(6)} ms ${e.target}: ${e.action}`);
        for (const p of o.problems) console.log(`       ✗ ${p}`);
        for (const d of o.diagnostics ?? []) console.log(`         ${d}`);
      }
    }
  } finally {
    await mesh.stop();
  }
}

const failed = outcomes.filter((o) => o.problems.length > 0);
console.log(`${outcomes.length - failed.length} passed, ${failed.length} failed`);
process.exitCode = failed.length > 0 ? 1 : 0;
