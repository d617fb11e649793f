// Mesh stage: starts a local mesh (gateway + coordinator + N executors as separate processes, embedded
// config store), stores the file root, reference table and flows, then runs the scenarios it is given and
// prints one JSON result line. Usage: mesh.ts '<json options>'.
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createClient, type FlowmeshClient, type RunJobOptions } from '@flowmesh/client';
import { startMesh } from '@flowmesh/cli';
import { ResourceKind, RecordEncoding } from '@flowmesh/contracts';
import { DEFAULT_SPOOL_DIR, existingSpoolId } from '@flowmesh/runtime';
import { pluginDir, repoRoot } from '../lib/plugin.js';
import { percentile, round } from '../lib/stats.js';
import { TICK_US, threadCpu } from '../lib/thread-cpu.js';

interface Options {
  executors: number;
  slots?: number;
  dataFile: string;
  /**
   * Throughput runs: a flow file under examples/ or bench/flows and a label. `grpcBytes`: the client does
   * not ask for the local hand-off (spoolDir 'off'), so the records cross gRPC from the gateway as before
   * (issue 7: both figures are reported, each named by `resultPath`). `borrowBuffers`: the client reads the
   * local parts into memory it reuses (RunJobOptions.borrowBuffers: each event's data valid until the next).
   */
  throughput?: Array<{ label: string; flowFile: string; batchBytes?: number; maxInstances?: number; grpcBytes?: boolean; borrowBuffers?: boolean }>;
  /** Run each distinct throughput flow once untimed before the measured jobs (a warm mesh, as the pool baseline's --warmup). */
  warmup?: boolean;
  latency?: { file: string; runs: number };
  /**
   * Tiny batches. `uncoalesced`: the same job also with one records message per batch (a caller that does not
   * take coalesced messages, issue 7 target 4), alternated with the default over `rounds` (default 1) in this
   * mesh, so both see the same load; each label's CPU per batch is over all its rounds.
   */
  controlPlane?: { file: string; batchRecords: number; fileSink?: boolean; uncoalesced?: boolean; rounds?: number };
  /** Sample process.memoryUsage() of every mesh process (bench/lib/memory-probe.mjs) and report it per scenario. */
  memoryProbe?: boolean;
  /**
   * A client that reads slowly: at most `bytesPerSecond` of records, and after `stallAfterBytes` it stops
   * reading for `stallMs` (backpressure must stop the mesh, not fill its memory).
   */
  slowConsumer?: { file: string; bytesPerSecond: number; stallAfterBytes: number; stallMs: number };
}

const opts = JSON.parse(process.argv[2] ?? '{}') as Options;
const dataDir = await mkdtemp(join(tmpdir(), 'flowmesh-bench-'));
const memoryDir = join(dataDir, 'memory');
if (opts.memoryProbe || opts.slowConsumer) {
  // Inherited by the mesh's children through startMesh's environment; this process is already running.
  mkdirSync(memoryDir, { recursive: true });
  process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --import=${join(repoRoot, 'bench/lib/memory-probe.mjs')}`.trim();
  process.env.FLOWMESH_BENCH_MEMORY_DIR = memoryDir;
}
const mesh = await startMesh({ dataDir, executors: opts.executors, slots: opts.slots ?? 1, fileRoots: { data: dirname(opts.dataFile) }, pluginDir, timeoutMs: 120_000 });
const client: FlowmeshClient = createClient(mesh.gateway, { apiKey: mesh.adminKey, timeoutMs: 30_000 });
// The same caller without the local hand-off: every record through the gateway's gRPC stream.
const bytesClient: FlowmeshClient = createClient(mesh.gateway, { apiKey: mesh.adminKey, timeoutMs: 30_000, spoolDir: 'off' });
// The mesh's services use the default spool (startMesh): the client shares it when it can read its id.
const sharedSpool = (await existingSpoolId(process.env.FLOWMESH_SPOOL_DIR ?? DEFAULT_SPOOL_DIR).catch(() => undefined)) !== undefined;
const results: Record<string, unknown> = { executors: opts.executors };

/** CPU time (user + system, µs) of each mesh process and of this client, read from /proc (10 ms ticks). */
type CpuSample = Record<string, number>;
function cpuSample(): CpuSample {
  const s: CpuSample = {};
  for (const c of mesh.children) {
    // Fields after the ")" of the command name: state is field 3, utime 14, stime 15.
    const stat = readFileSync(`/proc/${c.pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    s[c.name] = (Number(f[11]) + Number(f[12])) * TICK_US;
  }
  const own = process.cpuUsage();
  s.client = own.user + own.system;
  return s;
}
/**
 * Minor page faults of each mesh process (field 10 of /proc/<pid>/stat) and of this client: first touches of
 * fresh memory. Unlike CPU time they hardly depend on the machine's load, so a before/after of an
 * allocation change can be read from one noisy run.
 */
