// Whether a job is unanchored (issue 7): config-store holds neither its checkpoint nor an end record. Such a
// job cannot be taken over by another coordinator, so the RunJob relay runs it again when its coordinator
// is lost (run-job.ts, `unanchored`).
import { ENDED_JOB_STATES, ResourceKind } from '@flowmesh/contracts';
import type { CallContext } from '@flowmesh/runtime';
import { findResource, type Store } from '../downstream/store.js';

/** Resolves false when either exists (the job's state names its owner or its end); rejects when the store cannot say. */
export function unanchoredProbe(store: Store): (jobId: string, ctx: CallContext) => Promise<boolean> {
  return async (jobId, ctx) => {
    const [checkpoint, record] = await Promise.all([
      findResource(store, ResourceKind.RESOURCE_KIND_CHECKPOINT, jobId, ctx),
      findResource(store, ResourceKind.RESOURCE_KIND_JOB, jobId, ctx),
    ]);
    if (checkpoint) return false;
    return !(record?.spec?.$case === 'job' && ENDED_JOB_STATES.has(record.spec.job.state));
  };
}
