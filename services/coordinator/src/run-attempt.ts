// One batch attempt from dispatch to a verified (or refused) result. A broken call, an executor error,
// silence longer than the heartbeat timeout, a stream without trailer or a trailer that does not match
// all end in an AttemptError; the driver then retries the batch elsewhere (issue 6, item 1).
import type { BatchTrailer, ExecuteBatchResponse } from '@flowmesh/contracts';
import { status as grpcStatus } from '@grpc/grpc-js';
import { createAttemptCollector, type AttemptCollector, type VerifiedAttempt } from './attempt-collector.js';
import type { AttemptCancel, CancelSource } from './attempt-cancel.js';
import type { AttemptRequest, AttemptRunner, AttemptSink } from './attempt-runner.js';

export class AttemptError extends Error {
  constructor(
    message: string,
    /** The executor refused for lack of a free slot or because it is draining: no budget is spent. */
    readonly refused = false,
    /** The executor could not be reached or is going away. */
    readonly unreachable = false,
    /** The executor sent nothing for longer than the heartbeat timeout (the attempt's signal was aborted for it). */
    readonly silent = false,
  ) {
    super(message);
    this.name = 'AttemptError';
  }
}

export interface AttemptOptions {
  signal: CancelSource;
  /**
   * `signal` itself when it is the attempt's own cancel (nothing else is cancelled with it): aborted on
   * silence, instead of a second controller per attempt linked to `signal` (issue 7, target 4: thousands of
   * tiny attempts per second), and handed to the runner's callback form as it is (no AbortSignal per attempt:
   * attempt-cancel.ts). The attempt then fails with a `silent` AttemptError.
   */
  controller?: AttemptCancel;
  /** Fail the attempt when the executor sends nothing for this long (it heartbeats while working); 0: never. */
  heartbeatTimeoutMs: number;
  includeRejects: boolean;
  /** Called for every heartbeat with the executor's records done so far. */
  onHeartbeat?: (recordsDone: number) => void;
}

/** Not an async function: its promise is the reader's own, without a wrapping one (two microtask hops less per attempt). */
export function runAttempt(runner: AttemptRunner, request: AttemptRequest, opts: AttemptOptions): Promise<VerifiedAttempt> {
  const a = request.assignment;
  const collector = createAttemptCollector(
    { jobId: a.jobId, batchIndex: a.batchIndex, attempt: a.attempt, epoch: a.epoch },
    { includeRejects: opts.includeRejects, ...(a.outputPart ? { outputPart: a.outputPart } : {}) },
  );
  // The controller aborted by the job or the watchdog: the caller's own for this attempt, or one linked to
  // the caller's signal. (AbortSignal.any on the long-lived job signal costs a weak reference per attempt —
  // measurable at thousands of tiny batches per second.)
  let attempt: AttemptCancel | AbortController | undefined = opts.controller;
  let onJobAbort: { handleEvent(): void } | undefined;
  if (!attempt) {
    const linked = new AbortController();
    onJobAbort = { handleEvent: () => linked.abort(opts.signal.reason) };
    opts.signal.addEventListener('abort', onJobAbort, { once: true });
    if (opts.signal.aborted) linked.abort(opts.signal.reason);
    attempt = linked;
  }
  const watchdog: Watchdog = { attempt, silent: false };
  // One timer per attempt, restarted on every message (refresh: no new timer per message, of which a
  // tiny batch has three).
  const silentTimer =
    opts.heartbeatTimeoutMs > 0 ? setTimeout(onSilence, opts.heartbeatTimeoutMs, watchdog) : undefined;
  // The runner's callback form (the executor stream; not for inline bytes, which wait for drain as they go):
  // each message reaches the collector from the call's data event, with no async generator, queue and
  // promise per message in between (issue 7, target 4). The iterable form is read into the same sink.
  return new Promise<VerifiedAttempt>((resolve, reject) => {
    const sink = new AttemptReader(request, opts, collector, watchdog, silentTimer, onJobAbort, resolve, reject);
    // The callback form takes the attempt's own cancel as it is; the iterable form needs a real AbortSignal.
    if (runner.start && !request.inline) runner.start(request, opts.controller ?? attempt.signal, sink);
    else void drain(runner(request, attempt.signal), sink, silentTimer);
  });
}

