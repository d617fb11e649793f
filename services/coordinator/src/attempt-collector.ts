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

export interface CollectorOptions {
  includeRejects: boolean;
  checksum?: () => Checksum;
  checksumAlgorithms?: string[];
  /** The output part the attempt was told to write (file sinks): records then never come back on the call. */
  outputPart?: FileRef;
}

const ACCEPTED_ALGORITHMS = ['', 'crc32'];

export function createAttemptCollector(id: AttemptIdentity, opts: CollectorOptions): AttemptCollector {
  return new Collector(id, opts);
}

/**
 * A class, not an object of closures: one is made per attempt, thousands a second with tiny batches, and
 * under tsx every named closure (`bytes: () => …`) costs a `__name` call (issue 7, target 4).
 */
class Collector implements AttemptCollector {
  private readonly sum: Checksum;
  private readonly chunks: RecordChunk[] = [];
  private readonly rejects: Reject[] = [];
  private records = 0;
  private held = 0;
  private problem: string | undefined;

  constructor(
    private readonly id: AttemptIdentity,
    private readonly opts: CollectorOptions,
  ) {
    this.sum = (opts.checksum ?? createChecksum)();
  }

  onRecords(chunk: RecordChunk): void {
    const chunks = this.chunks;
    if (chunk.seq !== chunks.length && !this.problem)
      this.problem = `chunk seq ${chunk.seq} where ${chunks.length} was expected`;
    if (chunk.data.length > 0 || chunk.records.length === 0) {
      // JSONL: the payload is the data itself (no array per chunk, as chunkPayload makes).
      this.sum.update(chunk.data);
      this.held += chunk.data.length;
    } else {
      for (const p of chunkPayload(chunk)) {
        this.sum.update(p);
        this.held += p.length;
      }
    }
    this.records += chunk.recordCount;
    chunks.push(chunk);
  }

  onRejects(chunk: RejectChunk): void {
    for (const r of chunk.rejects) this.rejects.push(r);
  }

  bytes(): number {
    return this.held;
  }

  verify(trailer: BatchTrailer): Verification {
    const { id, opts, chunks, rejects, records } = this;
    const bytes = this.held;
    const accepted = opts.checksumAlgorithms ?? ACCEPTED_ALGORITHMS;
    const sum = this.sum;
    if (this.problem) return fail(this.problem);
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
  }
}

// Module-level (not a closure per verify: thousands of attempts per second, issue 7).
function fail(reason: string): Verification {
  return { ok: false, reason: `trailer mismatch: ${reason}` };
}
