// Turns flow text (YAML, or JSON which is YAML) into a FlowSpec with defaults filled in, collecting every
// issue with its line, column and field path rather than stopping at the first.
import { isMap, isScalar, LineCounter, parseDocument, type Node } from 'yaml';
import { checkExpression, type ExpectedType } from '../expr/check-expression.js';
import type { ExprScope } from '../expr/environment.js';
import { formatPath, type FlowIssue, type PathPart } from './issues.js';
import type { FlowReference } from './references.js';
import type {
  AggregateSpec, CsvOptions, Distribute, FlowSink, FlowSource, FlowSpec, GroupKey, Metric, MetricOp, RecordFormat,
} from './types.js';
import { validateSteps, type StepContext } from './validate-steps.js';
import { asMap, describe, IssueSink, MapReader } from './yaml-reader.js';
import { pathProblem, placeholders } from './vars.js';

export interface ValidationResult {
  spec?: FlowSpec;
  issues: FlowIssue[];
  references: FlowReference[];
}

const FORMATS: readonly RecordFormat[] = ['csv', 'jsonl', 'lines'];
const VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const METRIC_OPS: readonly MetricOp[] = ['count', 'sum', 'min', 'max', 'avg'];

export function validateFlowText(text: string): ValidationResult {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const sink = new IssueSink(lines);
  const references: FlowReference[] = [];
  if (doc.errors.length > 0) {
    for (const err of doc.errors) {
      const pos = lines.linePos(err.pos[0]);
      sink.issues.push({ line: pos.line, column: pos.col, path: '', message: `syntax error: ${err.message.split('\n')[0]}` });
    }
    return { issues: sink.issues, references };
  }
  const root = asMap(doc.contents as Node | null, [], sink);
  if (!root) return { issues: sink.issues, references };

  const ctx: StepContext = {
    sink,
    expr: (node, path, scope, expect) => checkExprNode(sink, text, node, path, scope, expect ?? 'any'),
    exprText: (text, node, path, scope) => {
      const problem = checkExpression(text, scope);
      if (problem) sink.at(node, path, problem.message);
    },
    reference: (kind, value, node, path) => references.push({ kind, value, path: formatPath(path), ...sink.pos(node) }),
  };

  const name = root.string('name', { required: true });
  if (name !== undefined && !/^[a-z0-9][a-z0-9_.-]{0,127}$/.test(name)) {
    root.issue('name', 'must be 1–128 characters of a-z, 0-9, ".", "_" or "-", starting with a letter or digit');
  }
  const description = root.string('description') ?? '';
  const vars = readVars(root);
  const source = readSource(root, vars, references, sink);
  const distribute = readDistribute(root, source);
  const init = validateSteps(root.seq('init'), ['init'], 'init', ctx);
  const steps = validateSteps(root.seq('steps'), ['steps'], 'record', ctx);
  const status = validateSteps(root.seq('status'), ['status'], 'status', ctx);
  const aggregate = readAggregate(root, ctx);
  const sinkSpec = readSink(root, vars, references, sink);
  root.done();

  if (sink.issues.length > 0 || name === undefined || !source || !sinkSpec) {
    return { issues: sortIssues(sink.issues), references };
  }
  const spec: FlowSpec = {
    name, description, vars, source, distribute, init, steps, status, sink: sinkSpec,
    ...(aggregate ? { aggregate } : {}),
  };
  return { spec, issues: [], references };
}

function sortIssues(issues: FlowIssue[]): FlowIssue[] {
  return issues.sort((a, b) => a.line - b.line || a.column - b.column);
}

function checkExprNode(sink: IssueSink, source: string, node: Node | undefined, path: PathPart[], scope: ExprScope, expect: ExpectedType): string | undefined {
  if (node === undefined || !isScalar(node) || node.value === null || typeof node.value === 'object') {
    sink.at(node, path, `must be a CEL expression, got ${describe(node)}`);
    return undefined;
  }
  // YAML turns `true` or `1.5` into scalars; as CEL text they mean the same.
  const text = String(node.value);
  const problem = checkExpression(text, scope, expect);
  if (problem) {
    sink.at({ range: [problemOffset(source, node, text, problem.offset)] }, path, problem.message);
    return undefined;
  }
  return text;
}

