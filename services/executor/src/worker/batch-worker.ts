// A batch thread: runs one batch of a microflow at a time (run-task.ts), as the main thread's `run` messages
// on the standing port ask (protocol.ts).
import { parentPort, workerData } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { isOwnedChunk } from '@flowmesh/flow';
import type { ReferenceTableData } from '@flowmesh/flow';
import { RETURNED_INPUT_MIN_BYTES } from '../input-buffers.js';
import { createOldSpaceBound, takeCollector } from './old-space-bound.js';
import { openPartWriter } from './part-writer.js';
import type { BatchTask, BatchTaskResult, MainToWorker, ThreadData, WorkerToMain } from './protocol.js';
import { runBatchTask } from './run-task.js';

if (parentPort) serve(parentPort, workerData as ThreadData);

function serve(port: MessagePort, { abortFlag, progress }: ThreadData): void {
  let link: ReturnType<typeof createLink> | undefined;
  const collect = takeCollector();
  const oldSpace = collect ? createOldSpaceBound({ collect }) : undefined;
  port.on('message', (msg: MainToWorker) => {
    if (msg.type === 'run') {
      const current = createLink(port, msg.id, msg.task.window, abortFlag);
      link = current;
      void runWithOutput(msg.task, current, progress)
        .finally(() => current.close())
        .then((outcome) => {
          if (link === current) link = undefined;
          // The batch's last chunk travels with its result: one wake-up of the main thread fewer per batch.
          const last = outcome.ok ? current.takeHeld() : undefined;
          // And its input goes back: the batch is done with it, and kept here it would wait in the old
          // generation for a mark-compact (input-buffers.ts).
          // Its size read before the input is transferred (then detached: 0 bytes).
          const inputBytes = msg.task.input.bytes.byteLength;
          const input = returnableInput(msg.task.input.bytes);
          const transfer: ArrayBuffer[] = [];
          if (last) transfer.push(last.data.buffer as ArrayBuffer);
          if (input) transfer.push(input);
          port.postMessage({ type: 'result', id: msg.id, outcome, last, input } satisfies WorkerToMain, transfer);
          // After the result is out, so the collection (a few ms, a few times per long job) delays no result.
          oldSpace?.afterBatch(inputBytes);
        });
    } else if (link && msg.id === link.id) {
      link.onMessage(msg);
    }
  });
}

/**
 * The input's ArrayBuffer when it goes back to the main thread: a plain (not shared) one of a big batch,
 * the only kind the main thread reads into again. A small batch's input stays here (a message's worth of
 * transfer for memory no read would take).
 */
function returnableInput(bytes: Uint8Array): ArrayBuffer | undefined {
  const ab = bytes.buffer;
  return ab instanceof ArrayBuffer && ab.byteLength >= RETURNED_INPUT_MIN_BYTES ? ab : undefined;
}

/** Runs the task; with `task.output`, its chunks go into the part file here (part-writer.ts), not to the main thread. */
async function runWithOutput(
  task: BatchTask,
  link: ReturnType<typeof createLink>,
  progress: Int32Array,
): Promise<BatchTaskResult> {
  if (!task.output) return runBatchTask(task, link);
  let writer;
  try {
    writer = await openPartWriter(task.output, progress);
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    return { ok: false, error: { kind: 'failed', message: `output part: ${e.message}`, stack: e.stack } };
  }
  const part = writer;
  try {
    const outcome = await runBatchTask(task, {
      signal: link.signal,
      loadTable: link.loadTable,
      sendChunk: (chunk, records) => {
        link.signal.throwIfAborted();
        part.write(chunk, records);
        return Promise.resolve();
      },
    });
    // Closed before the result goes out: the main thread commits (fsync, rename) a file nobody writes.
    await part.close();
    return outcome.ok ? { ...outcome, part: part.layout } : outcome;
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    return { ok: false, error: { kind: link.signal.aborted ? 'aborted' : 'failed', message: e.message, stack: e.stack } };
  } finally {
    await part.close().catch(() => undefined);
  }
}

/** The thread's side of one batch: credits for chunks, reference-table requests, abort. */
function createLink(port: MessagePort, id: number, window: number, abortFlag: Int32Array) {
  const abort = new AbortController();
  // runBatch calls signal.throwIfAborted() every few records from its synchronous loop: consult the shared
  // flag there, so a cancel lands without waiting for this thread's event loop.
  const ownCheck = abort.signal.throwIfAborted.bind(abort.signal);
  Object.defineProperty(abort.signal, 'throwIfAborted', {
    value: () => {
      if (!abort.signal.aborted && Atomics.load(abortFlag, 0) === 1) abort.abort(new Error('batch cancelled'));
      ownCheck();
    },
  });
  let credits = window;
  let creditWaiter: (() => void) | undefined;
  // The latest chunk, posted when the next one comes or with the result (then it costs no message of its own).
  let held: { data: Uint8Array; records: number } | undefined;
  let nextTableId = 1;
  const tableWaiters = new Map<number, { resolve(v: ReferenceTableData): void; reject(e: Error): void }>();

  const onMessage = (msg: MainToWorker): void => {
    if (msg.type === 'credit') {
      credits += msg.n;
      const w = creditWaiter;
      creditWaiter = undefined;
      w?.();
    } else if (msg.type === 'table') {
      const waiter = tableWaiters.get(msg.tableId);
      tableWaiters.delete(msg.tableId);
      if (msg.error !== undefined) waiter?.reject(new Error(msg.error));
      else waiter?.resolve(msg.data as ReferenceTableData);
    } else if (msg.type === 'abort') {
      abort.abort(new Error('batch cancelled'));
      creditWaiter?.();
    }
  };

  const post = (msg: WorkerToMain, transfer?: ArrayBuffer[]) => port.postMessage(msg, transfer);

  return {
    id,
    onMessage,
    signal: abort.signal,
    async sendChunk(chunk: Buffer, records: number): Promise<void> {
      abort.signal.throwIfAborted();
      // runBatch's chunks own their ArrayBuffer (isOwnedChunk): transfer it, with the encoder's slack, rather
      // than copy ~256 KiB per chunk. Anything else is copied: transferring a pooled or larger buffer would
      // detach memory still in use here, and cloning a view clones its whole backing buffer.
      const own = isOwnedChunk(chunk) ? new Uint8Array(chunk.buffer, 0, chunk.byteLength) : new Uint8Array(chunk);
      const previous = held;
      held = { data: own, records };
      if (!previous) return;
      credits--;
      post({ type: 'chunk', id, data: previous.data, records: previous.records }, [
        previous.data.buffer as ArrayBuffer,
      ]);
      while (credits <= 0 && !abort.signal.aborted) {
        await new Promise<void>((resolve) => (creditWaiter = resolve));
      }
      abort.signal.throwIfAborted();
    },
    loadTable(name: string): Promise<ReferenceTableData> {
      const tableId = nextTableId++;
      return new Promise<ReferenceTableData>((resolve, reject) => {
        tableWaiters.set(tableId, { resolve, reject });
        post({ type: 'table-request', id, tableId, name });
      });
    },
    /** The chunk not posted yet (the batch's last), to send with the result. */
    takeHeld() {
      const h = held;
      held = undefined;
      return h;
    },
    close() {
      // A table request still open has no batch to serve any more.
      for (const w of tableWaiters.values()) w.reject(new Error('batch ended'));
      tableWaiters.clear();
    },
  };
}
