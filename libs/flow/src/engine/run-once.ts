// init and status steps: run once on the coordinator, before distribution and after the last batch.
// They may set flow variables (`vars.x`, seen by every batch when set in init), global cache variables
// (`globals.x`), bump counters, log, and validate (a failing init validate fails the job).
import { counterDeltasOf, DROP, newBatchState, REJECT, type SyncStep } from '../steps/step-runtime.js';
import type { AggregateRow } from './aggregates.js';
import type { CompiledFlow } from './compile-flow.js';
import { applyBatchGlobals, type Globals } from './globals.js';

export interface OnceResult {
  vars: Record<string, string>;
  globals: Globals;
  logs: string[];
}

export class FlowStepFailedError extends Error {
  constructor(readonly step: string, readonly reason: string) {
    super(`step "${step}" failed: ${reason}`);
    this.name = 'FlowStepFailedError';
  }
}

export interface InitContext {
  vars: Record<string, string>;
  globals?: Globals;
}

/** What status steps see as `summary` (plus `aggregates` as a list of rows). */
export interface JobSummary {
  vars: Record<string, string>;
  globals: Globals;
  counts: { in: number; out: number; rejected: number; filtered: number };
  aggregates?: AggregateRow[];
  [extra: string]: unknown;
}

function runOnce(steps: SyncStep[], vars: Record<string, string>, globals: Globals, extra: { summary?: Record<string, unknown>; aggregates?: unknown[] }): OnceResult {
  const state = newBatchState(vars, globals);
  if (extra.summary) state.ctx.summary = extra.summary;
  if (extra.aggregates) state.ctx.aggregates = extra.aggregates;
  const record = {};
  for (const step of steps) {
    let r;
    try {
      r = step.run(record, state);
    } catch (err) {
      throw new FlowStepFailedError(step.name, String((err as Error)?.message ?? err).split('\n')[0] ?? '');
    }
    if (r === REJECT) throw new FlowStepFailedError(step.name, state.reason);
    if (r === DROP) break;
  }
  // Counters bumped by once-steps land in globals directly: there is no other batch to merge with.
  const out = applyBatchGlobals(state.ctx.globals, counterDeltasOf(state), {});
  return { vars: state.ctx.vars, globals: out, logs: state.logs };
}

export async function runInit(compiled: CompiledFlow, ctx: InitContext): Promise<OnceResult> {
  return runOnce(compiled.init, ctx.vars, ctx.globals ?? {}, {});
}

export async function runStatus(compiled: CompiledFlow, summary: JobSummary): Promise<OnceResult> {
  const { vars, globals, ...rest } = summary;
  const c = summary.counts;
  // `in` is a CEL reserved word (summary.counts.in does not parse): flat aliases read naturally.
  const view = { ...rest, globals, recordsIn: c.in, recordsOut: c.out, rejected: c.rejected, filtered: c.filtered };
  return runOnce(compiled.status, vars, globals, { summary: view, aggregates: summary.aggregates ?? [] });
}
