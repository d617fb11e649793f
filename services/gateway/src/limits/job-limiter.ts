// Admission control for jobs (issue 5, limits): at most N concurrent jobs per API key and M in the
// whole gateway. Over the limit the caller gets RESOURCE_EXHAUSTED at once; nothing queues unbounded.
import { ResourceExhaustedError } from '@flowmesh/runtime';

export interface JobLimits {
  /** Concurrent RunJob/SubmitJob calls per key. @default 4 */
  perKey: number;
  /** Concurrent jobs through this gateway. @default 64 */
  total: number;
}

export const DEFAULT_JOB_LIMITS: JobLimits = { perKey: 4, total: 64 };

export class JobLimitExceeded extends Error {
  constructor(
    readonly scope: 'key' | 'gateway',
    readonly limit: number,
  ) {
    super(
      scope === 'key'
        ? `too many concurrent jobs for this API key (limit ${limit}); wait for one to finish`
        : `the gateway is running its maximum of ${limit} jobs; retry later`,
    );
    this.name = 'JobLimitExceeded';
  }
}

export interface JobLimiter {
  /** Takes a slot for `keyId` or throws JobLimitExceeded; the returned release is idempotent. */
  acquire(keyId: string): () => void;
  running(keyId?: string): number;
}

export function createJobLimiter(limits: Partial<JobLimits> = {}): JobLimiter {
  const { perKey, total } = { ...DEFAULT_JOB_LIMITS, ...limits };
  const byKey = new Map<string, number>();
  let all = 0;
  return {
    acquire(keyId) {
      const mine = byKey.get(keyId) ?? 0;
      if (mine >= perKey) throw new JobLimitExceeded('key', perKey);
      if (all >= total) throw new JobLimitExceeded('gateway', total);
      byKey.set(keyId, mine + 1);
      all += 1;
      let released = false;
      return () => {
        if (released) return;
        released = true;
        all -= 1;
        const n = (byKey.get(keyId) ?? 1) - 1;
        if (n > 0) byKey.set(keyId, n);
        else byKey.delete(keyId);
      };
    },
    running(keyId) {
      return keyId === undefined ? all : (byKey.get(keyId) ?? 0);
    },
  };
}

/** Takes a job slot for a call (RunJob, SubmitJob): over a limit the caller gets RESOURCE_EXHAUSTED. */
export function admitJob(limiter: JobLimiter, keyId: string): () => void {
  try {
    return limiter.acquire(keyId);
  } catch (err) {
    if (err instanceof JobLimitExceeded) throw new ResourceExhaustedError(err.message);
    throw err;
  }
}
