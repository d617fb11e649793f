// What a compiled step is and the per-batch state it works on. A step maps one record to an outcome
// without allocating one: the same record (mutated), a new record, several records, or a sentinel for
// "filtered" / "rejected" (the reason is left in the batch state).
import type { EvalContext } from '../expr/compile-expression.js';
import type { FlowRecord } from '../io/types.js';

export const DROP: unique symbol = Symbol('drop');
export const REJECT: unique symbol = Symbol('reject');

export type StepOutcome = FlowRecord | FlowRecord[] | typeof DROP | typeof REJECT;

/** Mutable state of one batch run (or one init/status run). */
export interface BatchState {
  /** Reused for every record: expressions read `ctx.record`. */
  ctx: EvalContext;
  /** Set by a step that returns REJECT. */
  reason: string;
  /** Counter → key → increments (null for an unkeyed counter); flattened by counterDeltasOf. */
  counters: Map<string, Map<string | null, number>>;
  cacheSets: Record<string, string>;
  logs: string[];
}

export interface SyncStep {
  kind: 'sync';
  name: string;
  run(record: FlowRecord, state: BatchState): StepOutcome;
}

/** A step that works on many records at once with I/O in between (HTTP `call`). */
export interface AsyncStep {
  kind: 'async';
  name: string;
  /** One outcome per input record; `reasons[i]` explains a REJECT at `i`. */
  runMany(records: FlowRecord[], state: BatchState, signal?: AbortSignal): Promise<{ outcomes: StepOutcome[]; reasons: string[] }>;
}

export type CompiledStep = SyncStep | AsyncStep;

export function newBatchState(vars: Record<string, string>, globals: Record<string, unknown>): BatchState {
  return {
    // Copies: flow variables set in one batch are never seen by another; globals are a snapshot plus
    // this batch's own sets.
    ctx: { record: {}, vars: { ...vars }, globals: { ...globals } },
    reason: '',
    counters: new Map(),
    cacheSets: {},
    logs: [],
  };
}

/** `{ name: n }` for unkeyed counters and `{ "name.key": n }` for keyed ones (the trailer's counter_deltas). */
export function counterDeltasOf(state: BatchState): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [counter, byKey] of state.counters) {
    for (const [key, n] of byKey) out[key === null ? counter : `${counter}.${key}`] = n;
  }
  return out;
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message.split('\n')[0] ?? err.name;
  return String(err);
}
