// The mesh the chaos suite runs in (test/chaos.test.ts, scripts/chaos.ts): etcd with 3 members,
// config-store on it, 1–2 coordinators and a pool of executors as real processes. Every executor reaches
// the mesh only through TCP proxies it was given (--advertise for its gRPC port, --etcd and
// --config-store for its outgoing links), so a partition cuts all of them at once; an executor that
// exits (SIGKILL, SIGTERM, a poison batch) is replaced by a new one, so a job can always finish.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CoordinatorServiceClient, JobSpec, type Job, type JobProgress, type Reject } from '@flowmesh/contracts';
import { createClient as createFlowmeshClient, type FlowmeshClient } from '@flowmesh/client';
import { createConfigClient } from '@flowmesh/config';
import { decodeRecords, generateOrders, type ReferenceTableData } from '@flowmesh/flow';
import { callOptions, createClient } from '@flowmesh/runtime';
import {
  REPO_ROOT,
  startEtcd,
  startService,
  startTcpProxy,
  tempDir,
  waitFor,
  type ChaosCoordinator,
  type ChaosExecutor,
  type EtcdCluster,
  type RunningService,
  type TcpProxy,
} from '@flowmesh/testing';
import { Metadata, type ServiceError } from '@grpc/grpc-js';
import {
  closeStatusClients,
  getExecutorStatus,
  putFileRoot,
  putFlow,
  putTable,
  withConfigStore,
} from './engine-harness.js';

export const CHAOS_TOKEN = 'chaos-test-token';
const ADMIN_KEY = 'chaos-test-admin-key-0123456789abcdef0123';
const EXAMPLES = join(REPO_ROOT, 'examples/orders');
const PLUGINS = join(EXAMPLES, 'plugins');

export interface ChaosMeshOptions {
  /** Executors kept running (each with one slot). @default 3 */
  executors?: number;
  /**
   * Coordinators started (the job runs on the first; the second is there to take over). With 2, a gateway
   * is started too, for jobs run through @flowmesh/client (a streamed result re-attaching). @default 1
   */
  coordinators?: 1 | 2;
  /** The coordinators' --heartbeat-timeout-ms. @default 1500 */
  heartbeatTimeoutMs?: number;
  /** Records in the input file. @default 40000 */
  records?: number;
  /** FLOWMESH_FAULTS of every executor (e.g. poison batches of chosen job ids). */
  executorFaults?: string[];
  /** Replacement executors started at most, over the mesh's life. @default 40 */
  maxReplacements?: number;
  log?: (line: string) => void;
}

export interface ChaosInput {
  file: string;
  bytes: Buffer;
  /** Every record's order_id in input order. */
  ids: string[];
  /** First source line of each record → its order_id (rejects carry lines). */
  lineIds: Map<number, string>;
}

export interface ChaosJobRun {
  jobId: string;
  output: Buffer;
  rejects: Reject[];
  summary?: Job;
  error?: ServiceError;
  lastProgress?: JobProgress;
}

interface PooledExecutor extends ChaosExecutor {
  service: RunningService;
  proxies: TcpProxy[];
}