/** The iterable form into a sink: every response restarts the silence timer; the end, or what it threw, ends it. */
async function drain(
  responses: AsyncIterable<ExecuteBatchResponse>,
  sink: AttemptSink,
  silentTimer: NodeJS.Timeout | undefined,
): Promise<void> {
  try {
    // Read until the call ends, also after the trailer, so the executor's slot is free when we count it free.
    for await (const response of responses) {
      silentTimer?.refresh();
      if (response.msg) sink.onMessage(response.msg);
    }
  } catch (err) {
    sink.onEnd(err instanceof Error ? err : new Error(String(err)));
    return;
  }
  sink.onEnd(undefined);
}

/** The attempt's end once its call ended without an error: its trailer verified, or why not. */
function verified(request: AttemptRequest, collector: AttemptCollector, trailer: BatchTrailer | undefined): VerifiedAttempt {
  if (!trailer) throw new AttemptError(`executor ${request.executor.id}: stream ended without a trailer`);
  const verdict = collector.verify(trailer);
  if (!verdict.ok) throw new AttemptError(`executor ${request.executor.id}: ${verdict.reason}`);
  return verdict.result;
}

/** How a broken call or an executor's error ends the attempt. */
function failure(request: AttemptRequest, err: unknown, started: boolean): AttemptError {
  const code = (err as { code?: number }).code;
  // UNAVAILABLE before the executor sent `started`: the batch never ran there (a dead executor still in
  // discovery until its lease expires — connection refused; a draining executor's "executor is draining",
  // or its call ending before it read the assign; or a batch sent ahead that was still waiting for the
  // slot, heartbeating, when its executor died). Like a refusal, it spends no retry budget; otherwise one
  // SIGKILLed executor can quarantine a healthy batch (chaos suite, issue 6).
  // After `started` it is a failure, "draining" or not: a draining executor finishes what it started and
  // sends its trailer. A started batch lost by a drain used to pass as a refusal — requeued, uncounted, run
  // again elsewhere — which hid a lost trailer on every busy SIGTERM (chaos executor-sigterm, issue 7;
  // services/executor/src/response-outbox.ts); counted, the chaos check "no batch was retried" sees it.
  const neverReached = code === grpcStatus.UNAVAILABLE && !started;
  const refused = code === grpcStatus.RESOURCE_EXHAUSTED || neverReached;
  return new AttemptError(
    `executor ${request.executor.id}: ${(err as Error).message ?? String(err)}`,
    refused,
    code === grpcStatus.UNAVAILABLE,
  );
}

/** What an attempt's messages do (started, records, rejects, heartbeat, trailer) and how its end is judged. */
class AttemptReader implements AttemptSink {
  private trailer: BatchTrailer | undefined;
  private started = false;

  constructor(
    private readonly request: AttemptRequest,
    private readonly opts: AttemptOptions,
    private readonly collector: AttemptCollector,
    private readonly watchdog: Watchdog,
    private readonly silentTimer: NodeJS.Timeout | undefined,
    private readonly onJobAbort: { handleEvent(): void } | undefined,
    private readonly resolve: (v: VerifiedAttempt) => void,
    private readonly reject: (err: unknown) => void,
  ) {}

  onMessage(msg: NonNullable<ExecuteBatchResponse['msg']>): void {
    this.silentTimer?.refresh();
    if (msg.$case === 'started') this.started = true;
    else if (msg.$case === 'records') this.collector.onRecords(msg.records);
    else if (msg.$case === 'rejects') this.collector.onRejects(msg.rejects);
    else if (msg.$case === 'heartbeat') this.opts.onHeartbeat?.(msg.heartbeat.recordsDone);
    else if (msg.$case === 'trailer') this.trailer = msg.trailer;
  }

  onEnd(err: Error | undefined): void {
    if (this.silentTimer) clearTimeout(this.silentTimer);
    if (this.onJobAbort) this.opts.signal.removeEventListener('abort', this.onJobAbort);
    const { request, opts } = this;
    try {
      if (this.watchdog.silent) throw silence(request, opts);
      opts.signal.throwIfAborted();
      if (err) throw failure(request, err, this.started);
      this.resolve(verified(request, this.collector, this.trailer));
    } catch (e) {
      this.reject(e);
    }
  }
}

interface Watchdog {
  attempt: AttemptCancel | AbortController;
  silent: boolean;
}

// Module-level, with its state as the timer's argument: no closure per attempt.
function onSilence(w: Watchdog): void {
  w.silent = true;
  w.attempt.abort(new Error('missed heartbeats'));
}

function silence(request: AttemptRequest, opts: AttemptOptions): AttemptError {
  return new AttemptError(
    `executor ${request.executor.id}: no message for ${opts.heartbeatTimeoutMs} ms (missed heartbeats)`,
    false,
    false,
    true,
  );
}
