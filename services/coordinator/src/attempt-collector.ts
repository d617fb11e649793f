// Collects what one batch attempt streams back and verifies its trailer before the batch may be
// accepted: fencing fields, chunk sequence, chunk and record counts, and a CRC-32 recomputed over the
// chunk payloads in order. Any mismatch fails the attempt (a retry), never a partial acceptance.
import type { BatchTrailer, FileRef, RecordChunk, Reject, RejectChunk } from '@flowmesh/contracts';
import { createChecksum, type Checksum } from '@flowmesh/flow';
import { SPOOL_ROOT } from '@flowmesh/runtime';

/** The bytes a chunk's checksum covers: `data` (JSONL), or each JSON text followed by a newline. */
export function chunkPayload(chunk: RecordChunk): Uint8Array[] {
  if (chunk.data.length > 0 || chunk.records.length === 0) return [chunk.data];
  return chunk.records.map((r) => Buffer.from(`${r}\n`));
}

export interface AttemptIdentity {
  jobId: string;
  batchIndex: number;
  attempt: number;
  epoch: number;
}

export interface VerifiedAttempt {
  trailer: BatchTrailer;
  chunks: RecordChunk[];
  rejects: Reject[];
  records: number;
  bytes: number;
}

export type Verification = { ok: true; result: VerifiedAttempt } | { ok: false; reason: string };

export interface AttemptCollector {
  onRecords(chunk: RecordChunk): void;
  onRejects(chunk: RejectChunk): void;
  /** Bytes of record payload held so far. */
  bytes(): number;
  verify(trailer: BatchTrailer): Verification;
}

export function createAttemptCollector(
  id: AttemptIdentity,
  opts: {
    includeRejects: boolean;
    checksum?: () => Checksum;
    checksumAlgorithms?: string[];
    /** The output part the attempt was told to write (file sinks): records then never come back on the call. */
    outputPart?: FileRef;
  },
): AttemptCollector {
  const sum = (opts.checksum ?? createChecksum)();
  const accepted = opts.checksumAlgorithms ?? ['', 'crc32'];
  const chunks: RecordChunk[] = [];
  const rejects: Reject[] = [];
  let records = 0;
  let bytes = 0;
  let problem: string | undefined;

  return {
    onRecords(chunk) {
      if (chunk.seq !== chunks.length && !problem)
        problem = `chunk seq ${chunk.seq} where ${chunks.length} was expected`;
      for (const p of chunkPayload(chunk)) {
        sum.update(p);
        bytes += p.length;
      }
      records += chunk.recordCount;
      chunks.push(chunk);
    },
    onRejects(chunk) {
      for (const r of chunk.rejects) rejects.push(r);
    },
    bytes: () => bytes,
    verify(trailer) {
      if (problem) return fail(problem);
      if (trailer.jobId !== id.jobId || trailer.batchIndex !== id.batchIndex) {
        return fail(`trailer is for ${trailer.jobId}/${trailer.batchIndex}, not ${id.jobId}/${id.batchIndex}`);
      }
      if (trailer.attempt !== id.attempt || trailer.epoch !== id.epoch) {
        return fail(
          `attempt ${trailer.attempt} epoch ${trailer.epoch}, expected attempt ${id.attempt} epoch ${id.epoch}`,
        );
      }
      if (!accepted.includes(trailer.checksumAlgorithm.toLowerCase())) {
        return fail(`unsupported checksum algorithm ${trailer.checksumAlgorithm}`);
      }
      const part = opts.outputPart;
      if (part || trailer.outputPart) {
        // The records went to the part file: its chunk count and checksum describe the file, whose size the
        // sink checks against counts.bytes_out before using it. Only the part that was assigned is accepted.
        if (!part || trailer.outputPart?.root !== part.root || trailer.outputPart.path !== part.path)
          return fail(`output part ${JSON.stringify(trailer.outputPart ?? null)} was not the one assigned`);
        if (chunks.length > 0) return fail(`${chunks.length} record chunks received for an output part`);
        if (part.root === SPOOL_ROOT) {
          // A spool part is sent on in these chunks (issue 7): they must describe exactly the counted output.
          const sizes = trailer.partChunks?.bytes ?? [];
          const counts = trailer.partChunks?.records ?? [];
          if (sizes.length !== trailer.chunks || counts.length !== trailer.chunks)
            return fail(`${sizes.length} chunk sizes and ${counts.length} chunk counts for ${trailer.chunks} chunks`);
          const bytesOut = trailer.counts?.bytesOut ?? 0;
          const recordsOut = trailer.counts?.recordsOut ?? 0;
          const sumBytes = sizes.reduce((a, b) => a + b, 0);
          const sumRecords = counts.reduce((a, b) => a + b, 0);
          if (sumBytes !== bytesOut || sumRecords !== recordsOut)
            return fail(`part chunks hold ${sumBytes} bytes / ${sumRecords} records, trailer says ${bytesOut} / ${recordsOut}`);
        }
        const rejectedPart = trailer.counts?.recordsRejected ?? 0;
        if (opts.includeRejects && rejects.length !== rejectedPart)
          return fail(`${rejects.length} rejects received, trailer says ${rejectedPart}`);
        return { ok: true, result: { trailer, chunks, rejects, records: trailer.counts?.recordsOut ?? 0, bytes: 0 } };
      }
      if (trailer.chunks !== chunks.length)
        return fail(`${chunks.length} chunks received, trailer says ${trailer.chunks}`);
      const out = trailer.counts?.recordsOut ?? 0;
      if (out !== records) return fail(`${records} records received, trailer says ${out}`);
      const rejected = trailer.counts?.recordsRejected ?? 0;
      if (opts.includeRejects && rejects.length !== rejected) {
        return fail(`${rejects.length} rejects received, trailer says ${rejected}`);
      }
      const digest = sum.digest();
      if (trailer.checksum.toLowerCase() !== digest) return fail(`checksum ${trailer.checksum}, recomputed ${digest}`);
      return { ok: true, result: { trailer, chunks, rejects, records, bytes } };
    },
  };
}

// Module-level (not a closure per verify: thousands of attempts per second, issue 7).
function fail(reason: string): Verification {
  return { ok: false, reason: `trailer mismatch: ${reason}` };
}
