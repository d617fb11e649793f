// Per-batch log lines, so an operator can find a job's failed attempt by job id, batch index and attempt.
// The start is at debug and success writes nothing (ExecuteBatch is the hot path); the child logger is only
// made when a line is written, so with debug off a successful batch costs one level check.
import type { BatchAssignment } from '@flowmesh/contracts';
import type { Logger } from '@flowmesh/runtime';

export interface BatchLog {
  started(): void;
  /** Info for a failure; a cancelled attempt (job aborted, a backup won) is routine and stays at debug. */
  failed(err: unknown, cancelled: boolean): void;
}

const NO_LOG: BatchLog = { started() {}, failed() {} };

export function batchLog(logger: Logger | undefined, a: BatchAssignment): BatchLog {
  if (!logger) return NO_LOG;
  // Methods, and the child made per line written (at most one per attempt unless debug is on): under tsx a
  // named closure per batch costs a `__name` call (issue 7, target 4; libs/flow's run-batch.ts says more).
  return {
    started() {
      if (logger.isLevelEnabled('debug'))
        childOf(logger, a).debug({ offset: a.offset, length: a.length, inline: a.inline }, 'batch started');
    },
    failed(err, cancelled) {
      if (cancelled) childOf(logger, a).debug({ err }, 'batch cancelled');
      else childOf(logger, a).info({ err }, 'batch failed');
    },
  };
}

function childOf(logger: Logger, a: BatchAssignment): Logger {
  return logger.child({ jobId: a.jobId, batchIndex: a.batchIndex, attempt: a.attempt });
}
