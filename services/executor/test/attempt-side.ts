// One checkout's executor attempt handler, for the in-process A/B benches (attempt-ab.bench.ts: tiny batches;
// big-attempt-ab.bench.ts: big ones). Each side is built from its OWN checkout's modules (`root`), as
// create-executor.ts wires them — real fencing, slots, batch pool and source files — so two checkouts run
// alternated in one process under the same load. Loaded by path, untyped: an older checkout's exports may differ.
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BatchAssignment, ExecuteBatchResponse } from '@flowmesh/contracts';
import { createLogger, createMeshMetrics, serviceMeter } from '@flowmesh/runtime';

export type AttemptHandler = (
  assign: BatchAssignment,
  io: { signal: AbortSignal; send(m: ExecuteBatchResponse): Promise<void>; readInline(): Promise<Buffer> },
) => Promise<void>;

export interface AttemptSide {
  handle: AttemptHandler;
  close(): Promise<void>;
}

/**
 * The handler of the checkout at `root`, reading `file` through a file root named `data` (its directory), with
 * one slot on one batch thread. `extraDeps` is merged into the handler's dependencies (a plugin dir, a spool).
 */
export async function attemptSideOf(root: string, file: string, extraDeps: Record<string, unknown> = {}): Promise<AttemptSide> {
  const load = async (rel: string): Promise<Record<string, unknown>> =>
    (await import(pathToFileURL(join(root, 'services/executor/src', rel)).href)) as Record<string, unknown>;
  const fn = <T>(mod: Record<string, unknown>, name: string): T => mod[name] as T;
  const [eb, fencing, slots, pool, faults, roots] = await Promise.all(
    ['execute-batch.ts', 'fencing.ts', 'slots.ts', 'batch-pool.ts', 'faults.ts', 'file-roots.ts'].map(load),
  );
  // Older checkouts read the range per batch and have no source files.
  const sources = await load('source-files.ts').catch(() => undefined);
  const fileRoots = fn<(r: Record<string, string>) => unknown>(roots!, 'staticFileRoots')({ data: dirname(file) });
  const batchPool = fn<(o: { threads: number }) => { close(): Promise<void> }>(pool!, 'createBatchPool')({ threads: 1 });
  const deps = {
    executorId: 'bench',
    slots: fn<(n: number) => unknown>(slots!, 'createSlots')(1),
    fencing: fn<() => unknown>(fencing!, 'createFencing')(),
    pool: batchPool,
    fileRoots,
    ...(sources ? { sourceFiles: fn<(l: unknown) => unknown>(sources, 'createSourceFiles')(fileRoots) } : {}),
    loadReferenceTable: async () => undefined,
    tablesRevision: () => 0,
    heartbeatMs: 1000,
    faults: faults!['noFaults'],
    accepting: () => true,
    onBatchEnd: () => undefined,
    metrics: createMeshMetrics(serviceMeter('bench')),
    logger: createLogger('executor', { level: 'info' }),
    ...extraDeps,
  };
  return { handle: fn<(d: unknown) => AttemptHandler>(eb!, 'createAttemptHandler')(deps), close: () => batchPool.close() };
}
