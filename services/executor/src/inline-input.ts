// Collects a batch's bytes from `data` messages when its file root is not visible to this executor.
// Bounded: the assignment says how many bytes come, and more than that is refused.
import type { ExecuteBatchRequest } from '@flowmesh/contracts';
import { InvalidArgumentError } from '@flowmesh/runtime';

export async function readInline(
  messages: AsyncIterator<ExecuteBatchRequest>,
  length: number,
  signal: AbortSignal,
): Promise<Buffer> {
  // Own ArrayBuffer of exactly `length` bytes, so it can be transferred to the worker thread.
  const bytes = Buffer.from(new ArrayBuffer(length));
  let filled = 0;
  while (filled < length) {
    signal.throwIfAborted();
    const next = await messages.next();
    if (next.done) {
      throw new InvalidArgumentError('data', `stream ended after ${filled} of ${length} inline bytes`);
    }
    const msg = next.value.msg;
    if (msg?.$case !== 'data') throw new InvalidArgumentError('data', 'only data messages may follow assign');
    const chunk = msg.data.data;
    if (filled + chunk.length > length) {
      throw new InvalidArgumentError('data', `more inline bytes than assign.length (${length})`);
    }
    chunk.copy(bytes, filled);
    filled += chunk.length;
  }
  return bytes;
}

export interface InlineSink {
  /** Takes one `data` message's bytes (copied); more than the assigned length makes `read` fail. */
  push(chunk: Uint8Array): void;
  /** All `length` bytes, once they have arrived. */
  read(signal: AbortSignal): Promise<Buffer>;
}

/** The same for an attempt on an ExecuteBatches stream, whose `data` messages arrive by tag. */
export function createInlineSink(length: number): InlineSink {
  const bytes = Buffer.from(new ArrayBuffer(length));
  let filled = 0;
  let problem: string | undefined;
  let wake: (() => void) | undefined;
  return {
    push(chunk) {
      if (filled + chunk.length > length) problem ??= `more inline bytes than assign.length (${length})`;
      else {
        bytes.set(chunk, filled);
        filled += chunk.length;
      }
      wake?.();
    },
    async read(signal) {
      const onAbort = (): void => wake?.();
      signal.addEventListener('abort', onAbort, { once: true });
      try {
        while (filled < length && problem === undefined) {
          signal.throwIfAborted();
          await new Promise<void>((resolve) => (wake = resolve));
        }
      } finally {
        wake = undefined;
        signal.removeEventListener('abort', onAbort);
      }
      signal.throwIfAborted();
      if (problem !== undefined) throw new InvalidArgumentError('data', problem);
      return bytes;
    },
  };
}
