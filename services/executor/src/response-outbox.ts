// Responses of one ExecuteBatches call, several to a message when the coordinator takes bundles (issue 7,
// target 4). Every gRPC message costs both sides framing, a stream write or read, a decode and an event —
// per tiny batch more than its work — and an executor often has several ready in one turn of its event
// loop (a tiny batch's records chunk and trailer, and the next held batch's `started`). So responses wait
// until the end of the turn (setImmediate) and go out as one message, in order: `more` of a message that
// has no response of its own (tag 0). A large records chunk (> BUNDLED_RECORDS_MAX) first sends whatever
// waits, then goes alone, so the coordinator reads it without a copy and relays it as received. Without the
// coordinator's `takes_bundles` every response goes at once, as before.
import type { ExecuteBatchesResponse } from '@flowmesh/contracts';

/** Records chunks up to this many bytes travel in bundles (a copy of them costs less than a message). */
export const BUNDLED_RECORDS_MAX = 16 * 1024;

export interface ResponseOutbox {
  /** The coordinator takes bundles (its CallFeatures). */
  takeBundles(): void;
  /** Sends a response in order; resolves once the message holding it is written (backpressure). */
  send(res: ExecuteBatchesResponse): Promise<void>;
}

export function createResponseOutbox(write: (res: ExecuteBatchesResponse) => Promise<void>): ResponseOutbox {
  let bundles = false;
  let waiting: ExecuteBatchesResponse[] = [];
  let scheduled = false;
  // The last bundle's write while it waits for the call's buffer to drain: senders wait for it.
  let draining: Promise<void> | undefined;
  let failed: unknown;

  const flush = (): void => {
    if (waiting.length === 0) return;
    const message = waiting.length === 1 ? waiting[0]! : { tag: 0, msg: undefined, more: waiting };
    waiting = [];
    const written = write(message);
    draining = written;
    written.then(
      () => {
        if (draining === written) draining = undefined;
      },
      (err: unknown) => {
        failed ??= err;
        if (draining === written) draining = undefined;
      },
    );
  };

  return {
    takeBundles() {
      bundles = true;
    },
    send(res) {
      if (!bundles) return write(res);
      if (failed !== undefined) return Promise.reject(failed);
      const records = res.msg?.$case === 'records' ? res.msg.records : undefined;
      if (records && (records.data.length > BUNDLED_RECORDS_MAX || records.records.length > 0)) {
        flush();
        return write(res);
      }
      waiting.push(res);
      if (!scheduled) {
        scheduled = true;
        setImmediate(() => {
          scheduled = false;
          flush();
        });
      }
      // The sender goes on at once — so a tiny batch's `started`, records and trailer, produced in one
      // turn, share a message — unless the last bundle still waits for `drain`: backpressure as before.
      // (A failed write fails the call's later sends; the call's end aborts its attempts anyway.)
      return draining ?? Promise.resolve();
    },
  };
}
