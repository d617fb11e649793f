// @flowmesh/client: the typed Node client of the flowmesh gateway (docs/clients.md).
export { createClient, type FlowmeshClient, type FlowmeshClientOptions, type JobSpecInput } from './create-client.js';
export { IncompleteStreamError, type RunJobEvent, type RunJobOptions } from './run-job.js';
export { describeError, exitCodeOf } from './describe-error.js';
