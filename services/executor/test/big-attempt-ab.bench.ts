// The executor's own CPU and page faults per record of big batches (issue 7, target 1a): this checkout's
// attempt handler against another checkout's (`--base DIR`, a `git archive` with its own @flowmesh links), in
// one process, alternated job by job so both see the same machine load. Each side runs the 1M-record job as one
// slot does — every 4 MiB batch of the file (balanced tail for 1 slot), read from a file root, through the
// orders plugin on its batch thread, written to a spool part by that thread (removed after each batch, as the
// client does) — with real fencing, slots, batch pool and source files. Prints CPU µs per input record and
// minor page faults per 1k records of the whole process for each side (the other side idles meanwhile).
//
//   node --import tsx services/executor/test/big-attempt-ab.bench.ts --base /tmp/base [--rounds 6] [file.csv]
import { mkdtempSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BatchAssignment, DataFormat, RecordEncoding } from '@flowmesh/contracts';
import { planBatches, readHeader } from '@flowmesh/flow';
import type { BatchRange } from '@flowmesh/flow';
import { SPOOL_ROOT } from '@flowmesh/runtime';
import { attemptSideOf, type AttemptSide } from './attempt-side.js';

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args.splice(i, 2)[1] : undefined;
};
const base = flag('--base');
if (base === undefined) throw new Error('usage: big-attempt-ab.bench.ts --base DIR [--rounds N] [file.csv]');
const rounds = Number(flag('--rounds') ?? 6);
const file = args[0] ?? '/tmp/flowmesh-bench-data/orders-1000000.csv';
const here = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const spoolDir = mkdtempSync(join(tmpdir(), 'flowmesh-big-ab-'));

/** One side: its checkout's attempt handler with the orders plugin, writing parts into this run's spool. */
const sideOf = (root: string): Promise<AttemptSide> =>
  attemptSideOf(root, file, { pluginDir: join(root, 'examples/orders/plugins'), spoolDir });

const fh = await open(file, 'r');
const info = await readHeader(fh, 'csv');
const ranges: BatchRange[] = [];
for await (const r of planBatches(fh, {
  format: 'csv',
  dataOffset: info.dataOffset,
  firstLine: info.firstLine,
  batchBytes: 4 * 1024 * 1024,
}))
  ranges.push(r);
await fh.close();
const records = ranges.reduce((n, r) => n + r.records, 0);
const flowSource = readFileSync(join(here, 'bench/flows/orders-plugin-only.yaml'), 'utf8');

const sides = [
  { name: 'base', ...(await sideOf(resolve(base))), us: [] as number[], faults: [] as number[] },
  { name: 'new', ...(await sideOf(here)), us: [] as number[], faults: [] as number[] },
];
const io = {
  signal: new AbortController().signal,
  send: async () => undefined,
  readInline: () => Promise.reject(new Error('not inline')),
};
let jobs = 0;

/** One job: every batch of the file as an attempt, one after the other (as one slot runs them). */
async function job(side: (typeof sides)[number]): Promise<void> {
  const jobId = `job-${++jobs}`;
  const t = process.cpuUsage();
  const f = process.resourceUsage().minorPageFault;
  for (const r of ranges) {
    const part = `${jobId}-${r.index}.part`;
    const assign = BatchAssignment.fromPartial({
      jobId,
      batchIndex: r.index,
      attempt: 1,
      epoch: 1,
      flow: 'bench',
      flowRevision: 1,
      flowSource,
      offset: r.offset,
      length: r.length,
      firstLine: r.firstLine,
      firstRecord: r.firstRecord,
      header: info.header,
      format: DataFormat.DATA_FORMAT_CSV,
      encoding: RecordEncoding.RECORD_ENCODING_JSONL,
      file: { root: 'data', path: basename(file) },
      outputPart: { root: SPOOL_ROOT, path: part },
      mayWait: true,
      vars: { input: basename(file) },
    });
    await side.handle(assign, io);
    unlinkSync(join(spoolDir, part));
  }
  const used = process.cpuUsage(t);
  side.us.push((used.user + used.system) / records);
  side.faults.push((process.resourceUsage().minorPageFault - f) / (records / 1000));
}

const loadavg = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ')[0]!;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
try {
  for (const side of sides) await job(side); // warm-up: compile the flow, JIT
  for (const side of sides) Object.assign(side, { us: [], faults: [] });
  const load0 = loadavg();
  for (let r = 0; r < rounds; r++) for (const side of r % 2 === 0 ? sides : [...sides].reverse()) await job(side);
  console.log(
    `${file}: ${ranges.length} batches, ${records} records, ${rounds} rounds, load ${load0}–${loadavg()}, base ${base}`,
  );
  for (const side of sides)
    console.log(
      `${side.name}: CPU µs/record median ${median(side.us).toFixed(3)} [${side.us.map((x) => x.toFixed(2)).join(' ')}], ` +
        `minor faults/1k records median ${median(side.faults).toFixed(1)} [${side.faults.map((x) => x.toFixed(1)).join(' ')}]`,
    );
} finally {
  for (const side of sides) await side.close();
  rmSync(spoolDir, { recursive: true, force: true });
}
