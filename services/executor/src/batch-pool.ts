// The worker threads that run batches, one per slot (small batches of bounded flows run inline instead:
// inline-batch.ts). The main thread only moves bytes — reading ranges,
// writing chunks to calls, heartbeats — so it stays responsive while every core transforms records (issue 6:
// a CPU-busy executor keeps heartbeating).
//
// Hand-written rather than piscina (which ran this until issue 7, target 4): each thread keeps one standing
// port, and a batch is one `run` message on it. A piscina task cost a MessageChannel and a SharedArrayBuffer
// per batch, a port transferred with every task, and the pool's own task bookkeeping — about a quarter of
// the executor's main-thread CPU at thousands of 10-record batches per second (bench/README.md). What it
// gave that we need is kept here: at most one batch per thread, a thread that dies or is terminated is
// replaced, and a batch whose cooperative abort does not land within the grace has its thread terminated.
import { Worker } from 'node:worker_threads';
import type { ReferenceTableData } from '@flowmesh/flow';
import { runsInline } from './inline-batch.js';
import { createInputBuffers, type InputBuffers } from './input-buffers.js';
import { exposeCollectorToBatchThreads } from './worker/old-space-bound.js';
import type { BatchTask, BatchTaskResult, MainToWorker, ThreadData, WorkerToMain } from './worker/protocol.js';
import { runBatchTask } from './worker/run-task.js';

export type BatchJob = Omit<BatchTask, 'window'>;
export type BatchOutcome = BatchTaskResult;

export interface BatchHooks {
  /**
   * Called for each chunk in order; the next chunk is delivered only after this resolves. Not called for
   * a batch whose thread writes `job.output` itself: its outcome then carries the part's layout (`part`).
   */
  onChunk(data: Buffer, records: number): Promise<void>;
  /**
   * Given, when the batch starts on a thread with `job.output`, a reader of the records the thread has
   * written to the part so far (shared memory: heartbeats report progress without a message per chunk).
   */
  watchProgress?(recordsWritten: () => number): void;
  /** Serves a reference table the flow needs (fetched and cached by the main thread). */
  loadTable(name: string): Promise<unknown>;
  signal: AbortSignal;
}

export interface BatchPool {
  readonly threads: number;
  /** Big batches' input memory, given back by the threads with their results (input-buffers.ts). */
  readonly inputs: InputBuffers;
  run(job: BatchJob, hooks: BatchHooks): Promise<BatchOutcome>;
  close(): Promise<void>;
}

export interface BatchPoolOptions {
  threads: number;
  /** Chunks queued between a worker and its call at most. @default 4 */
  window?: number;
  /** After a cancel, how long a worker may take to stop cooperatively before its thread is terminated. @default 2000 */
  abortGraceMs?: number;
  /** Run small batches of bounded flows on the calling thread (inline-batch.ts). @default true */
  inline?: boolean;
  /** Pool-level errors (a thread that died); batches see their own failures through run(). */
  onError?: (err: unknown) => void;
}

const entryFile = new URL('./worker/thread-entry.mjs', import.meta.url);

/** A thread that dies sooner than this after its start (it cannot even load) is replaced only after it. */
const RESPAWN_BACKOFF_MS = 1000;

interface Thread {
  worker: Worker;
  startedAt: number;
  abortFlag: Int32Array;
  progress: Int32Array;
  /** The batch it runs: its messages go there, and its failure if the thread dies. */
  running?: { onMessage(msg: WorkerToMain): void; fail(err: Error): void };
}

