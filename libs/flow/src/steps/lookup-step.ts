// `lookup`: joins a reference table (from config-store) by key. The table is indexed once per compiled flow.
import { compileExpression } from '../expr/compile-expression.js';
import type { FlowRecord } from '../io/types.js';
import type { LookupStep } from '../spec/types.js';
import { errorMessage, REJECT, type SyncStep } from './step-runtime.js';

/** A reference table as config-store holds it (`flowmesh.v1.ReferenceTable`). */
export interface ReferenceTableData {
  keyColumn: string;
  columns?: string[];
  rows: Array<Record<string, unknown>>;
}

export type TableIndex = Map<string, Record<string, unknown>>;

export function indexTable(name: string, table: ReferenceTableData): TableIndex {
  const index: TableIndex = new Map();
  for (const row of table.rows) {
    const key = row[table.keyColumn];
    if (key === undefined || key === null) continue;
    // Keys compare as strings: CSV fields are strings while JSON tables may hold numbers.
    index.set(String(key), row);
  }
  if (table.rows.length > 0 && index.size === 0) {
    throw new Error(`reference table "${name}": no row has the key column "${table.keyColumn}"`);
  }
  return index;
}

export function lookupStep(step: LookupStep, index: TableIndex): SyncStep {
  const key = compileExpression(step.key, 'record');
  const fields = step.fields;
  const n = fields.length;
  const onMiss = step.onMiss;
  const table = step.table;
  return {
    kind: 'sync', name: step.name,
    run(record: FlowRecord, state) {
      state.ctx.record = record;
      let k: unknown;
      try { k = key(state.ctx); } catch (err) { state.reason = errorMessage(err); return REJECT; }
      const row = index.get(typeof k === 'string' ? k : String(k));
      if (row === undefined) {
        if (onMiss === 'reject') {
          state.reason = `no row in "${table}" for key ${JSON.stringify(typeof k === 'bigint' ? String(k) : k)}`;
          return REJECT;
        }
        if (onMiss === 'null') for (let i = 0; i < n; i++) record[fields[i]!.to] = null;
        return record;
      }
      for (let i = 0; i < n; i++) {
        const f = fields[i]!;
        const v = row[f.from];
        record[f.to] = v === undefined ? null : v;
      }
      return record;
    },
  };
}
