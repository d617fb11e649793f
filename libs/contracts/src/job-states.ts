// Which JobState values end a job: a fact of the contract (job_service.proto), needed by every service that
// decides whether a job can still change. Hand-written beside the generated code, never inside it.
import { JobState } from './gen/flowmesh/v1/common.js';

export const ENDED_JOB_STATES: ReadonlySet<JobState> = new Set([
  JobState.JOB_STATE_SUCCEEDED,
  JobState.JOB_STATE_FAILED,
  JobState.JOB_STATE_CANCELLED,
]);
