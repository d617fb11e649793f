// The jobs this coordinator runs now: for CancelJob, WatchJob and GetLoad. A job leaves the registry
// when it ends (its record in config-store is then the source of truth).
import { EventEmitter } from 'node:events';
import type { Job, JobAccepted, JobProgress } from '@flowmesh/contracts';
import { AlreadyExistsError } from '@flowmesh/runtime';

/** Events: `progress` (JobProgress) while it runs, `end` (Job) once. */
export interface JobHandle extends EventEmitter {
  readonly id: string;
  readonly accepted: JobAccepted;
  cancel(reason: string): void;
  progress(): JobProgress;
  load(): { inFlight: number; queued: number };
  /** Resolves with the final job record. */
  readonly done: Promise<Job>;
}

export interface JobRegistry {
  add(handle: JobHandle): void;
  remove(id: string): void;
  get(id: string): JobHandle | undefined;
  running(): number;
  load(): { runningJobs: number; batchesInFlight: number; batchesQueued: number };
  /** Calls `listener` when the number of running jobs changes (to update discovery). */
  onChange(listener: (running: number) => void): () => void;
}

export function createJobRegistry(): JobRegistry {
  const jobs = new Map<string, JobHandle>();
  const events = new EventEmitter();
  return {
    add(handle) {
      if (jobs.has(handle.id)) throw new AlreadyExistsError(`job ${handle.id} is already running`);
      jobs.set(handle.id, handle);
      events.emit('change', jobs.size);
    },
    remove(id) {
      if (jobs.delete(id)) events.emit('change', jobs.size);
    },
    get: (id) => jobs.get(id),
    running: () => jobs.size,
    load() {
      let batchesInFlight = 0;
      let batchesQueued = 0;
      for (const j of jobs.values()) {
        const l = j.load();
        batchesInFlight += l.inFlight;
        batchesQueued += l.queued;
      }
      return { runningJobs: jobs.size, batchesInFlight, batchesQueued };
    },
    onChange(listener) {
      events.on('change', listener);
      return () => events.off('change', listener);
    },
  };
}
