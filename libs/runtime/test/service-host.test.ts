// The host in-process on port 0: handler adapters, context signal and deadline, error mapping on the wire,
// cluster token, and the ordered stop.
import assert from 'node:assert/strict';
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import {
  CoordinatorServiceClient,
  CoordinatorServiceService,
  CoordinatorServiceWatchJobResponse,
  type CoordinatorServiceWatchJobRequest,
  type GetLoadResponse,
} from '@flowmesh/contracts';
import {
  callOptions,
  createClient,
  createServiceHost,
  NotFoundError,
  serverStream,
  unary,
  type CallContext,
  type ServiceHost,
} from '@flowmesh/runtime';
import { deferred, healthCheck, waitFor } from '@flowmesh/testing';
import { pino } from 'pino';

const silent = pino({ level: 'silent' });
const load = (n: number): GetLoadResponse => ({ runningJobs: n, batchesInFlight: 0, batchesQueued: 0 });

/** Behaviour of the test service, replaced per test. */
let getLoad: (ctx: CallContext) => Promise<GetLoadResponse>;
let watchJob: (ctx: CallContext) => AsyncIterable<CoordinatorServiceWatchJobResponse>;

const implementation = {
  getLoad: unary(async (_req: unknown, ctx) => getLoad(ctx)),
  watchJob: serverStream<CoordinatorServiceWatchJobRequest, CoordinatorServiceWatchJobResponse>((_req, ctx) =>
    watchJob(ctx),
  ),
};

function callGetLoad(
  client: CoordinatorServiceClient,
  opts = callOptions({ timeoutMs: 5000 }),
): Promise<GetLoadResponse> {
  return new Promise((resolve, reject) =>
    client.getLoad({}, new Metadata(), opts, (err, res) => (err ? reject(err) : resolve(res))),
  );
}

async function codeOf(p: Promise<unknown>): Promise<ServiceError> {
  try {
    await p;
  } catch (err) {
    return err as ServiceError;
  }
  assert.fail('expected the call to fail');
}

describe('service host (in process)', () => {
  let host: ServiceHost;
  let address: string;
  let client: CoordinatorServiceClient;

  before(async () => {
    host = createServiceHost({
      name: 'test',
      bind: '127.0.0.1:0',
      logger: silent,
      graceMs: 2000,
      services: [{ definition: CoordinatorServiceService, implementation }],
    });
    assert.equal(host.state, 'STARTING');
    ({ address } = await host.start());
    client = createClient(CoordinatorServiceClient, address);
  });
  after(async () => {
    client?.close();
    await host?.stop('test over');
  });

  it('binds port 0 to a real port and reports SERVING', async () => {
    assert.match(address, /^127\.0\.0\.1:[1-9]\d*$/);
    assert.equal(host.state, 'SERVING');
    assert.equal(await healthCheck(address), 'SERVING');
    assert.equal(await healthCheck(address, 'flowmesh.v1.CoordinatorService'), 'SERVING');
  });

  it('answers a unary call from a plain async function', async () => {
    getLoad = async () => load(3);
    assert.equal((await callGetLoad(client)).runningJobs, 3);
  });

  it('sends a typed error as its status with its message', async () => {
    getLoad = async () => {
      throw new NotFoundError('job j9 not found');
    };
    const err = await codeOf(callGetLoad(client));
    assert.equal(err.code, status.NOT_FOUND);
    assert.equal(err.details, 'job j9 not found');
  });

  it('sends an unexpected error as INTERNAL without its message', async () => {
    getLoad = async () => {
      throw new TypeError('cannot read properties of undefined (reading "secret")');
    };
    const err = await codeOf(callGetLoad(client));
    assert.equal(err.code, status.INTERNAL);
    assert.doesNotMatch(err.details, /secret|TypeError/);
  });

  it('gives the handler the deadline and aborts its signal when the deadline passes', async () => {
    const aborted = deferred<Date | undefined>();
    getLoad = (ctx) =>
      new Promise((_resolve, reject) => {
        ctx.signal.addEventListener('abort', () => {
          aborted.resolve(ctx.deadline);
          reject(new Error('aborted'));
        });
      });
    const err = await codeOf(callGetLoad(client, callOptions({ timeoutMs: 150 })));
    assert.equal(err.code, status.DEADLINE_EXCEEDED);
    const deadline = await aborted.promise;
    assert.ok(deadline instanceof Date);
  });

  it('cancels the call when the caller aborts its signal, and the handler sees it', async () => {
    const started = deferred();
    const aborted = deferred();
    getLoad = (ctx) =>
      new Promise((_resolve, reject) => {
        ctx.signal.addEventListener('abort', () => {
          aborted.resolve();
          reject(new Error('aborted'));
        });
        started.resolve();
      });
    const controller = new AbortController();
    const pending = codeOf(callGetLoad(client, callOptions({ timeoutMs: 10_000, signal: controller.signal })));
    await started.promise;
    controller.abort();
    assert.equal((await pending).code, status.CANCELLED);
    await aborted.promise;
  });

  it('writes every message of an async iterable through write() and ends the call OK', async () => {
    const n = 2000;
    watchJob = async function* () {
      for (let i = 0; i < n; i++) {
        yield CoordinatorServiceWatchJobResponse.fromPartial({
          response: { msg: { $case: 'progress', progress: {} } },
        });
      }
    };
    const stream = client.watchJob({ request: undefined }, new Metadata(), callOptions({ timeoutMs: 10_000 }));
    let count = 0;
    for await (const _msg of stream) count++;
    assert.equal(count, n);
  });

  it('derives deadlines from the parent: the smaller of the two wins, and the parent cancels', () => {
    const parentDeadline = new Date(Date.now() + 1000);
    const parent = new AbortController();
    const opts = callOptions({ timeoutMs: 60_000, parent: { deadline: parentDeadline, signal: parent.signal } });
    assert.equal((opts.deadline as Date).getTime(), parentDeadline.getTime());
    const own = callOptions({ timeoutMs: 10, parent: { deadline: parentDeadline, signal: parent.signal } });
    assert.ok((own.deadline as Date).getTime() < parentDeadline.getTime());
    assert.equal(opts.signal?.aborted, false);
    parent.abort();
    assert.equal(opts.signal?.aborted, true);
  });
});

