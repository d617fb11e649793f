// ExecuteBatches: many batch attempts on one long-lived call from a coordinator (issue 7, target 4: a call
// per tiny batch cost more CPU on both sides than the batch's work — client call setup, metadata, an HTTP/2
// stream, interceptors). Each `assign` starts an attempt under its tag and runs exactly as an ExecuteBatch
// call would (fencing, slot, heartbeats, chunks, trailer: execute-batch.ts); its responses carry the tag, and
// a failure ends it with an `error` message holding the status the call would have ended with. A `cancel`
// stops one attempt; the call's end (cancel, deadline, broken connection) stops all of them. When the
// coordinator half-closes, the call ends once its attempts have; when this executor drains, once its live
// attempts have, so a graceful stop is not held up by an idle stream.
import { status, type ServerDuplexStream } from '@grpc/grpc-js';
import type { ExecuteBatchesRequest, ExecuteBatchesResponse, ExecuteBatchResponse } from '@flowmesh/contracts';
import { extractTraceContext, InvalidArgumentError, toServiceError, write } from '@flowmesh/runtime';
import type { CallContext } from '@flowmesh/runtime';
import { HELD_PER_SLOT, type AttemptHandler } from './execute-batch.js';
import { createInlineSink, type InlineSink } from './inline-input.js';
import { createJobContexts, JOB_CONTEXTS } from './job-contexts.js';
import { createResponseOutbox } from './response-outbox.js';

type Call = ServerDuplexStream<ExecuteBatchesRequest, ExecuteBatchesResponse>;

export interface ExecuteBatchesDeps {
  handle: AttemptHandler;
  /** Resolves when the executor starts draining. */
  draining: Promise<void>;
  /**
   * Live attempts one call may hold; an assign beyond it ends the call with RESOURCE_EXHAUSTED (the slots
   * refuse far fewer first: this only bounds what a misbehaving caller can make this executor hold).
   * @default 1024
   */
  maxLive?: number;
}

interface LiveAttempt {
  abort: AbortController;
  inline?: InlineSink;
}

/** What an attempt on the call answers through (`send`, and its trailer counted once) — see AttemptOnCall. */
interface CallAnswers {
  unanswered: number;
  outbox: ReturnType<typeof createResponseOutbox>;
}

/**
 * One attempt on the call: its tag, its abort and its inline input, and the AttemptIo it runs with. An object
 * with methods rather than closures per attempt (`answer`, `send`, `readInline`: a `__name` call each under
 * tsx, at thousands of tiny attempts a second — issue 7, target 4).
 */
class AttemptOnCall implements LiveAttempt {
  readonly abort = new AbortController();
  readonly inline: InlineSink | undefined;
  private answered = false;

  constructor(
    private readonly tag: number,
    private readonly answers: CallAnswers,
    inlineLength: number | undefined,
  ) {
    this.inline = inlineLength === undefined ? undefined : createInlineSink(inlineLength);
  }

  get signal(): AbortSignal {
    return this.abort.signal;
  }

  /** The attempt's trailer or error was sent (or it ended without one): counted once. */
  answer(): void {
    if (this.answered) return;
    this.answered = true;
    this.answers.unanswered--;
  }

  send(m: ExecuteBatchResponse): Promise<void> {
    if (m.msg?.$case === 'trailer') this.answer();
    return this.answers.outbox.send({ tag: this.tag, msg: m.msg, more: [] } as ExecuteBatchesResponse);
  }

  readInline(): Promise<Buffer> {
    if (!this.inline) throw new InvalidArgumentError('data', 'the assign is not inline');
    return this.inline.read(this.abort.signal);
  }
}

