// Group-by aggregates: accumulated per batch into a JSON-safe partial (it travels in the batch trailer as
// a protobuf Struct), merged on the coordinator in any order, finalized into rows once at the end.
// Sums are compensated (Neumaier) and finalized to 15 significant digits so that the same records give
// the same figures however they were split into batches.
import { compileExpression, toJsonValue, type EvalContext, type Evaluator } from '../expr/compile-expression.js';
import type { FlowRecord } from '../io/types.js';
import type { AggregateSpec, MetricOp } from '../spec/types.js';

/** Per metric: count → n; sum → [sum, compensation]; min/max → number|null; avg → [sum, compensation, n]. */
type MetricState = number | null | number[];

export interface AggregateGroup {
  key: unknown[];
  values: MetricState[];
}

/** The partial form: JSON-safe, keyed by the group key's JSON text. */
export interface AggregatePartial {
  groups: Record<string, AggregateGroup>;
}

export type AggregateRow = Record<string, unknown>;

export interface CompiledAggregate {
  spec: AggregateSpec;
  keys: Evaluator[];
  ops: MetricOp[];
  metrics: Array<Evaluator | undefined>;
}

export function compileAggregate(spec: AggregateSpec): CompiledAggregate {
  return {
    spec,
    keys: spec.groupBy.map((g) => compileExpression(g.expr, 'record')),
    ops: spec.metrics.map((m) => m.op),
    metrics: spec.metrics.map((m) => (m.expr === undefined ? undefined : compileExpression(m.expr, 'record'))),
  };
}

/** Per-batch accumulation; groups keyed by the value itself (one key) or the key's JSON (several). */
export interface AggregateAccumulator {
  groups: Map<unknown, AggregateGroup>;
}

export function createAccumulator(): AggregateAccumulator {
  return { groups: new Map() };
}

function groupId(key: unknown[]): string {
  const only = key.length === 1 ? key[0] : undefined;
  return typeof only === 'string' ? `s${only}` : JSON.stringify(key);
}

/** The JSON-safe partial of a batch (what the trailer carries). */
export function toPartial(acc: AggregateAccumulator): AggregatePartial {
  const groups: Record<string, AggregateGroup> = {};
  for (const group of acc.groups.values()) groups[groupId(group.key)] = group;
  return { groups };
}

function initial(op: MetricOp): MetricState {
  if (op === 'count') return 0;
  if (op === 'sum') return [0, 0];
  if (op === 'avg') return [0, 0, 0];
  return null;
}

/** Key values as JSON will carry them: NaN/±Infinity become null, BigInt a number, containers plain JSON. */
function keyValue(v: unknown): unknown {
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'object' && v !== null) return JSON.parse(JSON.stringify(toJsonValue(v))) as unknown;
  return v === undefined ? null : v;
}

function toNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

/** Neumaier step on a [sum, compensation] pair. */
function addTo(acc: number[], x: number): void {
  const s = acc[0]!;
  const t = s + x;
  acc[1]! += Math.abs(s) >= Math.abs(x) ? (s - t) + x : (x - t) + s;
  acc[0] = t;
}

/**
 * Adds one output record. Values that are null, missing or not numeric are skipped by sum/min/max/avg
 * and not counted by `count: <expr>` (documented in docs/flows.md); a plain `count: true` counts rows.
 */
export function accumulate(agg: CompiledAggregate, acc: AggregateAccumulator, ctx: EvalContext, record: FlowRecord): void {
  ctx.record = record;
  const keys = agg.keys;
  let id: unknown;
  let keyValues: unknown[] | undefined;
  if (keys.length === 1) {
    // One key (the common case): the value itself is the Map key, so nothing is built per record.
    const v = keyValue(evalOrNull(keys[0]!, ctx));
    // Containers compare by content, not identity: they group by their JSON text (marked, so no string collides).
    if (typeof v === 'object' && v !== null) {
      keyValues = [v];
      id = `\u0000${JSON.stringify(v)}`;
    } else {
      id = v;
    }
  } else {
    keyValues = keys.map((k) => keyValue(evalOrNull(k, ctx)));
    id = JSON.stringify(keyValues);
  }
  let group = acc.groups.get(id);
  if (group === undefined) {
    group = { key: keyValues ?? [id], values: agg.ops.map(initial) };
    acc.groups.set(id, group);
  }
  const ops = agg.ops;
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i]!;
    const m = agg.metrics[i];
    if (op === 'count' && m === undefined) {
      (group.values[i] as number)++;
      continue;
    }
    const raw = evalOrNull(m!, ctx);
    if (op === 'count') {
      if (raw !== null && raw !== undefined) (group.values[i] as number)++;
      continue;
    }
    const x = toNumber(raw);
    if (x === undefined) continue;
    group.values[i] = step(op, group.values[i]!, x);
  }
}

