// Whether config-store holds a job's checkpoint (issue 7): a job without one cannot be taken over by another
// coordinator, so the RunJob relay runs it again when its coordinator is lost (run-job.ts, hasCheckpoint).
import { status } from '@grpc/grpc-js';
import { ResourceKind } from '@flowmesh/contracts';
import type { CallContext } from '@flowmesh/runtime';
import type { Store } from '../downstream/store.js';
import { grpcCode } from '../downstream/unary-call.js';

/** True when the checkpoint exists, false on NOT_FOUND; rejects when the store cannot say. */
export function checkpointProbe(store: Store): (jobId: string, ctx: CallContext) => Promise<boolean> {
  return async (jobId, ctx) => {
    try {
      await store.get({ kind: ResourceKind.RESOURCE_KIND_CHECKPOINT, name: jobId, flowRevision: 0 }, ctx);
      return true;
    } catch (err) {
      if (grpcCode(err) === status.NOT_FOUND) return false;
      throw err;
    }
  };
}
