// The coordinator's side of job contexts on an ExecuteBatches call (issue 7, target 4): a job's flow text,
// CSV header and variables go with its first assign on the call; later assigns of the job leave them out
// (`context_from_call`) and the executor fills them in. The eviction rule must be the executor's
// (services/executor/src/job-contexts.ts): the last `max` jobs whose assigns carried the context, the least
// recently carried dropped first, applied to the same ordered assigns — so what is left out here is always
// still held there. Only for calls whose executor announced it (StreamFeatures.caches_job_context).
import type { BatchAssignment } from '@flowmesh/contracts';

const EMPTY = Buffer.alloc(0);

interface Sent {
  flowSource: string;
  header: Uint8Array;
  vars: Record<string, string>;
}

export interface CallContexts {
  /** The assign to send: without the context when the call carries the same one already. */
  slim(assign: BatchAssignment): BatchAssignment;
}

export function createCallContexts(max: number): CallContexts {
  const sent = new Map<string, Sent>();
  return {
    slim(assign) {
      const s = sent.get(assign.jobId);
      if (
        s &&
        s.flowSource === assign.flowSource &&
        s.vars === assign.vars &&
        (s.header === assign.header || Buffer.from(s.header.buffer, s.header.byteOffset, s.header.byteLength).equals(assign.header))
      ) {
        return { ...assign, flowSource: '', header: EMPTY, vars: {}, contextFromCall: true };
      }
      sent.delete(assign.jobId);
      sent.set(assign.jobId, { flowSource: assign.flowSource, header: assign.header, vars: assign.vars });
      if (sent.size > max) sent.delete(sent.keys().next().value!);
      return assign;
    },
  };
}
