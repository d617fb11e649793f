// The generated grpc-js clients of the three public services, created with flowmesh defaults (the API
// key as `authorization: Bearer …`, message limits, flow-control window, AbortSignal support). RunJob and
// WatchJob results are read with `RecordChunk.data` as a view of the received message: the generated
// decoder copies every payload (issue 7: results are nearly all the bytes a job returns).
import {
  ClusterServiceClient,
  FlowServiceClient,
  type JobServiceClient,
  JobServiceService,
  RunJobResponse,
  WatchJobResponse,
} from '@flowmesh/contracts';
import { createClient, decodeCoalescedMessage, decodeRecordsMessage } from '@flowmesh/runtime';
import { makeGenericClientConstructor } from '@grpc/grpc-js';

export type JobClient = JobServiceClient;

export interface ServiceClients {
  jobs: JobServiceClient;
  flows: FlowServiceClient;
  cluster: ClusterServiceClient;
  close(): void;
}

/**
 * A records or coalesced message without copying its payload; any other message through the generated
 * decoder. (`coalesced` is field 7 of both responses, `records` field 2.)
 */
export function deserializeRunJobResponse(bytes: Buffer): RunJobResponse {
  const records = decodeRecordsMessage(bytes);
  if (records) return { msg: { $case: 'records', records } };
  const coalesced = decodeCoalescedMessage(bytes);
  return coalesced ? { msg: { $case: 'coalesced', coalesced } } : RunJobResponse.decode(bytes);
}

export function deserializeWatchJobResponse(bytes: Buffer): WatchJobResponse {
  const records = decodeRecordsMessage(bytes);
  if (records) return { msg: { $case: 'records', records } };
  const coalesced = decodeCoalescedMessage(bytes);
  return coalesced ? { msg: { $case: 'coalesced', coalesced } } : WatchJobResponse.decode(bytes);
}

const ViewingJobServiceClient = makeGenericClientConstructor(
  {
    ...JobServiceService,
    runJob: { ...JobServiceService.runJob, responseDeserialize: deserializeRunJobResponse },
    watchJob: { ...JobServiceService.watchJob, responseDeserialize: deserializeWatchJobResponse },
  },
  'flowmesh.v1.JobService',
) as unknown as typeof JobServiceClient;

export function createServiceClients(address: string, apiKey: string | undefined): ServiceClients {
  const opts = { apiKey };
  const jobs = createClient(ViewingJobServiceClient, address, opts);
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
