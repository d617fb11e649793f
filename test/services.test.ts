// Each service as its own process through the CLI: it starts, reports SERVING, answers reflection, drains
// on SIGTERM (health NOT_SERVING while an in-flight call finishes) and exits 0; bad configuration fails
// start-up naming the flag or variable; internal services refuse calls without the cluster token.
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { CoordinatorServiceClient, ExecutorServiceClient } from '@flowmesh/contracts';
import { callOptions, createClient } from '@flowmesh/runtime';
import {
  healthCheck,
  holdInFlightCall,
  listServices,
  runFlowmesh,
  startService,
  stopAllServices,
  tempDir,
  waitFor,
  watchHealth,
  type RunningService,
  type ServiceKind,
} from '@flowmesh/testing';

/** The flowmesh.v1 services each process serves. */
const KINDS: Array<{ kind: ServiceKind; services: string[] }> = [
  { kind: 'gateway', services: ['flowmesh.v1.JobService', 'flowmesh.v1.FlowService', 'flowmesh.v1.ClusterService'] },
  { kind: 'coordinator', services: ['flowmesh.v1.CoordinatorService'] },
  { kind: 'executor', services: ['flowmesh.v1.ExecutorService'] },
  { kind: 'config-store', services: ['flowmesh.v1.ConfigStore'] },
];
const GRACE_MS = 15_000;

let stateDir: string;
/** State of every service goes to a temp dir; variables a service does not know are ignored. */
const env = (): NodeJS.ProcessEnv => ({
  FLOWMESH_REGISTRY_DIR: `${stateDir}/registry`,
  FLOWMESH_DATA_DIR: `${stateDir}/data`,
  FLOWMESH_LOG_LEVEL: 'info',
});

before(async () => {
  stateDir = await tempDir('flowmesh-services');
});
after(async () => {
  await stopAllServices();
  await rm(stateDir, { recursive: true, force: true });
});

for (const { kind, services } of KINDS) {
  describe(`flowmesh ${kind} as a process`, () => {
    let svc: RunningService;
    before(async () => {
      svc = await startService(kind, { env: env(), args: ['--grace-ms', String(GRACE_MS)] });
    });
    after(async () => {
      await svc?.stop('SIGKILL');
    });

    it('logs the bound address as a structured "listening" line', () => {
      const line = svc.logLines().find((l) => l.msg === 'listening');
      assert.ok(line, svc.logs());
      assert.match(String(line.address), /^127\.0\.0\.1:\d+$/);
      assert.notEqual(svc.port, 0);
      assert.equal(line.service, kind);
      assert.equal(line.pid, svc.pid);
    });

    it('reports SERVING for the server and for each of its services', async () => {
      assert.equal(await healthCheck(svc.address), 'SERVING');
      for (const name of services) assert.equal(await healthCheck(svc.address, name), 'SERVING');
    });

    it('lists its services, health and reflection through buf curl --list-services', async () => {
      const listed = await listServices(svc.address);
      for (const name of [...services, 'grpc.health.v1.Health', 'grpc.reflection.v1.ServerReflection']) {
        assert.ok(listed.includes(name), `${name} missing from ${listed.join(', ')}`);
      }
      // Only what this process serves: no other service's contract.
      const foreign = listed.filter((n) => n.startsWith('flowmesh.v1.') && !services.includes(n));
      assert.deepEqual(foreign, []);
    });

    if (kind === 'coordinator') {
      it('answers `flowmesh health` (the container health check) with SERVING and exit 0', async () => {
        const ok = await runFlowmesh(['health', '--address', svc.address]);
        assert.equal(ok.code, 0, ok.stderr);
        assert.equal(ok.stdout.trim(), 'SERVING');
        const unknown = await runFlowmesh(['health', '--address', svc.address, '--service', 'flowmesh.v1.Nope']);
        assert.equal(unknown.code, 1);
        assert.match(unknown.stdout, /error: /);
      });

      it('fails start-up with exit 1 naming the address when the port is taken', async () => {
        const res = await runFlowmesh(['coordinator', '--bind', svc.address], { env: env() });
        assert.equal(res.code, 1, res.stderr);
        assert.match(res.stderr, new RegExp(`start-up failed: cannot listen on ${svc.address}`));
      });
    }

    it('on SIGTERM turns NOT_SERVING, waits for an in-flight call, then exits 0 within the grace', async () => {
      const watch = watchHealth(svc.address);
      await waitFor(() => watch.statuses.includes('SERVING'), { what: 'health watch to report SERVING' });
      const held = holdInFlightCall(svc.address);
      await held.opened;

      const t0 = Date.now();
      svc.kill('SIGTERM');
      await waitFor(() => watch.statuses.includes('NOT_SERVING'), { what: 'NOT_SERVING after SIGTERM' });
      // The watch is ended by the server, so watchers do not hold the drain.
      assert.equal(await watch.ended, status.OK);
      // The held call keeps the process draining...
      assert.equal(await Promise.race([svc.exited.then(() => 'exited'), Promise.resolve('running')]), 'running');
      // ...until it finishes.
      held.release();
      assert.equal(await held.ended, status.OK);
      const exit = await svc.exited;
      assert.deepEqual(exit, { code: 0, signal: null }, svc.logs());
      assert.ok(Date.now() - t0 < GRACE_MS, `took ${Date.now() - t0} ms`);
    });
  });

  describe(`flowmesh ${kind} with bad configuration`, () => {
    it('fails start-up naming an invalid flag', async () => {
      const res = await runFlowmesh([kind, '--bind', '127.0.0.1:0', '--grace-ms', 'abc'], { env: env() });
      assert.equal(res.code, 2, res.stderr);
      assert.match(res.stderr, /invalid --grace-ms "abc": expected a non-negative integer \(or FLOWMESH_GRACE_MS\)/);
    });

    // The loader is shared (unit-tested in libs/runtime); one service proves the environment path end to end.
    if (kind === 'coordinator')
      it('fails start-up naming an invalid environment variable', async () => {
        const res = await runFlowmesh([kind, '--bind', '127.0.0.1:0'], {
          env: { ...env(), FLOWMESH_LOG_LEVEL: 'loud' },
        });
        assert.equal(res.code, 2, res.stderr);
        assert.match(res.stderr, /FLOWMESH_LOG_LEVEL "loud": expected one of fatal, error/);
      });
  });
}

