// Requests of one ExecuteBatches call, several to a message once the executor takes bundles (issue 7,
// target 4, session 5). Every gRPC message costs both sides framing, a stream write or read, a decode and
// an event — per tiny batch as much as its bookkeeping — and when an executor's bundled trailers free
// several slots at once, the coordinator has the next few assigns (and any cancels) ready in one turn. So
// requests wait until the end of the turn (setImmediate) and go as one message, in order: `more` of a
// message without a request of its own (tag 0). Inline bytes (`data`) first send whatever waits, then go
// alone. Without the executor's `takes_bundles` every request goes at once, as before.
// An assign to a call with no other attempt live (`idle`) goes at once too: there is nothing to bundle it
// with, and a short job's one batch waited for the end of the turn and then for the next turn's flush of
// the http2 session (a native immediate), ~0.1-0.3 ms on its path (issue 7 target 3).
// (The executor's side of the same idea: services/executor/src/response-outbox.ts; the bundle and its write
// tracking, shared by both: @flowmesh/runtime wire/message-bundle.ts.)
import type { ExecuteBatchesRequest } from '@flowmesh/contracts';
import { createMessageBundle } from '@flowmesh/runtime';

/** What `send` returns when the request needs no waiting: callers may skip a `catch` on it. */
export const SENT: Promise<void> = Promise.resolve();

export interface RequestOutbox {
  /** The executor takes bundles (its StreamFeatures). */
  takeBundles(): void;
  /** Sends a request in order; resolves once the message holding it is written (backpressure). */
  send(req: ExecuteBatchesRequest): Promise<void>;
  /** Writes what waits now (before the call is half-closed). */
  flush(): void;
}

export interface RequestOutboxOptions {
  /** True when the call has no attempt live besides the one being assigned: its assign goes at once. */
  idle?: () => boolean;
}

export function createRequestOutbox(
  write: (req: ExecuteBatchesRequest) => Promise<void>,
  opts: RequestOutboxOptions = {},
): RequestOutbox {
  let bundles = false;
  let scheduled = false;
  const bundle = createMessageBundle<ExecuteBatchesRequest>(write, (more) => ({ tag: 0, msg: undefined, traceContext: {}, more }));
  const flush = (): void => {
    scheduled = false;
    bundle.flush();
  };

  return {
    takeBundles() {
      bundles = true;
    },
    send(req) {
      if (!bundles) return write(req);
      if (bundle.failed !== undefined) return Promise.reject(bundle.failed);
      if (req.msg?.$case === 'data') {
        flush();
        return write(req);
      }
      if (req.msg?.$case === 'assign' && bundle.size === 0 && bundle.draining === undefined && opts.idle?.()) {
        return write(req);
      }
      bundle.add(req);
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
      // The sender goes on at once unless the last bundle still waits for `drain`: backpressure as before.
      return bundle.draining ?? SENT;
    },
    flush,
  };
}
