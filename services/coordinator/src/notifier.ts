// A level-free wake-up for loops that wait for "something changed": take `wait()` before checking state,
// then await it, and no notify in between is lost.
export interface Notifier {
  wait(): Promise<void>;
  notify(): void;
}

export function createNotifier(): Notifier {
  let resolve!: () => void;
  let current = new Promise<void>((r) => (resolve = r));
  return {
    wait: () => current,
    notify() {
      const done = resolve;
      current = new Promise<void>((r) => (resolve = r));
      done();
    },
  };
}
