// Memory for the local parts of one call whose caller borrows the records' buffers (RunJobOptions
// borrowBuffers, issue 7 target 1). Fresh buffers for every part are ~245 MB of new ArrayBuffers per
// 1M-record job, and V8 counts ArrayBuffer memory allocated since the last mark-compact against the old
// generation's limit — a few MB above the live heap in a client whose heap is ~15 MB — so it ran ~10
// mark-compacts per job, ~60% of the client's CPU (bench/README.md, "The client's GC"). Here every part is
// read into one area, kept and grown to the largest part: no new external memory, no page faults after the
// first part. Safe only because a part is read when the caller pulls the event after the previous part's
// last chunk, and the caller agreed that an event's data is valid until it pulls the next one.
import type { ChunkMemory } from '@flowmesh/runtime';

export function createReusedChunkMemory(): ChunkMemory {
  let area: Buffer | undefined;
  return (chunkBytes) => {
    let total = 0;
    for (const n of chunkBytes) total += n;
    // Grown to the largest part seen (a job's first batches are its largest): at most one batch's output.
    if (!area || area.length < total) area = Buffer.allocUnsafeSlow(total);
    const into = area;
    let at = 0;
    return chunkBytes.map((n) => into.subarray(at, (at += n)));
  };
}
