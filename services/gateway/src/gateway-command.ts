// `flowmesh gateway [options]`: the gateway as a CLI subcommand (libs/cli registers it).
import { serviceCommand } from '@flowmesh/runtime';
import { startGateway } from './create-gateway.js';
import { gatewayOptions } from './gateway-options.js';

export const gatewayCommand = () =>
  serviceCommand({
    name: 'gateway',
    description: 'the public front door: JobService, FlowService, ClusterService with API keys and roles',
    options: gatewayOptions,
    start: (config) => startGateway(config),
  });
