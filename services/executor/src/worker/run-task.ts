// One batch of a microflow: compile (cached) and runBatch, as a batch thread runs it, or the main thread for
// a small batch of a bounded flow (inline-batch.ts). Compiled flows are cached per thread by (flow,
// revision, source hash, tables revision), so a thread compiles each flow revision once however many
// batches it runs.
import { createHash } from 'node:crypto';
import { compileFlow, parseFlow, runBatch } from '@flowmesh/flow';
import type { CompiledFlow, ReferenceTableData } from '@flowmesh/flow';
import type { BatchTask, BatchTaskResult } from './protocol.js';

const MAX_CACHED_FLOWS = 16;
const compiled = new Map<string, Promise<CompiledFlow>>();

/** What running a batch needs from where it runs: a batch thread's link, or the main thread's hooks. */
export interface TaskIo {
  signal: AbortSignal;
  loadTable(name: string): Promise<ReferenceTableData>;
  sendChunk(chunk: Buffer, records: number): Promise<void>;
}

export async function runBatchTask(task: BatchTask, link: TaskIo): Promise<BatchTaskResult> {
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
  task: Pick<BatchTask, 'flow' | 'flowRevision' | 'flowSource' | 'tablesRevision' | 'pluginDir'>,
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

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function failure(kind: 'invalid-flow' | 'aborted' | 'failed', err: unknown): BatchTaskResult {
  const e = err instanceof Error ? err : new Error(String(err));
  return { ok: false, error: { kind, message: e.message, stack: e.stack } };
}