/** Source offset of `offset` inside a scalar's value, or the scalar's start when it cannot be mapped. */
function problemOffset(source: string, node: Node, text: string, offset: number): number {
  const start = node.range?.[0] ?? 0;
  if (isScalar(node) && (node.type === 'PLAIN' || node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE')) {
    // Single-line scalars without escapes map one to one (quoted ones start after the quote).
    const quotes = node.type === 'PLAIN' ? 0 : 2;
    const raw = source.slice(start, node.range?.[1] ?? start);
    if (raw.length !== text.length + quotes || text.includes('\n')) return start;
    return start + quotes / 2 + offset;
  }
  if (isScalar(node) && (node.type === 'BLOCK_LITERAL' || node.type === 'BLOCK_FOLDED')) {
    // Block scalars: the value's lines are the source lines after the indicator, less their indentation,
    // joined by "\n" (literal) or " " (folded) — one character either way.
    const end = node.range?.[1] ?? start;
    const body = source.slice(start, end);
    let pos = start + body.indexOf('\n') + 1;
    let consumed = 0;
    const lines = body.slice(body.indexOf('\n') + 1).split('\n');
    // The block's indentation is that of its first non-empty line; deeper indentation is part of the value.
    const first = lines.find((l) => l.trim() !== '') ?? '';
    const base = first.length - first.trimStart().length;
    for (const line of lines) {
      const indent = Math.min(base, line.length - line.trimStart().length);
      const content = line.length - indent;
      if (offset <= consumed + content) return pos + indent + (offset - consumed);
      consumed += content + 1;
      pos += line.length + 1;
    }
  }
  return start;
}

function readVars(root: MapReader): Record<string, string> {
  const vars: Record<string, string> = {};
  const r = root.map('vars');
  if (!r) return vars;
  for (const pair of r.node.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '';
    if (!VAR_NAME.test(key)) {
      r.issue(key, `"${key}" is not a variable name (letters, digits, _)`);
      continue;
    }
    const value = r.text(key);
    if (value !== undefined) vars[key] = value;
  }
  return vars;
}

function readCsv(r: MapReader | undefined): CsvOptions {
  const csv: CsvOptions = { delimiter: ',', quote: '"', header: true };
  if (!r) return csv;
  const delimiter = r.string('delimiter');
  if (delimiter !== undefined) {
    if (delimiter.length !== 1 || delimiter.charCodeAt(0) > 0x7f || delimiter === '\n' || delimiter === '\r') r.issue('delimiter', 'must be one ASCII character other than a line break');
    else csv.delimiter = delimiter;
  }
  const quote = r.string('quote');
  if (quote !== undefined) {
    if (quote.length !== 1 || quote.charCodeAt(0) > 0x7f || quote === (delimiter ?? ',')) r.issue('quote', 'must be one ASCII character, different from the delimiter');
    else csv.quote = quote;
  }
  const header = r.bool('header');
  if (header === false) r.issue('header', 'only CSV with a header line is supported');
  r.done();
  return csv;
}

function checkTemplate(r: MapReader, key: string, template: string, vars: Record<string, string>): boolean {
  const problem = pathProblem(template);
  if (problem) {
    r.issue(key, problem);
    return false;
  }
  for (const name of placeholders(template)) {
    if (!(name in vars)) {
      r.issue(key, `unknown variable %${name}% (declare it under vars)`);
      return false;
    }
  }
  return true;
}

function rootRef(r: MapReader, references: FlowReference[], sink: IssueSink): string | undefined {
  const node = r.get('root');
  const root = r.string('root', { required: true });
  if (root !== undefined) references.push({ kind: 'root', value: root, path: formatPath(r.sub('root')), ...sink.pos(node ?? r.node) });
  return root;
}

function readSource(root: MapReader, vars: Record<string, string>, references: FlowReference[], sink: IssueSink): FlowSource | undefined {
  const r = root.map('source', true);
  if (!r) return undefined;
  const type = r.string('type', { required: true, allowed: ['file', 'stream'] });
  const format = (r.string('format', { allowed: FORMATS }) ?? (type === 'stream' ? 'jsonl' : undefined)) as RecordFormat | undefined;
  if (format === undefined && type === 'file' && !r.has('format')) r.issue('format', 'is required');
  const csvReader = r.map('csv');
  const csv = readCsv(csvReader);
  if (csvReader && format !== 'csv') r.issue('csv', 'CSV options apply only to format: csv');
  let out: FlowSource | undefined;
  if (type === 'file') {
    const rootName = rootRef(r, references, sink);
    const path = r.string('path', { required: true });
    if (path !== undefined) checkTemplate(r, 'path', path, vars);
    if (rootName !== undefined && path !== undefined && format) out = { type, root: rootName, path, format, csv };
  } else if (type === 'stream' && format) {
    out = { type, format, csv };
  }
  r.done();
  return out;
}

function readDistribute(root: MapReader, source: FlowSource | undefined): Distribute {
  const d: Distribute = {
    mode: 'distributed',
    batch: source?.type === 'stream' ? { records: 10_000 } : { bytes: 4 * 1024 * 1024 },
    maxInstances: 8,
    order: 'input',
    retries: 3,
    remoteBias: 0,
  };
  const r = root.map('distribute');
  if (!r) return d;
  d.mode = (r.string('mode', { allowed: ['local', 'distributed'] }) ?? d.mode) as Distribute['mode'];
  const b = r.map('batch');
  if (b) {
    const records = b.int('records', { min: 1, max: 10_000_000 });
    const bytes = b.int('bytes', { min: 1024, max: 1024 * 1024 * 1024 });
    if (records !== undefined && bytes !== undefined) b.issue('bytes', 'give either records or bytes, not both');
    else if (records !== undefined) d.batch = { records };
    else if (bytes !== undefined) {
      if (source?.type === 'stream') b.issue('bytes', 'a stream source is batched by records');
      else d.batch = { bytes };
    } else if (!b.has('records') && !b.has('bytes')) root.issue('batch', 'needs records or bytes');
    b.done();
  }
  d.maxInstances = r.int('maxInstances', { min: 1, max: 10_000 }) ?? d.maxInstances;
  d.order = (r.string('order', { allowed: ['input', 'arrival'] }) ?? d.order) as Distribute['order'];
  d.retries = r.int('retries', { min: 0, max: 100 }) ?? d.retries;
  d.remoteBias = r.int('remoteBias', { min: 0, max: 10_000 }) ?? d.remoteBias;
  r.done();
  return d;
}

function readAggregate(root: MapReader, ctx: StepContext): AggregateSpec | undefined {
  const r = root.map('aggregate');
  if (!r) return undefined;
  const groupBy: GroupKey[] = [];
  const seq = r.seq('groupBy');
  seq?.items.forEach((item, i) => {
    const path = [...r.sub('groupBy'), i];
    if (isScalar(item) && typeof item.value === 'string') {
      // A bare field name groups by that field; anything else is an expression named by its text.
      const text = item.value;
      const expr = FIELD_NAME.test(text) ? `record.${text}` : ctx.expr(item, path, 'record');
      if (expr !== undefined) groupBy.push({ name: text, expr });
    } else if (isMap(item)) {
      const g = new MapReader(item, path, ctx.sink);
      const name = g.string('name', { required: true });
      const exprNode = g.get('expr');
      if (exprNode === undefined) ctx.sink.at(item, g.sub('expr'), 'is required');
      const expr = exprNode === undefined ? undefined : ctx.expr(exprNode, g.sub('expr'), 'record');
      g.done();
      if (name !== undefined && expr !== undefined) groupBy.push({ name, expr });
    } else {
      ctx.sink.at(item as Node, path, `must be a field name or {name, expr}, got ${describe(item)}`);
    }
  });
  const metrics: Metric[] = [];
  const m = r.map('metrics', true);
  if (m) {
    for (const pair of m.node.items) {
      const name = isScalar(pair.key) ? String(pair.key.value) : '';
      const mr = asMap(pair.value as Node, m.sub(name), ctx.sink);
      m.get(name);
      if (!mr) continue;
      const ops = mr.node.items.map((p) => (isScalar(p.key) ? String(p.key.value) : ''));
      if (ops.length !== 1 || !(METRIC_OPS as readonly string[]).includes(ops[0] ?? '')) {
        ctx.sink.at(mr.node, mr.path, `must have exactly one of ${METRIC_OPS.join(', ')}`);
        continue;
      }
      const op = ops[0] as MetricOp;
      const node = mr.get(op);
      // `count: true` (or "*") counts rows; any other value is an expression.
      if (op === 'count' && isScalar(node) && (node.value === true || node.value === '*')) {
        metrics.push({ name, op });
      } else {
        const expr = ctx.expr(node, mr.sub(op), 'record');
        if (expr !== undefined) metrics.push({ name, op, expr });
      }
      mr.done();
    }
    if (m.node.items.length === 0) r.issue('metrics', 'needs at least one metric');
  }
  r.done();
  return { groupBy, metrics };
}

function readSink(root: MapReader, vars: Record<string, string>, references: FlowReference[], sink: IssueSink): FlowSink | undefined {
  const r = root.map('sink');
  if (!r) return { type: 'stream' };
  const type = r.string('type', { required: true, allowed: ['stream', 'file'] });
  let out: FlowSink | undefined;
  if (type === 'stream') out = { type };
  else if (type === 'file') {
    const rootName = rootRef(r, references, sink);
    const path = r.string('path', { required: true });
    if (path !== undefined) checkTemplate(r, 'path', path, vars);
    const format = (r.string('format', { allowed: ['jsonl', 'csv'] }) ?? 'jsonl') as 'jsonl' | 'csv';
    const columnsSeq = r.seq('columns');
    const columns = columnsSeq?.items.map((i) => (isScalar(i) ? String(i.value) : ''));
    if (format === 'csv' && !columns) r.issue('format', 'a CSV sink needs columns');
    const layout = r.string('layout', { allowed: ['file', 'parts'] }) as 'file' | 'parts' | undefined;
    if (layout === 'parts' && format !== 'jsonl') r.issue('layout', 'a parts layout keeps the executors\' JSONL parts: format must be jsonl');
    if (rootName !== undefined && path !== undefined)
      out = { type, root: rootName, path, format, ...(columns ? { columns } : {}), ...(layout ? { layout } : {}) };
  }
  r.done();
  return out;
}