export interface ChaosMesh {
  etcd: EtcdCluster;
  input: ChaosInput;
  /** The same size without invalid rows: every record must reach a file sink's output. */
  cleanInput: ChaosInput;
  outDir: string;
  coordinators: RunningService[];
  executors(): ChaosExecutor[];
  coordinator(index?: number): ChaosCoordinator;
  /** The coordinator with this node id. */
  coordinatorById(id: string): ChaosCoordinator | undefined;
  /** Starts again (same node id) every coordinator that has died. */
  ensureCoordinators(): Promise<void>;
  /** Replacement executors started so far. */
  replacements(): number;
  /**
   * Output (stdout and stderr, bounded) of every process that ran as this node id (an executor, or a
   * coordinator and its restarts), oldest first — dead ones too, for a failed scenario's report.
   */
  logsOf(nodeId: string): string[];
  /** Node ids of the coordinators (their "batch attempt failed" lines name every failed attempt). */
  coordinatorIds(): string[];
  /** Resolves when `n` executors are registered and idle (between scenarios). */
  settle(timeoutMs?: number): Promise<void>;
  runJob(spec: ChaosJobSpec, onProgress?: (p: JobProgress) => void): Promise<ChaosJobRun>;
  /** Submits a detached job and follows its progress; `watched` settles when that watch ends (job or coordinator). */
  submitJob(spec: ChaosJobSpec, onProgress?: (p: JobProgress) => void): Promise<{ watched: Promise<void> }>;
  /**
   * RunJob through the gateway with @flowmesh/client, which re-attaches by itself when the job's
   * coordinator dies; `onAccepted` names the coordinator the job started on. Needs coordinators: 2.
   */
  runJobViaGateway(
    spec: ChaosJobSpec,
    onProgress?: (p: JobProgress) => void,
    onAccepted?: (coordinatorId: string) => void,
  ): Promise<ChaosJobRun>;
  getJob(jobId: string): Promise<Job | undefined>;
  stop(): Promise<void>;
}

export interface ChaosJobSpec {
  jobId: string;
  flow?: 'orders' | 'orders-to-file' | 'orders-to-parts';
  batchRecords: number;
  maxInstances?: number;
  order: 'input' | 'arrival';
  coordinator?: number;
  /** @default the mesh's input */
  input?: ChaosInput;
}

/** Progress as a fraction: bytes covered by finished batches over the source size. */
export function progressFraction(p: JobProgress | undefined): number {
  if (!p || !p.bytesTotal) return 0;
  return Number(p.bytesDone) / Number(p.bytesTotal);
}

export async function prepareInput(
  dir: string,
  records: number,
  seed: number,
  invalidRate?: number,
): Promise<ChaosInput> {
  const file = `orders-${records}-${seed}${invalidRate === 0 ? '-clean' : ''}.csv`;
  const bytes = Buffer.concat([
    ...generateOrders({ records, seed, ...(invalidRate !== undefined ? { invalidRate } : {}) }),
  ]);
  await writeFile(join(dir, file), bytes);
  const decoded = decodeRecords('csv', bytes);
  const byLine = new Map<number, string>();
  decoded.records.forEach((r, i) => byLine.set(decoded.lines[i]!, String(r.order_id)));
  for (const e of decoded.errors) {
    const id = /O-\d{9}/.exec(e.raw)?.[0];
    if (id) byLine.set(e.line, id);
  }
  const lines = [...byLine.keys()].sort((a, b) => a - b);
  const ids = lines.map((l) => byLine.get(l)!);
  if (ids.length !== records) throw new Error(`input: ${ids.length} ids for ${records} records`);
  return { file, bytes, ids, lineIds: byLine };
}

