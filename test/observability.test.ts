// Observability in a real mesh (issue 8, "Done when"): config-store, a coordinator, two executors and a
// gateway as child processes with tracing on (OTLP/HTTP JSON to a receiver in this test) and metrics on
// (--metrics-bind through FLOWMESH_METRICS_BIND, port 0). One job of known counts runs through the
// gateway; its spans must share one trace id from the gateway's RunJob through the coordinator's job and
// attempt spans to every executor batch, and every service's /metrics must match the job's counts.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { JobState, type Job } from '@flowmesh/contracts';
import { createClient, type FlowmeshClient } from '@flowmesh/client';
import { runFlowmesh, startService, tempDir, waitFor, type RunningService, type ServiceKind } from '@flowmesh/testing';
import { dataRoot } from './mesh-setup.js';

const TOKEN = 'observability-test-token';
const ADMIN_KEY = 'observability-test-admin-key-0123456789abcdef';
const RECORDS = 120;
const BATCH_RECORDS = 10;

// Every 8th record has n = 0 and is rejected by the flow's one validate step.
const FLOW = `name: obs
vars:
  input: numbers.csv
source:
  type: file
  root: data
  path: "%input%"
  format: csv
distribute:
  mode: distributed
  maxInstances: 4
  order: input
  retries: 1
steps:
  - type: validate
    name: positive
    expr: int(record.n) > 0
    message: n must be positive
sink:
  type: stream
`;

interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  attributes: Record<string, unknown>;
}

type OtlpValue = { stringValue?: string; intValue?: string | number; boolValue?: boolean; doubleValue?: number };
type OtlpAttr = { key: string; value: OtlpValue };
interface OtlpTraces {
  resourceSpans?: Array<{
    resource?: { attributes?: OtlpAttr[] };
    scopeSpans?: Array<{
      spans?: Array<{ traceId: string; spanId: string; parentSpanId?: string; name: string; attributes?: OtlpAttr[] }>;
    }>;
  }>;
}

const valueOf = (v: OtlpValue): unknown =>
  v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : (v.boolValue ?? v.doubleValue));
const attrs = (list: OtlpAttr[] = []): Record<string, unknown> =>
  Object.fromEntries(list.map((a) => [a.key, valueOf(a.value)]));