export function createBatchPool(opts: BatchPoolOptions): BatchPool {
  const window = opts.window ?? 4;
  // Chunks written before their credits go back in one message; never more than half the window, so the
  // thread always has credits again before it has posted a whole window.
  const creditBatch = Math.max(1, Math.floor(window / 2));
  const abortGraceMs = opts.abortGraceMs ?? 2000;
  exposeCollectorToBatchThreads();
  const idle: Thread[] = [];
  const all = new Set<Thread>();
  // Callers waiting for a thread: at most the slots in use, as the executor's slots admit batches.
  const waiting: Array<{ resolve(t: Thread): void; reject(e: Error): void }> = [];
  let nextId = 1;
  let closed = false;
  const inputs = createInputBuffers(opts.threads);

  const spawn = (): void => {
    const abortFlag = new Int32Array(new SharedArrayBuffer(4));
    const progress = new Int32Array(new SharedArrayBuffer(4));
    const worker = new Worker(entryFile, {
      execArgv: workerExecArgv(),
      workerData: { abortFlag, progress } satisfies ThreadData,
    });
    const t: Thread = { worker, abortFlag, progress, startedAt: Date.now() };
    all.add(t);
    worker.on('message', (msg: WorkerToMain) => t.running?.onMessage(msg));
    worker.on('error', (err: unknown) => {
      opts.onError?.(err);
      t.running?.fail(err instanceof Error ? err : new Error(String(err)));
    });
    worker.on('exit', (code) => {
      t.running?.fail(new Error(`batch thread exited with code ${code}`));
      retire(t);
    });
    give(t);
  };

  /** A thread that is gone (exited, or terminated for a stuck batch) is replaced. */
  const retire = (t: Thread): void => {
    if (!all.delete(t)) return;
    const at = idle.indexOf(t);
    if (at >= 0) idle.splice(at, 1);
    if (closed) return;
    if (Date.now() - t.startedAt >= RESPAWN_BACKOFF_MS) spawn();
    else setTimeout(() => closed || spawn(), RESPAWN_BACKOFF_MS).unref();
  };

  const give = (t: Thread): void => {
    const next = waiting.shift();
    if (next) next.resolve(t);
    else idle.push(t);
  };

  const acquire = (): Promise<Thread> => {
    if (closed) return Promise.reject(new Error('batch pool is closed'));
    const t = idle.pop();
    return t ? Promise.resolve(t) : new Promise((resolve, reject) => waiting.push({ resolve, reject }));
  };

  for (let i = 0; i < opts.threads; i++) spawn();

  // Not async itself: an inline batch's promise is runBatchTask's, without one more async frame around it
  // (thousands of tiny batches per second: issue 7, target 4).
  function run(job: BatchJob, hooks: BatchHooks): Promise<BatchOutcome> {
    // A small batch of a bounded flow: on this thread, no hop (inline-batch.ts).
    if (opts.inline !== false && runsInline(job)) {
      if (hooks.signal.aborted) return Promise.reject(new Error('batch cancelled'));
      // Its chunks (and a part's writes) go through the hooks: no thread writes for it.
      return runBatchTask(
        { ...job, output: undefined, window },
        {
          signal: hooks.signal,
          loadTable: hooks.loadTable as (name: string) => Promise<ReferenceTableData>,
          sendChunk: hooks.onChunk,
        },
      );
    }
    return runOnThread(job, hooks);
  }

  async function runOnThread(job: BatchJob, hooks: BatchHooks): Promise<BatchOutcome> {
    const t = await acquire();
    if (hooks.signal.aborted) {
      give(t);
      throw new Error('batch cancelled');
    }
    const id = nextId++;
    const send = (msg: MainToWorker, transfer?: ArrayBuffer[]): void => t.worker.postMessage(msg, transfer);
    let chain: Promise<void> = Promise.resolve();
    let owed = 0;
    let chainError: unknown;
    let killTimer: NodeJS.Timeout | undefined;
    let settle!: { resolve(o: BatchOutcome): void; reject(e: unknown): void };
    const outcome = new Promise<BatchOutcome>((resolve, reject) => (settle = { resolve, reject }));
    let done = false;
    const finish = (thread: 'free' | 'gone', result: { ok: BatchOutcome } | { err: unknown }): void => {
      if (done) return;
      done = true;
      t.running = undefined;
      hooks.signal.removeEventListener('abort', onAbort);
      if (killTimer) clearTimeout(killTimer);
      if (thread === 'free') give(t);
      if ('ok' in result) settle.resolve(result.ok);
      else settle.reject(result.err);
    };
    const onAbort = (): void => {
      Atomics.store(t.abortFlag, 0, 1);
      send({ type: 'abort', id });
      // A plugin in a tight synchronous loop never sees the cooperative abort: end its thread instead.
      killTimer = setTimeout(() => {
        finish('gone', { err: new Error('batch cancelled') });
        void t.worker.terminate();
      }, abortGraceMs);
      killTimer.unref();
    };

    t.running = {
      onMessage(msg) {
        if (msg.id !== id) return;
        if (msg.type === 'chunk') {
          const data = Buffer.from(msg.data.buffer, msg.data.byteOffset, msg.data.byteLength);
          chain = chain
            .then(() => (chainError === undefined ? hooks.onChunk(data, msg.records) : undefined))
            .then(
              () => {
                // Credits go back a few at a time: a message (and a wake-up of the thread) per chunk cost
                // more than a tiny batch's work. The thread is never left without one (see protocol.ts).
                if (++owed >= creditBatch) {
                  send({ type: 'credit', id, n: owed });
                  owed = 0;
                }
              },
              (err: unknown) => {
                // The call is gone: remember why and stop the worker.
                chainError ??= err;
                Atomics.store(t.abortFlag, 0, 1);
                send({ type: 'abort', id });
              },
            );
        } else if (msg.type === 'table-request') {
          hooks.loadTable(msg.name).then(
            (data) => send({ type: 'table', id, tableId: msg.tableId, data }),
            (err: unknown) =>
              send({
                type: 'table',
                id,
                tableId: msg.tableId,
                error: err instanceof Error ? err.message : String(err),
              }),
          );
        } else {
          // Messages on one port arrive in order, so every chunk is in the chain by now; the last one came
          // with the result.
          const result = msg.outcome;
          const last = msg.last;
          if (msg.input) inputs.give(msg.input);
          if (last) {
            const data = Buffer.from(last.data.buffer, last.data.byteOffset, last.data.byteLength);
            chain = chain
              .then(() => (chainError === undefined ? hooks.onChunk(data, last.records) : undefined))
              .catch((err: unknown) => {
                chainError ??= err;
              });
          }
          void chain.then(() => finish('free', chainError === undefined ? { ok: result } : { err: chainError }));
        }
      },
      fail: (err) => finish('gone', { err }),
    };
    Atomics.store(t.abortFlag, 0, 0);
    Atomics.store(t.progress, 0, 0);
    if (job.output) hooks.watchProgress?.(() => Atomics.load(t.progress, 0));
    hooks.signal.addEventListener('abort', onAbort, { once: true });
    send({ type: 'run', id, task: { ...job, window } }, [job.input.bytes.buffer as ArrayBuffer]);
    return outcome;
  }

  return {
    threads: opts.threads,
    inputs,
    run,
    // Called once no batch runs (after the drain): end the threads now.
    async close() {
      if (closed) return;
      closed = true;
      for (const w of waiting.splice(0)) w.reject(new Error('batch pool is closed'));
      await Promise.all([...all].map((t) => t.worker.terminate()));
      all.clear();
      idle.length = 0;
    },
  };
}

/**
 * Worker threads must load TypeScript through tsx too. The `flowmesh` launcher registers tsx by API (not in
 * execArgv), so add it when missing — by absolute URL, so it resolves whatever the working directory.
 */
const HEAP_FLAG = /^--(initial|max)-(old|semi)-space-size/;

export function workerExecArgv(): string[] {
  // Heap-size flags are process-wide V8 flags that Worker refuses in execArgv (ERR_WORKER_INVALID_EXEC_ARGV).
  const argv = process.execArgv.filter((a) => !a.startsWith('--inspect') && !HEAP_FLAG.test(a));
  return argv.some((a) => a.includes('tsx')) ? argv : [...argv, '--import', import.meta.resolve('tsx')];
}
