// Runs async tasks one at a time, in submission order: the embedded store's single writer.

export function createSerialQueue(): <T>(task: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(task: () => Promise<T>): Promise<T> => {
    const run = tail.then(task, task);
    // Keep the chain alive whatever the task's outcome; the caller sees the outcome through `run`.
    tail = run.catch(() => undefined);
    return run;
  };
}
