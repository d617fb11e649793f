// Composition root of an executor process: options → parts → gRPC host → discovery registration.
// Stop is ordered (moleculer-style): refuse new batches and deregister → NOT_SERVING → finish in-flight
// batches within the grace → stop the server → end the worker threads → close discovery.
import { discoveryFromFlags, newNodeInfo } from '@flowmesh/discovery';
import type { Registration } from '@flowmesh/discovery';
import {
  ConfigError,
  createLogger,
  createMeshMetrics,
  createServiceHost,
  hostOptionsOf,
  serviceMeter,
  SPOOL_LABEL,
  spoolIdentity,
  stopOnce,
} from '@flowmesh/runtime';
import type { Logger, ServiceHost } from '@flowmesh/runtime';
import path from 'node:path';
import { createConfigSource } from './config-source.js';
import { createExecutor } from './create-executor.js';
import type { Executor } from './create-executor.js';
import { parseFaults } from './faults.js';
import type { Faults } from './faults.js';
import { createLoadReporter } from './load-reporter.js';
import type { ExecutorConfig } from './options.js';
import { resolvePluginDir } from './options.js';

export const EXECUTOR_VERSION = '0.1.0';

export interface RunningExecutor {
  readonly address: string;
  readonly executor: Executor;
  readonly host: ServiceHost;
  readonly logger: Logger;
  stop(reason?: string): Promise<void>;
}

export async function startExecutor(config: ExecutorConfig): Promise<RunningExecutor> {
  const logger = createLogger('executor', { level: config.logLevel });
  let faults: Faults;
  try {
    faults = parseFaults(config.faults);
  } catch (err) {
    throw new ConfigError(`--faults (FLOWMESH_FAULTS): ${(err as Error).message}`);
  }
  if (faults.rules.length > 0) logger.warn({ faults: config.faults }, 'TEST FAULT INJECTION IS ON');
  const discovery = discoveryFromFlags(config);
  // A config-store from the flag, else the first one discovery knows when a batch first needs it.
  const configStores = discovery?.watch('config-store');
  const configSource = createConfigSource({
    staticRoots: config.fileRoot,
    address: () => config.configStore ?? configStores?.nodes('config-store')[0]?.address,
    clusterToken: config.clusterToken,
  });
  // The result spool (issue 7): advertised by its id so that a coordinator gives this executor output parts
  // only for callers (gateways) that read the same directory. Without a usable spool, records stream back.
  const spoolDir = config.spoolDir && config.spoolDir !== 'off' ? path.resolve(config.spoolDir) : undefined;
  const spoolId = spoolDir
    ? await spoolIdentity(spoolDir).catch((err: unknown) => {
        logger.warn({ err, spoolDir }, 'result spool unusable: streamed output goes back over gRPC');
        return undefined;
      })
    : undefined;
  const metrics = createMeshMetrics(serviceMeter('flowmesh-executor'));
  // Membership as this executor sees it: the config-stores it may read file roots and tables from.
  if (configStores) metrics.observeMembership(() => ({ 'config-store': configStores.nodes('config-store').length }));
  const executor = createExecutor({
    metrics,
    id: config.nodeId,
    slots: config.slots,
    fileRoots: (name) => configSource.fileRoot(name),
    loadReferenceTable: (name) => configSource.referenceTable(name),
    tablesRevision: () => configSource.tablesRevision(),
    fileRootNames: () => configSource.rootNames(),
    pluginDir: resolvePluginDir(config.pluginDir),
    heartbeatMs: config.heartbeatMs,
    faults,
    logger,
    ...(spoolId && spoolDir ? { spoolDir } : {}),
  });
  const host = createServiceHost({
    name: 'executor',
    ...hostOptionsOf(config),
    services: [{ ...executor.service, internal: true }],
    logger,
  });
  // Finish in-flight batches before the server drains calls (the host runs hooks after NOT_SERVING).
  host.onStop(() => executor.drain(config.graceMs));

  const { address } = await host.start();
  let registration: Registration | undefined;
  if (discovery) {
    registration = await discovery.register(
      newNodeInfo({
        id: config.nodeId,
        kind: 'executor',
        address: config.advertise ?? address,
        slots: config.slots,
        version: EXECUTOR_VERSION,
        fileRoots: configSource.rootNames(),
        ...(spoolId ? { labels: { [SPOOL_LABEL]: spoolId } } : {}),
      }),
    );
  }
  const reporter = registration
    ? createLoadReporter({
        target: registration,
        slots: executor.slots,
        onError: (err) => logger.warn({ err }, 'could not update the discovery record'),
      })
    : undefined;
  if (reporter) executor.slots.onChange(() => reporter.changed());
  configSource.connect((fileRoots) => {
    logger.info({ fileRoots }, 'readable file roots changed');
    registration?.update({ fileRoots }).catch((err: unknown) => logger.warn({ err }, 'could not update file roots'));
  });
  logger.info({ id: config.nodeId, slots: config.slots, fileRoots: configSource.rootNames() }, 'executor ready');

  async function doStop(reason: string): Promise<void> {
    logger.info({ reason, inFlight: executor.slots.busy() }, 'executor stopping');
    // Refuse new batches at once; coordinators that still see us get UNAVAILABLE "draining" and go elsewhere.
    void executor.drain(0);
    reporter?.stop();
    await registration?.deregister().catch((err: unknown) => logger.warn({ err }, 'deregister failed'));
    await host.stop(reason);
    await executor.close();
    configSource.close();
    configStores?.close();
    await discovery?.close();
  }

  return {
    address,
    executor,
    host,
    logger,
    stop: stopOnce(doStop),
  };
}
