// Responses of one ExecuteBatches call, several to a message when the coordinator takes bundles (issue 7,
// target 4). Every gRPC message costs both sides framing, a stream write or read, a decode and an event —
// per tiny batch more than its work — and an executor often has several ready in one turn of its event
// loop (a batch's trailer and the next held batch's `started`). So non-records responses wait until the
// end of the turn (setImmediate) and go out as one message (`more`), in order; a records chunk first
// sends whatever waits, then goes alone (it is relayed as received, without re-encoding). Without the
// coordinator's `takes_bundles` every response goes at once, as before.
import type { ExecuteBatchesResponse } from '@flowmesh/contracts';

export interface ResponseOutbox {
  /** The coordinator takes bundles (its CallFeatures). */
  takeBundles(): void;
  /** Sends a response in order; resolves once the message holding it is written (backpressure). */
  send(res: ExecuteBatchesResponse): Promise<void>;
}

export function createResponseOutbox(write: (res: ExecuteBatchesResponse) => Promise<void>): ResponseOutbox {
  let bundles = false;
  let waiting: ExecuteBatchesResponse[] = [];
  let written: { promise: Promise<void>; resolve: () => void; reject: (err: unknown) => void } | undefined;
  let scheduled = false;

  const flush = (): void => {
    if (waiting.length === 0) return;
    const [first, ...rest] = waiting as [ExecuteBatchesResponse, ...ExecuteBatchesResponse[]];
    const done = written!;
    waiting = [];
    written = undefined;
    write(rest.length > 0 ? { ...first, more: rest } : first).then(done.resolve, done.reject);
  };

  return {
    takeBundles() {
      bundles = true;
    },
    send(res) {
      if (!bundles) return write(res);
      if (res.msg?.$case === 'records') {
        flush();
        return write(res);
      }
      waiting.push(res);
      if (!written) {
        let resolve!: () => void;
        let reject!: (err: unknown) => void;
        const promise = new Promise<void>((s, j) => ((resolve = s), (reject = j)));
        written = { promise, resolve, reject };
      }
      if (!scheduled) {
        scheduled = true;
        setImmediate(() => {
          scheduled = false;
          flush();
        });
      }
      return written.promise;
    },
  };
}
