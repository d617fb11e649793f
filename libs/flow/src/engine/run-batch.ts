// runBatch: one batch of source bytes through the microflow. Decodes with the io codecs, runs the steps
// record by record as they are decoded (stages split at async steps), encodes output as JSONL chunks of ~chunkBytes,
// and returns what the batch trailer carries: counts, rejects with source lines, the CRC-32 of the chunk
// payloads in order, counter deltas, cache sets and partial aggregates.
import { createChecksum } from '../io/checksum.js';
import { createRecordReader } from '../io/decode-records.js';
import { createJsonlEncoder, type EncodedChunk } from '../io/encode-jsonl.js';
import type { DecodeError, FlowRecord, RecordFormat } from '../io/types.js';
import { counterDeltasOf, DROP, newBatchState, REJECT, type SyncStep } from '../steps/step-runtime.js';
import { accumulate, createAccumulator, toPartial, type AggregatePartial } from './aggregates.js';
import type { CompiledFlow } from './compile-flow.js';

export interface BatchInput {
  bytes: Buffer;
  format: RecordFormat;
  /** The raw CSV header record (required for CSV batches). */
  header?: Buffer;
  /** 1-based source line of the first byte (the record number for streamed input). */
  firstLine: number;
  firstRecord: number;
  batchIndex: number;
  vars: Record<string, string>;
  globals: Record<string, unknown>;
}

/** Reject as in `flowmesh.v1.Reject` (line is the record's first source line). */
export interface Reject {
  line: number;
  reason: string;
  step: string;
  raw: string;
  batchIndex: number;
}

export interface BatchCounts { in: number; out: number; rejected: number; filtered: number }

export interface BatchResult {
  counts: BatchCounts;
  rejects: Reject[];
  /** CRC-32 (8 hex digits) over the chunk payloads in order. */
  checksum: string;
  chunks: number;
  counterDeltas: Record<string, number>;
  cacheSets: Record<string, string>;
  /** Partial aggregates (merge with mergeAggregates), undefined when the flow has none. */
  aggregates?: AggregatePartial;
  logs: string[];
}

export interface RunBatchOptions {
  /** @default 256 KiB */
  chunkBytes?: number;
  signal?: AbortSignal;
  /** Awaited before more output is produced (backpressure). */
  onChunk?: (chunk: Buffer, records: number) => void | Promise<void>;
}

const RAW_LIMIT = 1024;
const ABORT_CHECK_EVERY = 1024;

function rawText(record: FlowRecord): string {
  let s: string;
  try { s = JSON.stringify(record); } catch { s = String(record); }
  return s.length > RAW_LIMIT ? s.slice(0, RAW_LIMIT) : s;
}

