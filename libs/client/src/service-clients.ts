// The generated grpc-js clients of the three public services, created with flowmesh defaults (the API
// key as `authorization: Bearer …`, message limits, flow-control window, AbortSignal support).
import { ClusterServiceClient, FlowServiceClient, JobServiceClient } from '@flowmesh/contracts';
import { createClient } from '@flowmesh/runtime';

export type JobClient = JobServiceClient;

export interface ServiceClients {
  jobs: JobServiceClient;
  flows: FlowServiceClient;
  cluster: ClusterServiceClient;
  close(): void;
}

export function createServiceClients(address: string, apiKey: string | undefined): ServiceClients {
  const opts = { apiKey };
  const jobs = createClient(JobServiceClient, address, opts);
  // One channel for all three: later clients reuse the first one's channel.
  const channelOverride = { channelOverride: jobs.getChannel() } as Record<string, unknown>;
  const flows = createClient(FlowServiceClient, address, { ...opts, channelOptions: channelOverride });
  const cluster = createClient(ClusterServiceClient, address, { ...opts, channelOptions: channelOverride });
  return {
    jobs,
    flows,
    cluster,
    close() {
      jobs.close();
    },
  };
}
