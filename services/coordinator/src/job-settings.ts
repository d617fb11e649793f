// The effective distribution settings of one run: the flow's `distribute` section with the run's
// overrides applied, resolved once into a complete object (no optional left for the driver to default).
import { InvalidArgumentError } from '@flowmesh/runtime';
import type { DistributeOverrides } from '@flowmesh/contracts';
import type { FlowSpec } from '@flowmesh/flow';

export interface JobSettings {
  mode: 'local' | 'distributed';
  /** Batch cut: by records, by bytes, or both (whichever first). */
  batchRecords?: number;
  batchBytes?: number;
  maxInstances: number;
  order: 'input' | 'arrival';
  /** Extra attempts per batch before it is quarantined. */
  retries: number;
  /** Fewer executors than this: run the batches inside the coordinator. */
  remoteBias: number;
}

/** Streamed input is always cut by records (issue 4: burst mode batches by record count). */
const DEFAULT_STREAM_BATCH_RECORDS = 10_000;

export function resolveJobSettings(spec: FlowSpec, overrides: DistributeOverrides | undefined): JobSettings {
  const d = spec.distribute;
  const o = overrides;
  const mode = pickEnum(o?.mode, ['local', 'distributed'] as const, 'distribute.mode') ?? d.mode;
  const order = pickEnum(o?.order, ['input', 'arrival'] as const, 'distribute.order') ?? d.order;
  let batchRecords = 'records' in d.batch ? d.batch.records : undefined;
  let batchBytes = 'bytes' in d.batch ? d.batch.bytes : undefined;
  if (o && o.batchRecords > 0) {
    batchRecords = o.batchRecords;
    batchBytes = o.batchBytes > 0 ? o.batchBytes : undefined;
  } else if (o && o.batchBytes > 0) {
    batchBytes = o.batchBytes;
    batchRecords = undefined;
  }
  if (spec.source.type === 'stream' && batchRecords === undefined) batchRecords = DEFAULT_STREAM_BATCH_RECORDS;
  const maxInstances = o && o.maxInstances > 0 ? o.maxInstances : d.maxInstances;
  if (!(maxInstances >= 1)) throw new InvalidArgumentError('distribute.max_instances', 'must be at least 1');
  return {
    mode,
    batchRecords,
    batchBytes,
    maxInstances,
    order,
    retries: Math.max(0, d.retries),
    remoteBias: d.remoteBias,
  };
}

function pickEnum<T extends string>(value: string | undefined, allowed: readonly T[], field: string): T | undefined {
  if (!value) return undefined;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new InvalidArgumentError(field, `must be one of ${allowed.join(', ')}, not "${value}"`);
}
