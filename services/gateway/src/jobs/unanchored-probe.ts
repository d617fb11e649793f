// Whether a job is unanchored (issue 7): config-store holds neither its checkpoint nor an end record. Such a
// job cannot be taken over by another coordinator, so the RunJob relay runs it again when its coordinator
// is lost (run-job.ts, `unanchored`).
import { status } from '@grpc/grpc-js';
import { JobState, ResourceKind } from '@flowmesh/contracts';
import type { CallContext } from '@flowmesh/runtime';
import type { Store } from '../downstream/store.js';
import { grpcCode } from '../downstream/unary-call.js';

const ENDED = new Set([JobState.JOB_STATE_SUCCEEDED, JobState.JOB_STATE_FAILED, JobState.JOB_STATE_CANCELLED]);

/** Resolves false when either exists (the job's state names its owner or its end); rejects when the store cannot say. */
export function unanchoredProbe(store: Store): (jobId: string, ctx: CallContext) => Promise<boolean> {
  const read = async (kind: ResourceKind, jobId: string, ctx: CallContext) => {
    try {
      return (await store.get({ kind, name: jobId, flowRevision: 0 }, ctx)).resource;
    } catch (err) {
      if (grpcCode(err) === status.NOT_FOUND) return undefined;
      throw err;
    }
  };
  return async (jobId, ctx) => {
    const [checkpoint, record] = await Promise.all([
      read(ResourceKind.RESOURCE_KIND_CHECKPOINT, jobId, ctx),
      read(ResourceKind.RESOURCE_KIND_JOB, jobId, ctx),
    ]);
    if (checkpoint) return false;
    return !(record?.spec?.$case === 'job' && ENDED.has(record.spec.job.state));
  };
}
