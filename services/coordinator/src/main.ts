// Composition root of a coordinator process: config → host → handlers → start. `flowmesh coordinator`
// (libs/cli) runs `coordinatorCommand()`; runMain turns SIGTERM/SIGINT into a graceful stop.
// Handlers answer UNIMPLEMENTED until they are wired in here (methods missing from the implementation do).
import { CoordinatorServiceService } from '@flowmesh/contracts';
import { commonOptions, createLogger, createServiceHost, serviceCommand, type ConfigOf, type ServiceHost } from '@flowmesh/runtime';

export const coordinatorOptions = {
  ...commonOptions('coordinator'),
};

export type CoordinatorConfig = ConfigOf<typeof coordinatorOptions>;

export async function startCoordinator(config: CoordinatorConfig): Promise<ServiceHost> {
  const logger = createLogger('coordinator', { level: config.logLevel, base: { node: config.nodeId } });
  const host = createServiceHost({
    name: 'coordinator',
    bind: config.bind,
    logger,
    graceMs: config.graceMs,
    clusterToken: config.clusterToken,
    maxReceiveMessageBytes: config.maxMessageBytes,
    maxSendMessageBytes: config.maxMessageBytes,
    services: [{ definition: CoordinatorServiceService, implementation: {}, internal: true }],
  });
  await host.start();
  return host;
}

export const coordinatorCommand = () =>
  serviceCommand({
    name: 'coordinator',
    description: 'plan jobs into offset-addressed batches, dispatch them to executors, merge the results',
    options: coordinatorOptions,
    start: startCoordinator,
  });