function faultSample(): CpuSample {
  const s: CpuSample = {};
  for (const c of mesh.children) {
    const stat = readFileSync(`/proc/${c.pid}/stat`, 'utf8');
    s[c.name] = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[7]);
  }
  const own = readFileSync('/proc/self/stat', 'utf8');
  s.client = Number(own.slice(own.lastIndexOf(')') + 2).split(' ')[7]);
  return s;
}
/**
 * CPU (µs) of every thread of each mesh process and of this client, from /proc/<pid>/task/<tid>/stat. Threads
 * have no names there (all "node"): the main thread is the one whose id is the pid.
 */
type ThreadSample = Record<string, Map<string, number>>;
function threadSample(): ThreadSample {
  const s: ThreadSample = {};
  for (const c of [...mesh.children, { name: 'client', pid: process.pid }]) s[c.name] = threadCpu(c.pid);
  return s;
}
/**
 * CPU µs per record of each process by thread: `main`, `busiest` (the other thread that used the most: an
 * executor's batch thread, the pool's counterpart) and `rest` (libuv pool, GC helpers, inspector…), to see what
 * the mesh pays beyond the transform (issue 7 target 1: bench/README.md "Mesh vs pool").
 */
function threadsPer(before: ThreadSample, after: ThreadSample, units: number): Record<string, { main: number; busiest: number; rest: number }> {
  const out: Record<string, { main: number; busiest: number; rest: number }> = {};
  for (const [name, threads] of Object.entries(after)) {
    const deltas = [...threads].map(([tid, us]) => [tid, us - (before[name]?.get(tid) ?? 0)] as const);
    const main = deltas.find(([tid]) => tid === 'main')?.[1] ?? 0;
    const others = deltas.filter(([tid]) => tid !== 'main').map(([, us]) => us).sort((a, b) => b - a);
    const busiest = others[0] ?? 0;
    const rest = others.slice(1).reduce((a, b) => a + b, 0);
    const per = (us: number) => round(us / Math.max(1, units), 2);
    out[name] = { main: per(main), busiest: per(busiest), rest: per(rest) };
  }
  return out;
}
/** CPU µs per unit (record or batch) of each process between two samples, plus the total. */
function cpuPer(before: CpuSample, after: CpuSample, units: number): Record<string, number> {
  const out: Record<string, number> = {};
  let total = 0;
  for (const [name, v] of Object.entries(after)) {
    const d = v - (before[name] ?? 0);
    total += d;
    out[name] = round(d / Math.max(1, units), 2);
  }
  out.total = round(total / Math.max(1, units), 2);
  return out;
}
/** The machine's 1-minute load average, so a reader knows how shared the cores were. */
const loadAverage = (): number => Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);

function peakRss(pid: number): number {
  // VmHWM: the process's peak resident set, in kB.
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

interface MemorySample { t: number; rss: number; heapUsed: number; heapTotal: number; external: number; arrayBuffers: number }
/** Every process's memory samples (from the probe's files) between two times, by child name. */
function memorySamples(from: number, to: number): Record<string, MemorySample[]> {
  const out: Record<string, MemorySample[]> = {};
  if (!opts.memoryProbe && !opts.slowConsumer) return out;
  const files = new Set(readdirSync(memoryDir));
  for (const c of mesh.children) {
    if (!files.has(`${c.pid}.jsonl`)) continue;
    out[c.name] = readFileSync(join(memoryDir, `${c.pid}.jsonl`), 'utf8')
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => JSON.parse(l) as MemorySample)
      .filter((m) => m.t >= from && m.t <= to);
  }
  return out;
}
const MB = 1024 * 1024;
/** Per process: memory at the window's start and the peaks inside it (MB), to tell heap from buffers. */
function memorySummary(from: number, to: number) {
  const out: Record<string, Record<string, number>> = {};
  for (const [name, samples] of Object.entries(memorySamples(from, to))) {
    if (samples.length === 0) continue;
    const peak = (k: keyof MemorySample) => round(Math.max(...samples.map((m) => m[k])) / MB, 1);
    out[name] = { rssStart: round(samples[0]!.rss / MB, 1), rssPeak: peak('rss'), rssEnd: round(samples[samples.length - 1]!.rss / MB, 1), heapUsedPeak: peak('heapUsed'), heapTotalPeak: peak('heapTotal'), externalPeak: peak('external'), arrayBuffersPeak: peak('arrayBuffers'), samples: samples.length };
  }
  return out;
}

