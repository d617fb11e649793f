// Baseline: the single-process script a user writes first — csv-parse streaming the file, the orders
// transform per record, JSON lines out. Prints one JSON line with its figures.
import { createReadStream } from 'node:fs';
import { loadavg } from 'node:os';
import { parse } from 'csv-parse';
import { applyTransform, loadTransform } from '../lib/plugin.js';

const file = process.argv[2];
if (!file) throw new Error('usage: single-csv-parse.ts FILE');
const transform = await loadTransform();
const ctx = { vars: {}, globals: {} };
// With --warmup, the file is processed once untimed first (code loaded and optimized), as the mesh and the
// pool are measured warm.
async function runJob(): Promise<{ recordsIn: number; recordsOut: number; rejected: number; bytesOut: number; seconds: number; cpuUs: number }> {
  const started = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  let recordsIn = 0;
  let recordsOut = 0;
  let rejected = 0;
  let bytesOut = 0;
  const parser = createReadStream(file!).pipe(parse({ columns: true, bom: true, relax_column_count: true }));
  for await (const record of parser as AsyncIterable<Record<string, unknown>>) {
    recordsIn++;
    const ok = applyTransform(transform, record, ctx, (r) => {
      recordsOut++;
      bytesOut += Buffer.byteLength(JSON.stringify(r)) + 1;
    });
    if (!ok) rejected++;
  }
  const cpu = process.cpuUsage(cpu0);
  return { recordsIn, recordsOut, rejected, bytesOut, seconds: Number(process.hrtime.bigint() - started) / 1e9, cpuUs: cpu.user + cpu.system };
}
const warmup = process.argv.includes('--warmup');
if (warmup) await runJob();
const { recordsIn, recordsOut, rejected, bytesOut, seconds, cpuUs } = await runJob();
// CPU of the timed job only, per input record (one thread: about 1e6 / recordsPerSecond on an idle core).
const cpuUsPerRecord = Math.round((cpuUs / recordsIn) * 100) / 100;
process.stdout.write(JSON.stringify({ name: 'single-csv-parse', warmup, recordsIn, recordsOut, rejected, bytesOut, seconds, recordsPerSecond: recordsIn / seconds, cpuUsPerRecord, loadAverage: loadavg()[0] }) + '\n');
