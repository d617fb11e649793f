// Local hand-off of results (issue 7 target 1): when this client shares the gateway's result spool — proven
// by the spool's random id, read from its `.spool-id` file, as executors prove it; never by comparing
// paths — it asks the gateway for references to the spooled parts (LocalPart) instead of their bytes and
// reads each part itself: no gRPC framing, reassembly or copies for the records (the gateway + client relay
// was ~1.3 µs/record of CPU, the whole gap to the worker pool). The caller sees the same `records` messages
// as on the streamed path: a part is read whole and checked (size, CRC-32, chunk layout) before any of its
// records is passed on, else DATA_LOSS, as the gateway does.
import { join } from 'node:path';
import { status, type Metadata } from '@grpc/grpc-js';
import type { LocalPart, RecordChunk } from '@flowmesh/contracts';
import {
  CALLER_SPOOL_ID_METADATA_KEY,
  DEFAULT_SPOOL_DIR,
  existingSpoolId,
  isSpoolRelative,
  readCheckedPart,
  SPOOL_DIR_METADATA_KEY,
  type ChunkMemory,
} from '@flowmesh/runtime';

/** A part could not be used (missing, corrupt, or a path this client refuses): the job's results are not whole. */
export class LocalPartError extends Error {
  readonly code = status.DATA_LOSS;
  constructor(
    readonly details: string,
    options?: ErrorOptions,
  ) {
    super(details, options);
    this.name = 'LocalPartError';
  }
}

/** The spool this client looks in: the option, else FLOWMESH_SPOOL_DIR, else the services' default. */
export function resolveSpoolDir(option: string | undefined): string | undefined {
  const dir = option ?? process.env.FLOWMESH_SPOOL_DIR ?? DEFAULT_SPOOL_DIR;
  return dir && dir !== 'off' ? dir : undefined;
}

/**
 * Spool ids read, by directory: reading `.spool-id` before every RunJob was four thread-pool round trips
 * on the call's path (~5% of a client's CPU per 1,000-record job, issue 7 target 3). An id the gateway no
 * longer takes (the spool was made again) is forgotten once a call that offered it is not handed parts
 * (createLocalParts), so at most one call gets its results as bytes before the id is read again.
 */
const knownSpoolIds = new Map<string, string>();

/** Metadata entry asking for local parts, when a spool exists at `dir` (this client never creates one). */
export async function localPartsRequest(dir: string | undefined): Promise<[string, string] | undefined> {
  if (!dir) return undefined;
  let id = knownSpoolIds.get(dir);
  if (id === undefined) {
    // Any failure to read the id (no spool, no permission) only means: results come as bytes.
    id = await existingSpoolId(dir).catch(() => undefined);
    if (id) knownSpoolIds.set(dir, id);
  }
  return id ? [CALLER_SPOOL_ID_METADATA_KEY, id] : undefined;
}

export interface LocalParts {
  /** The gateway's response headers: the call's directory in the spool, when it agreed to hand parts off. */
  onHeaders(headers: Metadata): void;
  /** The part's records as the chunks its executor wrote, checked; throws LocalPartError. */
  read(part: LocalPart): Promise<RecordChunk[]>;
}

/** `memory`: where parts are read (default: fresh buffers the caller owns; see reused-chunk-memory.ts). */
export function createLocalParts(spoolDir: string, memory?: ChunkMemory): LocalParts {
  let callDir: string | undefined;
  return {
    onHeaders(headers) {
      const dir = headers.get(SPOOL_DIR_METADATA_KEY)[0];
      if (typeof dir === 'string') callDir = dir;
      else knownSpoolIds.delete(spoolDir); // not taken: read the id again next time
    },
    async read(part) {
      const what = `job ${part.jobId}: batch ${part.batchIndex}'s records part ${part.path}`;
      if (callDir === undefined)
        throw new LocalPartError(`${what}: the gateway named no spool directory for this call`);
      // Never outside the call's directory: nothing absolute, no `..`, for the gateway's name and the part's.
      if (!isSpoolRelative(callDir) || !isSpoolRelative(part.path))
        throw new LocalPartError(`${what} is not in this call's spool directory; refused`);
      try {
        return await readCheckedPart(join(spoolDir, callDir, part.path), part, what, memory);
      } catch (err) {
        throw new LocalPartError((err as Error).message, { cause: err });
      }
    },
  };
}
