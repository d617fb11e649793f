// The executor's own CPU per tiny batch, below the stream (issue 7, target 4): this checkout's attempt handler
// against another checkout's (`--base DIR`, e.g. a `git archive` of an older commit with node_modules whose
// @flowmesh/* links point into it), in one process, alternated round by round so both see the same machine
// load. Each side runs the same job — every 10-record batch of the file, read from a file root, through the
// passthrough flow inline — with real fencing, slots, batch pool and source files, and a carrier that drops
// what it is sent. Prints CPU µs per attempt for each side.
//
//   node --import tsx services/executor/test/attempt-ab.bench.ts --base /tmp/base [--rounds 8] [--records 10] [file.csv]
import { readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BatchAssignment, DataFormat, RecordEncoding } from '@flowmesh/contracts';
import { planBatches, readHeader } from '@flowmesh/flow';
import type { BatchRange } from '@flowmesh/flow';
import { attemptSideOf, type AttemptSide } from './attempt-side.js';

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args.splice(i, 2)[1] : undefined;
};
const base = flag('--base');
if (base === undefined) throw new Error('usage: attempt-ab.bench.ts --base DIR [--rounds N] [--records N] [file.csv]');
const rounds = Number(flag('--rounds') ?? 8);
const batchRecords = Number(flag('--records') ?? 10);
const file = args[0] ?? '/tmp/flowmesh-bench-data/orders-50000.csv';
const here = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

const sideOf = (root: string): Promise<AttemptSide> => attemptSideOf(root, file);

const fh = await open(file, 'r');
const info = await readHeader(fh, 'csv');
const ranges: BatchRange[] = [];
for await (const r of planBatches(fh, { format: 'csv', dataOffset: info.dataOffset, firstLine: info.firstLine, batchRecords })) ranges.push(r);
await fh.close();
const flowSource = readFileSync(join(here, 'bench/flows/passthrough.yaml'), 'utf8');

const sides = [
  { name: 'base', ...(await sideOf(resolve(base))), us: 0, attempts: 0 },
  { name: 'new', ...(await sideOf(here)), us: 0, attempts: 0 },
];
const io = { signal: new AbortController().signal, send: async () => undefined, readInline: () => Promise.reject(new Error('not inline')) };
let jobs = 0;

/** One job: every batch of the file as an attempt, one after the other (as one slot runs them). */
async function job(side: (typeof sides)[number]): Promise<void> {
  const jobId = `job-${++jobs}`;
  const t = process.cpuUsage();
  for (const r of ranges) {
    const assign = BatchAssignment.fromPartial({
      jobId, batchIndex: r.index, attempt: 1, epoch: 1, flow: 'passthrough', flowRevision: 1, flowSource,
      offset: r.offset, length: r.length, firstLine: r.firstLine, firstRecord: r.firstRecord, header: info.header,
      format: DataFormat.DATA_FORMAT_CSV, encoding: RecordEncoding.RECORD_ENCODING_JSONL,
      file: { root: 'data', path: basename(file) }, mayWait: true, vars: { input: basename(file) },
    });
    await side.handle(assign, io);
  }
  const used = process.cpuUsage(t);
  side.us += used.user + used.system;
  side.attempts += ranges.length;
}

const loadavg = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ')[0]!;
const load0 = loadavg();
for (const side of sides) await job(side); // warm-up: compile the flow, JIT
for (const side of sides) Object.assign(side, { us: 0, attempts: 0 });
for (let r = 0; r < rounds; r++) for (const side of r % 2 === 0 ? sides : [...sides].reverse()) await job(side);
console.log(
  `${file}: ${ranges.length} batches of ${batchRecords} records, ${rounds} rounds, load ${load0}–${loadavg()}, base ${base}`,
);
for (const side of sides) console.log(`${side.name}: ${(side.us / side.attempts).toFixed(1)} µs CPU per attempt`);
for (const side of sides) await side.close();
