// The worker-thread pool that runs batches (piscina, one thread per slot). The main thread only moves
// bytes — reading ranges, writing chunks to calls, heartbeats — so it stays responsive while every core
// transforms records (issue 6: a CPU-busy executor keeps heartbeating).
import { MessageChannel } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { BatchTask, BatchTaskResult, MainToWorker, WorkerToMain } from './worker/protocol.js';

export type BatchJob = Omit<BatchTask, 'port' | 'window' | 'abortFlag'>;
export type BatchOutcome = BatchTaskResult;

export interface BatchHooks {
  /** Called for each chunk in order; the next chunk is delivered only after this resolves. */
  onChunk(data: Buffer, records: number): Promise<void>;
  /** Serves a reference table the flow needs (fetched and cached by the main thread). */
  loadTable(name: string): Promise<unknown>;
  signal: AbortSignal;
}

export interface BatchPool {
  readonly threads: number;
  run(job: BatchJob, hooks: BatchHooks): Promise<BatchOutcome>;
  close(): Promise<void>;
}

export interface BatchPoolOptions {
  threads: number;
  /** Chunks queued between a worker and its call at most. @default 4 */
  window?: number;
  /** After a cancel, how long a worker may take to stop cooperatively before its thread is terminated. @default 2000 */
  abortGraceMs?: number;
  /** Pool-level errors (a thread that died); batches see their own failures through run(). */
  onError?: (err: unknown) => void;
}

const workerFile = new URL('./worker/batch-worker.ts', import.meta.url).href;

export function createBatchPool(opts: BatchPoolOptions): BatchPool {
  const window = opts.window ?? 4;
  const abortGraceMs = opts.abortGraceMs ?? 2000;
  const piscina = new Piscina({
    filename: workerFile,
    minThreads: opts.threads,
    maxThreads: opts.threads,
    idleTimeout: 2 ** 31 - 1,
    // Workers await credits on their port during a task; 'sync' atomics would block idle threads only, but
    // 'disabled' keeps every thread's event loop plainly alive.
    atomics: 'disabled',
    execArgv: workerExecArgv(),
  });
  piscina.on('error', (err: unknown) => opts.onError?.(err));

  async function run(job: BatchJob, hooks: BatchHooks): Promise<BatchOutcome> {
    const { port1, port2 } = new MessageChannel();
    const kill = new AbortController();
    let killTimer: NodeJS.Timeout | undefined;
    let chain: Promise<void> = Promise.resolve();
    let chainError: unknown;
    let done: () => void = () => {};
    const allDelivered = new Promise<void>((resolve) => (done = resolve));

    const send = (msg: MainToWorker) => port1.postMessage(msg);
    const abortFlag = new Int32Array(new SharedArrayBuffer(4));
    const onAbort = () => {
      Atomics.store(abortFlag, 0, 1);
      send({ type: 'abort' });
      // A plugin in a tight synchronous loop never sees the cooperative abort: end its thread instead.
      killTimer = setTimeout(() => kill.abort(new Error('batch cancelled')), abortGraceMs);
      killTimer.unref();
    };
    if (hooks.signal.aborted) onAbort();
    else hooks.signal.addEventListener('abort', onAbort, { once: true });

    port1.on('message', (msg: WorkerToMain) => {
      if (msg.type === 'chunk') {
        const data = Buffer.from(msg.data.buffer, msg.data.byteOffset, msg.data.byteLength);
        chain = chain
          .then(() => (chainError === undefined ? hooks.onChunk(data, msg.records) : undefined))
          .then(
            () => send({ type: 'credit' }),
            (err) => {
              // The call is gone: remember why and stop the worker.
              chainError ??= err;
              Atomics.store(abortFlag, 0, 1);
              send({ type: 'abort' });
            },
          );
      } else if (msg.type === 'table-request') {
        hooks.loadTable(msg.name).then(
          (data) => send({ type: 'table', id: msg.id, data }),
          (err) => send({ type: 'table', id: msg.id, error: err instanceof Error ? err.message : String(err) }),
        );
      } else if (msg.type === 'done') {
        // Messages on one port arrive in order, so every chunk is in the chain by now.
        void chain.then(done);
      }
    });

    try {
      const task: BatchTask = { ...job, port: port2, window, abortFlag };
      const transfer = [port2, job.input.bytes.buffer as ArrayBuffer];
      const outcome = (await piscina.run(task, { transferList: transfer, signal: kill.signal })) as BatchOutcome;
      await allDelivered;
      if (chainError !== undefined) throw chainError;
      return outcome;
    } finally {
      hooks.signal.removeEventListener('abort', onAbort);
      if (killTimer) clearTimeout(killTimer);
      port1.close();
    }
  }

  return {
    threads: opts.threads,
    run,
    // Called once no batch runs (after the drain): end the threads now rather than wait on piscina's close,
    // which can stall on a thread it terminated for a cancel.
    close: () => piscina.destroy(),
  };
}

/**
 * Worker threads must load TypeScript through tsx too. The `flowmesh` launcher registers tsx by API (not in
 * execArgv), so add it when missing — by absolute URL, so it resolves whatever the working directory.
 */
const HEAP_FLAG = /^--(initial|max)-(old|semi)-space-size/;

function workerExecArgv(): string[] {
  // Heap-size flags are process-wide V8 flags that Worker refuses in execArgv (ERR_WORKER_INVALID_EXEC_ARGV).
  const argv = process.execArgv.filter((a) => !a.startsWith('--inspect') && !HEAP_FLAG.test(a));
  return argv.some((a) => a.includes('tsx')) ? argv : [...argv, '--import', import.meta.resolve('tsx')];
}
