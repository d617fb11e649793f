// The typed shape of a flow definition after validation. Defaults are filled in by the validator, so
// consumers never test for a missing optional with a default. See docs/flows.md for the YAML form.

export type RecordFormat = 'csv' | 'jsonl' | 'lines';

export interface CsvOptions {
  /** @default "," */
  delimiter: string;
  /** @default '"' */
  quote: string;
  /** The first line holds the field names. Only `true` is supported. @default true */
  header: true;
}

export interface FileSource {
  type: 'file';
  /** Name of a file root registered in config-store. */
  root: string;
  /** Path relative to the root; may contain `%var%` placeholders. */
  path: string;
  format: RecordFormat;
  csv: CsvOptions;
}

export interface StreamSource {
  type: 'stream';
  format: RecordFormat;
  csv: CsvOptions;
}

export type FlowSource = FileSource | StreamSource;

export type BatchSize = { records: number } | { bytes: number };

export interface Distribute {
  /** @default "distributed" */
  mode: 'local' | 'distributed';
  /** @default { bytes: 4 MiB } for files, { records: 10000 } for streams */
  batch: BatchSize;
  /** Batches in flight across the cluster. @default 8 */
  maxInstances: number;
  /** @default "input" */
  order: 'input' | 'arrival';
  /** Extra attempts per batch. @default 3 */
  retries: number;
  /** Fewer executors than this: run batches inside the coordinator. @default 0 */
  remoteBias: number;
}

interface StepBase {
  /** Label used in rejects and logs; defaults to "<type>#<index>". */
  name: string;
}

export interface FilterStep extends StepBase { type: 'filter'; expr: string }
/** Field targets: a record field, `vars.x` (batch-local) or `globals.x` (a global cache key-value). */
export interface SetStep extends StepBase { type: 'set'; fields: Array<{ target: string; expr: string }> }
export interface SelectStep extends StepBase { type: 'select'; fields: string[] }
export interface RenameStep extends StepBase { type: 'rename'; fields: Array<{ from: string; to: string }> }
export interface DropStep extends StepBase { type: 'drop'; fields: string[] }
export interface ValidateStep extends StepBase { type: 'validate'; expr: string; message: string }
export interface LookupStep extends StepBase {
  type: 'lookup';
  table: string;
  key: string;
  /** Table column → record field. */
  fields: Array<{ from: string; to: string }>;
  /** @default "reject" */
  onMiss: 'reject' | 'null' | 'keep';
}
export interface CallStep extends StepBase {
  type: 'call';
  /** URL template: `{{ cel }}` placeholders are evaluated per record and URI-encoded. */
  url: string;
  /** @default "GET" */
  method: 'GET' | 'POST';
  /** CEL expression giving the JSON body of a POST. */
  body?: string;
  /** Requests in flight per batch. @default 8 */
  concurrency: number;
  /** Entries of the per-node LRU response cache (0 disables it). @default 1000 */
  cacheSize: number;
  /** @default 5000 */
  timeoutMs: number;
  /** Response field → record field; empty means merge every top-level field. */
  fields: Array<{ from: string; to: string }>;
  /** @default "reject" */
  onError: 'reject' | 'keep';
}
export interface CountStep extends StepBase { type: 'count'; counter: string; key?: string; by?: string }
export interface PluginStep extends StepBase {
  type: 'plugin';
  /** File name under the executors' plugin directory. */
  module: string;
  /** @default "default" */
  export: string;
}
export interface LogStep extends StepBase { type: 'log'; message: string }

export type Step =
  | FilterStep | SetStep | SelectStep | RenameStep | DropStep | ValidateStep
  | LookupStep | CallStep | CountStep | PluginStep | LogStep;
export type StepType = Step['type'];

export type MetricOp = 'count' | 'sum' | 'min' | 'max' | 'avg';
export interface Metric { name: string; op: MetricOp; /** absent for a plain row count */ expr?: string }
export interface GroupKey { name: string; /** CEL over `record` */ expr: string }
export interface AggregateSpec { groupBy: GroupKey[]; metrics: Metric[] }

export type FlowSink =
  | { type: 'stream' }
  | {
      type: 'file';
      root: string;
      path: string;
      format: 'jsonl' | 'csv';
      columns?: string[];
      /**
       * `file` (default): one output file. `parts`: a directory at `path` holding one JSONL file per batch,
       * in input order (`part-000000.jsonl`, …): the executors' own parts, renamed into place, so the
       * coordinator copies no output byte (JSONL only).
       */
      layout?: 'file' | 'parts';
    };

export interface FlowSpec {
  name: string;
  description: string;
  /** Defaults, as strings; a run may override them. */
  vars: Record<string, string>;
  source: FlowSource;
  distribute: Distribute;
  init: Step[];
  steps: Step[];
  status: Step[];
  aggregate?: AggregateSpec;
  sink: FlowSink;
}
