// Messages between the executor's main thread and its batch threads. Each thread runs one batch at a time
// on its standing port (parentPort): `run` starts one, and every message about it carries its id, so a
// late message of an earlier batch is ignored. Chunks flow thread → main with their buffers transferred
// (no copy); the main thread returns credits for chunks written to the call (a few at a time), so at most
// `window` chunks are ever queued between them (backpressure), plus the one the thread holds back: a
// batch's latest chunk is posted when the next one comes, or with the batch's `result`, which comes last.
// Every message wakes the other thread; a 10-record batch needs two (`run`, `result`) instead of four.

export interface BatchTask {
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
  /** Chunks the thread may post before it waits for a credit. */
  window: number;
  /**
   * An output part (file sink or result spool) the thread writes its chunks into itself instead of posting
   * them (worker/part-writer.ts): the temp file the main thread created and checked, which it still commits
   * or discards. Ignored by a batch that runs inline: its chunks go to the hooks as before.
   */
  output?: TaskOutput;
}

export interface TaskOutput {
  /** The part's temp file (already created, empty). */
  file: string;
  /** Test fault `corrupt-part`: flip a bit of the first chunk on disk, after the checksum covered it. */
  corruptFirst?: boolean;
}

/** Given to each thread once, at its start. */
export interface ThreadData {
  /**
   * Set to 1 by the main thread on cancel of the running batch (0 when one starts). Shared memory, so the
   * engine's periodic abort check sees it even while the thread's event loop is blocked in a synchronous
   * transform and cannot receive the abort message.
   */
  abortFlag: Int32Array;
  /**
   * Records of the running batch written to its output part so far (reset to 0 when one starts): shared
   * memory, so the main thread's heartbeats report progress without a message per chunk.
   */
  progress: Int32Array;
}

/** The chunk layout of a part the thread wrote (as a trailer's `part_chunks`). */
export interface PartLayout {
  bytes: number[];
  records: number[];
}

/** What a batch ends with: the batch result without chunk payloads (those went before it). */
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
      /** Set when the thread wrote the batch's output part itself (task.output). */
      part?: PartLayout;
    }
  | { ok: false; error: { kind: 'invalid-flow' | 'aborted' | 'failed'; message: string; stack?: string } };

export type WorkerToMain =
  | { type: 'chunk'; id: number; data: Uint8Array; records: number }
  | { type: 'table-request'; id: number; tableId: number; name: string }
  // Last message of a batch: every chunk before it has been posted.
  // `input`: the batch's input memory, transferred back for a later batch's read (input-buffers.ts).
  | { type: 'result'; id: number; outcome: BatchTaskResult; last?: { data: Uint8Array; records: number }; input?: ArrayBuffer };

export type MainToWorker =
  | { type: 'run'; id: number; task: BatchTask }
  | { type: 'credit'; id: number; n: number }
  | { type: 'table'; id: number; tableId: number; data?: unknown; error?: string }
  | { type: 'abort'; id: number };
