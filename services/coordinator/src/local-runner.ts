// Attempts inside the coordinator (`mode: local`, or a cluster smaller than the remote bias): the same
// microbatches run through runBatch here, answered in the executor protocol's messages so the driver
// verifies and merges them exactly like remote results.
import { RecordEncoding } from '@flowmesh/contracts';
import type { ExecuteBatchResponse, RecordChunk } from '@flowmesh/contracts';
import { runBatch } from '@flowmesh/flow';
import type { CompiledFlow } from '@flowmesh/flow';
import type { AttemptRunner } from './attempt-runner.js';

const CHUNK_BYTES = 256 * 1024;

export function createLocalRunner(opts: {
  compiled: CompiledFlow;
  format: 'csv' | 'jsonl' | 'lines';
  /** Reads the batch's bytes when they did not come inline (file sources). */
  readBytes(offset: number, length: number): Promise<Buffer>;
}): AttemptRunner {
  return async function* run(request, signal) {
    const a = request.assignment;
    const startedAt = Date.now();
    const bytes = request.inline ?? (await opts.readBytes(a.offset, a.length));
    yield { msg: { $case: 'started', started: { executorId: request.executor.id } } };
    const chunks: RecordChunk[] = [];
    let bytesOut = 0;
    const result = await runBatch(
      opts.compiled,
      {
        bytes,
        format: opts.format,
        header: a.header.length > 0 ? a.header : undefined,
        firstLine: a.firstLine || 1,
        firstRecord: a.firstRecord,
        batchIndex: a.batchIndex,
        vars: a.vars,
        globals: a.globals ?? {},
      },
      {
        chunkBytes: a.chunkBytes || CHUNK_BYTES,
        signal,
        onChunk: (data: Buffer, records: number) => {
          bytesOut += data.length;
          const json = a.encoding === RecordEncoding.RECORD_ENCODING_JSON_TEXT;
          chunks.push({
            jobId: a.jobId,
            batchIndex: a.batchIndex,
            seq: chunks.length,
            recordCount: records,
            data: json ? Buffer.alloc(0) : data,
            records: json ? splitJsonl(data) : [],
          });
        },
      },
    );
    signal.throwIfAborted();
    for (const records of chunks) yield { msg: { $case: 'records', records } } satisfies ExecuteBatchResponse;
    if (a.includeRejects && result.rejects.length > 0) {
      yield {
        msg: {
          $case: 'rejects',
          rejects: {
            jobId: a.jobId,
            batchIndex: a.batchIndex,
            rejects: result.rejects.map((r) => ({
              line: r.line,
              reason: r.reason,
              step: r.step,
              raw: r.raw,
              batchIndex: a.batchIndex,
            })),
          },
        },
      };
    }
    yield {
      msg: {
        $case: 'trailer',
        trailer: {
          jobId: a.jobId,
          batchIndex: a.batchIndex,
          attempt: a.attempt,
          epoch: a.epoch,
          counts: {
            recordsIn: result.counts.in,
            recordsOut: result.counts.out,
            recordsRejected: result.counts.rejected,
            recordsFiltered: result.counts.filtered,
            bytesIn: a.length,
            bytesOut,
          },
          chunks: result.chunks,
          checksum: result.checksum,
          checksumAlgorithm: 'crc32',
          counterDeltas: result.counterDeltas,
          cacheSets: result.cacheSets,
          aggregates: toStruct(result.aggregates),
          durationMs: Date.now() - startedAt,
          executorId: request.executor.id,
          outputPart: undefined,
        },
      },
    };
  };
}

function splitJsonl(data: Buffer): string[] {
  const lines = data.toString('utf8').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

function toStruct(value: unknown): Record<string, unknown> | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  return { value };
}
