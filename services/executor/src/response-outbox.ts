// Responses of one ExecuteBatches call, several to a message when the coordinator takes bundles (issue 7,
// target 4). Every gRPC message costs both sides framing, a stream write or read, a decode and an event —
// per tiny batch more than its work — and an executor often has several ready in one turn of its event
// loop (a tiny batch's records chunk and trailer, and the next held batch's `started`). So responses wait
// until the end of the turn (setImmediate) and go out as one message, in order: `more` of a message that
// has no response of its own (tag 0). A large records chunk (> BUNDLED_RECORDS_MAX) first sends whatever
// waits, then goes alone, so the coordinator reads it without a copy and relays it as received. Without the
// coordinator's `takes_bundles` every response goes at once, as before.
// Across turns (issue 7, target 4, session 5): while another attempt of the call is about to answer (tiny
// batches sent ahead, waiting for the slot), a bundle waits for it too — up to HOLD_FINALS attempts' ends or
// HOLD_MS — so a run of tiny batches costs one message per few batches, and the coordinator, getting their
// trailers together, sends the next few assigns together. A call with nothing more coming flushes at the end
// of the turn as before (a one-batch job waits for nothing).
// The call ends only after `close()`: what waits is written first. A call that ended (OK) with a response
// still in the bundle lost it — a draining executor's last trailer (the call ends once nothing is live), so
// the coordinator saw the batch stream end without it and ran the finished batch again; and when an earlier
// write was still in flight, the write after end destroyed the call's stream before grpc-js sent any
// status, so the call hung until the coordinator's silence watchdog failed the attempt (chaos
// executor-sigterm: "batches were retried").
import type { ExecuteBatchesResponse } from '@flowmesh/contracts';
import { CancelledError, createMessageBundle } from '@flowmesh/runtime';

/** Records chunks up to this many bytes travel in bundles (a copy of them costs less than a message). */
export const BUNDLED_RECORDS_MAX = 16 * 1024;
/** A bundle held for more responses goes once it ends this many attempts (trailers and errors)… */
export const HOLD_FINALS = 12;
/** …or once it has waited this long. */
export const HOLD_MS = 3;
/** …or holds this many bytes of records. */
const HOLD_BYTES = 64 * 1024;

export interface ResponseOutboxOptions {
  /** True while another attempt of the call will answer soon (it runs or waits for the slot): a bundle may wait for it. */
  moreComing?: () => boolean;
  /** How long a held bundle may wait. @default HOLD_MS (a test of the other hold rules sets it long). */
  holdMs?: number;
}

export interface ResponseOutbox {
  /** The coordinator takes bundles (its CallFeatures). */
  takeBundles(): void;
  /** Sends a response in order; resolves once the message holding it is written (backpressure). */
  send(res: ExecuteBatchesResponse): Promise<void>;
  /**
   * Writes what waits now (a held bundle too) and resolves once that write is taken (never rejects: a
   * broken call has nobody to answer); a send after it is refused. Call it before the call ends.
   */
  close(): Promise<void>;
}

export function createResponseOutbox(
  write: (res: ExecuteBatchesResponse) => Promise<void>,
  opts: ResponseOutboxOptions = {},
): ResponseOutbox {
  const moreComing = opts.moreComing;
  const holdMs = opts.holdMs ?? HOLD_MS;
  let bundles = false;
  let scheduled = false;
  let closed = false;
  const bundle = createMessageBundle<ExecuteBatchesResponse>(write, (more) => ({ tag: 0, msg: undefined, more }));
  // What the waiting bundle holds (for the hold rule), and its cap timer while it is held.
  let finals = 0;
  let bytes = 0;
  let heldSince = 0;
  let holdTimer: NodeJS.Timeout | undefined;

  const flush = (): void => {
    if (holdTimer) {
      clearTimeout(holdTimer);
      holdTimer = undefined;
    }
    if (bundle.size === 0) return;
    finals = 0;
    bytes = 0;
    heldSince = 0;
    bundle.flush();
  };

  // At the end of the turn: send the bundle, or hold it for what is about to follow (see the header).
  const endOfTurn = (): void => {
    scheduled = false;
    if (bundle.size === 0) return;
    const now = Date.now();
    if (heldSince === 0) heldSince = now;
    const hold =
      moreComing !== undefined &&
      finals < HOLD_FINALS &&
      bytes < HOLD_BYTES &&
      now - heldSince < holdMs &&
      bundle.draining === undefined &&
      moreComing();
    if (!hold) {
      flush();
      return;
    }
    if (!holdTimer) holdTimer = setTimeout(flush, holdMs);
  };

  return {
    takeBundles() {
      bundles = true;
    },
    send(res) {
      if (closed) return Promise.reject(new CancelledError('the batch stream has ended'));
      if (!bundles) return write(res);
      if (bundle.failed !== undefined) return Promise.reject(bundle.failed);
      const records = res.msg?.$case === 'records' ? res.msg.records : undefined;
      if (records && (records.data.length > BUNDLED_RECORDS_MAX || records.records.length > 0)) {
        flush();
        return write(res);
      }
      bundle.add(res);
      const kind = res.msg?.$case;
      if (kind === 'trailer' || kind === 'error') finals++;
      if (records) bytes += records.data.length;
      if (!scheduled) {
        scheduled = true;
        setImmediate(endOfTurn);
      }
      // The sender goes on at once — so a tiny batch's `started`, records and trailer, produced in one
      // turn, share a message — unless the last bundle still waits for `drain`: backpressure as before.
      // (A failed write fails the call's later sends; the call's end aborts its attempts anyway.)
      return bundle.draining ?? Promise.resolve();
    },
    close() {
      closed = true;
      flush();
      return (bundle.draining ?? Promise.resolve()).catch(() => undefined);
    },
  };
}
