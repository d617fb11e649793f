// Validation of the step lists (`init`, `steps`, `status`): each step is a mapping with a `type` and the
// fields of that type; expressions are type-checked in the scope the step runs in.
import { isMap, isScalar, isSeq, type Node, type YAMLSeq } from 'yaml';
import type { ExprScope } from '../expr/environment.js';
import type { ExpectedType } from '../expr/check-expression.js';
import type { PathPart } from './issues.js';
import type { Step, StepType } from './types.js';
import { describe, MapReader, type IssueSink } from './yaml-reader.js';

export const RECORD_STEP_TYPES: readonly StepType[] = [
  'filter', 'set', 'select', 'rename', 'drop', 'validate', 'lookup', 'call', 'count', 'plugin',
];
export const ONCE_STEP_TYPES: readonly StepType[] = ['set', 'count', 'log', 'validate'];

const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const PLUGIN_FILE = /^[A-Za-z0-9_.-]+\.(mjs|js)$/;

/** Hooks the flow validator provides: expression checks and references, both with positions. */
export interface StepContext {
  sink: IssueSink;
  expr(node: Node | undefined, path: PathPart[], scope: ExprScope, expect?: ExpectedType): string | undefined;
  /** Checks expression text found inside a larger string (a URL template); reports at `node`. */
  exprText(text: string, node: Node | undefined, path: PathPart[], scope: ExprScope): void;
  reference(kind: 'plugin' | 'table', value: string, node: Node | undefined, path: PathPart[]): void;
}

export function validateSteps(
  seq: YAMLSeq | undefined,
  path: PathPart[],
  scope: ExprScope,
  ctx: StepContext,
): Step[] {
  const steps: Step[] = [];
  if (!seq) return steps;
  const allowed = scope === 'record' ? RECORD_STEP_TYPES : ONCE_STEP_TYPES;
  seq.items.forEach((item, index) => {
    const stepPath = [...path, index];
    if (!isMap(item)) {
      ctx.sink.at(item as Node, stepPath, `a step must be a mapping with a "type", got ${describe(item)}`);
      return;
    }
    const r = new MapReader(item, stepPath, ctx.sink);
    const type = r.string('type', { required: true });
    if (type === undefined) return;
    if (!(allowed as readonly string[]).includes(type)) {
      const known = (RECORD_STEP_TYPES as readonly string[]).includes(type) || type === 'log';
      r.issue('type', known
        ? `step type "${type}" is not allowed in ${path.join('')}; allowed: ${allowed.join(', ')}`
        : `unknown step type "${type}"; known: ${[...RECORD_STEP_TYPES, 'log'].join(', ')}`);
      return;
    }
    const name = r.string('name') ?? `${type}#${index}`;
    const step = readStep(type as StepType, name, r, scope, ctx);
    r.done();
    if (step) steps.push(step);
  });
  return steps;
}

function requiredExpr(r: MapReader, key: string, scope: ExprScope, ctx: StepContext, expect?: ExpectedType): string | undefined {
  const node = r.get(key);
  if (node === undefined) {
    ctx.sink.at(r.node, r.sub(key), 'is required');
    return undefined;
  }
  return ctx.expr(node, r.sub(key), scope, expect);
}

function nameList(r: MapReader, key: string, ctx: StepContext): string[] | undefined {
  const seq = r.seq(key);
  if (!seq) {
    if (!r.has(key)) ctx.sink.at(r.node, r.sub(key), 'is required');
    return undefined;
  }
  const out: string[] = [];
  seq.items.forEach((item, i) => {
    if (isScalar(item) && typeof item.value === 'string' && item.value !== '') out.push(item.value);
    else ctx.sink.at(item as Node, [...r.sub(key), i], `must be a field name, got ${describe(item)}`);
  });
  return out;
}

/** `{from: to}` mapping, or a list of names (each mapped to itself). */
function fieldMapping(r: MapReader, key: string, ctx: StepContext, required: boolean): Array<{ from: string; to: string }> | undefined {
  const node = r.get(key);
  if (node === undefined) {
    if (required) ctx.sink.at(r.node, r.sub(key), 'is required');
    return required ? undefined : [];
  }
  if (isSeq(node)) return nameList(r, key, ctx)?.map((n) => ({ from: n, to: n }));
  if (!isMap(node)) {
    ctx.sink.at(node, r.sub(key), `must be a mapping of field names or a list, got ${describe(node)}`);
    return undefined;
  }
  const out: Array<{ from: string; to: string }> = [];
  for (const pair of node.items) {
    const from = isScalar(pair.key) ? String(pair.key.value) : '';
    const to = isScalar(pair.value) && typeof pair.value.value === 'string' ? pair.value.value : undefined;
    if (!to) ctx.sink.at((pair.value ?? pair.key) as Node, [...r.sub(key), from], 'must be a field name');
    else out.push({ from, to });
  }
  return out;
}

