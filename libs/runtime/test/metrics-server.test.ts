// The metrics plumbing on its own: off by default (no-op meter), --metrics-bind on port 0 serving the
// flowmesh instruments at /metrics, and an idempotent shutdown that turns metrics off again.
import assert from 'node:assert/strict';
import { pino } from 'pino';
import {
  createMeshMetrics,
  metricsEnabled,
  serviceMeter,
  startMetricsServer,
  type MetricsServer,
} from '../src/index.js';
import { reportBackpressureWait } from '../src/metrics/backpressure-observer.js';

describe('metrics server', () => {
  let server: MetricsServer | undefined;
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino(
    { level: 'info' },
    { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
  );

  afterEach(async () => {
    await server?.shutdown();
    server = undefined;
  });

  it('is off until started: the service meter is a no-op', () => {
    assert.equal(metricsEnabled(), false);
    const metrics = createMeshMetrics(serviceMeter());
    metrics.batch('done'); // recorded nowhere, and no error
    metrics.records({ in: 3 });
  });

  it('binds port 0, logs the address, and serves the instruments recorded through the service meter', async () => {
    server = await startMetricsServer({ bind: '127.0.0.1:0', service: 'test', logger });
    assert.match(server.address, /^127\.0\.0\.1:[1-9]\d*$/);
    const listening = lines.find((l) => l.msg === 'metrics listening');
    assert.equal(listening?.address, server.address);
    assert.equal(metricsEnabled(), true);

    const metrics = createMeshMetrics(serviceMeter());
    metrics.job('succeeded');
    metrics.batch('done', 3);
    metrics.records({ in: 10, out: 8, rejected: 2 });
    metrics.observeSlots(() => [{ executor: 'e1', slots: 4, busy: 1 }]);
    metrics.watchLag(20, 1);
    reportBackpressureWait(5);

    const res = await fetch(`http://${server.address}/metrics`);
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.match(text, /^flowmesh_jobs_total\{[^}]*outcome="succeeded"[^}]*\} 1$/m);
    assert.match(text, /^flowmesh_batches_total\{[^}]*event="done"[^}]*\} 3$/m);
    assert.match(text, /^flowmesh_records_total\{[^}]*kind="rejected"[^}]*\} 2$/m);
    assert.match(text, /^flowmesh_executor_slots_busy\{[^}]*executor="e1"[^}]*\} 1$/m);
    assert.match(text, /^flowmesh_config_watch_lag_seconds_count\{[^}]*\} 1$/m);
    assert.match(text, /^flowmesh_stream_backpressure_waits_total\{[^}]*\} 1$/m);
    assert.match(text, /target_info\{[^}]*service_name="flowmesh-test"/);

    const missing = await fetch(`http://${server.address}/other`);
    assert.equal(missing.status, 404);
    await missing.text();
  });

  it('shuts down idempotently and turns metrics off again', async () => {
    server = await startMetricsServer({ bind: '127.0.0.1:0', service: 'test', logger });
    const { address } = server;
    await Promise.all([server.shutdown(), server.shutdown()]);
    assert.equal(metricsEnabled(), false);
    await assert.rejects(fetch(`http://${address}/metrics`));
  });

  it('names the flag when the address is not host:port', async () => {
    await assert.rejects(startMetricsServer({ bind: 'nonsense', service: 'test', logger }), /--metrics-bind/);
  });
});
