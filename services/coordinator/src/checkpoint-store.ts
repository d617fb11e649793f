// Job checkpoints in config-store (`checkpoints/<job id>`, etcd in cluster mode), written only by
// compare-and-set on the checkpoint's revision: the owner's writes fail once another coordinator has taken
// the job over (it raised the epoch with its own CAS), which is how a deposed owner learns it lost the job.
import { newResource, type ConfigClient } from '@flowmesh/config';
import { ResourceKind, type JobCheckpoint, type Resource } from '@flowmesh/contracts';
import { status } from '@grpc/grpc-js';

export interface StoredCheckpoint {
  checkpoint: JobCheckpoint;
  /** Store revision of the checkpoint: the expected revision of the next write. */
  revision: number;
}

/** A compare-and-set lost: another coordinator owns the job now (or the checkpoint is gone). */
export class DeposedError extends Error {
  override name = 'DeposedError';
}

export interface CheckpointStore {
  get(jobId: string): Promise<StoredCheckpoint | undefined>;
  list(): Promise<StoredCheckpoint[]>;
  /** Writes `checkpoint` if its revision is still `expectedRevision` (0: must not exist); the new revision. */
  put(checkpoint: JobCheckpoint, expectedRevision: number, actor: string): Promise<number>;
  /** Removes the checkpoint if its revision is still `expectedRevision`. */
  remove(jobId: string, expectedRevision: number, actor: string): Promise<void>;
}

const KIND = ResourceKind.RESOURCE_KIND_CHECKPOINT;

export function createCheckpointStore(client: ConfigClient, timeoutMs = 5000): CheckpointStore {
  const fromResource = (r: Resource | undefined): StoredCheckpoint | undefined =>
    r?.spec?.$case === 'checkpoint' ? { checkpoint: r.spec.checkpoint, revision: r.revision } : undefined;
  const lost = (err: unknown): boolean => {
    const code = (err as { code?: unknown }).code;
    return code === status.FAILED_PRECONDITION || code === status.NOT_FOUND;
  };
  return {
    async get(jobId) {
      try {
        return fromResource((await client.get(KIND, jobId, { timeoutMs })).resource);
      } catch (err) {
        if ((err as { code?: unknown }).code === status.NOT_FOUND) return undefined;
        throw err;
      }
    },
    async list() {
      const { resources } = await client.listAll(KIND, { timeoutMs });
      return resources.map(fromResource).filter((c): c is StoredCheckpoint => c !== undefined);
    },
    async put(checkpoint, expectedRevision, actor) {
      const resource = newResource({
        kind: KIND,
        name: checkpoint.jobId,
        spec: { $case: 'checkpoint', checkpoint },
        updatedBy: actor,
      });
      try {
        // Only the revision comes back (the next write's expected revision): the store does not read the
        // checkpoint back and the answer does not carry it (issue 7: ~5 writes per second of a running job).
        // A store that predates revision_only answers the resource: its revision is the same.
        const res = await client.put(resource, { expectedRevision, actor, timeoutMs, revisionOnly: true });
        return res.resource?.revision || res.revision;
      } catch (err) {
        if (lost(err))
          throw new DeposedError(
            `checkpoint of job ${checkpoint.jobId} changed under us: another coordinator owns it`,
            {
              cause: err,
            },
          );
        throw err;
      }
    },
    async remove(jobId, expectedRevision, actor) {
      try {
        await client.delete(KIND, jobId, { expectedRevision, actor, timeoutMs });
      } catch (err) {
        if (lost(err)) throw new DeposedError(`checkpoint of job ${jobId} changed under us`, { cause: err });
        throw err;
      }
    },
  };
}
