// The chaos checker (issue 6, item 5): compares a job's output and rejects with its input, record by
// record, and counts what the guarantee forbids — lost, duplicated, unexpected and (when input order was
// asked) out-of-order records. Records are identified by an id field (`order_id` of generateOrders:
// "O-" + the 1-based position), so the check needs no reference run.

export interface OutputCheckInput {
  /** Every input record's id, in input order. */
  inputIds: readonly string[];
  /** The job's output: JSONL (Buffer or string) or already parsed records. */
  output: Buffer | string | ReadonlyArray<Record<string, unknown>>;
  /** Rejected records' ids: reject line numbers mapped through `lineIds` (see rejectIds), or ids directly. */
  rejectIds?: readonly string[];
  /** True when the job asked for `order: input`: output ids must then follow input order. */
  ordered?: boolean;
  /** Field holding the id in output records. @default "order_id" */
  idField?: string;
  /** Ids that may legitimately be absent (e.g. a quarantined batch's records). */
  allowMissing?: ReadonlySet<string>;
}

export interface OutputCheck {
  inputRecords: number;
  outputRecords: number;
  rejectRecords: number;
  /** Input ids found neither in the output nor in the rejects (excluding allowMissing). */
  lost: number;
  /** Extra occurrences of ids seen more than once across output and rejects. */
  duplicated: number;
  /** Output or reject entries whose id is not an input id (or that carry no id at all). */
  unexpected: number;
  /** Output records that come before a record earlier in the input (0 unless `ordered`). */
  outOfOrder: number;
  /** A few examples of each problem, for the failure message. */
  examples: { lost: string[]; duplicated: string[]; unexpected: string[]; outOfOrder: string[] };
  /** True when lost, duplicated, unexpected and outOfOrder are all 0. */
  ok: boolean;
}

const EXAMPLES = 5;

/** Parses JSONL into records; a line that is not a JSON object counts as a record without id. */
export function parseJsonl(data: Buffer | string): Array<Record<string, unknown>> {
  const text = typeof data === 'string' ? data : data.toString('utf8');
  const out: Array<Record<string, unknown>> = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const v: unknown = JSON.parse(line);
      out.push(v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
    } catch {
      out.push({});
    }
  }
  return out;
}

/** Maps reject line numbers to ids through the input's line → id table; an unknown line maps to "line:N". */
export function rejectIds(lines: readonly number[], lineIds: ReadonlyMap<number, string>): string[] {
  return lines.map((l) => lineIds.get(l) ?? `line:${l}`);
}

export function checkOutput(input: OutputCheckInput): OutputCheck {
  const idField = input.idField ?? 'order_id';
  const position = new Map<string, number>();
  input.inputIds.forEach((id, i) => position.set(id, i));
  const records = Array.isArray(input.output)
    ? (input.output as ReadonlyArray<Record<string, unknown>>)
    : parseJsonl(input.output as Buffer | string);
  const seen = new Map<string, number>();
  const examples: OutputCheck['examples'] = { lost: [], duplicated: [], unexpected: [], outOfOrder: [] };
  const note = (list: string[], s: string): void => {
    if (list.length < EXAMPLES) list.push(s);
  };
  let duplicated = 0;
  let unexpected = 0;
  let outOfOrder = 0;
  const count = (id: string | undefined, where: string): number | undefined => {
    if (id === undefined || !position.has(id)) {
      unexpected++;
      note(examples.unexpected, `${where}: ${id ?? '(no id)'}`);
      return undefined;
    }
    const n = (seen.get(id) ?? 0) + 1;
    seen.set(id, n);
    if (n > 1) {
      duplicated++;
      note(examples.duplicated, `${id} ×${n}`);
    }
    return position.get(id);
  };
  let highest = -1;
  for (const [i, r] of records.entries()) {
    const raw = r[idField];
    const pos = count(typeof raw === 'string' ? raw : undefined, `output[${i}]`);
    if (pos === undefined || !input.ordered) continue;
    if (pos < highest) {
      outOfOrder++;
      note(examples.outOfOrder, `output[${i}] ${String(raw)} after ${input.inputIds[highest]}`);
    } else highest = pos;
  }
  for (const id of input.rejectIds ?? []) count(id, 'reject');
  let lost = 0;
  for (const id of input.inputIds) {
    if (seen.has(id) || input.allowMissing?.has(id)) continue;
    lost++;
    note(examples.lost, id);
  }
  return {
    inputRecords: input.inputIds.length,
    outputRecords: records.length,
    rejectRecords: input.rejectIds?.length ?? 0,
    lost,
    duplicated,
    unexpected,
    outOfOrder,
    examples,
    ok: lost === 0 && duplicated === 0 && unexpected === 0 && outOfOrder === 0,
  };
}

/** One line for a failure message: the counts and a few examples of each problem. */
export function describeCheck(c: OutputCheck): string {
  const ex = (k: keyof OutputCheck['examples']) => (c.examples[k].length ? ` [${c.examples[k].join(', ')}]` : '');
  return (
    `${c.inputRecords} in → ${c.outputRecords} out + ${c.rejectRecords} rejected: ` +
    `lost ${c.lost}${ex('lost')}, duplicated ${c.duplicated}${ex('duplicated')}, ` +
    `unexpected ${c.unexpected}${ex('unexpected')}, out of order ${c.outOfOrder}${ex('outOfOrder')}`
  );
}
