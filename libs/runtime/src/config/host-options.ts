// The service-host settings that come straight from the common flags, so each composition root passes
// them the same way (and a new common flag reaches every host at once).
import type { ServiceHostOptions } from '../service-host.js';
import type { CommonConfig } from './common-options.js';

export type CommonHostOptions = Pick<
  ServiceHostOptions,
  'bind' | 'graceMs' | 'clusterToken' | 'maxReceiveMessageBytes' | 'maxSendMessageBytes'
>;

export function hostOptionsOf(
  config: Pick<CommonConfig, 'bind' | 'graceMs' | 'clusterToken' | 'maxMessageBytes'>,
): CommonHostOptions {
  return {
    bind: config.bind,
    graceMs: config.graceMs,
    clusterToken: config.clusterToken,
    maxReceiveMessageBytes: config.maxMessageBytes,
    maxSendMessageBytes: config.maxMessageBytes,
  };
}
