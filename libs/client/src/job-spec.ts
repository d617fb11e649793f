// The job spec a caller writes (only `flow` is required) and the complete JobSpec sent on the wire,
// shared by RunJob and SubmitJob so both fill the same defaults.
import type { JobSpec } from '@flowmesh/contracts';

export type JobSpecInput = Partial<JobSpec> & { flow: string };

/** Fills every field the caller left out with its proto default; `submittedBy` is set by the gateway. */
export function toJobSpec(spec: JobSpecInput): JobSpec {
  return {
    flow: spec.flow,
    flowRevision: spec.flowRevision ?? 0,
    vars: spec.vars ?? {},
    jobId: spec.jobId ?? '',
    encoding: spec.encoding ?? 0,
    includeRejects: spec.includeRejects ?? false,
    progressIntervalMs: spec.progressIntervalMs ?? 0,
    distribute: spec.distribute,
    submittedBy: '',
    // Set by runJob (RunJobOptions.coalesceBatches): only it reads coalesced messages.
    coalesceBatches: false,
    // Set by the gateway only, when it runs a job again after losing its coordinator.
    planSlots: 0,
  };
}
