// One batch attempt from dispatch to a verified (or refused) result. A broken call, an executor error,
// silence longer than the heartbeat timeout, a stream without trailer or a trailer that does not match
// all end in an AttemptError; the driver then retries the batch elsewhere (issue 6, item 1).
import { status as grpcStatus } from '@grpc/grpc-js';
import { createAttemptCollector, type VerifiedAttempt } from './attempt-collector.js';
import type { AttemptRequest, AttemptRunner } from './attempt-runner.js';

export class AttemptError extends Error {
  constructor(
    message: string,
    /** The executor refused for lack of a free slot or because it is draining: no budget is spent. */
    readonly refused = false,
    /** The executor could not be reached or is going away. */
    readonly unreachable = false,
  ) {
    super(message);
    this.name = 'AttemptError';
  }
}

export interface AttemptOptions {
  signal: AbortSignal;
  /** Fail the attempt when the executor sends nothing for this long (it heartbeats while working); 0: never. */
  heartbeatTimeoutMs: number;
  includeRejects: boolean;
  /** Called for every heartbeat with the executor's records done so far. */
  onHeartbeat?: (recordsDone: number) => void;
}

export async function runAttempt(
  runner: AttemptRunner,
  request: AttemptRequest,
  opts: AttemptOptions,
): Promise<VerifiedAttempt> {
  const a = request.assignment;
  const collector = createAttemptCollector(
    { jobId: a.jobId, batchIndex: a.batchIndex, attempt: a.attempt, epoch: a.epoch },
    { includeRejects: opts.includeRejects, ...(a.outputPart ? { outputPart: a.outputPart } : {}) },
  );
  // One controller per attempt, aborted by the job or the watchdog. (AbortSignal.any on the long-lived job
  // signal costs a weak reference per attempt — measurable at thousands of tiny batches per second.)
  const attempt = new AbortController();
  let silent = false;
  const onJobAbort = (): void => attempt.abort(opts.signal.reason);
  opts.signal.addEventListener('abort', onJobAbort, { once: true });
  if (opts.signal.aborted) attempt.abort(opts.signal.reason);
  const signal = attempt.signal;
  let silentTimer: NodeJS.Timeout | undefined;
  // One timer per attempt, restarted on every message (refresh: no new timer per message, of which a
  // tiny batch has three).
  const arm = (): void => {
    if (silentTimer) silentTimer.refresh();
    else if (opts.heartbeatTimeoutMs > 0) {
      silentTimer = setTimeout(() => {
        silent = true;
        attempt.abort(new Error('missed heartbeats'));
      }, opts.heartbeatTimeoutMs);
    }
  };
  const where = `executor ${request.executor.id}`;
  let trailer;
  let started = false;
  try {
    arm();
    for await (const response of runner(request, signal)) {
      arm();
      const msg = response.msg;
      if (!msg) continue;
      if (msg.$case === 'started') started = true;
      else if (msg.$case === 'records') collector.onRecords(msg.records);
      else if (msg.$case === 'rejects') collector.onRejects(msg.rejects);
      else if (msg.$case === 'heartbeat') opts.onHeartbeat?.(msg.heartbeat.recordsDone);
      else if (msg.$case === 'trailer') trailer = msg.trailer;
      // Keep reading after the trailer until the call ends, so the executor's slot is free when we count it free.
    }
  } catch (err) {
    opts.signal.throwIfAborted();
    if (silent) throw new AttemptError(`${where}: no message for ${opts.heartbeatTimeoutMs} ms (missed heartbeats)`);
    const code = (err as { code?: number }).code;
    const draining = code === grpcStatus.UNAVAILABLE && /draining/.test(String((err as Error).message));
    // UNAVAILABLE before the executor sent `started`: the batch never ran there (a dead executor still in
    // discovery until its lease expires — connection refused; or a batch sent ahead that was still waiting
    // for the slot, heartbeating, when its executor died). Like a refusal, it spends no retry budget;
    // otherwise one SIGKILLed executor can quarantine a healthy batch (chaos suite, issue 6).
    const neverReached = code === grpcStatus.UNAVAILABLE && !started;
    const refused = code === grpcStatus.RESOURCE_EXHAUSTED || draining || neverReached;
    throw new AttemptError(
      `${where}: ${(err as Error).message ?? String(err)}`,
      refused,
      code === grpcStatus.UNAVAILABLE,
    );
  } finally {
    if (silentTimer) clearTimeout(silentTimer);
    opts.signal.removeEventListener('abort', onJobAbort);
  }
  opts.signal.throwIfAborted();
  if (!trailer) throw new AttemptError(`${where}: stream ended without a trailer`);
  const verdict = collector.verify(trailer);
  if (!verdict.ok) throw new AttemptError(`${where}: ${verdict.reason}`);
  return verdict.result;
}
