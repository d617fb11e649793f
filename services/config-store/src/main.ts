// Composition root of a config-store process: config → backend → resource store → host → discovery.
// `flowmesh config-store` (libs/cli) runs `configStoreCommand()`; runMain turns SIGTERM/SIGINT into a
// graceful stop: deregister → drain and stop serving → close the backend → close discovery.
import { resolve } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { ConfigStoreService } from '@flowmesh/contracts';
import { discoveryFromFlags, newNodeInfo, type Registration } from '@flowmesh/discovery';
import { checkFlowSource } from '@flowmesh/flow';
import {
  ConfigError,
  createLogger,
  createMeshMetrics,
  createServiceHost,
  hostOptionsOf,
  serviceCommand,
  serviceMeter,
  stopOnce,
  type Logger,
  type ServiceHost,
} from '@flowmesh/runtime';
import { createEmbeddedBackend, createEtcdBackend, type KvBackend } from '@flowmesh/store';
import { createResourceStore, type FlowChecker } from '@flowmesh/config';
import { configStoreImplementation, createConfigStoreHandlers } from './config-store-service.js';
import { configStoreOptions, type ConfigStoreConfig } from './options.js';

export { configStoreOptions, type ConfigStoreConfig };
export const CONFIG_STORE_VERSION = '0.1.0';

export interface RunningConfigStore {
  readonly address: string;
  readonly host: ServiceHost;
  readonly backend: KvBackend;
  readonly logger: Logger;
  stop(reason?: string): Promise<void>;
}

async function openBackend(config: ConfigStoreConfig, logger: Logger): Promise<KvBackend> {
  if (config.etcd) {
    const endpoints = config.etcd
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    for (const e of endpoints) {
      if (!/^https?:\/\/[^\s/]+:\d{1,5}\/?$/.test(e))
        throw new ConfigError(`--etcd (FLOWMESH_ETCD): "${e}" is not http(s)://host:port`);
    }
    const backend = createEtcdBackend({
      endpoints,
      namespace: config.etcdNamespace,
      ...(config.etcdKeepRevisions > 0
        ? {
            autoCompact: {
              keepRevisions: config.etcdKeepRevisions,
              onError: (err) => logger.warn({ err }, 'etcd compaction failed'),
            },
          }
        : {}),
    });
    await backend.revision(); // fail start-up, naming the flag, when etcd is not reachable at all
    logger.info({ endpoints, namespace: config.etcdNamespace }, 'config database: etcd');
    return backend;
  }
  const dir = resolve(config.dataDir);
  await mkdir(dir, { recursive: true });
  try {
    const backend = await createEmbeddedBackend({ dir });
    logger.info({ dir }, 'config database: embedded');
    return backend;
  } catch (err) {
    throw new ConfigError(
      `--data-dir (FLOWMESH_DATA_DIR): cannot open the embedded store in ${dir} (is another config-store using it?): ${(err as Error).message}`,
    );
  }
}

export async function startConfigStore(config: ConfigStoreConfig): Promise<RunningConfigStore> {
  const logger = createLogger('config-store', { level: config.logLevel, base: { node: config.nodeId } });
  const backend = await openBackend(config, logger);
  const checkFlow: FlowChecker = (source, ctx) =>
    checkFlowSource(source, {
      fileRoots: ctx.fileRoots,
      referenceTables: ctx.referenceTables,
      ...(config.pluginDir ? { pluginDir: config.pluginDir } : {}),
    });
  const store = createResourceStore({ backend, checkFlow });
  const metrics = createMeshMetrics(serviceMeter('flowmesh-config-store'));
  const host = createServiceHost({
    name: 'config-store',
    ...hostOptionsOf(config),
    logger,
    services: [
      {
        definition: ConfigStoreService,
        implementation: configStoreImplementation(createConfigStoreHandlers(store, { metrics })),
        internal: true,
      },
    ],
  });
  let address: string;
  try {
    ({ address } = await host.start());
  } catch (err) {
    await backend.close();
    throw err;
  }

  const discovery = discoveryFromFlags(config);
  let registration: Registration | undefined;
  if (discovery) {
    registration = await discovery.register(
      newNodeInfo({
        id: config.nodeId,
        kind: 'config-store',
        address: config.advertise ?? address,
        version: CONFIG_STORE_VERSION,
        labels: { backend: backend.kind },
      }),
    );
  }
  logger.info({ id: config.nodeId, backend: backend.kind }, 'config-store ready');

  async function doStop(reason: string): Promise<void> {
    await registration?.deregister().catch((err: unknown) => logger.warn({ err }, 'deregister failed'));
    await host.stop(reason);
    await backend.close();
    await discovery?.close();
  }
  return {
    address,
    host,
    backend,
    logger,
    stop: stopOnce(doStop),
  };
}

export const configStoreCommand = () =>
  serviceCommand({
    name: 'config-store',
    description:
      'serve flows, file roots, reference tables, users, keys, jobs and audit over etcd or the embedded store',
    options: configStoreOptions,
    start: startConfigStore,
  });
