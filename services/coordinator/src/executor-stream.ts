// One long-lived ExecuteBatches call per executor, carrying every attempt this coordinator sends there
// (issue 7, target 4). A call per attempt cost the coordinator ~15–20% of its CPU in call setup alone (client
// call creation, metadata, call credentials, an HTTP/2 stream) at thousands of tiny batches per second.
// Each attempt gets a tag unique on its call (never reused while the call lives, so a late message of a
// cancelled attempt cannot reach a newer one) and reads its own responses, exactly the messages an
// ExecuteBatch call would have carried; it ends with its trailer, or with the error the executor sent as
// the status that call would have had. What a call did per attempt is done per tag here: the attempt's
// deadline (a timer, then `cancel`), cancellation (`cancel`), and a broken call fails every attempt on it
// with the call's status (so run-attempt.ts tells a never-reached executor from a failed batch as before).
// A call is half-closed after `idleMs` without attempts and replaced after `maxAgeMs`, so it has a deadline.
import type {
  ExecuteBatchesRequest,
  ExecuteBatchesResponse,
  ExecuteBatchResponse,
  ExecutorServiceClient,
} from '@flowmesh/contracts';
import { callOptions, injectTraceContext } from '@flowmesh/runtime';
import { status, type ClientDuplexStream } from '@grpc/grpc-js';
import type { CancelSource } from './attempt-cancel.js';
import type { AttemptRequest, AttemptSink } from './attempt-runner.js';
import { createCallContexts, type CallContexts } from './call-contexts.js';
import { createRequestOutbox, SENT, type RequestOutbox } from './request-outbox.js';

/** Inline bytes travel in messages of this size (below the 16 MiB message limit, cheap to copy). */
const INLINE_CHUNK_BYTES = 1024 * 1024;
/** Responses queued for attempts (all of one call) beyond which the call stops reading until they are taken. */
const PAUSE_AT = 256;
const RESUME_AT = 64;

export interface ExecutorStreamOptions {
  /** Deadline of one attempt. */
  attemptTimeoutMs: number;
  /** A call older than this takes no new attempt (a fresh one does); its deadline is this plus attemptTimeoutMs. @default 5 min */
  maxAgeMs?: number;
  /** A call without attempts for this long is half-closed. @default 10 s */
  idleMs?: number;
}

type Call = ClientDuplexStream<ExecuteBatchesRequest, ExecuteBatchesResponse>;

/** A gRPC-status error, as a per-attempt call would have failed with. */
export function attemptStatusError(code: status, message: string): Error & { code: number; details: string } {
  return Object.assign(new Error(`${code} ${status[code]}: ${message}`), { code, details: message });
}

/**
 * One attempt on a call. Its own state object and module-level functions over it, not closures per attempt
 * (issue 7, target 4: at thousands of tiny attempts per second each closure costs — the services run under
 * tsx, whose keepNames wraps every named one in a defineProperty call); it is also the listener of the
 * attempt's abort signal (`handleEvent`).
 */
interface Channel {
  live: LiveCall;
  tag: number;
  queue: ExecuteBatchResponse[];
  wake: (() => void) | undefined;
  /** Set when the attempt has ended: its trailer came (undefined error) or it failed. */
  end: { error?: Error } | undefined;
  /** The callback form (`start`): messages go straight to it, not through `queue`; it is told the end. */
  sink: AttemptSink | undefined;
  /** The callback form's signal and deadline, let go when the attempt ends. */
  signal: CancelSource | undefined;
  deadline: NodeJS.Timeout | undefined;
  handleEvent(): void;
}

interface LiveCall {
  call: Call;
  /** Every request after the features goes through it, so bundling keeps their order (request-outbox.ts). */
  outbox: RequestOutbox;
  /** Job contexts this call carries, once its executor announced it keeps them. */
  contexts: CallContexts | undefined;
  channels: Map<number, Channel>;
  openedAt: number;
  nextTag: number;
  queued: number;
  paused: boolean;
  retired: boolean;
  idleSince: number;
  idleTimer: NodeJS.Timeout;
}

export interface ExecutorStream {
  /**
   * Attempts per slot the executor holds when sent ahead (`may_wait`), as its latest call announced
   * (`StreamFeatures`); 0 until one did, and for executors that predate it.
   */
  heldPerSlot(): number;
  /** Runs one attempt on the executor's call; aborting `signal` cancels it there. */
  run(request: AttemptRequest, signal: AbortSignal): AsyncGenerator<ExecuteBatchResponse, void, undefined>;
  /**
   * The same as `run` with callbacks (no inline bytes): each message is handed to `sink` from the call's
   * data event, then the end, as `run` would have yielded and thrown them.
   */
  start(request: AttemptRequest, signal: CancelSource, sink: AttemptSink): void;
  /** Cancels the call (every attempt on it fails). */
  close(): void;
}

/** A call idle at least this long (ms, by Date.now) sends a lone assign at once (see `open`). */
const IDLE_ASSIGN_MS = 2;