describe('draining past the grace', () => {
  it('cancels a call still in flight when the grace is over and still exits 0', async () => {
    const svc = await startService('coordinator', { env: env(), args: ['--grace-ms', '300'] });
    const held = holdInFlightCall(svc.address);
    await held.opened;
    const t0 = Date.now();
    const exit = await svc.stop('SIGTERM');
    assert.deepEqual(exit, { code: 0, signal: null }, svc.logs());
    assert.ok(Date.now() - t0 >= 300, 'stopped before the grace was over');
    assert.notEqual(await held.ended, status.OK);
  });
});

describe('a second signal while draining', () => {
  it('exits 1 at once instead of waiting for the grace', async () => {
    const svc = await startService('coordinator', { env: env(), args: ['--grace-ms', '60000'] });
    const held = holdInFlightCall(svc.address);
    await held.opened;
    const watch = watchHealth(svc.address);
    await waitFor(() => watch.statuses.includes('SERVING'), { what: 'SERVING' });
    svc.kill('SIGTERM');
    await waitFor(() => watch.statuses.includes('NOT_SERVING'), { what: 'NOT_SERVING after the first SIGTERM' });
    svc.kill('SIGINT');
    const exit = await svc.exited;
    assert.deepEqual(exit, { code: 1, signal: null }, svc.logs());
    assert.match(svc.logs(), /second signal/);
  });
});

describe('cluster token on internal services', () => {
  const TOKEN = 'test-cluster-token-0123456789';

  async function codeOf(promise: Promise<unknown>): Promise<status> {
    try {
      await promise;
      return status.OK;
    } catch (err) {
      return (err as ServiceError).code;
    }
  }

  for (const kind of ['coordinator', 'executor'] as const) {
    it(`${kind} answers UNAUTHENTICATED without the token, and serves health to anyone`, async () => {
      const svc = await startService(kind, { env: env(), args: ['--cluster-token', TOKEN] });
      try {
        // A cheap unary call of each internal service (GetLoad / GetExecutorStatus).
        const call = (token?: string): Promise<status> => {
          const opts = callOptions({ timeoutMs: 5000 });
          if (kind === 'coordinator') {
            const client = createClient(CoordinatorServiceClient, svc.address, { clusterToken: token });
            return codeOf(
              new Promise((resolve, reject) =>
                client.getLoad({}, new Metadata(), opts, (err) => (err ? reject(err) : resolve(undefined))),
              ).finally(() => client.close()),
            );
          }
          const client = createClient(ExecutorServiceClient, svc.address, { clusterToken: token });
          return codeOf(
            new Promise((resolve, reject) =>
              client.getExecutorStatus({}, new Metadata(), opts, (err) => (err ? reject(err) : resolve(undefined))),
            ).finally(() => client.close()),
          );
        };
        assert.equal(await call(undefined), status.UNAUTHENTICATED);
        assert.equal(await call('wrong-token'), status.UNAUTHENTICATED);
        assert.notEqual(await call(TOKEN), status.UNAUTHENTICATED);
        assert.equal(await healthCheck(svc.address), 'SERVING');
      } finally {
        await svc.stop('SIGKILL');
      }
    });
  }
});

describe('tracing', () => {
  it('records gRPC server spans when OTEL_TRACES_EXPORTER names an exporter', async () => {
    const svc = await startService('coordinator', { env: { ...env(), OTEL_TRACES_EXPORTER: 'console' } });
    assert.equal(await healthCheck(svc.address), 'SERVING');
    // The console exporter prints finished spans on stdout; the graceful stop flushes them.
    const exit = await svc.stop('SIGTERM');
    assert.deepEqual(exit, { code: 0, signal: null }, svc.logs());
    assert.match(svc.logs(), /name: 'grpc\.grpc\.health\.v1\.Health\/Check'/);
    assert.match(svc.logs(), /'service\.name': 'flowmesh-coordinator'/);
  });
});
