// The memory of big batches' inputs, given back by the batch threads with each result and read into again
// for the next batch (issue 7 target 5: peak RSS growth 1M → 10M records, bench/README.md "Executors' RSS
// growth (session 8)").
//
// Why: a 4 MiB input is read into a fresh ArrayBuffer and transferred to its batch thread, whose Buffer over
// it lives through the whole batch and so is promoted into the thread's old generation — the memory is
// freed only when a mark-compact finds it dead, every several batches. Each executor held 40–60 MB of
// finished batches' inputs that way at its peaks (the batch thread's external memory, the main thread's
// arrayBuffers), more the longer the job ran. Transferred back, the thread keeps nothing; read into again,
// a job allocates a slot's input memory once instead of once per batch.
//
// Hand-written: a free list of at most `max` ArrayBuffers; nothing in our dependencies pools transferables.

/**
 * Inputs at least this large go back from a batch thread: the ranges read asynchronously into fresh memory
 * (read-range.ts SYNC_READ_MAX_BYTES, 1 MiB, of which ranges larger are read here). Smaller ones are read
 * synchronously and are not worth a transfer back.
 */
export const RETURNED_INPUT_MIN_BYTES = 1024 * 1024;

export interface InputBuffers {
  /** A Buffer of exactly `length` bytes over a kept ArrayBuffer large enough for it, or a fresh one. */
  take(length: number): Buffer;
  /** An input's ArrayBuffer a batch thread gave back (its batch is over): kept for a later `take`. */
  give(memory: ArrayBuffer): void;
  /** ArrayBuffers kept now. */
  readonly kept: number;
}

/**
 * @param max ArrayBuffers kept at most (one per batch thread: each gives one back per batch).
 * @param slack a kept buffer serves a read of at least 1/slack of its size, so that one big batch's memory
 *   does not stay behind a job of small ones. @default 2
 */
export function createInputBuffers(max: number, slack = 2): InputBuffers {
  const free: ArrayBuffer[] = [];
  return {
    take(length) {
      for (let i = free.length - 1; i >= 0; i--) {
        const ab = free[i]!;
        if (ab.byteLength >= length && ab.byteLength <= length * slack) {
          free.splice(i, 1);
          return Buffer.from(ab, 0, length);
        }
      }
      // A fresh ArrayBuffer of exactly `length` bytes (not Node's shared pool): it is transferred to a thread.
      return Buffer.from(new ArrayBuffer(length));
    },
    give(memory) {
      // A detached one (byteLength 0) or one over the bound is left to the collector.
      if (memory.byteLength === 0) return;
      free.push(memory);
      if (free.length > max) free.shift();
    },
    get kept() {
      return free.length;
    },
  };
}
