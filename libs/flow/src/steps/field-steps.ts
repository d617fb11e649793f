// Steps that reshape a record without I/O: filter, set, select, rename, drop, validate, count, log.
import { compileExpression, toJsonValue, type Evaluator } from '../expr/compile-expression.js';
import type { ExprScope } from '../expr/environment.js';
import type { FlowRecord } from '../io/types.js';
import type { CountStep, DropStep, FilterStep, LogStep, RenameStep, SelectStep, SetStep, ValidateStep } from '../spec/types.js';
import { DROP, errorMessage, REJECT, type BatchState, type SyncStep } from './step-runtime.js';

function rejectWith(state: BatchState, err: unknown): typeof REJECT {
  state.reason = errorMessage(err);
  return REJECT;
}

export function filterStep(step: FilterStep, scope: ExprScope): SyncStep {
  const expr = compileExpression(step.expr, scope);
  return {
    kind: 'sync', name: step.name,
    run(record, state) {
      state.ctx.record = record;
      let v: unknown;
      try { v = expr(state.ctx); } catch (err) { return rejectWith(state, err); }
      if (v === true) return record;
      if (v === false) return DROP;
      state.reason = `filter expression gave ${typeof v}, not bool`;
      return REJECT;
    },
  };
}

export function validateStep(step: ValidateStep, scope: ExprScope): SyncStep {
  const expr = compileExpression(step.expr, scope);
  const message = step.message;
  return {
    kind: 'sync', name: step.name,
    run(record, state) {
      state.ctx.record = record;
      let v: unknown;
      // An expression that cannot be evaluated on this record (missing field, bad number) fails validation too.
      try { v = expr(state.ctx); } catch (err) { state.reason = `${message} (${errorMessage(err)})`; return REJECT; }
      if (v === true) return record;
      state.reason = message;
      return REJECT;
    },
  };
}

type Target = { kind: 'field' | 'vars' | 'globals'; key: string; expr: Evaluator };

export function setStep(step: SetStep, scope: ExprScope): SyncStep {
  const targets: Target[] = step.fields.map(({ target, expr }) => {
    const dot = target.indexOf('.');
    const head = dot > 0 ? target.slice(0, dot) : '';
    const kind = head === 'vars' || head === 'globals' ? head : 'field';
    return { kind, key: kind === 'field' ? target : target.slice(dot + 1), expr: compileExpression(expr, scope) };
  });
  const n = targets.length;
  return {
    kind: 'sync', name: step.name,
    run(record, state) {
      const ctx = state.ctx;
      ctx.record = record;
      // In order: a later field sees the value an earlier one assigned.
      for (let i = 0; i < n; i++) {
        const t = targets[i]!;
        let v: unknown;
        try { v = t.expr(ctx); } catch (err) { state.reason = `${t.key}: ${errorMessage(err)}`; return REJECT; }
        if (typeof v === 'bigint' || (typeof v === 'object' && v !== null)) v = toJsonValue(v);
        if (t.kind === 'field') record[t.key] = v;
        else if (t.kind === 'vars') ctx.vars[t.key] = v === null || v === undefined ? '' : String(v);
        else {
          ctx.globals[t.key] = v;
          state.cacheSets[t.key] = typeof v === 'string' ? v : JSON.stringify(v);
        }
      }
      return record;
    },
  };
}

export function selectStep(step: SelectStep): SyncStep {
  const fields = step.fields;
  return {
    kind: 'sync', name: step.name,
    run(record) {
      // A new object (not `delete`): keeps records in V8's fast shape, and in the listed order.
      const out: FlowRecord = {};
      for (let i = 0; i < fields.length; i++) {
        const f = fields[i]!;
        const v = record[f];
        if (v !== undefined) out[f] = v;
      }
      return out;
    },
  };
}

export function dropStep(step: DropStep): SyncStep {
  const dropped = new Set(step.fields);
  return {
    kind: 'sync', name: step.name,
    run(record) {
      const out: FlowRecord = {};
      for (const k in record) if (!dropped.has(k)) out[k] = record[k];
      return out;
    },
  };
}

export function renameStep(step: RenameStep): SyncStep {
  const map = new Map(step.fields.map((f) => [f.from, f.to]));
  return {
    kind: 'sync', name: step.name,
    run(record) {
      const out: FlowRecord = {};
      for (const k in record) out[map.get(k) ?? k] = record[k];
      return out;
    },
  };
}

export function countStep(step: CountStep, scope: ExprScope): SyncStep {
  const key = step.key === undefined ? undefined : compileExpression(step.key, scope);
  const counter = step.counter;
  return {
    kind: 'sync', name: step.name,
    run(record, state) {
      // Keys are counted in a per-counter map: no "name.key" string is built per record.
      let byKey = state.counters.get(counter);
      if (byKey === undefined) {
        byKey = new Map();
        state.counters.set(counter, byKey);
      }
      let k: string | null = null;
      if (key) {
        state.ctx.record = record;
        let v: unknown;
        try { v = key(state.ctx); } catch (err) { return rejectWith(state, err); }
        k = typeof v === 'string' ? v : v === null || v === undefined ? '' : String(v);
      }
      byKey.set(k, (byKey.get(k) ?? 0) + 1);
      return record;
    },
  };
}

export function logStep(step: LogStep, scope: ExprScope): SyncStep {
  const message = compileExpression(step.message, scope);
  return {
    kind: 'sync', name: step.name,
    run(record, state) {
      state.ctx.record = record;
      const v = message(state.ctx);
      state.logs.push(typeof v === 'string' ? v : JSON.stringify(toJsonValue(v)));
      return record;
    },
  };
}
