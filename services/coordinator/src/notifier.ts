// A level-free wake-up for loops that wait for "something changed": take `wait()` before checking state,
// then await it, and no notify in between is lost.
export interface Notifier {
  wait(): Promise<void>;
  notify(): void;
}

export function createNotifier(): Notifier {
  // The promise is made by the first wait() after a notify, not by every notify: a job's driver is notified
  // ~3 times per batch (slot released, output put, attempt ended) and waited on far less often at thousands
  // of tiny batches per second (issue 7, target 4). A notify with nobody waiting costs nothing.
  let current: Promise<void> | undefined;
  let resolve: (() => void) | undefined;
  return {
    wait() {
      current ??= new Promise<void>((r) => (resolve = r));
      return current;
    },
    notify() {
      const done = resolve;
      if (!done) return;
      current = undefined;
      resolve = undefined;
      done();
    },
  };
}