export async function runBatch(compiled: CompiledFlow, input: BatchInput, opts: RunBatchOptions = {}): Promise<BatchResult> {
  const { signal, onChunk } = opts;
  signal?.throwIfAborted();
  const csv = compiled.spec.source.csv;
  const reader = createRecordReader(input.format, input.bytes, {
    ...(input.format === 'csv' && input.header ? { fields: compiled.headerFields(input.header) } : {}),
    delimiter: csv.delimiter,
    quote: csv.quote,
    firstLine: input.firstLine,
  });
  const batchIndex = input.batchIndex;
  const counts: BatchCounts = { in: 0, out: 0, rejected: 0, filtered: 0 };
  const rejects: Reject[] = [];
  let decodeErrors = 0;
  const state = newBatchState(input.vars, input.globals);
  // JSONL of a record is typically 1.5–3× its CSV (field names on every record): a first buffer of ~3× the
  // input fits a small batch's whole output without the 320 KiB a full chunk buffer takes.
  const encoder = createJsonlEncoder(opts.chunkBytes ?? 256 * 1024, input.bytes.length * 3 + 1024);
  const checksum = createChecksum();
  let chunks = 0;
  const pending: EncodedChunk[] = [];
  const aggregate = compiled.aggregate;
  const partial = aggregate ? createAccumulator() : undefined;
  // Aggregates evaluate with their own context so steps' `ctx.record` swaps cannot interfere.
  const aggCtx = { ...state.ctx };

  // The batch's callbacks are methods of one object (they use no `this`, so they are passed on as they are),
  // not `const f = () => …`: under tsx (how flowmesh runs) esbuild's keepNames wraps each named closure in a
  // `__name` call defining its `name` property, and six of them per batch were ~20% of a 1-record batch's
  // CPU with the collector work they made (issue 7, target 4: thousands of tiny batches per second).
  const on = {
    decodeError(e: DecodeError): void {
      counts.in++;
      counts.rejected++;
      decodeErrors++;
      rejects.push({ line: e.line, reason: e.reason, step: 'decode', raw: e.raw.length > RAW_LIMIT ? e.raw.slice(0, RAW_LIMIT) : e.raw, batchIndex });
    },
    emit(record: FlowRecord): void {
      counts.out++;
      if (aggregate) accumulate(aggregate, partial!, aggCtx, record);
      const chunk = encoder.write(record);
      if (chunk) pending.push(chunk);
    },
    reject(line: number, reason: string, step: string, record: FlowRecord): void {
      counts.rejected++;
      rejects.push({ line, reason, step, raw: rawText(record), batchIndex });
    },
    async deliver(): Promise<void> {
      for (let i = 0; i < pending.length; i++) {
        const c = pending[i]!;
        checksum.update(c.bytes);
        chunks++;
        if (onChunk) await onChunk(c.bytes, c.records);
      }
      pending.length = 0;
    },
    /** Runs `steps[from..]` on one record; `out` receives survivors (or they are emitted when null). */
    runSync(steps: SyncStep[], from: number, record: FlowRecord, line: number, out: FlowRecord[] | null, outLines: number[] | null): void {
      const n = steps.length;
      let rec = record;
      for (let i = from; i < n; i++) {
        const step = steps[i]!;
        const r = step.run(rec, state);
        if (r === DROP) { counts.filtered++; return; }
        if (r === REJECT) { on.reject(line, state.reason, step.name, rec); return; }
        if (Array.isArray(r)) {
          if (r.length === 0) counts.filtered++;
          for (let k = 0; k < r.length; k++) on.runSync(steps, i + 1, r[k]!, line, out, outLines);
          return;
        }
        rec = r;
      }
      if (out) { out.push(rec); outLines!.push(line); } else on.emit(rec);
    },
  };

  const stages = compiled.stages;
  let records: FlowRecord[] = [];
  let lines: number[] = [];
  let s = 0;
  const first = stages[0]!;
  if (first.kind === 'sync') {
    // The first (usually only) stage runs on each record as it is decoded: it is encoded while still young,
    // instead of a whole batch of records surviving into the old generation first.
    const steps = first.steps;
    const single = stages.length === 1;
    const out: FlowRecord[] | null = single ? null : records;
    const outLines: number[] | null = single ? null : lines;
    const visit = {
      record(record: FlowRecord, line: number): boolean {
        if ((counts.in++ & (ABORT_CHECK_EVERY - 1)) === 0) signal?.throwIfAborted();
        on.runSync(steps, 0, record, line, out, outLines);
        return pending.length > 0; // pause: hand the chunk over (and wait for the credit) before going on
      },
    };
    while (reader.read(visit.record, on.decodeError)) await on.deliver();
    if (pending.length > 0) await on.deliver();
    s = 1;
  } else {
    reader.read((record, line) => {
      counts.in++;
      records.push(record);
      lines.push(line);
    }, on.decodeError);
  }
  for (; s < stages.length; s++) {
    const stage = stages[s]!;
    const last = s === stages.length - 1;
    const nextRecords: FlowRecord[] | null = last ? null : [];
    const nextLines: number[] | null = last ? null : [];
    if (stage.kind === 'sync') {
      const steps = stage.steps;
      for (let i = 0; i < records.length; i++) {
        on.runSync(steps, 0, records[i]!, lines[i]!, nextRecords, nextLines);
        if (pending.length > 0) await on.deliver();
        if ((i & (ABORT_CHECK_EVERY - 1)) === 0) signal?.throwIfAborted();
      }
    } else {
      const { outcomes, reasons } = await stage.step.runMany(records, state, signal);
      for (let i = 0; i < outcomes.length; i++) {
        const o = outcomes[i]!;
        if (o === REJECT) on.reject(lines[i]!, reasons[i] ?? 'rejected', stage.step.name, records[i]!);
        else if (o === DROP) counts.filtered++;
        else for (const r of Array.isArray(o) ? o : [o]) {
          if (last) on.emit(r); else { nextRecords!.push(r); nextLines!.push(lines[i]!); }
        }
        if (pending.length > 0) await on.deliver();
      }
    }
    if (!last) { records = nextRecords!; lines = nextLines!; }
  }
  signal?.throwIfAborted();
  const rest = encoder.flush();
  if (rest) pending.push(rest);
  await on.deliver();

  // Decode errors and step rejects (of later stages too): report them all in source order. The sort is
  // stable, so the rejects of one record's outputs keep their order.
  if (decodeErrors > 0 && rejects.length > decodeErrors) rejects.sort((a, b) => a.line - b.line);
  return {
    counts,
    rejects,
    checksum: checksum.digest(),
    chunks,
    counterDeltas: counterDeltasOf(state),
    cacheSets: state.cacheSets,
    ...(partial ? { aggregates: toPartial(partial) } : {}),
    logs: state.logs,
  };
}