describe('service host: cluster token', () => {
  let host: ServiceHost;
  let address: string;
  before(async () => {
    getLoad = async () => load(1);
    host = createServiceHost({
      name: 'internal',
      bind: '127.0.0.1:0',
      logger: silent,
      clusterToken: 'right-token',
      services: [{ definition: CoordinatorServiceService, implementation, internal: true }],
    });
    ({ address } = await host.start());
  });
  after(async () => {
    await host?.stop();
  });

  for (const [label, token] of [
    ['no token', undefined],
    ['a wrong token', 'wrong-token'],
  ] as const) {
    it(`refuses a call with ${label} as UNAUTHENTICATED`, async () => {
      const client = createClient(CoordinatorServiceClient, address, { clusterToken: token });
      try {
        assert.equal((await codeOf(callGetLoad(client))).code, status.UNAUTHENTICATED);
      } finally {
        client.close();
      }
    });
  }

  it('accepts the right token, and health needs none', async () => {
    const client = createClient(CoordinatorServiceClient, address, { clusterToken: 'right-token' });
    try {
      assert.equal((await callGetLoad(client)).runningJobs, 1);
    } finally {
      client.close();
    }
    assert.equal(await healthCheck(address), 'SERVING');
  });
});

describe('service host: stop', () => {
  it('goes NOT_SERVING, runs hooks in order, drains, and returns the same promise when called twice', async () => {
    const host = createServiceHost({
      name: 'stopper',
      bind: '127.0.0.1:0',
      logger: silent,
      graceMs: 2000,
      services: [{ definition: CoordinatorServiceService, implementation }],
    });
    const { address } = await host.start();
    const seen: string[] = [];
    host.onStop(async () => {
      seen.push(`first:${host.state}:${await healthCheck(address)}`);
    });
    host.onStop(() => {
      seen.push('second');
    });
    const a = host.stop('one');
    const b = host.stop('two');
    assert.equal(a, b);
    await a;
    assert.deepEqual(seen, ['first:DRAINING:NOT_SERVING', 'second']);
    assert.equal(host.state, 'STOPPED');
    await assert.rejects(healthCheck(address, '', 1000));
  });

  it('cancels calls still running when the grace is over', async () => {
    const started = deferred();
    const aborted = deferred();
    getLoad = (ctx) =>
      new Promise((_resolve, reject) => {
        ctx.signal.addEventListener('abort', () => {
          aborted.resolve();
          reject(new Error('aborted'));
        });
        started.resolve();
      });
    const host = createServiceHost({
      name: 'forced',
      bind: '127.0.0.1:0',
      logger: silent,
      graceMs: 200,
      services: [{ definition: CoordinatorServiceService, implementation }],
    });
    const { address } = await host.start();
    const client = createClient(CoordinatorServiceClient, address);
    try {
      const pending = codeOf(callGetLoad(client, callOptions({ timeoutMs: 10_000 })));
      await started.promise;
      const t0 = Date.now();
      await host.stop();
      assert.ok(Date.now() - t0 >= 150, 'stop returned before the grace');
      await aborted.promise;
      assert.notEqual((await pending).code, status.OK);
      await waitFor(() => host.state === 'STOPPED');
    } finally {
      client.close();
    }
  });
});
