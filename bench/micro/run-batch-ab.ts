// runBatch A/B in one process (issue 7, targets 1 and 2): this checkout's @flowmesh/flow against another
// checkout's (`--base DIR`, e.g. a `git archive` of an older commit: only its libs/flow/src is loaded, with this
// checkout's node_modules), alternated round by round so both see the same machine load. Orders flows over a
// CSV file cut into 4 MiB batches as the orders flows plan them; prints CPU µs per input record (best and
// median over rounds) and a digest of each side's output bytes and batch trailers, which must match.
//
//   node --import tsx bench/micro/run-batch-ab.ts --base /tmp/base [--rounds 7] [--flows a.yaml,b.yaml] [file.csv]
//
// bench/micro/record-path.ts compares against the session-1 copies in ./baseline; this compares against any
// commit (session 4: writeJsonRecord measured this way, bench/README.md).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as current from '@flowmesh/flow';
import { pluginDir, repoRoot } from '../lib/plugin.js';

type FlowLib = typeof current;

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args.splice(i, 2)[1] : undefined;
};
const base = flag('--base');
if (base === undefined) throw new Error('usage: run-batch-ab.ts --base DIR [--rounds N] [--flows a.yaml,b.yaml] [file.csv]');
const rounds = Number(flag('--rounds') ?? 7);
const flowFiles = (flag('--flows') ?? 'orders-plugin.flow.yaml,orders.flow.yaml').split(',');
const file = args[0] ?? '/tmp/flowmesh-bench-data/orders-1000000.csv';

const baseLib = (await import(pathToFileURL(join(resolve(base), 'libs/flow/src/index.ts')).href)) as FlowLib;

interface Batch { bytes: Buffer; firstLine: number; records: number }
const fh = await open(file, 'r');
const header = await current.readHeader(fh, 'csv');
const headerBytes = readFileSync(file).subarray(0, header.dataOffset);
const batches: Batch[] = [];
for await (const range of current.planBatches(fh, { format: 'csv', dataOffset: header.dataOffset, firstLine: header.firstLine, batchBytes: 4 * 1024 * 1024 })) {
  const bytes = Buffer.allocUnsafe(range.length);
  await fh.read(bytes, 0, range.length, range.offset);
  batches.push({ bytes, firstLine: range.firstLine, records: range.records });
}
await fh.close();
const totalRecords = batches.reduce((n, b) => n + b.records, 0);
const tax = JSON.parse(readFileSync(join(repoRoot, 'examples/orders/tax-rates.json'), 'utf8')) as current.ReferenceTableData;

interface Side { name: string; lib: FlowLib; flow: current.CompiledFlow; samples: number[]; output?: string; trailers?: string }
const sides: Side[] = [];
for (const flowFile of flowFiles) {
  for (const [name, lib] of [['base', baseLib], ['new', current]] as const) {
    const text = readFileSync(join(repoRoot, 'examples/orders', flowFile), 'utf8');
    const flow = await lib.compileFlow(lib.parseFlow(text), { pluginDir, loadReferenceTable: async () => tax });
    sides.push({ name: `${name} ${flowFile}`, lib, flow, samples: [] });
  }
}

const cpu = (): number => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

console.log(`${file}: ${totalRecords} records in ${batches.length} batches, ${rounds} rounds, base ${base}, load ${readFileSync('/proc/loadavg', 'utf8').split(' ')[0]}`);
for (let r = 0; r < rounds; r++) {
  // Alternate which side goes first so neither always runs on a warmer heap.
  for (const side of r % 2 === 0 ? sides : [...sides].reverse()) {
    const output = createHash('sha256');
    const results: unknown[] = [];
    const t = cpu();
    for (const [i, b] of batches.entries()) {
      results.push(await side.lib.runBatch(
        side.flow,
        { bytes: b.bytes, format: 'csv', header: headerBytes, firstLine: b.firstLine, firstRecord: 0, batchIndex: i, vars: {}, globals: {} },
        { chunkBytes: 256 * 1024, onChunk: (chunk) => void output.update(chunk) },
      ));
    }
    side.samples.push((cpu() - t) / totalRecords);
    side.output = output.digest('hex').slice(0, 12);
    side.trailers = createHash('sha256').update(JSON.stringify(results)).digest('hex').slice(0, 12);
  }
}

const fmt = (x: number): string => x.toFixed(2).padStart(6);
console.log(`${'side'.padEnd(36)}  best µs/rec  median µs/rec  output        trailers`);
for (const s of sides) {
  const sorted = [...s.samples].sort((a, b) => a - b);
  console.log(`${s.name.padEnd(36)}  ${fmt(sorted[0]!)}       ${fmt(sorted[Math.floor(sorted.length / 2)]!)}         ${s.output}  ${s.trailers}`);
}
console.log(`load at the end ${readFileSync('/proc/loadavg', 'utf8').split(' ')[0]}`);
