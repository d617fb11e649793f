// Per-record cost of an executor's hot path, stage by stage (issue 7, targets 1 and 2), on the orders data:
// decode (bytes → records) → plugin transform → JSONL encode, for the code in libs/flow/src/io ("new") and the
// session-1 copies in ./baseline ("old"), alternated round by round in one process so both see the same load.
// Then runBatch end to end (decode + steps + encode + checksum) for the plugin flow and the declarative flow.
//
//   node --import tsx bench/micro/record-path.ts [file.csv] [--rounds N] [--only old|new]
//
// CPU time (process.cpuUsage) per stage, best and median over rounds, divided by the records. Batches are
// ~4 MiB (the orders flow's batch size) cut by the planner; output bytes of old and new are compared.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import {
  compileFlow, createJsonlEncoder, decodeRecords, encodeJsonl, parseFlow, planBatches, readHeader, runBatch,
  type CompiledFlow, type FlowRecord, type ReferenceTableData,
} from '@flowmesh/flow';
import { loadTransform, pluginDir, repoRoot, type Transform } from '../lib/plugin.js';
import { decodeRecords as oldDecodeRecords } from './baseline/decode-records.js';
import { runBatch as oldRunBatch } from './baseline/run-batch.js';
import { createJsonlEncoder as oldCreateJsonlEncoder, encodeJsonl as oldEncodeJsonl } from './baseline/encode-jsonl.js';

interface Impl {
  name: 'old' | 'new';
  decode: typeof decodeRecords;
  createEncoder: typeof createJsonlEncoder;
  encodeAll: typeof encodeJsonl;
}

const impls: Impl[] = [
  { name: 'old', decode: oldDecodeRecords, createEncoder: oldCreateJsonlEncoder, encodeAll: oldEncodeJsonl },
  { name: 'new', decode: decodeRecords, createEncoder: createJsonlEncoder, encodeAll: encodeJsonl },
];

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args.splice(i, 2)[1] : undefined;
};
const rounds = Number(flag('--rounds') ?? 7);
const only = flag('--only');
const flowsOnly = args.includes('--flows-only') ? (args.splice(args.indexOf('--flows-only'), 1), true) : false;
const file = args[0] ?? '/tmp/flowmesh-bench-data/orders-100000.csv';
const active = impls.filter((i) => only === undefined || i.name === only);

interface Batch { bytes: Buffer; firstLine: number; records: number }
const fh = await open(file, 'r');
const header = await readHeader(fh, 'csv');
const fields = header.fields!;
const headerBytes = readFileSync(file).subarray(0, header.dataOffset);
const batches: Batch[] = [];
for await (const range of planBatches(fh, { format: 'csv', dataOffset: header.dataOffset, firstLine: header.firstLine, batchBytes: 4 * 1024 * 1024 })) {
  const bytes = Buffer.allocUnsafe(range.length);
  await fh.read(bytes, 0, range.length, range.offset);
  batches.push({ bytes, firstLine: range.firstLine, records: range.records });
}
await fh.close();
const totalRecords = batches.reduce((n, b) => n + b.records, 0);
const transform: Transform = await loadTransform();

type Stage = 'decode' | 'transform' | 'encode-chunks' | 'encode-all';
const stages: Stage[] = ['decode', 'transform', 'encode-chunks', 'encode-all'];
const samples = new Map<string, number[]>();
const digests = new Map<string, string>();
const cpu = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};
const note = (key: string, us: number) => {
  const list = samples.get(key) ?? [];
  list.push(us / totalRecords);
  samples.set(key, list);
};

function runImpl(impl: Impl): void {
  const spent: Record<Stage, number> = { decode: 0, transform: 0, 'encode-chunks': 0, 'encode-all': 0 };
  const hashChunks = createHash('sha256');
  const hashAll = createHash('sha256');
  const ctx = { vars: {}, globals: {} };
  for (const batch of batches) {
    let t = cpu();
    const decoded = impl.decode('csv', batch.bytes, { fields, firstLine: batch.firstLine });
    spent.decode += cpu() - t;
    t = cpu();
    const out: FlowRecord[] = [];
    for (const record of decoded.records) {
      try {
        const r = transform(record, ctx);
        if (r) out.push(r as FlowRecord);
      } catch {
        // rejected: not encoded
      }
    }
    spent.transform += cpu() - t;
    t = cpu();
    const encoder = impl.createEncoder(256 * 1024);
    const chunks: Buffer[] = [];
    for (const record of out) {
      const c = encoder.write(record);
      if (c) chunks.push(c.bytes);
    }
    const rest = encoder.flush();
    if (rest) chunks.push(rest.bytes);
    spent['encode-chunks'] += cpu() - t;
    t = cpu();
    const all = impl.encodeAll(out);
    spent['encode-all'] += cpu() - t;
    for (const c of chunks) hashChunks.update(c);
    hashAll.update(all);
  }
  for (const s of stages) note(`${impl.name} ${s}`, spent[s]);
  digests.set(`${impl.name} chunks`, hashChunks.digest('hex'));
  digests.set(`${impl.name} all`, hashAll.digest('hex'));
}

