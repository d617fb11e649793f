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
  let child: Logger | undefined;
  const log = (): Logger => (child ??= logger.child({ jobId: a.jobId, batchIndex: a.batchIndex, attempt: a.attempt }));
  return {
    started() {
      if (logger.isLevelEnabled('debug'))
        log().debug({ offset: a.offset, length: a.length, inline: a.inline }, 'batch started');
    },
    failed(err, cancelled) {
      if (cancelled) log().debug({ err }, 'batch cancelled');
      else log().info({ err }, 'batch failed');
    },
  };
}
