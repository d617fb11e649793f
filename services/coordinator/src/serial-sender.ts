// One writer for a caller's stream: record chunks are sent one at a time, each awaiting drain
// (backpressure), and a progress event is only sent when nothing else is being written — a slow caller
// gets fewer progress events rather than a growing queue of them.
export interface SerialSender<T> {
  /** Sends after any write in progress; resolves when the stream has taken it. */
  send(msg: T): Promise<void>;
  /** Sends only when idle; returns false when skipped. */
  trySend(msg: T): boolean;
}

export function createSerialSender<T>(
  write: (msg: T) => Promise<void>,
  onError: (err: unknown) => void,
): SerialSender<T> {
  let tail: Promise<void> = Promise.resolve();
  let busy = 0;
  const enqueue = (msg: T): Promise<void> => {
    busy++;
    const next = tail.then(() => write(msg));
    tail = next.then(
      () => void busy--,
      () => void busy--,
    );
    return next;
  };
  return {
    send: enqueue,
    trySend(msg) {
      if (busy > 0) return false;
      enqueue(msg).catch(onError);
      return true;
    },
  };
}
