// What an ExecuteBatches call remembers per job so the coordinator need not resend it with every batch
// (issue 7, target 4): the flow text, CSV header and variables are the same for all of a job's batches, and
// were most of a tiny batch's assign (encoded by the coordinator, decoded here, once per batch). The
// coordinator sends them with a job's first assign on the call and leaves them out (`context_from_call`)
// afterwards. Both sides keep the last `max` jobs whose assigns carried them, the least recently carried
// dropped first, and apply that rule to the same ordered assigns of the call, so the coordinator never
// leaves out what this side dropped (services/coordinator/src/call-contexts.ts is the other side).
import type { BatchAssignment } from '@flowmesh/contracts';

/** Jobs remembered per call (announced in StreamFeatures.job_contexts). */
export const JOB_CONTEXTS = 64;

interface JobContext {
  flowSource: string;
  header: Buffer;
  vars: Record<string, string>;
}

export interface JobContexts {
  /**
   * Remembers a full assign's context, or fills one sent without it in place. Returns false when the
   * assign relies on a context this call does not hold (a coordinator bug: the attempt is refused).
   */
  apply(assign: BatchAssignment): boolean;
}

export function createJobContexts(max = JOB_CONTEXTS): JobContexts {
  const contexts = new Map<string, JobContext>();
  return {
    apply(assign) {
      if (assign.contextFromCall) {
        const c = contexts.get(assign.jobId);
        if (!c) return false;
        assign.flowSource = c.flowSource;
        assign.header = c.header;
        assign.vars = c.vars;
        return true;
      }
      contexts.delete(assign.jobId);
      // A private copy of the header: the decoded one is a view into the whole request message.
      contexts.set(assign.jobId, { flowSource: assign.flowSource, header: Buffer.from(assign.header), vars: assign.vars });
      if (contexts.size > max) contexts.delete(contexts.keys().next().value!);
      return true;
    },
  };
}
