// Per-batch input cost, previous async fs path vs the current one, in one run (issue 7); then a 90 KB
// range (the one batch of a 1,000-record job) and a 1 MiB one, async vs the current path:
//   node --import tsx services/executor/test/read-range.bench.ts   (needs npm run bench's orders-50000.csv)
// Same-run comparison: the previous async readRange (open/read/close on the thread pool) vs the new one.
import { open } from 'node:fs/promises';
import { readRange } from '../src/read-range.js';
import { realpath } from 'node:fs/promises';
import { resolveInRoot, staticFileRoots } from '../src/file-roots.js';
async function oldRead(file: string, offset: number, length: number): Promise<Buffer> {
  const buffer = Buffer.from(new ArrayBuffer(length));
  const h = await open(file, 'r');
  try { let f = 0; while (f < length) { const { bytesRead } = await h.read(buffer, f, length - f, offset + f); if (!bytesRead) throw new Error('eof'); f += bytesRead; } return buffer; } finally { await h.close(); }
}
const file = '/tmp/flowmesh-bench-data/orders-50000.csv';
const N = Number(process.env.N ?? 5000);
async function measure(name: string, fn: (o: number) => Promise<Buffer>) {
  for (let i = 0; i < 500; i++) await fn(i * 900);
  const c0 = process.cpuUsage(); const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) await fn((i % 4000) * 900);
  const c = process.cpuUsage(c0); const t = Number(process.hrtime.bigint() - t0) / 1e3;
  console.log(`${name}: CPU ${((c.user + c.system) / N).toFixed(1)} µs/read, wall ${(t / N).toFixed(1)} µs/read`);
}
for (const round of [1, 2]) {
  await measure(`old async  (round ${round})`, (o) => oldRead(file, o, 900));
  await measure(`new        (round ${round})`, (o) => readRange(file, o, 900));
}
const lookup = staticFileRoots({ data: '/tmp/flowmesh-bench-data' });
async function oldResolve(): Promise<string> { const d = await realpath('/tmp/flowmesh-bench-data'); return realpath(d + '/orders-50000.csv'); }
for (const round of [1, 2]) {
  await measure(`old resolve+read (round ${round})`, async (o) => oldRead(await oldResolve(), o, 900));
  await measure(`new resolve+read (round ${round})`, async (o) => readRange(await resolveInRoot(lookup, 'data', 'orders-50000.csv'), o, 900));
}
for (const size of [90_000, 1024 * 1024]) {
  for (const round of [1, 2]) {
    await measure(`${size} B old async (round ${round})`, (o) => oldRead(file, (o % 3) * size, size));
    await measure(`${size} B new       (round ${round})`, (o) => readRange(file, (o % 3) * size, size));
  }
}