export function createExecutorStream(client: ExecutorServiceClient, opts: ExecutorStreamOptions): ExecutorStream {
  const maxAgeMs = opts.maxAgeMs ?? 5 * 60_000;
  const idleMs = opts.idleMs ?? 10_000;
  let current: LiveCall | undefined;
  let closed = false;
  let heldPerSlot = 0;

  function failAll(live: LiveCall, error: Error): void {
    if (current === live) current = undefined;
    clearTimeout(live.idleTimer);
    for (const ch of live.channels.values()) finish(ch, { error });
  }

  function open(): LiveCall {
    const call = client.executeBatches(callOptions({ timeoutMs: maxAgeMs + opts.attemptTimeoutMs }));
    const live: LiveCall = {
      call,
      // A call that ended or broke takes nothing more (its attempts have failed already). The attempt being
      // assigned is in `channels` already: alone there on a call idle since before this turn (a new job's
      // first batch), its assign goes at once (request-outbox.ts). A call that went idle just now is in a
      // run of tiny batches whose trailers came back together: their next assigns are bundled as before.
      outbox: createRequestOutbox((req) => (call.writable ? send(call, req) : Promise.resolve()), {
        idle: () => live.channels.size <= 1 && Date.now() - live.idleSince >= IDLE_ASSIGN_MS,
      }),
      contexts: undefined,
      channels: new Map(),
      openedAt: Date.now(),
      nextTag: 1,
      queued: 0,
      paused: false,
      retired: false,
      idleSince: Date.now(),
      idleTimer: setTimeout(() => {
        // Half-close a call that stayed idle (the executor ends its side once nothing is live there).
        if (live.channels.size > 0 || Date.now() - live.idleSince < idleMs) return;
        if (current === live) current = undefined;
        live.retired = true;
        endCall(live);
      }, idleMs),
    };
    live.idleTimer.unref();
    // Our side's features first (tag 0; executors that predate it ignore it): responses may be bundled.
    call.write({ tag: 0, msg: { $case: 'features', features: { takesBundles: true } }, traceContext: {}, more: [] });
    const onResponse = (res: ExecuteBatchesResponse): void => {
      const msg = res.msg;
      if (msg?.$case === 'features') {
        const f = msg.features;
        heldPerSlot = f.holdsAttempts ? f.heldPerSlot : 0;
        // From here on (messages on the call are ordered), assigns of a job after its first leave out its context.
        if (f.cachesJobContext && f.jobContexts > 0) live.contexts = createCallContexts(f.jobContexts);
        // From here on, requests of one turn may go as one message.
        if (f.takesBundles) live.outbox.takeBundles();
        return;
      }
      const ch = live.channels.get(res.tag);
      // A late message of an attempt that was cancelled or already ended: nobody reads it.
      if (!ch || !msg) return;
      if (msg.$case === 'error') {
        finish(ch, { error: attemptStatusError(msg.error.code as status, msg.error.message) });
        return;
      }
      if (ch.sink) {
        ch.sink.onMessage(msg);
        if (msg.$case === 'trailer') finish(ch, {});
        return;
      }
      ch.queue.push({ msg } as ExecuteBatchResponse);
      live.queued++;
      if (live.queued >= PAUSE_AT && !live.paused) {
        live.paused = true;
        call.pause();
      }
      if (msg.$case === 'trailer') finish(ch, {});
      else ch.wake?.();
    };
    call.on('data', (res: ExecuteBatchesResponse) => {
      onResponse(res);
      // A bundle: the responses the executor had ready in one turn, in order (response-outbox.ts there).
      for (const more of res.more) onResponse(more);
    });
    call.on('error', (err: Error) => failAll(live, err));
    call.on('end', () =>
      failAll(
        live,
        attemptStatusError(status.UNAVAILABLE, 'the executor ended the batch stream (draining or stopping)'),
      ),
    );
    return live;
  }

  function taken(live: LiveCall, n: number): void {
    live.queued -= n;
    if (live.paused && live.queued <= RESUME_AT) {
      live.paused = false;
      live.call.resume();
    }
  }

  /** A new attempt's channel on the current call (a fresh call when it is retired or too old). */
  function channel(sink: AttemptSink | undefined): Channel {
    if (current && (current.retired || Date.now() - current.openedAt > maxAgeMs)) {
      const old = current;
      old.retired = true;
      current = undefined;
      if (old.channels.size === 0) endCall(old);
    }
    const live = (current ??= open());
    const tag = live.nextTag;
    live.nextTag = tag >= 0xffff_fffe ? 1 : tag + 1;
    const ch: Channel = {
      live,
      tag,
      queue: [],
      wake: undefined,
      end: undefined,
      sink,
      signal: undefined,
      deadline: undefined,
      handleEvent() {
        cancel(this, attemptStatusError(status.CANCELLED, 'cancelled by caller'));
      },
    };
    live.channels.set(tag, ch);
    return ch;
  }

  function deadlineMs(request: AttemptRequest): number {
    let ms = opts.attemptTimeoutMs;
    if (request.deadline) ms = Math.min(ms, request.deadline.getTime() - Date.now());
    return Math.max(0, ms);
  }

  function start(request: AttemptRequest, signal: CancelSource, sink: AttemptSink): void {
    if (closed) return sink.onEnd(attemptStatusError(status.UNAVAILABLE, 'coordinator is closing'));
    if (signal.aborted) return sink.onEnd(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
    const ch = channel(sink);
    const live = ch.live;
    ch.signal = signal;
    signal.addEventListener('abort', ch, { once: true });
    ch.deadline = setTimeout(onDeadline, deadlineMs(request), ch);
    const sent = live.outbox.send({
      tag: ch.tag,
      msg: { $case: 'assign', assign: live.contexts ? live.contexts.slim(request.assignment) : request.assignment },
      traceContext: injectTraceContext(),
      more: [],
    });
    // A write that fails (the call broke) ends the attempt with its error, as `run` would throw it.
    if (sent !== SENT) sent.catch((err: unknown) => onSendError(ch, err));
  }

  async function* run(
    request: AttemptRequest,
    signal: AbortSignal,
  ): AsyncGenerator<ExecuteBatchResponse, void, undefined> {
    if (closed) throw attemptStatusError(status.UNAVAILABLE, 'coordinator is closing');
    signal.throwIfAborted();
    const ch = channel(undefined);
    const live = ch.live;
    const tag = ch.tag;
    signal.addEventListener('abort', ch, { once: true });
    const deadline = setTimeout(onDeadline, deadlineMs(request), ch);
    try {
      await live.outbox.send({
        tag,
        msg: { $case: 'assign', assign: live.contexts ? live.contexts.slim(request.assignment) : request.assignment },
        traceContext: injectTraceContext(),
        more: [],
      });
      const inline = request.inline;
      if (inline) {
        for (let at = 0; at < inline.length && !ch.end; at += INLINE_CHUNK_BYTES) {
          await live.outbox.send({
            tag,
            msg: { $case: 'data', data: { data: inline.subarray(at, at + INLINE_CHUNK_BYTES) } },
            traceContext: {},
            more: [],
          });
        }
      }
      for (;;) {
        if (ch.queue.length > 0) {
          const batch = ch.queue;
          ch.queue = [];
          taken(live, batch.length);
          for (const m of batch) yield m;
          continue;
        }
        if (ch.end) {
          if (ch.end.error) throw ch.end.error;
          return;
        }
        await new Promise<void>((resolve) => (ch.wake = resolve));
        ch.wake = undefined;
      }
    } finally {
      clearTimeout(deadline);
      signal.removeEventListener('abort', ch);
      // Leaving early (trailer mismatch, heartbeat timeout, job cancel): stop the executor's work too.
      if (!ch.end) cancel(ch, attemptStatusError(status.CANCELLED, 'attempt abandoned'));
      taken(live, ch.queue.length);
      ch.queue = [];
    }
  }

  return {
    run,
    start,
    heldPerSlot: () => heldPerSlot,
    close() {
      closed = true;
      const live = current;
      current = undefined;
      if (live) {
        live.call.cancel();
        failAll(live, attemptStatusError(status.CANCELLED, 'coordinator is closing'));
      }
    },
  };
}

function finish(ch: Channel, end: { error?: Error }): void {
  if (ch.end) return;
  ch.end = end;
  const live = ch.live;
  live.channels.delete(ch.tag);
  ch.wake?.();
  if (live.channels.size === 0) {
    live.idleSince = Date.now();
    live.idleTimer.refresh();
    if (live.retired) endCall(live);
  }
  const sink = ch.sink;
  if (sink) {
    if (ch.deadline) clearTimeout(ch.deadline);
    ch.signal?.removeEventListener('abort', ch);
    sink.onEnd(end.error);
  }
}

function onSendError(ch: Channel, err: unknown): void {
  cancel(ch, err instanceof Error ? err : attemptStatusError(status.UNAVAILABLE, String(err)));
}

/** Half-closes the call after writing what waits (a cancel may). */
function endCall(live: LiveCall): void {
  live.outbox.flush();
  live.call.end();
}

function cancel(ch: Channel, error: Error): void {
  if (ch.end) return;
  const live = ch.live;
  // Tell the executor to stop the attempt (a small message: no need to wait for drain; after its assign,
  // before the call may be half-closed in finish). A call that is ending or broken has stopped it already.
  if (live.call.writable)
    void live.outbox
      .send({ tag: ch.tag, msg: { $case: 'cancel', cancel: { reason: error.message } }, traceContext: {}, more: [] })
      .catch(() => undefined);
  finish(ch, { error });
}

function onDeadline(ch: Channel): void {
  cancel(ch, attemptStatusError(status.DEADLINE_EXCEEDED, 'attempt deadline exceeded'));
}

function send(call: Call, msg: ExecuteBatchesRequest): Promise<void> {
  if (call.write(msg)) return SENT;
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      call.off('drain', onDrain);
      call.off('error', onError);
      call.off('close', onError);
    };
    const onDrain = (): void => {
      cleanup();
      resolve();
    };
    const onError = (err?: unknown): void => {
      cleanup();
      reject(err instanceof Error ? err : attemptStatusError(status.UNAVAILABLE, 'executor call closed while sending'));
    };
    call.on('drain', onDrain);
    call.once('error', onError);
    call.once('close', onError);
  });
}
