// @flowmesh/client: the typed Node client of the flowmesh gateway (docs/clients.md).
export { createClient, type FlowmeshClient, type FlowmeshClientOptions } from './create-client.js';
export { toJobSpec, type JobSpecInput } from './job-spec.js';
export { IncompleteStreamError, type RunJobEvent, type RunJobOptions } from './run-job.js';
export { describeError, exitCodeOf } from './describe-error.js';
export { LocalPartError } from './local-parts.js';