/** A minimal OTLP/HTTP JSON trace receiver on loopback, port 0. */
async function startReceiver(): Promise<{ server: Server; endpoint: string; spans: ReceivedSpan[] }> {
  const spans: ReceivedSpan[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.url === '/v1/traces') {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpTraces;
        for (const rs of body.resourceSpans ?? []) {
          const service = String(attrs(rs.resource?.attributes)['service.name'] ?? '');
          for (const ss of rs.scopeSpans ?? []) {
            for (const s of ss.spans ?? []) {
              spans.push({
                service,
                traceId: s.traceId,
                spanId: s.spanId,
                parentSpanId: s.parentSpanId ?? '',
                name: s.name,
                attributes: attrs(s.attributes),
              });
            }
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return { server, endpoint: `http://127.0.0.1:${port}/v1/traces`, spans };
}

/** Sum of the samples of `name` whose labels include `labels` (Prometheus text format). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  let found = false;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? ([^ ]+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/([a-zA-Z_]+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) {
      sum += Number(m[3]);
      found = true;
    }
  }
  return found ? sum : Number.NaN;
}

function metricsAddress(s: RunningService): string {
  const line = s.logLines().find((l) => l.msg === 'metrics listening');
  assert.ok(line && typeof line.address === 'string', `${s.kind} logged "metrics listening" with its address`);
  return line.address as string;
}

async function scrape(s: RunningService): Promise<string> {
  const res = await fetch(`http://${metricsAddress(s)}/metrics`);
  assert.equal(res.status, 200, `${s.kind} /metrics answers`);
  return res.text();
}

describe('observability: one trace per job and Prometheus metrics (real processes)', function () {
  this.timeout(180_000);
  const services: RunningService[] = [];
  const executors: RunningService[] = [];
  let coordinator: RunningService;
  let gateway: RunningService;
  let configStore: RunningService;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let client: FlowmeshClient;
  let job: Job;
  let jobId = '';
  let recordsOut = 0;
  let rejects = 0;
  let traceEnv: Record<string, string>;

  before(async function () {
    this.timeout(180_000);
    receiver = await startReceiver();
    const dir = await tempDir('observability');
    const data = join(dir, 'data');
    await mkdir(data);
    const rows = Array.from({ length: RECORDS }, (_, i) => `${i + 1},${(i + 1) % 8 === 0 ? 0 : i + 1}`);
    await writeFile(join(data, 'numbers.csv'), `id,n\n${rows.join('\n')}\n`);
    const env = {
      FLOWMESH_CLUSTER_TOKEN: TOKEN,
      FLOWMESH_METRICS_BIND: '127.0.0.1:0',
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: receiver.endpoint,
      OTEL_BSP_SCHEDULE_DELAY: '100',
      OTEL_METRICS_EXPORTER: 'none',
      OTEL_LOGS_EXPORTER: 'none',
    };
    traceEnv = Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith('OTEL_')));
    const mesh = ['--discovery', 'file', '--registry-dir', join(dir, 'registry')];
    const start = async (
      kind: ServiceKind,
      args: string[],
      extra: Record<string, string> = {},
    ): Promise<RunningService> => {
      const s = await startService(kind, { args: [...mesh, ...args], env: { ...env, ...extra }, timeoutMs: 60_000 });
      services.push(s);
      return s;
    };
    configStore = await start('config-store', ['--data-dir', join(dir, 'store')]);
    const withStore = ['--config-store', configStore.address];
    const started = await Promise.allSettled([
      start('coordinator', [...withStore, '--node-id', 'obs-coord']).then((c) => (coordinator = c)),
      ...[1, 2].map((n) =>
        start('executor', [
          ...withStore,
          '--node-id',
          `obs-exec-${n}`,
          '--slots',
          '2',
          '--file-root',
          `data=${data}`,
        ]).then((e) => executors.push(e)),
      ),
    ]);
    for (const s of started) if (s.status === 'rejected') throw s.reason;
    gateway = await start('gateway', withStore, { FLOWMESH_ADMIN_KEY: ADMIN_KEY });
    client = createClient(gateway.address, { apiKey: ADMIN_KEY });
    await waitFor(
      () =>
        client.whoAmI().then(
          (w) => w.user === 'admin',
          () => false,
        ),
      { timeoutMs: 30_000, what: 'the admin key' },
    );
    await client.putResource(dataRoot(data));
    await client.putFlow('obs', FLOW);
    await waitFor(() => client.listNodes().then((n) => n.filter((x) => x.kind === 3).length === 2), {
      timeoutMs: 30_000,
      what: 'both executors in discovery',
    });

    for await (const ev of client.runJob({
      flow: 'obs',
      includeRejects: true,
      distribute: { batchRecords: BATCH_RECORDS, maxInstances: 4, batchBytes: 0, order: 'input', mode: '' },
    })) {
      if (ev.$case === 'accepted') jobId = ev.accepted.jobId;
      if (ev.$case === 'records') recordsOut += ev.records.recordCount;
      if (ev.$case === 'rejects') rejects += ev.rejects.rejects.length;
      if (ev.$case === 'summary' && ev.summary.job) job = ev.summary.job;
    }
    assert.equal(job?.state, JobState.JOB_STATE_SUCCEEDED);
  });

  after(async () => {
    client?.close();
    for (const s of services.reverse()) await s.stop('SIGTERM', { timeoutMs: 5000 });
    await new Promise((r) => receiver?.server.close(r));
  });

  it('the job has the counts the input implies', () => {
    const c = job.progress?.counts;
    assert.equal(c?.recordsIn, RECORDS);
    assert.equal(c?.recordsRejected, RECORDS / 8);
    assert.equal(c?.recordsOut, RECORDS - RECORDS / 8);
    assert.equal(recordsOut, c?.recordsOut);
    assert.equal(rejects, c?.recordsRejected);
    assert.equal(job.progress?.batchesDone, RECORDS / BATCH_RECORDS);
  });

  it("a job's trace holds the gateway, coordinator and per-batch executor spans under one trace id", async () => {
    const batches = job.progress!.batchesDone;
    // Wait for the whole trace: every span's parent received (spans end, and are exported, at different times).
    const spans = await waitFor(
      () => {
        const jobSpan = receiver.spans.find(
          (s) => s.name === 'flowmesh.job' && s.attributes['flowmesh.job.id'] === jobId,
        );
        if (!jobSpan) return undefined;
        const trace = receiver.spans.filter((s) => s.traceId === jobSpan.traceId);
        const ids = new Set(trace.map((s) => s.spanId));
        const complete = trace.every((s) => s.parentSpanId === '' || ids.has(s.parentSpanId));
        const executorSpans = trace.filter((s) => s.name === 'flowmesh.executor.batch');
        const gateway = trace.some((s) => s.service === 'flowmesh-gateway');
        return complete && gateway && executorSpans.length >= batches ? receiver.spans.slice() : undefined;
      },
      { timeoutMs: 30_000, what: 'the whole trace of the job (gateway, coordinator, executor spans) at the receiver' },
    );
    const jobSpan = spans.find((s) => s.name === 'flowmesh.job' && s.attributes['flowmesh.job.id'] === jobId)!;
    const traceId = jobSpan.traceId;
    const inTrace = spans.filter((s) => s.traceId === traceId);
    const byId = new Map(inTrace.map((s) => [s.spanId, s]));
    const ancestors = (s: ReceivedSpan): ReceivedSpan[] => {
      const chain: ReceivedSpan[] = [];
      for (let p = byId.get(s.parentSpanId); p; p = byId.get(p.parentSpanId)) chain.push(p);
      return chain;
    };

    assert.equal(jobSpan.service, 'flowmesh-coordinator');
    const root = ancestors(jobSpan).at(-1);
    assert.ok(root, 'the job span has a parent in the trace');
    assert.equal(root.service, 'flowmesh-gateway', `the trace starts at the gateway (root: ${root.name})`);
    assert.match(root.name, /JobService\/RunJob$/);

    const attempts = inTrace.filter((s) => s.name === 'flowmesh.batch.attempt');
    const work = inTrace.filter((s) => s.name === 'flowmesh.executor.batch');
    assert.equal(
      new Set(work.map((s) => s.attributes['flowmesh.batch.index'])).size,
      batches,
      'an executor span for every batch, in this trace',
    );
    assert.ok(attempts.length >= batches, 'a coordinator span for every batch attempt');
    assert.deepEqual(new Set(work.map((s) => s.service)), new Set(['flowmesh-executor']));
    assert.equal(
      new Set(work.map((s) => s.attributes['flowmesh.executor.id'])).size,
      2,
      'both executors worked on the job',
    );
    let recordsIn = 0;
    for (const w of work) {
      const chain = ancestors(w);
      const attempt = chain.find((p) => p.name === 'flowmesh.batch.attempt');
      assert.ok(
        attempt,
        `batch ${String(w.attributes['flowmesh.batch.index'])}: the executor span descends from a coordinator attempt span`,
      );
      assert.equal(attempt.attributes['flowmesh.batch.index'], w.attributes['flowmesh.batch.index']);
      assert.equal(attempt.attributes['flowmesh.batch.offset'], w.attributes['flowmesh.batch.offset']);
      assert.ok(chain.includes(jobSpan), 'and from the job span');
      assert.ok(Number(w.attributes['flowmesh.batch.length']) > 0, 'byte range on the span');
      assert.equal(w.attributes['flowmesh.batch.attempt'], 1);
      recordsIn += Number(w.attributes['flowmesh.records.in']);
    }
    assert.equal(recordsIn, RECORDS, 'records in over the executor spans');
    assert.equal(
      work.reduce((n, w) => n + Number(w.attributes['flowmesh.records.rejected']), 0),
      job.progress!.counts!.recordsRejected,
    );
  });

  it('log lines of the job carry its trace id and job id', async () => {
    const lines = coordinator.logLines().filter((l) => l.jobId === jobId && l.msg === 'job started');
    assert.equal(lines.length, 1, 'the coordinator logged the job start with the job id');
    const jobSpan = receiver.spans.find((s) => s.name === 'flowmesh.job' && s.attributes['flowmesh.job.id'] === jobId)!;
    assert.equal(lines[0]!.traceId, jobSpan.traceId);
  });

  it("every service's /metrics answers, and batch and record counters match the job's counts", async () => {
    const counts = job.progress!.counts!;
    const batches = job.progress!.batchesDone;
    // The coordinator counts the job once run() returns, just after it sent the summary.
    const coord = await waitFor(
      () =>
        scrape(coordinator).then((t) =>
          sample(t, 'flowmesh_jobs_total', { outcome: 'succeeded' }) === 1 ? t : undefined,
        ),
      { timeoutMs: 10_000, what: 'the coordinator counting the job' },
    );
    assert.equal(sample(coord, 'flowmesh_batches_total', { event: 'done' }), batches);
    assert.equal(sample(coord, 'flowmesh_batches_total', { event: 'queued' }), batches);
    assert.equal(sample(coord, 'flowmesh_records_total', { kind: 'in' }), counts.recordsIn);
    assert.equal(sample(coord, 'flowmesh_records_total', { kind: 'out' }), counts.recordsOut);
    assert.equal(sample(coord, 'flowmesh_records_total', { kind: 'rejected' }), counts.recordsRejected);
    assert.equal(sample(coord, 'flowmesh_jobs_total', { outcome: 'succeeded' }), 1);
    assert.equal(sample(coord, 'flowmesh_batches_running'), 0);
    assert.equal(
      sample(coord, 'flowmesh_executor_slots'),
      4,
      'two executors with two slots each, as the coordinator sees them',
    );
    assert.equal(sample(coord, 'flowmesh_discovery_nodes', { kind: 'executor' }), 2);
    assert.equal(sample(coord, 'flowmesh_batch_queue_depth'), 0);

    const execs = await Promise.all(executors.map(scrape));
    const total = (name: string, labels: Record<string, string>) =>
      execs.reduce((n, text) => n + (Number.isNaN(sample(text, name, labels)) ? 0 : sample(text, name, labels)), 0);
    assert.equal(total('flowmesh_batches_total', { event: 'done' }), batches);
    assert.equal(total('flowmesh_records_total', { kind: 'in' }), counts.recordsIn);
    assert.equal(total('flowmesh_records_total', { kind: 'out' }), counts.recordsOut);
    assert.equal(total('flowmesh_records_total', { kind: 'rejected' }), counts.recordsRejected);
    for (const text of execs) assert.equal(sample(text, 'flowmesh_executor_slots'), 2);

    const gw = await scrape(gateway);
    assert.equal(sample(gw, 'flowmesh_jobs_total', { outcome: 'succeeded' }), 1);
    assert.equal(sample(gw, 'flowmesh_records_total', { kind: 'out' }), counts.recordsOut);
    assert.equal(sample(gw, 'flowmesh_discovery_nodes', { kind: 'executor' }), 2);

    const store = await scrape(configStore);
    assert.match(store, /target_info\{[^}]*service_name="flowmesh-config-store"/);
  });

  // Last: this second job would change the counters the test above checks.
  it('with tracing on in the CLI too, the trace starts at the client: `flowmesh run`', async () => {
    const r = await runFlowmesh(
      [
        'run',
        'obs',
        '--gateway',
        gateway.address,
        '--api-key',
        ADMIN_KEY,
        '--job-id',
        'obs-cli-job',
        '--batch-records',
        String(BATCH_RECORDS),
        '--json',
        '--no-progress',
      ],
      { env: traceEnv, timeoutMs: 60_000 },
    );
    assert.equal(r.code, 0, r.stderr);
    const jobSpan = await waitFor(
      () => receiver.spans.find((s) => s.name === 'flowmesh.job' && s.attributes['flowmesh.job.id'] === 'obs-cli-job'),
      {
        timeoutMs: 30_000,
        what: 'the job span of the CLI job',
      },
    );
    const root = await waitFor(
      () => receiver.spans.find((s) => s.traceId === jobSpan.traceId && s.parentSpanId === ''),
      {
        timeoutMs: 30_000,
        what: 'the root span of the CLI job',
      },
    );
    assert.equal(root.service, 'flowmesh-run', 'the root span is the CLI process');
    assert.equal(root.name, 'flowmesh.cli.run');
    // The gateway's span ends after the coordinator's and may arrive in a later export.
    await waitFor(() => receiver.spans.some((s) => s.traceId === jobSpan.traceId && s.service === 'flowmesh-gateway'), {
      timeoutMs: 30_000,
      what: 'the gateway span in the CLI job trace',
    });
  });
});
