// One executor's records/s on an orders batch set, against runBatch in one thread in the same run.
//   node --import tsx services/executor/test/throughput.bench.ts [--records 100000] [--batch-bytes 1048576]
// The executor is a real process (`flowmesh executor`, one worker thread per slot); this process plays the
// coordinator: it keeps one batch per slot in flight and reads every record chunk back.
import { readFileSync } from 'node:fs';
import { mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { credentials } from '@grpc/grpc-js';
import { DataFormat, ExecutorServiceClient, RecordEncoding } from '@flowmesh/contracts';
import type { BatchAssignment } from '@flowmesh/contracts';
import { compileFlow, generateOrders, parseFlow, planBatches, readHeader, runBatch } from '@flowmesh/flow';
import type { BatchRange } from '@flowmesh/flow';
import { startService, stopAllServices, tempDir } from '@flowmesh/testing';
import { execute, pluginDir } from './executor-harness.js';

const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '100000' },
    'batch-bytes': { type: 'string', default: String(1024 * 1024) },
    slots: { type: 'string', default: String(availableParallelism()) },
  },
});
const records = Number(values.records);
const batchBytes = Number(values['batch-bytes']);
const slots = Number(values.slots);

/** CPU seconds (user + system) a process has used so far, from /proc (Linux; clock ticks of 10 ms). */
function processCpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
const ownCpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

const FLOW = `
name: orders-plugin
source: { type: file, root: data, path: orders.csv, format: csv }
steps:
  - type: plugin
    module: orders.mjs
sink: { type: stream }
`;

const dir = await tempDir('executor-bench');
try {
  const root = path.join(dir, 'data');
  await mkdir(root);
  const file = path.join(root, 'orders.csv');
  await writeFile(file, Buffer.concat([...generateOrders({ records, seed: 1 })]));
  const fh = await open(file, 'r');
  const info = await readHeader(fh, 'csv');
  const batches: BatchRange[] = [];
  for await (const b of planBatches(fh, { format: 'csv', dataOffset: info.dataOffset, firstLine: info.firstLine, batchBytes })) batches.push(b);
  await fh.close();
  const whole = await readFile(file);
  console.log(`${records} records, ${(whole.length / 1e6).toFixed(1)} MB, ${batches.length} batches of ~${(batchBytes / 1e6).toFixed(1)} MB, ${slots} slots`);

  // Baseline: the same engine, one thread, no gRPC.
  const compiled = await compileFlow(parseFlow(FLOW), { pluginDir });
  let t0 = performance.now();
  let cpu0 = ownCpu();
  let directOut = 0;
  let directBytes = 0;
  for (const b of batches) {
    const r = await runBatch(
      compiled,
      { bytes: whole.subarray(b.offset, b.offset + b.length), format: 'csv', header: info.header, firstLine: b.firstLine, firstRecord: 0, batchIndex: b.index, vars: {}, globals: {} },
      { onChunk: (c) => void (directBytes += c.length) },
    );
    directOut += r.counts.in;
  }
  const directSec = (performance.now() - t0) / 1000;
  const directCpu = ownCpu() - cpu0;

  // The executor process.
  const svc = await startService('executor', {
    args: ['--slots', String(slots), '--file-root', `data=${root}`, '--plugin-dir', pluginDir, '--discovery', 'none'],
  });
  const client = new ExecutorServiceClient(svc.address, credentials.createInsecure(), {
    'grpc-node.flow_control_window': 8 * 1024 * 1024,
  });
  const assign = (b: BatchRange, job: string): BatchAssignment => ({
    jobId: job, batchIndex: b.index, attempt: 1, epoch: 1, file: { root: 'data', path: 'orders.csv' },
    offset: b.offset, length: b.length, firstLine: b.firstLine, firstRecord: 0, flow: 'orders-plugin', flowRevision: 1,
    flowSource: FLOW, vars: {}, format: DataFormat.DATA_FORMAT_CSV, header: info.header, inline: false, globals: {},
    outputPart: undefined, encoding: RecordEncoding.RECORD_ENCODING_JSONL, includeRejects: true, chunkBytes: 0, mayWait: false, contextFromCall: false,
  });
  const runAll = async (job: string) => {
    let next = 0;
    let out = 0;
    let bytes = 0;
    const lane = async () => {
      while (next < batches.length) {
        const b = batches[next++]!;
        const r = await execute(client, assign(b, job));
        if (r.error) throw r.error;
        const t = r.messages.at(-1)?.msg;
        if (t?.$case === 'trailer') out += t.trailer.counts?.recordsIn ?? 0;
        bytes += r.output.length;
      }
    };
    await Promise.all(Array.from({ length: slots }, lane));
    return { out, bytes };
  };
  await runAll('warm-up'); // threads compile the flow once and JIT warms, as in a long-running executor
  t0 = performance.now();
  cpu0 = ownCpu();
  const execCpu0 = processCpuSeconds(svc.pid);
  const viaExecutor = await runAll('measured');
  const execSec = (performance.now() - t0) / 1000;
  const execCpu = processCpuSeconds(svc.pid) - execCpu0;
  const clientCpu = ownCpu() - cpu0;
  client.close();
  await svc.stop('SIGTERM');

  if (viaExecutor.out !== directOut || viaExecutor.bytes !== directBytes) {
    throw new Error(`executor gave ${viaExecutor.out} records / ${viaExecutor.bytes} bytes, runBatch ${directOut} / ${directBytes}`);
  }
  const directRate = directOut / directSec;
  const execRate = viaExecutor.out / execSec;
  console.log(`runBatch, one thread:        ${Math.round(directRate).toLocaleString('en')} records/s (${directSec.toFixed(2)} s)`);
  console.log(`executor, ${slots} slots over gRPC: ${Math.round(execRate).toLocaleString('en')} records/s (${execSec.toFixed(2)} s, output ${(viaExecutor.bytes / 1e6).toFixed(1)} MB read back)`);
  console.log(`ratio executor / one thread: ${(execRate / directRate).toFixed(2)}×`);
  // CPU per record does not depend on what else the machine runs, unlike the rates above.
  const us = (sec: number) => ((sec / directOut) * 1e6).toFixed(2);
  console.log(`CPU per record: runBatch ${us(directCpu)} µs; executor process ${us(execCpu)} µs (all threads); receiving client ${us(clientCpu)} µs`);
} finally {
  await stopAllServices();
  await rm(dir, { recursive: true, force: true });
}
