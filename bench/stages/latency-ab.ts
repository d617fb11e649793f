// Latency A/B in one run (issue 7, target 3): two meshes at once, one from another checkout (`base`, e.g.
// a `git archive` of an older commit with node_modules beside it) and one from this checkout, with
// 1,000-record jobs alternating between them, so both see the same machine load. Prints one JSON line:
// p50/p99/max wall ms and CPU µs per job of every process, for each side.
// Usage: node --import tsx bench/stages/latency-ab.ts '{"base":"/tmp/base","file":"/tmp/flowmesh-bench-data/orders-1000.csv","runs":100}'
// With "batchRecords": N, each job is the control-plane scenario instead (the passthrough flow in batches of N
// records, maxInstances 64; issue 7, target 4), and CPU is also given in µs per batch, with batches/s.
// Also per job: minor page faults of every process, and each executor's CPU split into its main thread, its
// busiest other thread (the batch thread) and the rest (libuv pool, GC helpers) — issue 7 target 1a.
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createClient, type FlowmeshClient } from '@flowmesh/client';
import { ResourceKind, RecordEncoding } from '@flowmesh/contracts';
import { percentile, round } from '../lib/stats.js';
import { TICK_US, threadCpu } from '../lib/thread-cpu.js';

interface Options {
  base: string;
  file: string;
  runs: number;
  executors?: number;
  /** Control-plane jobs: the passthrough flow in batches of this many records. */
  batchRecords?: number;
  /** Also measure each process's CPU per second over this many seconds of an idle mesh (both sides at once). */
  idleSeconds?: number;
}
interface MeshLike {
  gateway: string;
  adminKey: string;
  children: Array<{ name: string; pid: number }>;
  stop(): Promise<void>;
}
type StartMesh = (o: Record<string, unknown>) => Promise<MeshLike>;

const opts = JSON.parse(process.argv[2] ?? '{}') as Options;
const here = join(dirname(new URL(import.meta.url).pathname), '..', '..');
const sides = [
  { label: 'base', root: opts.base },
  { label: 'new', root: here },
];

