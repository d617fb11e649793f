// Pull-based reading of a gRPC stream one message at a time, without Node's async iterator: that
// iterator destroys the stream when the reading side ends, and on a server duplex call that also kills
// the writing side — a caller that half-closes after `start` would never get its results.
import type { Readable } from 'node:stream';

export interface MessageReader<T> {
  /** The next message, or undefined at the end of the stream; rejects with the stream's error. */
  next(): Promise<T | undefined>;
}

export function messageReader<T>(stream: Readable): MessageReader<T> {
  let ended = false;
  let failure: unknown;
  let wake: (() => void) | undefined;
  const poke = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  stream.on('readable', poke);
  stream.once('end', () => {
    ended = true;
    poke();
  });
  stream.once('error', (err) => {
    failure = err;
    poke();
  });
  stream.once('close', () => {
    ended = true;
    poke();
  });
  return {
    async next() {
      for (;;) {
        // Buffered messages first: an error after them must not hide them.
        const msg = stream.read() as T | null;
        if (msg !== null) return msg;
        if (failure !== undefined) throw failure;
        if (ended) return undefined;
        await new Promise<void>((resolve) => (wake = resolve));
      }
    },
  };
}
