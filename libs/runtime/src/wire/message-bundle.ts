// The messages one side of a bidirectional stream has ready, written as one message (issue 7, target 4).
// Both ends of ExecuteBatches bundle: the coordinator its assigns and cancels of one turn
// (services/coordinator/src/request-outbox.ts), the executor its `started`, records and trailers
// (services/executor/src/response-outbox.ts). When to write differs (end of the turn; held for what is about
// to follow); what a bundle is and how its write is tracked is the same, and lives here: one item goes as
// itself, several as `wrap(items)` (a message of their type carrying them in `more`); the last write is kept
// while it waits for the call's buffer to drain (senders wait for it: backpressure), and the first failed
// write fails what is sent after it.

export interface MessageBundle<T> {
  /** Items waiting for the next write. */
  readonly size: number;
  /** Adds an item to the next write, in order. */
  add(item: T): void;
  /** Writes what waits now: one message, or nothing when nothing waits. */
  flush(): void;
  /** The last write while it waits for `drain`; undefined once it is written. */
  readonly draining: Promise<void> | undefined;
  /** The first failed write's error, undefined while every write succeeded. */
  readonly failed: unknown;
}

export function createMessageBundle<T>(write: (message: T) => Promise<void>, wrap: (items: T[]) => T): MessageBundle<T> {
  let waiting: T[] = [];
  let draining: Promise<void> | undefined;
  let failed: unknown;
  return {
    get size() {
      return waiting.length;
    },
    get draining() {
      return draining;
    },
    get failed() {
      return failed;
    },
    add(item) {
      waiting.push(item);
    },
    flush() {
      if (waiting.length === 0) return;
      const message = waiting.length === 1 ? waiting[0]! : wrap(waiting);
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
    },
  };
}
