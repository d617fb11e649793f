// Messages between the executor's main thread and a batch worker, over one MessageChannel per task.
// Chunks flow worker → main with their buffers transferred (no copy); the main thread returns one credit per
// chunk written to the call, so at most `window` chunks are ever queued between them (backpressure).
import type { MessagePort } from 'node:worker_threads';

export interface BatchTask {
  port: MessagePort;
  flow: string;
  flowRevision: number;
  flowSource: string;
  /** Revision of the reference tables a compiled flow may hold: a newer one recompiles it. */
  tablesRevision: number;
  pluginDir?: string;
  input: {
    bytes: Uint8Array;
    format: 'csv' | 'jsonl' | 'lines';
    header?: Uint8Array;
    firstLine: number;
    firstRecord: number;
    batchIndex: number;
    vars: Record<string, string>;
    globals: Record<string, unknown>;
  };
  chunkBytes: number;
  /** Chunks the worker may post before it waits for a credit. */
  window: number;
  /**
   * Set to 1 by the main thread on cancel. Shared memory, so the engine's periodic abort check sees it even
   * while the worker's event loop is blocked in a synchronous transform and cannot receive the abort message.
   */
  abortFlag: Int32Array;
}

/** What a task returns: the batch result without chunk payloads (those went through the port). */
export type BatchTaskResult =
  | {
      ok: true;
      counts: { in: number; out: number; rejected: number; filtered: number };
      rejects: Array<{ line: number; reason: string; step: string; raw: string }>;
      checksum: string;
      chunks: number;
      counterDeltas: Record<string, number>;
      cacheSets: Record<string, string>;
      aggregates: unknown;
    }
  | { ok: false; error: { kind: 'invalid-flow' | 'aborted' | 'failed'; message: string; stack?: string } };

export type WorkerToMain =
  | { type: 'chunk'; data: Uint8Array; records: number }
  | { type: 'table-request'; id: number; name: string }
  // Last message of a task: every chunk before it has been posted.
  | { type: 'done' };

export type MainToWorker =
  | { type: 'credit' }
  | { type: 'table'; id: number; data?: unknown; error?: string }
  | { type: 'abort' };
