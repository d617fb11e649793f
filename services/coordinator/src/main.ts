// Composition root of a coordinator process: config → discovery (executors in, our own registration
// out) → config-store port → job machinery → gRPC host. `flowmesh coordinator` (libs/cli) runs
// `coordinatorCommand()`; runMain turns SIGTERM/SIGINT into a graceful stop.
// Stop order: deregister → NOT_SERVING and let running jobs finish within the grace → stop the server
// → close executor clients, config-store client and discovery.
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { createConfigClient } from '@flowmesh/config';
import { CoordinatorServiceClient } from '@flowmesh/contracts';
import { Metadata } from '@grpc/grpc-js';
import { discoveryFromFlags, newNodeInfo } from '@flowmesh/discovery';
import type { Discovery, DiscoveryView, NodeInfo, Registration } from '@flowmesh/discovery';
import {
  callOptions,
  createClient,
  commonOptions,
  createLogger,
  createMeshMetrics,
  createServiceHost,
  discoveryOptions,
  hostOptionsOf,
  option,
  serviceCommand,
  serviceMeter,
  SPOOL_LABEL,
  stopOnce,
  UnavailableError,
} from '@flowmesh/runtime';
import type { ConfigOf, Logger, ServiceHost } from '@flowmesh/runtime';
import { createCheckpointStore } from './checkpoint-store.js';
import { createConfigPort } from './config-port.js';
import { createLoadPublisher } from './load-publisher.js';
import { createCoordinatorService } from './coordinator-service.js';
import { createJobRegistry } from './job-registry.js';
import { startTakeover } from './job-takeover.js';
import { coordinatorServiceDefinition } from './relay-codec.js';
import { createRemoteRunner } from './remote-runner.js';
import type { CoordinatorContext, CoordinatorOptions } from './run-job.js';
import { createSlotLedger, type ExecutorView } from './slot-ledger.js';

export const COORDINATOR_VERSION = '0.1.0';

export const coordinatorOptions = {
  ...commonOptions('coordinator'),
  configStore: option.address({
    flag: '--config-store <host:port>',
    env: 'FLOWMESH_CONFIG_STORE',
    description: 'config-store address (default: found through discovery)',
  }),
  ...discoveryOptions(),
  heartbeatTimeoutMs: option.integer({
    flag: '--heartbeat-timeout-ms <ms>',
    env: 'FLOWMESH_HEARTBEAT_TIMEOUT_MS',
    description: 'a batch attempt whose executor sends nothing for this long fails and is retried elsewhere',
    default: 10_000,
    min: 50,
  }),
  attemptTimeoutMs: option.integer({
    flag: '--attempt-timeout-ms <ms>',
    env: 'FLOWMESH_ATTEMPT_TIMEOUT_MS',
    description: 'deadline of one batch attempt (one ExecuteBatch call)',
    default: 10 * 60_000,
    min: 100,
  }),
  speculationMultiple: option.integer({
    flag: '--speculation-multiple <n>',
    env: 'FLOWMESH_SPECULATION_MULTIPLE',
    description:
      "a batch running longer than n × the median of its job's finished batches gets a backup attempt on another executor when a slot is free (0: off)",
    default: 3,
    min: 0,
  }),
  speculationMinAgeMs: option.integer({
    flag: '--speculation-min-age-ms <ms>',
    env: 'FLOWMESH_SPECULATION_MIN_AGE_MS',
    description: 'a batch is never backed up before it has run this long',
    default: 5_000,
    min: 0,
  }),
  noExecutorTimeoutMs: option.integer({
    flag: '--no-executor-timeout-ms <ms>',
    env: 'FLOWMESH_NO_EXECUTOR_TIMEOUT_MS',
    description: 'a job fails as unavailable when no executor is known for this long',
    default: 30_000,
    min: 0,
  }),
  localSlots: option.integer({
    flag: '--local-slots <n>',
    env: 'FLOWMESH_LOCAL_SLOTS',
    description: 'batches run at once inside the coordinator for local-mode jobs',
    default: Math.max(1, availableParallelism()),
    min: 1,
  }),
  reorderWindow: option.integer({
    flag: '--reorder-window <batches>',
    env: 'FLOWMESH_REORDER_WINDOW',
    description: 'batches admitted and not yet sent to the caller, per job (0: twice maxInstances)',
    default: 0,
    min: 0,
  }),
  recordEveryMs: option.integer({
    flag: '--record-every-ms <ms>',
    env: 'FLOWMESH_RECORD_EVERY_MS',
    description: "how often a running job's record is refreshed in config-store",
    default: 2000,
    min: 100,
  }),
  checkpointEveryMs: option.integer({
    flag: '--checkpoint-every-ms <ms>',
    env: 'FLOWMESH_CHECKPOINT_EVERY_MS',
    description: 'at most one checkpoint write per job per this many ms while its batches complete',
    default: 500,
    min: 10,
  }),
  checkpointAfterMs: option.integer({
    flag: '--checkpoint-after-ms <ms>',
    env: 'FLOWMESH_CHECKPOINT_AFTER_MS',
    description:
      'a one-batch job streaming its results is checkpointed (and recorded as running) only once it has run this long; 0: every job at start',
    default: 100,
    min: 0,
  }),
  takeoverSweepMs: option.integer({
    flag: '--takeover-sweep-ms <ms>',
    env: 'FLOWMESH_TAKEOVER_SWEEP_MS',
    description: 'look for jobs whose coordinator is gone at least this often (also whenever one leaves discovery)',
    default: 3000,
    min: 100,
  }),
  reattachGraceMs: option.integer({
    flag: '--reattach-grace-ms <ms>',
    env: 'FLOWMESH_REATTACH_GRACE_MS',
    description: 'a job streaming results whose coordinator died fails when its caller does not re-attach within this',
    default: 60_000,
    min: 0,
  }),
  pluginDir: option.string({
    flag: '--plugin-dir <dir>',
    env: 'FLOWMESH_PLUGIN_DIR',
    description: 'plugin modules for flows run in local mode (executors have their own)',
  }),
};