export function createExecuteBatches(deps: ExecuteBatchesDeps) {
  const maxLive = deps.maxLive ?? 1024;
  return async function executeBatches(call: Call, ctx: CallContext): Promise<void> {
    const live = new Map<number, LiveAttempt>();
    const contexts = createJobContexts();
    // Attempts of the call that have not yet sent their trailer (or error): while one is left after a
    // trailer, a bundle of responses may wait for it (response-outbox.ts).
    // Every response of the call goes through its outbox, so bundling keeps their order.
    const answers: CallAnswers = {
      unanswered: 0,
      outbox: createResponseOutbox((res) => write(call, res), { moreComing: () => answers.unanswered > 0 }),
    };
    const outbox = answers.outbox;
    let draining = false;
    // Resolves once nothing is live after the input ended or draining began: then the call ends.
    let onIdle: (() => void) | undefined;
    const quiet = new Promise<void>((resolve) => (onIdle = resolve));
    void deps.draining.then(() => {
      draining = true;
      if (live.size === 0) onIdle?.();
    });
    const abortAll = (): void => {
      for (const a of live.values()) a.abort.abort(new Error('stream ended'));
    };
    ctx.signal.addEventListener('abort', abortAll, { once: true });

    const start = (tag: number, req: ExecuteBatchesRequest): void => {
      const msg = req.msg;
      if (msg?.$case !== 'assign') return;
      if (tag === 0 || live.has(tag))
        throw new InvalidArgumentError('tag', `tag ${tag} is 0 or already live on this call`);
      if (live.size >= maxLive) throw new InvalidArgumentError('tag', `more than ${maxLive} live attempts on one call`);
      const assign = msg.assign;
      if (!contexts.apply(assign)) {
        void outbox
          .send({
            tag,
            msg: {
              $case: 'error',
              error: { code: status.INVALID_ARGUMENT, message: `assign: no context of job ${assign.jobId} on this call` },
            },
            more: [],
          })
          .catch(() => undefined);
        return;
      }
      const entry = new AttemptOnCall(tag, answers, assign.inline ? assign.length : undefined);
      live.set(tag, entry);
      answers.unanswered++;
      deps
        .handle(assign, entry, extractTraceContext(req.traceContext))
        .catch((err: unknown) => {
          // A cancelled attempt's coordinator is no longer listening for it; anything else gets its status.
          entry.answer();
          if (entry.abort.signal.aborted || call.cancelled) return;
          const e = toServiceError(err, ctx.logger);
          return outbox.send({ tag, msg: { $case: 'error', error: { code: e.code, message: e.details } }, more: [] });
        })
        .catch(() => undefined)
        .finally(() => {
          entry.answer();
          live.delete(tag);
          if (live.size === 0 && (draining || inputEnded)) onIdle?.();
        });
    };

    let inputEnded = false;
    const messages = call[Symbol.asyncIterator]() as AsyncIterator<ExecuteBatchesRequest>;
    try {
      // First, what this side supports (tag 0: coordinators that predate it drop it).
      await outbox.send({
        tag: 0,
        more: [],
        msg: {
          $case: 'features',
          features: {
            holdsAttempts: true,
            heldPerSlot: HELD_PER_SLOT,
            cachesJobContext: true,
            jobContexts: JOB_CONTEXTS,
            takesBundles: true,
          },
        },
      });
      for (;;) {
        const next = await Promise.race([messages.next(), quiet.then(() => undefined)]);
        // Draining with nothing live: end the call (the coordinator opens a new one to wherever it goes next).
        if (next === undefined) return;
        if (next.done) break;
        const req = next.value;
        onRequest(req);
        // A bundle: the coordinator's requests of one turn, in order (`more`; only after our `takes_bundles`).
        for (const more of req.more) onRequest(more);
      }
      inputEnded = true;
      if (live.size > 0) await quiet;
    } finally {
      ctx.signal.removeEventListener('abort', abortAll);
      abortAll();
      // The last attempt's trailer may still wait in the outbox (bundled until the end of the turn): written
      // before the call ends, or it is lost (response-outbox.ts).
      await outbox.close();
    }

    function onRequest(req: ExecuteBatchesRequest): void {
      const tag = req.tag;
      switch (req.msg?.$case) {
        case 'assign':
          start(tag, req);
          break;
        case 'data': {
          const sink = live.get(tag)?.inline;
          // Data for an attempt that already failed or was cancelled is dropped.
          sink?.push(req.msg.data.data);
          break;
        }
        case 'features':
          if (req.msg.features.takesBundles) outbox.takeBundles();
          break;
        case 'cancel':
          live.get(tag)?.abort.abort(new Error(`cancelled by the coordinator: ${req.msg.cancel.reason}`));
          break;
        default:
          break;
      }
    }
  };
}