function evalOrNull(e: Evaluator, ctx: EvalContext): unknown {
  try {
    return e(ctx);
  } catch {
    // A missing field groups under null rather than failing a record that already passed every step.
    return null;
  }
}

function step(op: MetricOp, state: MetricState, x: number): MetricState {
  switch (op) {
    case 'sum': addTo(state as number[], x); return state;
    case 'avg': addTo(state as number[], x); (state as number[])[2]!++; return state;
    case 'min': return state === null || x < (state as number) ? x : state;
    case 'max': return state === null || x > (state as number) ? x : state;
    default: return state;
  }
}

function mergeState(op: MetricOp, a: MetricState, b: MetricState): MetricState {
  switch (op) {
    case 'count': return (a as number) + (b as number);
    case 'sum':
    case 'avg': {
      const out = [...(a as number[])];
      const bb = b as number[];
      addTo(out, bb[0]!);
      addTo(out, bb[1]!);
      if (op === 'avg') out[2] = out[2]! + bb[2]!;
      // addTo put b's compensation into the running sum; re-split to keep the pair shape.
      return out;
    }
    case 'min': return a === null ? b : b === null ? a : Math.min(a as number, b as number);
    case 'max': return a === null ? b : b === null ? a : Math.max(a as number, b as number);
  }
}

/** Merges two partials (either may be empty or undefined); neither input is modified. */
export function mergeAggregates(spec: AggregateSpec, a: AggregatePartial | undefined, b: AggregatePartial | undefined): AggregatePartial {
  const out: AggregatePartial = { groups: {} };
  const ops = spec.metrics.map((m) => m.op);
  for (const src of [a, b]) {
    if (!src?.groups) continue;
    for (const [id, g] of Object.entries(src.groups)) {
      const cur = out.groups[id];
      if (!cur) {
        out.groups[id] = { key: g.key.length ? [...g.key] : keyFromId(id), values: g.values.map((v) => (Array.isArray(v) ? [...v] : v)) };
      } else {
        cur.values = ops.map((op, i) => mergeState(op, cur.values[i]!, g.values[i]!));
      }
    }
  }
  return out;
}

function keyFromId(id: string): unknown[] {
  return id.startsWith('s') ? [id.slice(1)] : (JSON.parse(id) as unknown[]);
}

function finalNumber(x: number): number {
  return Number(x.toPrecision(15));
}

/** Rows sorted by group key: `{ <groupBy names>: key…, <metric names>: value… }`. */
export function finalizeAggregates(spec: AggregateSpec, partial: AggregatePartial | undefined): AggregateRow[] {
  const rows: Array<{ sortKey: string; row: AggregateRow }> = [];
  for (const [id, g] of Object.entries(partial?.groups ?? {})) {
    const key = g.key.length ? g.key : keyFromId(id);
    const row: AggregateRow = {};
    spec.groupBy.forEach((k, i) => { row[k.name] = key[i] ?? null; });
    spec.metrics.forEach((m, i) => {
      const v = g.values[i];
      if (m.op === 'count') row[m.name] = v as number;
      else if (m.op === 'sum') { const s = v as number[]; row[m.name] = finalNumber(s[0]! + s[1]!); }
      else if (m.op === 'avg') { const s = v as number[]; row[m.name] = s[2] ? finalNumber((s[0]! + s[1]!) / s[2]) : null; }
      else row[m.name] = v ?? null;
    });
    rows.push({ sortKey: JSON.stringify(key), row });
  }
  rows.sort((x, y) => (x.sortKey < y.sortKey ? -1 : x.sortKey > y.sortKey ? 1 : 0));
  return rows.map((r) => r.row);
}
