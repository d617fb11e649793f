// The coordinator's own CPU per tiny batch, above the executor stream (issue 7, target 4): this checkout's job
// driver and slot ledger against another checkout's (`--base DIR`, e.g. a `git archive` of an older commit
// with node_modules whose @flowmesh/* links point into it), in one process, alternated round by round so both
// see the same machine load. Each round runs one job of `--batches` tiny batches on two executors of one slot
// each, sent ahead as deep as they hold (16), with speculation on as the coordinator's defaults have it. The
// executors are an in-process runner with the stream's callback form (`start`): the attempts of one turn are
// answered together in the next (started, one records chunk with a valid CRC-32, trailer), as a bundle of the
// executor's would be. Prints CPU µs per batch for each side (the runner's own work is the same on both).
//
//   node --import tsx services/coordinator/test/driver-ab.bench.ts --base /tmp/base [--rounds 8] [--batches 5000]
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DataFormat, RecordEncoding } from '@flowmesh/contracts';
import type { ExecuteBatchResponse } from '@flowmesh/contracts';
import { createChecksum } from '@flowmesh/flow';
import pino from 'pino';
import type { AttemptRequest, AttemptRunner, AttemptSink } from '../src/attempt-runner.js';
import type { BatchSource, DriverDeps, DriverJob, JobDriver } from '../src/job-driver.js';
import type { ExecutorView, SlotLedger, SlotLedgerOptions } from '../src/slot-ledger.js';

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args.splice(i, 2)[1] : undefined;
};
const base = flag('--base');
if (base === undefined) throw new Error('usage: driver-ab.bench.ts --base DIR [--rounds N] [--batches N]');
const rounds = Number(flag('--rounds') ?? 8);
const batches = Number(flag('--batches') ?? 5000);
const here = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const logger = pino({ level: 'silent' });
const HELD_PER_SLOT = 16;

interface Side {
  label: string;
  createJobDriver: (deps: DriverDeps, job: DriverJob) => JobDriver;
  createSlotLedger: (initial: ExecutorView[], opts: SlotLedgerOptions) => SlotLedger;
  us: number[];
}

async function sideOf(label: string, root: string): Promise<Side> {
  const load = async (rel: string): Promise<Record<string, unknown>> =>
    (await import(pathToFileURL(join(root, 'services/coordinator/src', rel)).href)) as Record<string, unknown>;
  const [driver, ledger] = await Promise.all([load('job-driver.ts'), load('slot-ledger.ts')]);
  return {
    label,
    createJobDriver: driver!['createJobDriver'] as Side['createJobDriver'],
    createSlotLedger: ledger!['createSlotLedger'] as Side['createSlotLedger'],
    us: [],
  };
}

/** One record per batch and its trailer, built once: the runner's cost is not what is measured. */
const data = Buffer.from('{"id":1,"name":"x"}\n');
const checksum = (() => {
  const sum = createChecksum();
  sum.update(data);
  return sum.digest();
})();

/** Executors in this process: the attempts started in one turn are answered in the next, together. */
function bundledRunner(): AttemptRunner {
  let waiting: Array<{ request: AttemptRequest; sink: AttemptSink }> = [];
  const answer = (): void => {
    const now = waiting;
    waiting = [];
    for (const { request, sink } of now) {
      const a = request.assignment;
      sink.onMessage({ $case: 'started', started: { executorId: request.executor.id } });
      sink.onMessage({
        $case: 'records',
        records: { jobId: a.jobId, batchIndex: a.batchIndex, seq: 0, recordCount: 1, data, records: [] },
      });
      sink.onMessage({
        $case: 'trailer',
        trailer: {
          jobId: a.jobId,
          batchIndex: a.batchIndex,
          attempt: a.attempt,
          epoch: a.epoch,
          counts: { recordsIn: 1, recordsOut: 1, recordsRejected: 0, recordsFiltered: 0, bytesIn: a.length, bytesOut: data.length },
          chunks: 1,
          checksum,
          checksumAlgorithm: 'crc32',
          counterDeltas: {},
          cacheSets: {},
          aggregates: undefined,
          durationMs: 0,
          executorId: request.executor.id,
          outputPart: undefined,
        },
      });
      sink.onEnd(undefined);
    }
  };
  const run = (async function* () {
    yield* [] as ExecuteBatchResponse[];
    throw new Error('the bench runs attempts through start()');
  }) as AttemptRunner;
  run.start = (request, _signal, sink) => {
    if (waiting.length === 0) setImmediate(answer);
    waiting.push({ request, sink });
  };
  return run;
}

function sourceOf(n: number): BatchSource {
  let i = 0;
  const header = Buffer.from('id,name\n');
  return {
    bytesTotal: n * 200,
    file: { root: 'data', path: 'in.csv' },
    async next() {
      if (i >= n) return undefined;
      const index = i++;
      return { index, offset: 8 + index * 200, length: 200, firstLine: 2 + index * 10, firstRecord: index * 10, records: 10 };
    },
    read: async (_o, length) => Buffer.alloc(length),
    header: () => header,
  };
}

const job: DriverJob = {
  jobId: 'bench',
  epoch: 1,
  flow: 'bench-passthrough',
  flowRevision: 1,
  flowSource: 'name: bench-passthrough\n',
  vars: {},
  format: DataFormat.DATA_FORMAT_CSV,
  encoding: RecordEncoding.RECORD_ENCODING_JSONL,
  includeRejects: false,
  maxInstances: 64,
  order: 'arrival',
  retries: 3,
  globals: {},
};

async function runJob(side: Side, n: number): Promise<number> {
  const executors: ExecutorView[] = ['e1', 'e2'].map((id) => ({ id, address: id, slots: 1, fileRoots: ['data'], load: 0 }));
  const ledger = side.createSlotLedger(executors, { aheadPerSlot: () => HELD_PER_SLOT });
  const driver = side.createJobDriver(
    {
      ledger,
      runner: bundledRunner(),
      logger,
      heartbeatTimeoutMs: 30_000,
      noExecutorTimeoutMs: 10_000,
      speculation: { multiple: 3, minAgeMs: 5_000 },
    },
    { ...job, jobId: `bench-${side.label}` },
  );
  let emitted = 0;
  const t0 = process.cpuUsage();
  const outcome = await driver.run(sourceOf(n), async () => {
    emitted++;
  });
  const t = process.cpuUsage(t0);
  if (outcome.state !== 'succeeded' || emitted !== n) throw new Error(`${side.label}: ${JSON.stringify(outcome)}, ${emitted} emitted`);
  return (t.user + t.system) / n;
}

const sides = [await sideOf('base', base), await sideOf('new', here)];
// Warm-up: both sides compile and tier up before anything is counted.
for (const s of sides) for (let i = 0; i < 6; i++) await runJob(s, batches);
for (let r = 0; r < rounds; r++) for (const s of r % 2 === 0 ? sides : [...sides].reverse()) s.us.push(await runJob(s, batches));
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const load = (await import('node:os')).loadavg()[0]!.toFixed(1);
for (const s of sides)
  console.log(`${s.label}: ${median(s.us).toFixed(1)} µs CPU per batch (median of ${rounds}; rounds ${s.us.map((u) => u.toFixed(1)).join(' ')})`);
console.log(`load ${load}`);
