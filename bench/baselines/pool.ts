// Baseline: a worker-thread pool on this machine (piscina, one thread per core) running the same decode,
// transform and encode over byte ranges planned by the same planner. Prints one JSON line.
import { open } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { planBatches, readHeader } from '@flowmesh/flow';
import type { PoolTask } from './pool-worker.js';
import { threadCpu } from '../lib/thread-cpu.js';

const file = process.argv[2];
const threads = Number(process.argv[3] ?? availableParallelism());
const batchBytes = Number(process.argv[4]?.startsWith('--') ? 4 * 1024 * 1024 : (process.argv[4] ?? 4 * 1024 * 1024));
if (!file) throw new Error('usage: pool.ts FILE [THREADS] [BATCH_BYTES] [--warmup]');

const pool = new Piscina({
  filename: fileURLToPath(new URL('./pool-worker.ts', import.meta.url)),
  minThreads: threads,
  maxThreads: threads,
  execArgv: ['--import', 'tsx'],
});
/** CPU µs of each thread of this process (the main one keyed `main`). */
const ownThreadCpu = (): Map<string, number> => threadCpu(process.pid);
interface ThreadSplit { main: number; workers: number; rest: number }
/** The main thread, the `threads` busiest others (the pool's workers: an executor's batch threads' counterpart), the rest. */
function threadSplit(before: Map<string, number>, after: Map<string, number>): ThreadSplit {
  const others: number[] = [];
  let main = 0;
  for (const [tid, us] of after) {
    const d = us - (before.get(tid) ?? 0);
    if (tid === 'main') main = d;
    else others.push(d);
  }
  others.sort((a, b) => b - a);
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  return { main, workers: sum(others.slice(0, threads)), rest: sum(others.slice(threads)) };
}
// With --warmup, the same job runs once untimed first (threads started, modules loaded, code optimized),
// as the mesh's measured job follows a warm-up job: both sides are then measured warm.
const warmup = process.argv.includes('--warmup');
async function runJob(): Promise<{ recordsIn: number; recordsOut: number; rejected: number; bytesOut: number; seconds: number; cpuUs: number; minorFaults: number; byThread: ThreadSplit }> {
  const started = process.hrtime.bigint();
  // process.cpuUsage() and resourceUsage() are process-wide: they include the pool's worker threads.
  const cpu0 = process.cpuUsage();
  const faults0 = process.resourceUsage().minorPageFault;
  const threads0 = ownThreadCpu();
  const fh = await open(file!, 'r');
  const header = await readHeader(fh, 'csv');
  let recordsIn = 0;
  let recordsOut = 0;
  let rejected = 0;
  let bytesOut = 0;
  const inFlight = new Set<Promise<void>>();
  for await (const batch of planBatches(fh, { format: 'csv', dataOffset: header.dataOffset, firstLine: header.firstLine, batchBytes })) {
    const task: PoolTask = { file: file!, offset: batch.offset, length: batch.length, firstLine: batch.firstLine, fields: header.fields };
    const p = (pool.run(task) as Promise<{ recordsIn: number; recordsOut: number; rejected: number; output: Uint8Array }>).then((r) => {
      recordsIn += r.recordsIn;
      recordsOut += r.recordsOut;
      rejected += r.rejected;
      bytesOut += r.output.byteLength;
    });
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
    // Bounded in-flight work: two tasks per thread keep every thread busy without buffering the file.
    if (inFlight.size >= threads * 2) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  await fh.close();
  const cpu = process.cpuUsage(cpu0);
  const minorFaults = process.resourceUsage().minorPageFault - faults0;
  const byThread = threadSplit(threads0, ownThreadCpu());
  return { recordsIn, recordsOut, rejected, bytesOut, seconds: Number(process.hrtime.bigint() - started) / 1e9, cpuUs: cpu.user + cpu.system, minorFaults, byThread };
}
if (warmup) await runJob();
const { recordsIn, recordsOut, rejected, bytesOut, seconds, cpuUs, minorFaults, byThread } = await runJob();
await pool.destroy();
// CPU (user + system, main and worker threads) of the timed job only, per input record: comparable with the
// mesh's `cpuUsPerRecord.total` (all its processes), the figure that decides who wins on saturated cores.
const perRecord = (us: number): number => Math.round((us / recordsIn) * 100) / 100;
const cpuUsPerRecord = perRecord(cpuUs);
const minorFaultsPer1kRecords = Math.round((minorFaults / (recordsIn / 1000)) * 100) / 100;
process.stdout.write(JSON.stringify({ name: `pool-${threads}`, threads, warmup, recordsIn, recordsOut, rejected, bytesOut, seconds, recordsPerSecond: recordsIn / seconds, cpuUsPerRecord, minorFaultsPer1kRecords,
  cpuUsPerRecordByThread: { main: perRecord(byThread.main), workers: perRecord(byThread.workers), rest: perRecord(byThread.rest) }, loadAverage: loadavg()[0] }) + '\n');