async function runToEnd(flow: string, vars: Record<string, string>, distribute?: { batchBytes?: number; batchRecords?: number; maxInstances?: number }, pace?: (bytes: number) => Promise<void>, caller: FlowmeshClient = client, runOptions: RunJobOptions = {}) {
  const started = process.hrtime.bigint();
  let records = 0;
  let bytes = 0;
  let messages = 0;
  let summary: unknown;
  for await (const ev of caller.runJob({ flow, vars, encoding: RecordEncoding.RECORD_ENCODING_JSONL, distribute: distribute ? { maxInstances: distribute.maxInstances ?? 0, batchRecords: distribute.batchRecords ?? 0, batchBytes: distribute.batchBytes ?? 0, order: '', mode: '' } : undefined }, runOptions)) {
    if (ev.$case === 'records') {
      records += ev.records.recordCount;
      bytes += ev.records.data.length;
      messages++;
      if (pace) await pace(bytes);
    } else if (ev.$case === 'summary') {
      summary = ev.summary.job;
    }
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const job = summary as { progress?: { counts?: { recordsIn?: number; bytesOut?: number }; batchesDone?: number }; executors?: unknown[]; output?: { path?: string }; rejectsOutput?: { path?: string } } | undefined;
  // A file sink's output (hundreds of MB at 1M records) is measured, not kept: a file, or a parts layout's directory.
  for (const f of [job?.output?.path, job?.rejectsOutput?.path]) if (f) await rm(join(dirname(opts.dataFile), f), { force: true, recursive: true });
  // And its directory once empty (other runs may be writing there: never recursive).
  if (job?.output?.path) await rmdir(dirname(join(dirname(opts.dataFile), job.output.path))).catch(() => undefined);
  return { seconds, records, bytes, messages, job };
}

try {
  // The gateway bootstraps the admin key after it starts listening: on a loaded machine the first call can
  // come first (UNAUTHENTICATED), so retry it for a while.
  for (let tries = 0; ; tries++) {
    try {
      await client.putResource({
        kind: ResourceKind.RESOURCE_KIND_FILE_ROOT, name: 'data', revision: 0, createRevision: 0, version: 0, updatedAt: undefined, updatedBy: '',
        spec: { $case: 'fileRoot', fileRoot: { path: dirname(opts.dataFile), writable: true, description: 'benchmark data' } },
      });
      break;
    } catch (err) {
      if ((err as { code?: number }).code !== 16 || tries >= 120) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  const table = JSON.parse(readFileSync(join(repoRoot, 'examples/orders/tax-rates.json'), 'utf8')) as { keyColumn: string; columns: string[]; rows: Record<string, unknown>[]; description: string };
  await client.putResource({
    kind: ResourceKind.RESOURCE_KIND_REFERENCE_TABLE, name: 'tax-rates', revision: 0, createRevision: 0, version: 0, updatedAt: undefined, updatedBy: '',
    spec: { $case: 'referenceTable', referenceTable: table },
  });
  // Warm-up: each distinct flow of the throughput list once, untimed, so every measured job finds its code
  // loaded and optimized in every process (the first job of a fresh mesh pays for that, ~2× its wall time).
  const warmed = new Set<string>();
  for (const t of opts.warmup ? opts.throughput ?? [] : []) {
    if (warmed.has(t.flowFile)) continue;
    warmed.add(t.flowFile);
    await client.putFlow(`bench-${t.label}`, readFileSync(join(repoRoot, t.flowFile), 'utf8'));
    await runToEnd(`bench-${t.label}`, { input: opts.dataFile.split('/').pop() ?? '' }, { batchBytes: t.batchBytes, maxInstances: t.maxInstances }, undefined, t.grpcBytes ? bytesClient : client, { borrowBuffers: t.borrowBuffers });
  }
  for (const t of opts.throughput ?? []) {
    const name = `bench-${t.label}`;
    await client.putFlow(name, readFileSync(join(repoRoot, t.flowFile), 'utf8'));
    const cpu0 = cpuSample();
    const faults0 = faultSample();
    const threads0 = threadSample();
    const load = loadAverage();
    const t0 = Date.now();
    const r = await runToEnd(name, { input: opts.dataFile.split('/').pop() ?? '' }, { batchBytes: t.batchBytes, maxInstances: t.maxInstances }, undefined, t.grpcBytes ? bytesClient : client, { borrowBuffers: t.borrowBuffers });
    const recordsIn = r.job?.progress?.counts?.recordsIn ?? 0;
    const cpu1 = cpuSample();
    const faults1 = faultSample();
    const threads1 = threadSample();
    const batches = r.job?.progress?.batchesDone ?? 0;
    const cpuUsPerBatch = cpuPer(cpu0, cpu1, batches);
    // Scale-out arithmetic (target 6): batches one coordinator core can take per second, over the batches
    // one executor process finished per second of this run = executors one coordinator core could feed.
    const coordinatorBatchesPerCoreSecond = round(1e6 / (cpuUsPerBatch['coordinator-1'] ?? NaN), 0);
    const executorBatchesPerSecond = round(batches / r.seconds / opts.executors, 3);
    results[t.label] = {
      seconds: round(r.seconds, 3), recordsIn, recordsOut: r.records || (r.job?.progress?.counts as { recordsOut?: number } | undefined)?.recordsOut, bytesOut: r.bytes || r.job?.progress?.counts?.bytesOut,
      streamedToClient: r.bytes > 0, resultPath: r.bytes === 0 ? 'not streamed' : t.grpcBytes || !sharedSpool ? 'gRPC bytes' : t.borrowBuffers ? 'local hand-off, borrowed buffers' : 'local hand-off', recordsPerSecond: round(recordsIn / r.seconds, 0), executors: r.job?.executors,
      // The steady figure on a shared machine: CPU µs per input record, per process.
      cpuUsPerRecord: cpuPer(cpu0, cpu1, recordsIn), loadAverage: load,
      minorFaultsPer1kRecords: cpuPer(faults0, faults1, recordsIn / 1000),
      cpuUsPerRecordByThread: threadsPer(threads0, threads1, recordsIn),
      batches, cpuUsPerBatch, coordinatorBatchesPerCoreSecond, executorBatchesPerSecond,
      executorsPerCoordinatorCore: round(coordinatorBatchesPerCoreSecond / executorBatchesPerSecond, 0),
      ...(opts.memoryProbe ? { memoryMb: memorySummary(t0, Date.now()) } : {}),
    };
  }
  if (opts.latency) {
    await client.putFlow('bench-latency', readFileSync(join(repoRoot, 'bench/flows/orders-plugin-only.yaml'), 'utf8'));
    const input = opts.latency.file.split('/').pop() ?? '';
    const times: number[] = [];
    const cpu0 = cpuSample();
    const load = loadAverage();
    for (let i = 0; i < opts.latency.runs; i++) {
      const r = await runToEnd('bench-latency', { input });
      times.push(r.seconds * 1000);
    }
    times.sort((a, b) => a - b);
    results.latency = {
      runs: times.length, p50Ms: round(percentile(times, 50)), p99Ms: round(percentile(times, 99)), maxMs: round(times[times.length - 1] ?? NaN),
      cpuUsPerJob: cpuPer(cpu0, cpuSample(), times.length), loadAverage: load,
    };
  }
  if (opts.controlPlane) {
    // Tiny batches, no step: the per-batch cost of dispatch. With `fileSink`, the same again with a JSONL
    // file sink, where executors write each batch as a part and the coordinator appends it (one file) or
    // renames it into the output directory (`parts` layout) (target 6).
    const variants: Array<[string, string, RunJobOptions]> = [['controlPlane', 'bench/flows/passthrough.yaml', {}]];
    if (opts.controlPlane.uncoalesced) variants.push(['controlPlaneUncoalesced', 'bench/flows/passthrough.yaml', { coalesceBatches: false }]);
    if (opts.controlPlane.fileSink) {
      variants.push(['controlPlaneFileSink', 'bench/flows/passthrough-file.yaml', {}]);
      // The same with a `parts` layout sink: each part renamed into the output directory, none copied.
      variants.push(['controlPlaneFileSinkParts', 'bench/flows/passthrough-parts.yaml', {}]);
    }
    for (const [label, flowFile] of variants) await client.putFlow(`bench-${label}`, readFileSync(join(repoRoot, flowFile), 'utf8'));
    const input = opts.controlPlane.file.split('/').pop() ?? '';
    // Per label, over its rounds: CPU spent by each process, batches, seconds and the loads seen.
    const sums = new Map<string, { cpu: CpuSample; batches: number; seconds: number; messages: number; loads: number[]; each: number[] }>();
    const rounds = opts.controlPlane.rounds ?? 1;
    // With rounds, a job first that is not measured: the mesh's first job pays for compiling and connecting
    // (measured: ~2× the wall time of the next ones), which would weigh on whichever variant goes first.
    if (rounds > 1) await runToEnd('bench-controlPlane', { input }, { batchRecords: opts.controlPlane.batchRecords, maxInstances: 64 });
    for (let round_ = 0; round_ < rounds; round_++) {
      for (const [label, , runOptions] of round_ % 2 === 0 ? variants : [...variants].reverse()) {
        const cpu0 = cpuSample();
        const load = loadAverage();
        const r = await runToEnd(`bench-${label}`, { input }, { batchRecords: opts.controlPlane.batchRecords, maxInstances: 64 }, undefined, client, runOptions);
        const cpu1 = cpuSample();
        const sum = sums.get(label) ?? { cpu: {}, batches: 0, seconds: 0, messages: 0, loads: [], each: [] };
        sum.messages += r.messages;
        for (const [name, v] of Object.entries(cpu1)) sum.cpu[name] = (sum.cpu[name] ?? 0) + v - (cpu0[name] ?? 0);
        sum.batches += r.job?.progress?.batchesDone ?? 0;
        sum.seconds += r.seconds;
        sum.each.push(round(r.seconds, 2));
        sum.loads.push(load);
        sums.set(label, sum);
      }
    }
    for (const [label, { cpu, batches, seconds, messages, loads, each }] of sums) {
      const cpuUsPerBatch = cpuPer({}, cpu, batches);
      const coordinatorUs = cpuUsPerBatch['coordinator-1'] ?? NaN;
      results[label] = {
        // Records messages the client received: one per batch, or fewer when batches are coalesced.
        batches, rounds, recordsMessages: messages, seconds: round(seconds, 3), ...(rounds > 1 ? { secondsEach: each } : {}), batchesPerSecond: round(batches / seconds, 0), perBatchOverheadUs: round((seconds * 1e6) / Math.max(1, batches), 1),
        cpuUsPerBatch,
        // What one coordinator core could feed: batches/s it sustains on one core, if it did nothing else.
        coordinatorBatchesPerCoreSecond: round(1e6 / coordinatorUs, 0),
        loadAverage: rounds === 1 ? loads[0] : loads,
      };
    }
  }
  if (opts.slowConsumer) {
    const sc = opts.slowConsumer;
    await client.putFlow('bench-slow', readFileSync(join(repoRoot, 'bench/flows/orders-plugin-only.yaml'), 'utf8'));
    const load = loadAverage();
    const t0 = Date.now();
    let stalled = false;
    let stallStart = 0;
    let stallEnd = 0;
    const pace = async (bytes: number): Promise<void> => {
      if (!stalled && bytes >= sc.stallAfterBytes) {
        // Stop reading altogether: every buffer between the executors and this client fills, then the mesh must stop.
        stalled = true;
        stallStart = Date.now();
        await new Promise((r) => setTimeout(r, sc.stallMs));
        stallEnd = Date.now();
      }
      const ahead = bytes / sc.bytesPerSecond - (Date.now() - t0 - (stallEnd - stallStart)) / 1000;
      if (ahead > 0) await new Promise((r) => setTimeout(r, ahead * 1000));
    };
    const r = await runToEnd('bench-slow', { input: sc.file.split('/').pop() ?? '' }, undefined, pace);
    const t1 = Date.now();
    results.slowConsumer = {
      seconds: round(r.seconds, 3), bytesOut: r.bytes, recordsOut: r.records, bytesPerSecond: sc.bytesPerSecond, stallMs: sc.stallMs, loadAverage: load,
      // Whole run, and the stall alone: RSS that does not climb while nobody reads is the backpressure proof.
      memoryMb: memorySummary(t0, t1),
      stallMemoryMb: memorySummary(stallStart, stallEnd),
    };
  }
  const rss: Record<string, number> = {};
  for (const c of mesh.children) rss[c.name] = peakRss(c.pid);
  results.peakRssBytes = rss;
} finally {
  client.close();
  bytesClient.close();
  await mesh.stop();
  await rm(dataDir, { recursive: true, force: true });
}
process.stdout.write(JSON.stringify(results) + '\n');
