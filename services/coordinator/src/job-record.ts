// The job as recorded in config-store: state, counts, timings, per-executor shares, failures,
// aggregates and globals (Struct fields hold objects, so aggregate rows are wrapped as { rows }).
import type { BatchFailure, ExecutorShare, FileRef, Job, JobProgress, JobState } from '@flowmesh/contracts';
import type { BatchFailureReport } from './batch-tracker.js';

export interface JobRecordInput {
  id: string;
  flow: string;
  flowRevision: number;
  vars: Record<string, string>;
  coordinatorId: string;
  submittedBy: string;
  createdAt: Date;
  startedAt?: Date;
  finishedAt?: Date;
  state: JobState;
  progress?: JobProgress;
  error?: string;
  failures?: BatchFailureReport[];
  executors?: ExecutorShare[];
  aggregates?: unknown;
  globals?: Record<string, unknown>;
  output?: FileRef;
  rejectsOutput?: FileRef;
}

export function jobRecord(r: JobRecordInput): Job {
  return {
    id: r.id,
    flow: r.flow,
    flowRevision: r.flowRevision,
    state: r.state,
    vars: r.vars,
    progress: r.progress,
    coordinatorId: r.coordinatorId,
    submittedBy: r.submittedBy,
    createdAt: r.createdAt,
    startedAt: r.startedAt,
    finishedAt: r.finishedAt,
    error: r.error ?? '',
    failures: (r.failures ?? []).map((f): BatchFailure => ({
      batchIndex: f.batchIndex,
      offset: f.offset,
      length: f.length,
      attempts: f.attempts,
      errors: f.errors,
    })),
    executors: r.executors ?? [],
    aggregates:
      r.aggregates === undefined
        ? undefined
        : Array.isArray(r.aggregates)
          ? { rows: r.aggregates }
          : (r.aggregates as Record<string, unknown>),
    globals: r.globals,
    output: r.output,
    rejectsOutput: r.rejectsOutput,
  };
}
