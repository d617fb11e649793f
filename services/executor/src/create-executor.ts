// The executor's parts over typed dependencies, without any server: main.ts hosts them, tests can too.
// Lifecycle: RUNNING (accepts batches) → DRAINING (refuses new ones, finishes in-flight) → STOPPED.
import type { ExecutorServiceServer, GetExecutorStatusResponse } from '@flowmesh/contracts';
import { bidi, unary } from '@flowmesh/runtime';
import type { Logger, MeshMetrics } from '@flowmesh/runtime';
import { createBatchPool } from './batch-pool.js';
import type { BatchPool } from './batch-pool.js';
import { createAttemptHandler, createExecuteBatch } from './execute-batch.js';
import { createExecuteBatches } from './execute-batches.js';
import { executorServiceDefinition } from './response-codec.js';
import { noFaults } from './faults.js';
import type { Faults } from './faults.js';
import { createFencing } from './fencing.js';
import type { FileRootLookup } from './file-roots.js';
import { createSlots } from './slots.js';
import { createSourceFiles } from './source-files.js';
import type { Slots } from './slots.js';

export type ExecutorState = 'RUNNING' | 'DRAINING' | 'STOPPED';

export interface ExecutorParts {
  id: string;
  slots: number;
  fileRoots: FileRootLookup;
  /** Root names to advertise in discovery and status. */
  fileRootNames: () => string[];
  loadReferenceTable?: (name: string) => Promise<unknown>;
  /** @default () => 0 */
  tablesRevision?: () => number;
  pluginDir?: string;
  /** @default 1000 */
  heartbeatMs?: number;
  faults?: Faults;
  /** Chunks queued between a worker and its call. @default 4 */
  chunkWindow?: number;
  /** Batch, record and slot metrics (createMeshMetrics over the service meter). @default none */
  metrics?: MeshMetrics;
  /** Where per-batch start (debug) and failure (info) lines go. @default none */
  logger?: Logger;
  /** The result spool (absolute directory) that output parts naming the `@spool` root go to. @default none */
  spoolDir?: string;
}

export interface Executor {
  readonly id: string;
  readonly slots: Slots;
  readonly pool: BatchPool;
  state(): ExecutorState;
  service: { definition: typeof executorServiceDefinition; implementation: ExecutorServiceServer };
  status(): GetExecutorStatusResponse;
  /** Stops accepting batches and resolves when in-flight ones have ended or `graceMs` passed (false then). */
  drain(graceMs: number): Promise<boolean>;
  /** Ends the worker threads (idempotent). */
  close(): Promise<void>;
}

export function createExecutor(parts: ExecutorParts): Executor {
  let state: ExecutorState = 'RUNNING';
  let batchesDone = 0;
  const slots = createSlots(parts.slots);
  const pool = createBatchPool({ threads: parts.slots, window: parts.chunkWindow });
  const fencing = createFencing();
  const sourceFiles = createSourceFiles(parts.fileRoots, { inputs: pool.inputs });
  const noTables = async (name: string): Promise<never> => {
    throw new Error(`reference table "${name}": this executor has no config-store to read it from`);
  };

  let startDraining: () => void = () => {};
  const draining = new Promise<void>((resolve) => (startDraining = resolve));
  const batchDeps = {
    executorId: parts.id,
    slots,
    fencing,
    pool,
    fileRoots: parts.fileRoots,
    sourceFiles,
    ...(parts.spoolDir ? { spoolDir: parts.spoolDir } : {}),
    loadReferenceTable: parts.loadReferenceTable ?? noTables,
    tablesRevision: parts.tablesRevision ?? (() => 0),
    pluginDir: parts.pluginDir,
    heartbeatMs: parts.heartbeatMs ?? 1000,
    faults: parts.faults ?? noFaults,
    accepting: () => state === 'RUNNING',
    ...(parts.metrics ? { metrics: parts.metrics } : {}),
    ...(parts.logger ? { logger: parts.logger } : {}),
    onBatchEnd: (outcome: 'ok' | 'failed' | 'cancelled') => {
      if (outcome === 'ok') batchesDone++;
    },
  };
  const executeBatch = createExecuteBatch(batchDeps);
  const executeBatches = createExecuteBatches({ handle: createAttemptHandler(batchDeps), draining });

  parts.metrics?.observeSlots(() => [{ executor: parts.id, slots: slots.total, busy: slots.busy() }]);

  const status = (): GetExecutorStatusResponse => ({
    executorId: parts.id,
    slots: slots.total,
    slotsBusy: slots.busy(),
    batchesDone,
    fileRoots: parts.fileRootNames(),
  });

  let closing: Promise<void> | undefined;
  return {
    id: parts.id,
    slots,
    pool,
    state: () => state,
    service: {
      definition: executorServiceDefinition,
      implementation: {
        executeBatch: bidi(executeBatch),
        executeBatches: bidi(executeBatches),
        getExecutorStatus: unary(async () => status()),
      },
    },
    status,
    async drain(graceMs) {
      if (state === 'RUNNING') state = 'DRAINING';
      startDraining();
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), graceMs);
      });
      try {
        return await Promise.race([slots.idle().then(() => true), timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    close() {
      state = 'STOPPED';
      startDraining();
      sourceFiles.close();
      closing ??= pool.close();
      return closing;
    },
  };
}