const tax = JSON.parse(readFileSync(join(repoRoot, 'examples/orders/tax-rates.json'), 'utf8')) as ReferenceTableData;
const compile = async (name: string): Promise<CompiledFlow> =>
  compileFlow(parseFlow(readFileSync(join(repoRoot, 'examples/orders', name), 'utf8')), {
    pluginDir,
    loadReferenceTable: async () => tax,
  });
const plugin = await compile('orders-plugin.flow.yaml');
const declarative = await compile('orders.flow.yaml');
const flows: Array<[string, CompiledFlow, typeof runBatch]> = [
  ['old runBatch plugin flow', plugin, oldRunBatch],
  ['new runBatch plugin flow', plugin, runBatch],
  ['old runBatch declarative flow', declarative, oldRunBatch],
  ['new runBatch declarative flow', declarative, runBatch],
];

async function runFlow(name: string, flow: CompiledFlow, run: typeof runBatch): Promise<void> {
  const hash = createHash('sha256');
  const t = cpu();
  for (const [i, batch] of batches.entries()) {
    await run(
      flow,
      { bytes: batch.bytes, format: 'csv', header: headerBytes, firstLine: batch.firstLine, firstRecord: 0, batchIndex: i, vars: {}, globals: {} },
      { chunkBytes: 256 * 1024, onChunk: (c) => void hash.update(c) },
    );
  }
  note(name, cpu() - t);
  digests.set(name, hash.digest('hex'));
}

console.log(`${file}: ${totalRecords} records in ${batches.length} batches, ${rounds} rounds, node ${process.version}`);
for (let r = 0; r < rounds; r++) {
  // Alternate which implementation goes first so neither always runs on a warmer heap.
  if (!flowsOnly) for (const impl of r % 2 === 0 ? active : [...active].reverse()) runImpl(impl);
  const order = r % 2 === 0 ? flows : [...flows].reverse();
  for (const [name, flow, run] of order) if (only === undefined || name.startsWith(only)) await runFlow(name, flow, run);
}

const fmt = (x: number) => x.toFixed(2).padStart(6);
console.log(`${'stage'.padEnd(32)}  best µs/rec  median µs/rec`);
for (const [key, list] of samples) {
  const sorted = [...list].sort((a, b) => a - b);
  console.log(`${key.padEnd(32)}  ${fmt(sorted[0]!)}       ${fmt(sorted[Math.floor(sorted.length / 2)]!)}`);
}
for (const impl of active) {
  const sum = (s: Stage[]) => s.reduce((n, st) => n + Math.min(...samples.get(`${impl.name} ${st}`)!), 0);
  console.log(`${impl.name}: decode+transform+encode-chunks ${fmt(sum(['decode', 'transform', 'encode-chunks']))} µs/rec (executor path), ` +
    `decode+transform+encode-all ${fmt(sum(['decode', 'transform', 'encode-all']))} µs/rec (pool baseline path)`);
}
const same = (a: string, b: string) => digests.get(a) === digests.get(b);
if (active.length === 2) {
  console.log(`output identical old/new: chunks ${same('old chunks', 'new chunks')}, all ${same('old all', 'new all')}`);
}
for (const impl of active) {
  const ratio = Math.min(...samples.get(`${impl.name} runBatch plugin flow`)!) / Math.min(...samples.get(`${impl.name} runBatch declarative flow`)!);
  console.log(`${impl.name}: declarative flow speed / plugin flow speed ${ratio.toFixed(2)} (target 2: >= 0.6)`);
  console.log(`${impl.name}: runBatch plugin output equals encodeAll of the plugin transform: ` +
    `${flowsOnly || digests.get(`${impl.name} runBatch plugin flow`) === digests.get(`${impl.name} all`)}; ` +
    `declarative output equals plugin output: ${same(`${impl.name} runBatch plugin flow`, `${impl.name} runBatch declarative flow`)}`);
}