function cpu(children: MeshLike['children']): Record<string, number> {
  const s: Record<string, number> = {};
  for (const c of children) {
    const stat = readFileSync(`/proc/${c.pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    s[c.name] = (Number(f[11]) + Number(f[12])) * TICK_US;
  }
  return s;
}

/** Minor page faults of each process (field 10 of /proc/<pid>/stat). */
function faults(children: MeshLike['children']): Record<string, number> {
  const s: Record<string, number> = {};
  for (const c of children) {
    const stat = readFileSync(`/proc/${c.pid}/stat`, 'utf8');
    s[c.name] = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[7]);
  }
  return s;
}

/** CPU µs of every thread of the executors (`main` is the thread whose id is the pid). */
function executorThreads(children: MeshLike['children']): Record<string, Map<string, number>> {
  const s: Record<string, Map<string, number>> = {};
  for (const c of children.filter((x) => x.name.startsWith('executor'))) s[c.name] = threadCpu(c.pid);
  return s;
}

/** ms per job of each executor's main thread, busiest other thread (its batch thread) and the rest. */
function threadSplit(
  before: Record<string, Map<string, number>>,
  after: Record<string, Map<string, number>>,
  runs: number,
): Record<string, { main: number; batch: number; rest: number }> {
  const out: Record<string, { main: number; batch: number; rest: number }> = {};
  for (const [name, threads] of Object.entries(after)) {
    const d = [...threads].map(([tid, us]) => [tid, us - (before[name]?.get(tid) ?? 0)] as const);
    const main = d.find(([tid]) => tid === 'main')?.[1] ?? 0;
    const others = d
      .filter(([tid]) => tid !== 'main')
      .map(([, us]) => us)
      .sort((a, b) => b - a);
    const ms = (us: number) => round(us / runs / 1000, 1);
    out[name] = { main: ms(main), batch: ms(others[0] ?? 0), rest: ms(others.slice(1).reduce((a, b) => a + b, 0)) };
  }
  return out;
}

const dirs: string[] = [];
const running: Array<{
  label: string;
  mesh: MeshLike;
  client: FlowmeshClient;
  times: number[];
  batches: number;
  cpu0: Record<string, number>;
  faults0: Record<string, number>;
  threads0: Record<string, Map<string, number>>;
}> = [];
const flowFile = opts.batchRecords ? 'bench/flows/passthrough.yaml' : 'bench/flows/orders-plugin-only.yaml';
try {
  for (const side of sides) {
    const { startMesh } = (await import(join(side.root, 'libs/cli/src/client/mesh-launcher.ts'))) as {
      startMesh: StartMesh;
    };
    const dataDir = await mkdtemp(join(tmpdir(), `flowmesh-ab-${side.label}-`));
    dirs.push(dataDir);
    const mesh = await startMesh({
      dataDir,
      executors: opts.executors ?? 2,
      slots: 1,
      fileRoots: { data: dirname(opts.file) },
      pluginDir: join(side.root, 'examples/orders/plugins'),
      timeoutMs: 120_000,
    });
    const client = createClient(mesh.gateway, { apiKey: mesh.adminKey, timeoutMs: 30_000 });
    running.push({ label: side.label, mesh, client, times: [], batches: 0, cpu0: {}, faults0: {}, threads0: {} });
    for (let tries = 0; ; tries++) {
      try {
        await client.putResource({
          kind: ResourceKind.RESOURCE_KIND_FILE_ROOT,
          name: 'data',
          revision: 0,
          createRevision: 0,
          version: 0,
          updatedAt: undefined,
          updatedBy: '',
          spec: {
            $case: 'fileRoot',
            fileRoot: { path: dirname(opts.file), writable: false, description: 'benchmark data' },
          },
        });
        break;
      } catch (err) {
        if ((err as { code?: number }).code !== 16 || tries >= 120) throw err;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    await client.putFlow('bench-latency', readFileSync(join(here, flowFile), 'utf8'));
  }
  const input = opts.file.split('/').pop() ?? '';
  const distribute = opts.batchRecords
    ? { maxInstances: 64, batchRecords: opts.batchRecords, batchBytes: 0, order: '', mode: '' }
    : undefined;
  let lastBatches = 0;
  const job = async (client: FlowmeshClient): Promise<number> => {
    const t0 = process.hrtime.bigint();
    let summary = false;
    for await (const ev of client.runJob({
      flow: 'bench-latency',
      vars: { input },
      encoding: RecordEncoding.RECORD_ENCODING_JSONL,
      distribute,
    })) {
      if (ev.$case === 'summary') {
        summary = true;
        lastBatches = ev.summary.job?.progress?.batchesDone ?? 0;
      }
    }
    if (!summary) throw new Error('no summary');
    return Number(process.hrtime.bigint() - t0) / 1e6;
  };
  // Warm-up (first jobs compile, connect and fill caches), then alternate.
  for (const r of running) for (let i = 0; i < (opts.batchRecords ? 1 : 5); i++) await job(r.client);
  let idle: Record<string, unknown> | undefined;
  if (opts.idleSeconds) {
    // Both meshes idle side by side after their warm-up: the fixed background (registry, heartbeats, load
    // reports) every job pays for its duration (issue 7, target 1).
    const before = running.map((r) => cpu(r.mesh.children));
    const idleLoad0 = Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
    await new Promise((r) => setTimeout(r, opts.idleSeconds! * 1000));
    idle = { loadAverage: [idleLoad0, Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0])] };
    running.forEach((r, i) => {
      const perSecond: Record<string, number> = {};
      let total = 0;
      for (const [name, v] of Object.entries(cpu(r.mesh.children))) {
        const d = v - (before[i]?.[name] ?? 0);
        total += d;
        perSecond[name] = round(d / opts.idleSeconds! / 1000, 2);
      }
      perSecond.total = round(total / opts.idleSeconds! / 1000, 2);
      idle![r.label] = { cpuMsPerSecond: perSecond };
    });
  }
  for (const r of running) {
    r.cpu0 = cpu(r.mesh.children);
    r.faults0 = faults(r.mesh.children);
    r.threads0 = executorThreads(r.mesh.children);
  }
  const load0 = Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
  for (let i = 0; i < opts.runs; i++) {
    for (const r of i % 2 === 0 ? running : [...running].reverse()) {
      r.times.push(await job(r.client));
      r.batches += lastBatches;
    }
  }
  const load1 = Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
  const out: Record<string, unknown> = { runs: opts.runs, loadAverage: [load0, load1], ...(idle ? { idle } : {}) };
  for (const r of running) {
    const after = cpu(r.mesh.children);
    const perJob: Record<string, number> = {};
    let total = 0;
    for (const [name, v] of Object.entries(after)) {
      const d = v - (r.cpu0[name] ?? 0);
      total += d;
      perJob[name] = round(d / Math.max(1, opts.runs) / 1000, 1);
    }
    perJob.total = round(total / Math.max(1, opts.runs) / 1000, 1);
    const t = [...r.times].sort((a, b) => a - b);
    const faults1 = faults(r.mesh.children);
    out[r.label] = {
      p50Ms: round(percentile(t, 50)),
      p99Ms: round(percentile(t, 99)),
      maxMs: round(t[t.length - 1] ?? NaN),
      cpuMsPerJob: perJob,
      executorThreadsMsPerJob: threadSplit(r.threads0, executorThreads(r.mesh.children), Math.max(1, opts.runs)),
      minorFaultsPerJob: Object.fromEntries(
        Object.entries(faults1).map(([name, n]) => [
          name,
          Math.round((n - (r.faults0[name] ?? 0)) / Math.max(1, opts.runs)),
        ]),
      ),
      ...(opts.batchRecords
        ? {
            batchesPerSecond: round(r.batches / (r.times.reduce((a, b) => a + b, 0) / 1000), 0),
            cpuUsPerBatch: Object.fromEntries(
              Object.entries(perJob).map(([k, ms]) => [k, round((ms * 1000 * opts.runs) / Math.max(1, r.batches), 0)]),
            ),
          }
        : {}),
    };
  }
  process.stdout.write(JSON.stringify(out) + '\n');
} finally {
  for (const r of running) {
    r.client.close();
    await r.mesh.stop();
  }
  for (const d of dirs) await rm(d, { recursive: true, force: true });
}