function readStep(type: StepType, name: string, r: MapReader, scope: ExprScope, ctx: StepContext): Step | undefined {
  switch (type) {
    case 'filter': {
      const expr = requiredExpr(r, 'expr', scope, ctx, 'bool');
      return expr === undefined ? undefined : { type, name, expr };
    }
    case 'validate': {
      const expr = requiredExpr(r, 'expr', scope, ctx, 'bool');
      const message = r.string('message') ?? `failed: ${expr ?? ''}`;
      return expr === undefined ? undefined : { type, name, expr, message };
    }
    case 'set': {
      const fields = r.map('fields', true);
      if (!fields) return undefined;
      const out: Array<{ target: string; expr: string }> = [];
      for (const pair of fields.node.items) {
        const target = isScalar(pair.key) ? String(pair.key.value) : '';
        const tPath = fields.sub(target);
        const dotted = /^(vars|globals)\.([A-Za-z_][A-Za-z0-9_.-]*)$/.exec(target);
        if (scope !== 'record' && !dotted) {
          ctx.sink.at(pair.key as Node, tPath, 'in init and status steps a set target must be "vars.<name>" or "globals.<name>"');
          continue;
        }
        if (!dotted && !FIELD_NAME.test(target)) {
          ctx.sink.at(pair.key as Node, tPath, `"${target}" is not a field name (letters, digits, _)`);
          continue;
        }
        const expr = ctx.expr((pair.value ?? undefined) as Node | undefined, tPath, scope);
        if (expr !== undefined) out.push({ target, expr });
      }
      return { type, name, fields: out };
    }
    case 'select':
    case 'drop': {
      const fields = nameList(r, 'fields', ctx);
      return fields ? { type, name, fields } : undefined;
    }
    case 'rename': {
      const fields = fieldMapping(r, 'fields', ctx, true);
      return fields ? { type, name, fields } : undefined;
    }
    case 'lookup': {
      const tableNode = r.get('table');
      const table = r.string('table', { required: true });
      if (table !== undefined) ctx.reference('table', table, tableNode, r.sub('table'));
      const key = requiredExpr(r, 'key', scope, ctx);
      const fields = fieldMapping(r, 'fields', ctx, true);
      // `onMiss: null` is YAML's null, not a missing value: it means the "null" mode.
      const missNode = r.pair('onMiss')?.value;
      const onMiss = (isScalar(missNode) && missNode.value === null && missNode.source === 'null'
        ? (r.get('onMiss'), 'null')
        : r.string('onMiss', { allowed: ['reject', 'null', 'keep'] }) ?? 'reject') as 'reject' | 'null' | 'keep';
      if (table === undefined || key === undefined || !fields) return undefined;
      return { type, name, table, key, fields, onMiss };
    }
    case 'call': {
      const url = r.string('url', { required: true });
      if (url !== undefined) {
        // Each {{ … }} placeholder is an expression of its own.
        for (const m of url.matchAll(/\{\{(.*?)\}\}/g)) ctx.exprText(m[1] ?? '', r.get('url'), r.sub('url'), scope);
      }
      const method = (r.string('method', { allowed: ['GET', 'POST'] }) ?? 'GET') as 'GET' | 'POST';
      const bodyNode = r.get('body');
      const body = bodyNode === undefined ? undefined : ctx.expr(bodyNode, r.sub('body'), scope);
      const concurrency = r.int('concurrency', { min: 1, max: 256 }) ?? 8;
      const cacheSize = r.int('cacheSize', { min: 0, max: 1_000_000 }) ?? 1000;
      const timeoutMs = r.int('timeoutMs', { min: 1, max: 600_000 }) ?? 5000;
      const fields = fieldMapping(r, 'fields', ctx, false) ?? [];
      const onError = (r.string('onError', { allowed: ['reject', 'keep'] }) ?? 'reject') as 'reject' | 'keep';
      if (url === undefined) return undefined;
      return { type, name, url, method, ...(body !== undefined ? { body } : {}), concurrency, cacheSize, timeoutMs, fields, onError };
    }
    case 'count': {
      const counter = r.string('counter', { required: true });
      const keyNode = r.get('key');
      const key = keyNode === undefined ? undefined : ctx.expr(keyNode, r.sub('key'), scope);
      if (counter === undefined) return undefined;
      return { type, name, counter, ...(key !== undefined ? { key } : {}) };
    }
    case 'plugin': {
      const modNode = r.get('module');
      const module = r.string('module', { required: true });
      const exportName = r.string('export') ?? 'default';
      if (module === undefined) return undefined;
      if (!PLUGIN_FILE.test(module) || module.startsWith('.')) {
        r.issue('module', `"${module}" must be a plain .mjs or .js file name inside the plugin directory`);
        return undefined;
      }
      ctx.reference('plugin', module, modNode, r.sub('module'));
      return { type, name, module, export: exportName };
    }
    case 'log': {
      const message = requiredExpr(r, 'message', scope, ctx);
      return message === undefined ? undefined : { type, name, message };
    }
  }
}
