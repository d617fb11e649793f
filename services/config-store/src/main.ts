// Composition root of a config-store process: config → host → handlers → start. `flowmesh config-store`
// (libs/cli) runs `configStoreCommand()`; runMain turns SIGTERM/SIGINT into a graceful stop.
// Handlers answer UNIMPLEMENTED until they are wired in here (methods missing from the implementation do).
import { ConfigStoreService } from '@flowmesh/contracts';
import { commonOptions, createLogger, createServiceHost, serviceCommand, type ConfigOf, type ServiceHost } from '@flowmesh/runtime';

export const configStoreOptions = {
  ...commonOptions('config-store'),
};

export type ConfigStoreConfig = ConfigOf<typeof configStoreOptions>;

export async function startConfigStore(config: ConfigStoreConfig): Promise<ServiceHost> {
  const logger = createLogger('config-store', { level: config.logLevel, base: { node: config.nodeId } });
  const host = createServiceHost({
    name: 'config-store',
    bind: config.bind,
    logger,
    graceMs: config.graceMs,
    clusterToken: config.clusterToken,
    maxReceiveMessageBytes: config.maxMessageBytes,
    maxSendMessageBytes: config.maxMessageBytes,
    services: [{ definition: ConfigStoreService, implementation: {}, internal: true }],
  });
  await host.start();
  return host;
}

export const configStoreCommand = () =>
  serviceCommand({
    name: 'config-store',
    description: 'serve flows, file roots, reference tables, users, keys, jobs and audit over etcd or the embedded store',
    options: configStoreOptions,
    start: startConfigStore,
  });
