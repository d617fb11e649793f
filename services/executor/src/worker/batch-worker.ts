// A batch thread: runs one batch of a microflow at a time, as the main thread's `run` messages on the
// standing port ask (protocol.ts). Compiled flows are cached per thread by (flow, revision, source hash), so
// a thread compiles each flow revision once however many batches it runs.
import { createHash } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { compileFlow, isOwnedChunk, parseFlow, runBatch } from '@flowmesh/flow';
import type { CompiledFlow, ReferenceTableData } from '@flowmesh/flow';
import type { BatchTask, BatchTaskResult, MainToWorker, ThreadData, WorkerToMain } from './protocol.js';

const MAX_CACHED_FLOWS = 16;
const compiled = new Map<string, Promise<CompiledFlow>>();

if (parentPort) serve(parentPort, (workerData as ThreadData).abortFlag);

function serve(port: MessagePort, abortFlag: Int32Array): void {
  let link: ReturnType<typeof createLink> | undefined;
  port.on('message', (msg: MainToWorker) => {
    if (msg.type === 'run') {
      const current = createLink(port, msg.id, msg.task.window, abortFlag);
      link = current;
      void runBatchTask(msg.task, current).then((outcome) => {
        if (link === current) link = undefined;
        // The batch's last chunk travels with its result: one wake-up of the main thread fewer per batch.
        const last = outcome.ok ? current.takeHeld() : undefined;
        port.postMessage(
          { type: 'result', id: msg.id, outcome, last } satisfies WorkerToMain,
          last ? [last.data.buffer as ArrayBuffer] : [],
        );
      });
    } else if (link && msg.id === link.id) {
      link.onMessage(msg);
    }
  });
}

async function runBatchTask(task: BatchTask, link: ReturnType<typeof createLink>): Promise<BatchTaskResult> {
  try {
    let flow: CompiledFlow;
    try {
      flow = await compiledFlow(task, link.loadTable);
    } catch (err) {
      return failure('invalid-flow', err);
    }
    link.signal.throwIfAborted();
    const result = await runBatch(
      flow,
      {
        bytes: toBuffer(task.input.bytes),
        format: task.input.format,
        header: task.input.header && task.input.header.byteLength > 0 ? toBuffer(task.input.header) : undefined,
        firstLine: task.input.firstLine,
        firstRecord: task.input.firstRecord,
        batchIndex: task.input.batchIndex,
        vars: task.input.vars,
        globals: task.input.globals,
      },
      { chunkBytes: task.chunkBytes, signal: link.signal, onChunk: link.sendChunk },
    );
    return {
      ok: true,
      counts: result.counts,
      rejects: result.rejects.map((r: { line: number; reason: string; step: string; raw: string }) => ({
        line: r.line,
        reason: r.reason,
        step: r.step,
        raw: r.raw,
      })),
      checksum: result.checksum,
      chunks: result.chunks,
      counterDeltas: result.counterDeltas,
      cacheSets: result.cacheSets,
      aggregates: result.aggregates,
    };
  } catch (err) {
    return failure(link.signal.aborted ? 'aborted' : 'failed', err);
  } finally {
    link.close();
  }
}

/** sha1 of recent flow sources: every batch carries the source, and hashing it each time showed in profiles. */
const sourceHashes = new Map<string, string>();
function sourceHash(source: string): string {
  let hash = sourceHashes.get(source);
  if (hash === undefined) {
    hash = createHash('sha1').update(source).digest('hex');
    sourceHashes.set(source, hash);
    while (sourceHashes.size > MAX_CACHED_FLOWS) sourceHashes.delete(sourceHashes.keys().next().value as string);
  }
  return hash;
}

function compiledFlow(
  task: BatchTask,
  loadTable: (name: string) => Promise<ReferenceTableData>,
): Promise<CompiledFlow> {
  const hash = sourceHash(task.flowSource);
  const key = `${task.flow}@${task.flowRevision}#${hash}/tables@${task.tablesRevision}`;
  const cached = compiled.get(key);
  if (cached) return cached;
  const entry = compileFlow(parseFlow(task.flowSource), { pluginDir: task.pluginDir, loadReferenceTable: loadTable });
  compiled.set(key, entry);
  // A failed compile is not cached: the next batch gets a fresh try (and the same error, if it is real).
  entry.catch(() => compiled.delete(key));
  while (compiled.size > MAX_CACHED_FLOWS) compiled.delete(compiled.keys().next().value as string);
  return entry;
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

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function failure(kind: 'invalid-flow' | 'aborted' | 'failed', err: unknown): BatchTaskResult {
  const e = err instanceof Error ? err : new Error(String(err));
  return { ok: false, error: { kind, message: e.message, stack: e.stack } };
}
