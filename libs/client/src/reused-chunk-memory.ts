// Memory for the local parts of one call whose caller borrows the records' buffers (RunJobOptions
// borrowBuffers, issue 7 target 1). Fresh buffers for every part are ~245 MB of new ArrayBuffers per
// 1M-record job, and V8 counts ArrayBuffer memory allocated since the last mark-compact against the old
// generation's limit — a few MB above the live heap in a client whose heap is ~15 MB — so it ran ~10
// mark-compacts per job, ~60% of the client's CPU (bench/README.md, "The client's GC"). Here every part is
// read into one area, grown to the largest part: no new external memory, no page faults after the first
// part. Safe only because a part is read when the caller pulls the event after the previous part's last
// chunk, and the caller agreed that an event's data is valid until it pulls the next one.
import type { ChunkMemory } from '@flowmesh/runtime';

export interface ReusedChunkMemory {
  memory: ChunkMemory;
  /** The area as it stands (undefined before the first part). */
  area(): Buffer | undefined;
}

/** `area`: one to start from (kept from an earlier call, ChunkAreas). */
export function createReusedChunkMemory(area?: Buffer): ReusedChunkMemory {
  return {
    memory(chunkBytes) {
      let total = 0;
      for (const n of chunkBytes) total += n;
      // Grown to the largest part, with an eighth more: the parts of a job's full-size batches differ by a
      // few KB, and each new largest one was another ~11 MB allocation (two per 1M-record job, each about
      // a mark-compact's worth of V8's slack). At most one batch's output and an eighth.
      if (!area || area.length < total) area = Buffer.allocUnsafeSlow(total + Math.ceil(total / 8));
      const into = area;
      let at = 0;
      return chunkBytes.map((n) => into.subarray(at, (at += n)));
    },
    area: () => area,
  };
}

/**
 * The area a client keeps between its calls that borrow, so a caller running jobs one after another
 * allocates it once, not once per job. A call gives its area back only when it ended after its summary —
 * its caller pulled past every records event, so none of their data is still valid; a call left early
 * drops its area instead (its caller may still hold the last chunk). Concurrent calls each take their own.
 */
export interface ChunkAreas {
  take(): Buffer | undefined;
  give(area: Buffer): void;
  /** Lets the kept area go (the client is closed). */
  clear(): void;
}

export function createChunkAreas(): ChunkAreas {
  let kept: Buffer | undefined;
  return {
    take() {
      const area = kept;
      kept = undefined;
      return area;
    },
    give(area) {
      if (!kept || area.length > kept.length) kept = area;
    },
    clear() {
      kept = undefined;
    },
  };
}
