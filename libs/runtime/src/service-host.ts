// The service host every flowmesh process runs: one grpc-js server with the given services, health
// (grpc.health.v1), reflection, the cluster-token check for internal services, and an ordered, idempotent
// stop: NOT_SERVING → onStop hooks (deregister) → drain in-flight calls up to the grace → force.
import {
  Server,
  ServerCredentials,
  type ChannelOptions,
  type ServerWritableStream,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { HealthImplementation, type ServingStatus } from 'grpc-health-check';
import type { Logger } from 'pino';
import { clusterTokenInterceptor, serviceOfPath } from './cluster-token.js';
import { createLogger } from './logger.js';
import { addReflection } from './reflection.js';
import { setRootLogger } from './root-logger.js';

export interface ServiceRegistration {
  /** A ts-proto service definition, e.g. `ExecutorServiceService`. */
  definition: ServiceDefinition;
  /** Handlers built with unary/serverStream/clientStream/bidi; missing methods answer UNIMPLEMENTED. */
  implementation: UntypedServiceImplementation;
  /** Internal (mesh-only) services require the cluster token when one is configured. */
  internal?: boolean;
}

export interface ServiceHostOptions {
  /** Service kind for logs, e.g. "executor". */
  name: string;
  /** host:port to listen on; port 0 picks a free port (read it from start()). */
  bind: string;
  services: ServiceRegistration[];
  /** @default createLogger(name) */
  logger?: Logger;
  /** How long stop() lets in-flight calls finish before cancelling them. @default 10000 */
  graceMs?: number;
  /** When set, calls to internal services without this token get UNAUTHENTICATED. @default none (open) */
  clusterToken?: string;
  /** @default 16 MiB */
  maxReceiveMessageBytes?: number;
  /** @default 16 MiB */
  maxSendMessageBytes?: number;
  /** Extra grpc-js server options. */
  serverOptions?: ChannelOptions;
}

export type HostState = 'STARTING' | 'SERVING' | 'DRAINING' | 'STOPPED';

export interface ServiceHost {
  readonly state: HostState;
  /** The bound address ("127.0.0.1:PORT"), once started. */
  readonly address: string | undefined;
  readonly logger: Logger;
  /** Binds, marks every service SERVING, logs `{"msg":"listening","address":…}`. */
  start(): Promise<{ address: string; port: number }>;
  /** Graceful, ordered, idempotent: every call returns the same promise. */
  stop(reason?: string): Promise<void>;
  /** Report (NOT_)SERVING through health without stopping, e.g. while a dependency is unreachable. */
  setServing(serving: boolean): void;
  /** Run during stop(), after NOT_SERVING and before the drain (deregistration goes here). In order. */
  onStop(hook: () => unknown): void;
}

export const DEFAULT_GRACE_MS = 10_000;
export const DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

function serviceNameOf(definition: ServiceDefinition): string {
  const first = Object.values(definition)[0];
  if (!first) throw new Error('service definition has no methods');
  return serviceOfPath(first.path);
}

function formatAddress(bind: string, port: number): string {
  const host = bind.slice(0, bind.lastIndexOf(':'));
  return `${host}:${port}`;
}

export function createServiceHost(opts: ServiceHostOptions): ServiceHost {
  const logger = opts.logger ?? createLogger(opts.name);
  setRootLogger(logger);
  const graceMs = opts.graceMs ?? DEFAULT_GRACE_MS;
  const names = opts.services.map((s) => serviceNameOf(s.definition));
  const internal = new Set(opts.services.filter((s) => s.internal).map((s) => serviceNameOf(s.definition)));

  const server = new Server({
    'grpc.max_receive_message_length': opts.maxReceiveMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
    'grpc.max_send_message_length': opts.maxSendMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
    ...opts.serverOptions,
    interceptors: opts.clusterToken && internal.size > 0 ? [clusterTokenInterceptor(opts.clusterToken, internal)] : [],
  });
  for (const s of opts.services) server.addService(s.definition, s.implementation);

  // Health starts NOT_SERVING: nothing should route here before start() has bound the port.
  const health = new HealthImplementation(Object.fromEntries(['', ...names].map((n) => [n, 'NOT_SERVING'])));
  // Watch streams never end on their own; they would hold the drain for the whole grace. Track them so
  // stop() can end them right after they have carried NOT_SERVING.
  const watchers = new Set<ServerWritableStream<unknown, unknown>>();
  health.addToServer({
    addService(definition, implementation) {
      const watch = implementation.watch as (call: ServerWritableStream<unknown, unknown>) => void;
      server.addService(definition, {
        ...implementation,
        watch(call: ServerWritableStream<unknown, unknown>) {
          watchers.add(call);
          call.once('close', () => watchers.delete(call));
          call.once('cancelled', () => watchers.delete(call));
          watch(call);
        },
      });
    },
  });
  addReflection(server, names);

  let state: HostState = 'STARTING';
  let address: string | undefined;
  let wantServing = true;
  let stopping: Promise<void> | undefined;
  const hooks: Array<() => unknown> = [];

  const setAll = (status: ServingStatus): void => {
    for (const n of ['', ...names]) health.setStatus(n, status);
  };

  async function start(): Promise<{ address: string; port: number }> {
    if (state !== 'STARTING') throw new Error(`cannot start a host that is ${state}`);
    const port = await new Promise<number>((resolve, reject) => {
      server.bindAsync(opts.bind, ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(new Error(`cannot listen on ${opts.bind}: ${err.message}`, { cause: err })) : resolve(p),
      );
    });
    address = formatAddress(opts.bind, port);
    state = 'SERVING';
    if (wantServing) setAll('SERVING');
    logger.info({ address, services: names }, 'listening');
    return { address, port };
  }

  async function runHooks(deadline: number): Promise<void> {
    for (const hook of hooks) {
      const left = deadline - Date.now();
      if (left <= 0) {
        logger.warn('grace period used up by stop hooks; skipping the rest');
        return;
      }
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          Promise.resolve().then(hook),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error(`stop hook took longer than ${left} ms`)), left);
          }),
        ]);
      } catch (err) {
        logger.warn({ err }, 'stop hook failed');
      } finally {
        clearTimeout(timer);
      }
    }
  }

  function drain(deadline: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(
        () => {
          logger.warn({ graceMs }, 'grace period over; cancelling in-flight calls');
          server.forceShutdown();
          resolve(false);
        },
        Math.max(0, deadline - Date.now()),
      );
      server.tryShutdown(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  async function doStop(reason: string): Promise<void> {
    const deadline = Date.now() + graceMs;
    const wasServing = state === 'SERVING';
    state = 'DRAINING';
    logger.info({ reason, graceMs }, 'draining');
    setAll('NOT_SERVING');
    for (const call of watchers) call.end();
    watchers.clear();
    await runHooks(deadline);
    const clean = wasServing ? await drain(deadline) : (server.forceShutdown(), true);
    state = 'STOPPED';
    logger.info({ clean }, 'stopped');
  }

  return {
    get state() {
      return state;
    },
    get address() {
      return address;
    },
    logger,
    start,
    stop(reason = 'stop requested') {
      stopping ??= doStop(reason);
      return stopping;
    },
    setServing(serving) {
      wantServing = serving;
      if (state === 'SERVING') setAll(serving ? 'SERVING' : 'NOT_SERVING');
    },
    onStop(hook) {
      hooks.push(hook);
    },
  };
}
