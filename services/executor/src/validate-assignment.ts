// Checks an assignment before any work starts; every refusal names the field so the coordinator's log says
// exactly what it sent wrong.
import { DataFormat, RecordEncoding } from '@flowmesh/contracts';
import type { BatchAssignment } from '@flowmesh/contracts';
import { InvalidArgumentError } from '@flowmesh/runtime';

/** Largest batch an executor accepts: the whole range is held in memory while it runs. */
export const MAX_BATCH_BYTES = 512 * 1024 * 1024;
export const MAX_CHUNK_BYTES = 16 * 1024 * 1024;

export type BatchFormat = 'csv' | 'jsonl' | 'lines';

export function validateAssignment(a: BatchAssignment): { format: BatchFormat } {
  if (!a.jobId) throw field('job_id', 'is required');
  if (!Number.isInteger(a.attempt) || a.attempt < 1) throw field('attempt', 'must be 1 or more');
  if (!Number.isInteger(a.epoch) || a.epoch < 0) throw field('epoch', 'must be a non-negative integer');
  if (!a.flowSource.trim()) throw field('flow_source', 'is required (the flow text at flow_revision)');
  if (!Number.isSafeInteger(a.offset) || a.offset < 0) throw field('offset', 'must be a non-negative integer');
  if (!Number.isSafeInteger(a.length) || a.length < 0) throw field('length', 'must be a non-negative integer');
  if (a.length > MAX_BATCH_BYTES) throw field('length', `must be at most ${MAX_BATCH_BYTES} bytes`);
  if (a.firstLine < 0) throw field('first_line', 'must be a non-negative integer');
  if (a.chunkBytes > MAX_CHUNK_BYTES) throw field('chunk_bytes', `must be at most ${MAX_CHUNK_BYTES}`);
  if (!a.inline) {
    if (!a.file?.root) throw field('file.root', 'is required unless the batch is inline');
    if (!a.file.path) throw field('file.path', 'is required unless the batch is inline');
  }
  if (a.outputPart && a.encoding === RecordEncoding.RECORD_ENCODING_JSON_TEXT) {
    throw field('encoding', 'output parts are JSONL; JSON_TEXT applies to streamed records only');
  }
  return { format: formatName(a.format) };
}

/** A module function, not a closure per call: under tsx each named closure costs a `__name` call per batch. */
function field(name: string, message: string): InvalidArgumentError {
  return new InvalidArgumentError(`assign.${name}`, message);
}

function formatName(format: DataFormat): BatchFormat {
  switch (format) {
    case DataFormat.DATA_FORMAT_CSV:
      return 'csv';
    case DataFormat.DATA_FORMAT_JSONL:
      return 'jsonl';
    case DataFormat.DATA_FORMAT_LINES:
      return 'lines';
    default:
      throw new InvalidArgumentError('assign.format', 'must be CSV, JSONL or LINES');
  }
}
