// Piscina task: runs one batch of a microflow on a worker thread. Compiled flows are cached per thread by
// (flow, revision, source hash), so a thread compiles each flow revision once however many batches it runs.
import { createHash } from 'node:crypto';
import type { MessagePort } from 'node:worker_threads';
import { compileFlow, isOwnedChunk, parseFlow, runBatch } from '@flowmesh/flow';
import type { CompiledFlow, ReferenceTableData } from '@flowmesh/flow';
import type { BatchTask, BatchTaskResult, MainToWorker, WorkerToMain } from './protocol.js';

const MAX_CACHED_FLOWS = 16;
const compiled = new Map<string, Promise<CompiledFlow>>();

export default async function runBatchTask(task: BatchTask): Promise<BatchTaskResult> {
  const { port } = task;
  const link = createLink(port, task.window, task.abortFlag);
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
      rejects: result.rejects.map((r: { line: number; reason: string; step: string; raw: string }) => ({ line: r.line, reason: r.reason, step: r.step, raw: r.raw })),
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

function compiledFlow(task: BatchTask, loadTable: (name: string) => Promise<ReferenceTableData>): Promise<CompiledFlow> {
  const hash = createHash('sha1').update(task.flowSource).digest('hex');
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

/** The worker's side of the per-task channel: credits for chunks, reference-table requests, abort. */
function createLink(port: MessagePort, window: number, abortFlag: Int32Array) {
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
  let nextTableId = 1;
  const tableWaiters = new Map<number, { resolve(v: ReferenceTableData): void; reject(e: Error): void }>();

  port.on('message', (msg: MainToWorker) => {
    if (msg.type === 'credit') {
      credits++;
      const w = creditWaiter;
      creditWaiter = undefined;
      w?.();
    } else if (msg.type === 'table') {
      const waiter = tableWaiters.get(msg.id);
      tableWaiters.delete(msg.id);
      if (msg.error !== undefined) waiter?.reject(new Error(msg.error));
      else waiter?.resolve(msg.data as ReferenceTableData);
    } else if (msg.type === 'abort') {
      abort.abort(new Error('batch cancelled'));
      creditWaiter?.();
    }
  });

  const post = (msg: WorkerToMain, transfer?: ArrayBuffer[]) => port.postMessage(msg, transfer);

  return {
    signal: abort.signal,
    async sendChunk(chunk: Buffer, records: number): Promise<void> {
      abort.signal.throwIfAborted();
      // runBatch's chunks own their ArrayBuffer (isOwnedChunk): transfer it, with the encoder's slack, rather
      // than copy ~256 KiB per chunk. Anything else is copied: transferring a pooled or larger buffer would
      // detach memory still in use here, and cloning a view clones its whole backing buffer.
      const own = isOwnedChunk(chunk) ? new Uint8Array(chunk.buffer, 0, chunk.byteLength) : new Uint8Array(chunk);
      credits--;
      post({ type: 'chunk', data: own, records }, [own.buffer as ArrayBuffer]);
      while (credits <= 0 && !abort.signal.aborted) {
        await new Promise<void>((resolve) => (creditWaiter = resolve));
      }
      abort.signal.throwIfAborted();
    },
    loadTable(name: string): Promise<ReferenceTableData> {
      const id = nextTableId++;
      return new Promise<ReferenceTableData>((resolve, reject) => {
        tableWaiters.set(id, { resolve, reject });
        post({ type: 'table-request', id, name });
      });
    },
    close() {
      post({ type: 'done' });
      port.removeAllListeners('message');
      port.close();
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