export async function startChaosMesh(opts: ChaosMeshOptions = {}): Promise<ChaosMesh> {
  const log = opts.log ?? (() => undefined);
  const wanted = opts.executors ?? 3;
  const maxReplacements = opts.maxReplacements ?? 40;
  const heartbeatTimeoutMs = opts.heartbeatTimeoutMs ?? 1500;
  const dataDir = await tempDir('chaos-data');
  const outDir = await tempDir('chaos-out');
  const started: RunningService[] = [];
  const pool = new Set<PooledExecutor>();
  const allProxies: TcpProxy[] = [];
  let stopping = false;
  let next = 0;
  let replaced = 0;
  const starting = new Set<Promise<unknown>>();
  // Every process by node id, dead ones too: a failed scenario reports its victims' last lines.
  const byNode = new Map<string, RunningService[]>();
  const remember = (id: string, s: RunningService): void => {
    const list = byNode.get(id) ?? [];
    list.push(s);
    byNode.set(id, list);
  };

  const input = await prepareInput(dataDir, opts.records ?? 40_000, 1);
  const cleanInput = await prepareInput(dataDir, opts.records ?? 40_000, 2, 0);
  const etcd = await startEtcd({ members: 3 });
  const env = { FLOWMESH_CLUSTER_TOKEN: CHAOS_TOKEN };
  const mesh = ['--discovery', 'etcd', '--etcd', etcd.endpoints.join(',')];
  try {
    const store = await startService('config-store', {
      args: [...mesh, '--plugin-dir', PLUGINS],
      env,
      timeoutMs: 60_000,
    });
    started.push(store);
    const ordersFlow = await readFile(join(EXAMPLES, 'orders.flow.yaml'), 'utf8');
    const table = JSON.parse(await readFile(join(EXAMPLES, 'tax-rates.json'), 'utf8')) as ReferenceTableData;
    await withConfigStore(store.address, CHAOS_TOKEN, async (cs) => {
      await putFileRoot(cs, 'data', dataDir, false);
      await putFileRoot(cs, 'out', outDir, true);
      await putTable(cs, 'tax-rates', table);
      await putFlow(cs, 'orders', ordersFlow);
      // The orders flow into a JSONL file sink named by the job: one file, or a directory of parts.
      const toFile = (layout: 'file' | 'parts'): string =>
        ordersFlow
          .replace(
            /sink:\n  type: stream/,
            `sink:\n  type: file\n  root: out\n  path: chaos/%job%.jsonl\n  format: jsonl\n  layout: ${layout}`,
          )
          .replace('vars:\n', 'vars:\n  job: none\n');
      await putFlow(cs, 'orders-to-file', toFile('file'));
      await putFlow(cs, 'orders-to-parts', toFile('parts'));
    });

    const startExecutor = async (): Promise<void> => {
      const id = `chaos-exec-${++next}`;
      // The proxy exists before the executor has a port: it is registered with the proxy's address.
      const upstream: { address?: string } = {};
      const grpcProxy = await startTcpProxy(() => upstream.address);
      const etcdProxies = await Promise.all(etcd.endpoints.map((u) => startTcpProxy(u.replace(/^https?:\/\//, ''))));
      const storeProxy = await startTcpProxy(store.address);
      const proxies = [grpcProxy, ...etcdProxies, storeProxy];
      allProxies.push(...proxies);
      const service = await startService('executor', {
        args: [
          '--discovery',
          'etcd',
          '--etcd',
          etcdProxies.map((p) => `http://${p.address}`).join(','),
          '--config-store',
          storeProxy.address,
          '--advertise',
          grpcProxy.address,
          '--node-id',
          id,
          '--slots',
          '1',
          '--heartbeat-ms',
          '200',
          '--grace-ms',
          '5000',
          '--plugin-dir',
          PLUGINS,
          '--file-root',
          `data=${dataDir}`,
          // The sinks' root too: executors write file sinks' output parts themselves (the scale-out path).
          '--file-root',
          `out=${outDir}`,
        ],
        env: { ...env, FLOWMESH_FAULTS: (opts.executorFaults ?? []).join(',') },
        timeoutMs: 60_000,
      });
      upstream.address = service.address;
      started.push(service);
      remember(id, service);
      const e: PooledExecutor = {
        id,
        service,
        proxies,
        get pid() {
          return service.pid;
        },
        alive: () => pool.has(e),
        busy: async () => (await getExecutorStatus(service.address, CHAOS_TOKEN)).slotsBusy > 0,
        signal: (sig) => service.kill(sig),
        cut: () => proxies.forEach((p) => p.cut()),
        heal: () => proxies.forEach((p) => p.heal()),
      };
      pool.add(e);
      log(`executor ${id} started (pid ${service.pid}, advertised ${grpcProxy.address})`);
      void service.exited.then((info) => {
        pool.delete(e);
        for (const p of proxies) void p.close();
        if (stopping) return;
        log(`executor ${id} exited (code ${info.code}, signal ${info.signal})`);
        if (replaced >= maxReplacements) {
          log(`no replacement for ${id}: ${maxReplacements} replacements already started`);
          return;
        }
        replaced++;
        const p = startExecutor().catch((err: unknown) => log(`replacement executor failed to start: ${String(err)}`));
        starting.add(p);
        void p.finally(() => starting.delete(p));
      });
    };
    const outcomes = await Promise.allSettled(Array.from({ length: wanted }, () => startExecutor()));
    for (const o of outcomes) if (o.status === 'rejected') throw o.reason;

    const coordinators: RunningService[] = [];
    const clients: CoordinatorServiceClient[] = [];
    const dead = new Set<number>();
    const startCoordinator = async (i: number): Promise<void> => {
      const c = await startService('coordinator', {
        args: [
          ...mesh,
          '--node-id',
          `chaos-coord-${i + 1}`,
          '--heartbeat-timeout-ms',
          String(heartbeatTimeoutMs),
          '--no-executor-timeout-ms',
          '20000',
          '--record-every-ms',
          '250',
        ],
        env,
        timeoutMs: 60_000,
      });
      started.push(c);
      remember(`chaos-coord-${i + 1}`, c);
      coordinators[i] = c;
      clients[i]?.close();
      clients[i] = createClient(CoordinatorServiceClient, c.address, { clusterToken: CHAOS_TOKEN });
      dead.delete(i);
      void c.exited.then(() => {
        if (coordinators[i] === c) dead.add(i);
      });
    };
    for (let i = 0; i < (opts.coordinators ?? 1); i++) await startCoordinator(i);
    let gateway: FlowmeshClient | undefined;
    if ((opts.coordinators ?? 1) > 1) {
      const g = await startService('gateway', {
        args: mesh,
        env: { ...env, FLOWMESH_ADMIN_KEY: ADMIN_KEY },
        timeoutMs: 60_000,
      });
      started.push(g);
      gateway = createFlowmeshClient(g.address, { apiKey: ADMIN_KEY });
      const gw = gateway;
      await waitFor(() => gw.whoAmI().then((w) => w.user === 'admin'), { timeoutMs: 30_000, what: 'the admin key' });
    }
    const configClient = createConfigClient({ address: store.address, clusterToken: CHAOS_TOKEN, timeoutMs: 3000 });

    const fullSpec = (s: ChaosJobSpec) =>
      JobSpec.fromPartial({
        jobId: s.jobId,
        flow: s.flow ?? 'orders',
        vars: { input: (s.input ?? input).file, ...(s.flow !== undefined && s.flow !== 'orders' ? { job: s.jobId } : {}) },
        includeRejects: true,
        progressIntervalMs: 100,
        distribute: { batchRecords: s.batchRecords, maxInstances: s.maxInstances ?? 3, order: s.order },
      });

    const self: ChaosMesh = {
      etcd,
      input,
      cleanInput,
      outDir,
      coordinators,
      executors: () => [...pool],
      coordinator(index = 0) {
        const c = coordinators[index]!;
        return {
          id: `chaos-coord-${index + 1}`,
          alive: () => coordinators[index] === c && !dead.has(index),
          signal: (sig) => c.kill(sig),
        };
      },
      coordinatorById(id) {
        const i = coordinators.findIndex((_, n) => `chaos-coord-${n + 1}` === id);
        return i >= 0 ? self.coordinator(i) : undefined;
      },
      async ensureCoordinators() {
        for (const i of [...dead]) await startCoordinator(i);
      },
      replacements: () => replaced,
      logsOf: (nodeId) => (byNode.get(nodeId) ?? []).map((s) => s.logs()),
      coordinatorIds: () => coordinators.map((_, i) => `chaos-coord-${i + 1}`),
      async settle(timeoutMs = 30_000) {
        await waitFor(
          async () => {
            if (starting.size > 0) return false;
            const live = [...pool];
            if (live.length < wanted) return false;
            const statuses = await Promise.all(live.map((e) => getExecutorStatus(e.service.address, CHAOS_TOKEN)));
            return statuses.every((s) => s.slotsBusy === 0);
          },
          { timeoutMs, intervalMs: 100, what: `${wanted} idle executors` },
        );
      },
      async runJob(spec, onProgress) {
        const client = clients[spec.coordinator ?? 0]!;
        const stream = client.runJob(callOptions({ timeoutMs: 120_000 }));
        const run: ChaosJobRun = { jobId: spec.jobId, output: Buffer.alloc(0), rejects: [] };
        const parts: Buffer[] = [];
        stream.write({ request: { msg: { $case: 'start', start: fullSpec(spec) } } });
        stream.end();
        try {
          for await (const res of stream as AsyncIterable<{
            response?: { msg?: { $case: string; [k: string]: unknown } };
          }>) {
            const m = res.response?.msg;
            if (!m) continue;
            if (m.$case === 'records') parts.push((m.records as { data: Buffer }).data);
            else if (m.$case === 'rejects') run.rejects.push(...(m.rejects as { rejects: Reject[] }).rejects);
            else if (m.$case === 'progress') {
              run.lastProgress = m.progress as JobProgress;
              onProgress?.(run.lastProgress);
            } else if (m.$case === 'summary') run.summary = (m.summary as { job: Job }).job;
          }
        } catch (err) {
          run.error = err as ServiceError;
        }
        run.output = Buffer.concat(parts);
        return run;
      },
      async runJobViaGateway(spec, onProgress, onAccepted) {
        if (!gateway) throw new Error('runJobViaGateway needs a mesh with 2 coordinators (and its gateway)');
        const run: ChaosJobRun = { jobId: spec.jobId, output: Buffer.alloc(0), rejects: [] };
        const parts: Buffer[] = [];
        try {
          for await (const m of gateway.runJob(fullSpec(spec), {
            timeoutMs: 120_000,
            onProgress: (p) => {
              run.lastProgress = p;
              onProgress?.(p);
            },
          })) {
            if (m.$case === 'accepted') onAccepted?.(m.accepted.coordinatorId);
            else if (m.$case === 'records') parts.push(Buffer.from(m.records.data));
            else if (m.$case === 'rejects') run.rejects.push(...m.rejects.rejects);
            else if (m.$case === 'summary') run.summary = m.summary.job;
          }
        } catch (err) {
          run.error = err as ServiceError;
        }
        run.output = Buffer.concat(parts);
        return run;
      },
      async submitJob(spec, onProgress) {
        const client = clients[spec.coordinator ?? 0]!;
        await new Promise<void>((resolve, reject) =>
          client.submitJob({ spec: fullSpec(spec) }, new Metadata(), callOptions({ timeoutMs: 10_000 }), (err) =>
            err ? reject(err) : resolve(),
          ),
        );
        // Progress comes from WatchJob on the same coordinator; the stream ends (or breaks) with it.
        const watch = client.watchJob(
          { request: { jobId: spec.jobId, resumeResults: false, afterBatch: 0, coalesceBatches: false } },
          callOptions({ timeoutMs: 120_000 }),
        );
        const watched = (async () => {
          try {
            for await (const res of watch as AsyncIterable<{
              response?: { msg?: { $case: string; progress?: JobProgress } };
            }>) {
              const m = res.response?.msg;
              if (m?.$case === 'progress' && m.progress) onProgress?.(m.progress);
            }
          } catch {
            // the coordinator died or the job ended
          }
        })();
        return { watched };
      },
      async getJob(jobId) {
        return (await configClient.getJob(jobId))?.job;
      },
      async stop() {
        stopping = true;
        for (const c of clients) c.close();
        gateway?.close();
        configClient.close();
        closeStatusClients();
        await Promise.allSettled([...starting]);
        for (const e of pool) e.heal();
        // Coordinators first (they hold calls to executors), then executors, config-store, etcd.
        for (const s of [...started].reverse()) {
          s.kill('SIGCONT');
          await s.stop('SIGTERM', { timeoutMs: 5000 });
        }
        await Promise.all(allProxies.map((p) => p.close()));
        await etcd.stop();
      },
    };
    return self;
  } catch (err) {
    stopping = true;
    await Promise.allSettled([...starting]);
    for (const s of started.reverse()) await s.stop('SIGKILL', { timeoutMs: 5000 });
    await Promise.all(allProxies.map((p) => p.close()));
    await etcd.stop();
    throw err;
  }
}