export type CoordinatorConfig = ConfigOf<typeof coordinatorOptions>;

export interface RunningCoordinator {
  readonly address: string;
  readonly host: ServiceHost;
  readonly logger: Logger;
  stop(reason?: string): Promise<void>;
}

const toExecutorView = (n: NodeInfo): ExecutorView => ({
  id: n.id,
  address: n.address,
  slots: n.slots,
  fileRoots: n.fileRoots,
  load: n.load,
  ...(n.labels[SPOOL_LABEL] ? { spool: n.labels[SPOOL_LABEL] } : {}),
});

export async function startCoordinator(config: CoordinatorConfig): Promise<RunningCoordinator> {
  const logger = createLogger('coordinator', { level: config.logLevel, base: { node: config.nodeId } });
  const discovery: Discovery = discoveryFromFlags(config);
  const remote = createRemoteRunner({ clusterToken: config.clusterToken, attemptTimeoutMs: config.attemptTimeoutMs });
  const ledger = createSlotLedger([], {
    aheadPerSlot: (e) => remote.heldPerSlot(e.address),
  });
  const executors: DiscoveryView = discovery.watch('executor');
  const refresh = (): void => ledger.setExecutors(executors.nodes('executor').map(toExecutorView));
  for (const event of ['add', 'update', 'remove']) executors.on(event, refresh);
  let configStores: DiscoveryView | undefined;
  const findConfigStore = async (): Promise<string> => {
    configStores ??= discovery.watch('config-store');
    await configStores.ready;
    const node = configStores.nodes('config-store')[0];
    if (!node) throw new UnavailableError('no config-store is registered in discovery');
    return node.address;
  };
  const config_ = createConfigPort({
    address: config.configStore ?? findConfigStore,
    clusterToken: config.clusterToken,
  });
  const registry = createJobRegistry();
  const options: CoordinatorOptions = {
    heartbeatTimeoutMs: config.heartbeatTimeoutMs,
    noExecutorTimeoutMs: config.noExecutorTimeoutMs,
    speculation: { multiple: config.speculationMultiple, minAgeMs: config.speculationMinAgeMs },
    localSlots: config.localSlots,
    recordEveryMs: config.recordEveryMs,
    reorderWindow: config.reorderWindow,
    checkpointEveryMs: config.checkpointEveryMs,
    checkpointAfterMs: config.checkpointAfterMs,
    ...(config.pluginDir ? { pluginDir: path.resolve(config.pluginDir) } : {}),
  };
  const metrics = createMeshMetrics(serviceMeter('flowmesh-coordinator'));
  metrics.observeSlots(() =>
    ledger.executors().map((e) => ({ executor: e.id, slots: e.slots, busy: ledger.busy(e.id) })),
  );
  metrics.observeQueueDepth(() => registry.load().batchesQueued);
  metrics.observeMembership(() => ({
    executor: executors.nodes('executor').length,
    ...(configStores ? { 'config-store': configStores.nodes('config-store').length } : {}),
  }));
  // Checkpoints go through their own config-store client: compare-and-set writes, never retried blindly.
  configStores ??= config.configStore ? undefined : discovery.watch('config-store');
  const checkpointClient = createConfigClient({
    address: config.configStore ?? (() => configStores?.nodes('config-store')[0]?.address),
    clusterToken: config.clusterToken,
  });
  const coordinators: DiscoveryView = discovery.watch('coordinator');
  const ctx: CoordinatorContext = {
    id: config.nodeId,
    config: config_,
    ledger,
    remote: remote.run,
    registry,
    logger,
    options,
    metrics,
    checkpoints: createCheckpointStore(checkpointClient),
    owned: new Set(),
  };
  const service = createCoordinatorService(ctx);

  const host = createServiceHost({
    name: 'coordinator',
    ...hostOptionsOf(config),
    logger,
    services: [{ definition: coordinatorServiceDefinition, implementation: service, internal: true }],
  });
  const { address } = await host.start();
  await executors.ready;
  refresh();

  let registration: Registration | undefined;
  try {
    registration = await discovery.register(
      newNodeInfo({
        id: config.nodeId,
        kind: 'coordinator',
        address: config.advertise ?? address,
        version: COORDINATOR_VERSION,
      }),
    );
  } catch (err) {
    await host.stop('registration failed');
    throw err;
  }
  // Load for the gateway's choice: running jobs (lower is better), coalesced (not a registry write per job).
  const load = createLoadPublisher({
    publish: (running) => registration?.update({ load: running }) ?? Promise.resolve(),
    onError: (err) => logger.warn({ err }, 'could not update the discovery record'),
  });
  const unwatchLoad = registry.onChange((running) => load.set(running));
  // Jobs of coordinators that are gone (issue 6): adopted at start, when one leaves, and periodically.
  await Promise.all([coordinators.ready, configStores?.ready]);
  const takeover = startTakeover(ctx, {
    liveCoordinators: () => new Set(coordinators.nodes('coordinator').map((n) => n.id)),
    answers: async (id) => {
      const node = coordinators.nodes('coordinator').find((n) => n.id === id);
      return node ? answersGetLoad(node.address, config.clusterToken) : false;
    },
    sweepEveryMs: config.takeoverSweepMs,
    reattachGraceMs: config.reattachGraceMs,
  });
  ctx.takeover = takeover;
  coordinators.on('remove', () => void takeover.sweep());
  void takeover.sweep();
  logger.info({ id: config.nodeId, address, executors: ledger.executors().length }, 'coordinator ready');

  async function doStop(reason: string): Promise<void> {
    logger.info({ reason, runningJobs: registry.running() }, 'coordinator stopping');
    unwatchLoad();
    load.close();
    takeover.close();
    await registration?.deregister().catch((err: unknown) => logger.warn({ err }, 'deregister failed'));
    await host.stop(reason);
    remote.close();
    config_.close();
    executors.close();
    coordinators.close();
    checkpointClient.close();
    configStores?.close();
    await discovery.close();
  }
  return {
    address,
    host,
    logger,
    stop: stopOnce(doStop),
  };
}

/** A coordinator that cannot answer GetLoad within a second is taken for gone (a re-attaching caller waits). */
async function answersGetLoad(address: string, clusterToken: string | undefined): Promise<boolean> {
  const client = createClient(CoordinatorServiceClient, address, clusterToken ? { clusterToken } : {});
  try {
    await new Promise<void>((resolve, reject) =>
      client.getLoad({}, new Metadata(), callOptions({ timeoutMs: 1000 }), (err) => (err ? reject(err) : resolve())),
    );
    return true;
  } catch {
    return false;
  } finally {
    client.close();
  }
}

export const coordinatorCommand = () =>
  serviceCommand({
    name: 'coordinator',
    description: 'plan jobs into offset-addressed batches, dispatch them to executors, merge the results',
    options: coordinatorOptions,
    start: startCoordinator,
  });

// Run directly: `node --import tsx services/coordinator/src/main.ts [options]`.
if (import.meta.url === `file://${process.argv[1]}`) await coordinatorCommand().parseAsync(process.argv);
