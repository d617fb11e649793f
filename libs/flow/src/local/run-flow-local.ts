// runFlowLocal: a whole flow in one process, no distribution — the oracle the end-to-end tests compare
// the mesh against. It follows the coordinator's steps (vars, init, header read once, batches, globals,
// aggregates merged, status) with one batch over the whole input unless `batchRecords` asks for more.
import { mkdir, open, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { compileFlow } from '../engine/compile-flow.js';
import { finalizeAggregates, mergeAggregates, type AggregatePartial, type AggregateRow } from '../engine/aggregates.js';
import { applyBatchGlobals, type Globals } from '../engine/globals.js';
import { runBatch, type BatchCounts, type Reject } from '../engine/run-batch.js';
import { runInit, runStatus } from '../engine/run-once.js';
import { decodeRecords } from '../io/decode-records.js';
import { encodeCsv } from '../io/encode-csv.js';
import { partFileName } from '../io/parts-layout.js';
import { readHeader } from '../io/read-header.js';
import { parseFlow } from '../spec/parse-flow.js';
import { resolvePath, resolveVars, FlowPathError } from '../spec/vars.js';
import type { ReferenceTableData } from '../steps/lookup-step.js';

export interface LocalRunOptions {
  /** Root name → absolute directory. */
  fileRoots?: Record<string, string>;
  /** Overrides of the flow's variables. */
  vars?: Record<string, string>;
  /** Input bytes instead of the source file (required for stream sources). */
  input?: Buffer;
  pluginDir?: string;
  referenceTables?: Record<string, ReferenceTableData>;
  /** Split the input into batches of this many bytes' worth of records (exercises merging). */
  batchRecords?: number;
  /** Write a file sink (atomically). @default true */
  writeSink?: boolean;
}

export interface LocalRunResult {
  /** JSONL output in input order. */
  output: Buffer;
  rejects: Reject[];
  counts: BatchCounts;
  aggregates?: AggregateRow[];
  globals: Globals;
  vars: Record<string, string>;
  logs: string[];
}

function underRoot(roots: Record<string, string>, root: string, path: string): string {
  const base = roots[root];
  if (base === undefined) throw new FlowPathError(`unknown file root "${root}"`);
  const full = resolve(join(base, path));
  if (!full.startsWith(resolve(base) + sep)) throw new FlowPathError(`"${path}" leaves file root "${root}"`);
  return full;
}

export async function runFlowLocal(source: string, opts: LocalRunOptions = {}): Promise<LocalRunResult> {
  const spec = parseFlow(source);
  const roots = opts.fileRoots ?? {};
  const tables = opts.referenceTables ?? {};
  const compiled = await compileFlow(spec, {
    ...(opts.pluginDir !== undefined ? { pluginDir: opts.pluginDir } : {}),
    loadReferenceTable: async (name) => {
      const t = tables[name];
      if (!t) throw new Error(`unknown reference table "${name}"`);
      return t;
    },
  });
  const init = await runInit(compiled, { vars: resolveVars(spec, opts.vars ?? {}) });
  const vars = init.vars;
  let globals = init.globals;
  const logs = [...init.logs];

  let bytes: Buffer;
  let header: Buffer | undefined;
  let firstLine = 1;
  const format = spec.source.format;
  if (opts.input !== undefined) {
    bytes = opts.input;
  } else if (spec.source.type === 'file') {
    const file = underRoot(roots, spec.source.root, resolvePath(spec.source.path, vars));
    const fh = await open(file, 'r');
    try {
      const info = await readHeader(fh, format, { delimiter: spec.source.csv.delimiter, quote: spec.source.csv.quote });
      const whole = await fh.readFile();
      bytes = whole.subarray(info.dataOffset);
      if (format === 'csv') header = info.header;
      firstLine = info.firstLine;
    } finally {
      await fh.close();
    }
  } else {
    throw new FlowPathError('a stream source needs `input`');
  }

  const batches = opts.batchRecords ? splitByRecords(bytes, format, header, spec.source.csv, firstLine, opts.batchRecords) : [{ bytes, firstLine }];
  const parts: Buffer[] = [];
  // Where each batch's output starts in `parts` (a `parts` layout sink writes a file per batch).
  const batchStarts: number[] = [];
  const rejects: Reject[] = [];
  const counts: BatchCounts = { in: 0, out: 0, rejected: 0, filtered: 0 };
  let partial: AggregatePartial | undefined;
  let firstRecord = 0;
  for (const [index, b] of batches.entries()) {
    batchStarts.push(parts.length);
    const result = await runBatch(compiled, {
      bytes: b.bytes, format, ...(header ? { header } : {}), firstLine: b.firstLine, firstRecord, batchIndex: index, vars, globals,
    }, { onChunk: (chunk) => { parts.push(chunk); } });
    firstRecord += result.counts.in;
    for (const k of ['in', 'out', 'rejected', 'filtered'] as const) counts[k] += result.counts[k];
    rejects.push(...result.rejects);
    logs.push(...result.logs);
    globals = applyBatchGlobals({ ...globals }, result.counterDeltas, result.cacheSets);
    if (spec.aggregate) partial = mergeAggregates(spec.aggregate, partial, result.aggregates);
  }
  const aggregates = spec.aggregate ? finalizeAggregates(spec.aggregate, partial) : undefined;
  const status = await runStatus(compiled, { vars, globals, counts, ...(aggregates ? { aggregates } : {}) });
  globals = status.globals;
  logs.push(...status.logs);
  const output = Buffer.concat(parts);

  const sinkTarget = spec.sink.type === 'file' && (opts.writeSink ?? true)
    ? underRoot(roots, spec.sink.root, resolvePath(spec.sink.path, vars))
    : undefined;
  if (sinkTarget !== undefined && spec.sink.type === 'file' && spec.sink.layout === 'parts') {
    // A directory of one JSONL part per batch, as the mesh's coordinator leaves it; made beside, then renamed.
    const target = sinkTarget;
    const tmp = `${target}.tmp-${process.pid}`;
    await rm(tmp, { recursive: true, force: true });
    await mkdir(tmp, { recursive: true });
    for (const [index, start] of batchStarts.entries()) {
      const end = batchStarts[index + 1] ?? parts.length;
      await writeFile(join(tmp, partFileName(index)), Buffer.concat(parts.slice(start, end)));
    }
    await rm(target, { recursive: true, force: true });
    await rename(tmp, target);
  } else if (sinkTarget !== undefined && spec.sink.type === 'file') {
    const target = sinkTarget;
    const data = spec.sink.format === 'csv'
      ? encodeCsv(decodeRecords('jsonl', output).records, spec.sink.columns ?? [])
      : output;
    await mkdir(dirname(target), { recursive: true });
    // Write-then-rename: no half-written output is ever visible.
    const tmp = `${target}.tmp-${process.pid}`;
    await writeFile(tmp, data);
    await rename(tmp, target);
  }
  return { output, rejects, counts, ...(aggregates ? { aggregates } : {}), globals, vars, logs };
}

/** Splits at record boundaries by decoding once (local runs only; the mesh plans by offset). */
function splitByRecords(bytes: Buffer, format: 'csv' | 'jsonl' | 'lines', header: Buffer | undefined, csv: { delimiter: string; quote: string },
  firstLine: number, per: number): Array<{ bytes: Buffer; firstLine: number }> {
  // Record starts are found from the decoded line numbers: line k starts after the (k - firstLine)th LF.
  const decoded = decodeRecords(format, bytes, { ...(header ? { fields: decodeRecords('csv', header).fields ?? [] } : {}), ...csv, firstLine });
  const starts = [...decoded.lines, ...decoded.errors.map((e) => e.line)].sort((a, b) => a - b);
  const lineOffsets: number[] = [0];
  for (let i = 0; i < bytes.length; i++) if (bytes[i] === 0x0a) lineOffsets.push(i + 1);
  const out: Array<{ bytes: Buffer; firstLine: number }> = [];
  for (let i = 0; i < starts.length; i += per) {
    const from = i === 0 ? 0 : lineOffsets[starts[i]! - firstLine]!;
    const nextStart = starts[i + per];
    const to = nextStart === undefined ? bytes.length : lineOffsets[nextStart - firstLine]!;
    out.push({ bytes: bytes.subarray(from, to), firstLine: i === 0 ? firstLine : starts[i]! });
  }
  if (out.length === 0) out.push({ bytes, firstLine });
  return out;
}
