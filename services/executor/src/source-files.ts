// The source files of the jobs running on this executor, each resolved and opened once per job (issue 7,
// target 4). A tiny batch used to pay, on every batch, for two realpath calls (root and file), an open and a
// close around its one pread: ~20% of the executor's own CPU for a 10-record batch (bench/README.md). Now a
// job's first batch resolves the path inside its root (file-roots.ts: same confinement, symlinks included)
// and opens it; its later batches pread from that descriptor. Holding the descriptor also means the job
// reads the file whose path was checked, even if a symlink in the root is changed while it runs.
//
// Bounded: at most `maxOpen` descriptors (the least recently used is closed first), and a job's descriptor
// is closed once no batch of it came for `idleMs` — an executor is not told when a job ends, and a job's
// batches come back to back while it runs. Keyed by job, so a new job (or a root moved in config-store)
// resolves and opens again: a file replaced between jobs is never read through an old descriptor.
import { closeSync, openSync } from 'node:fs';
import { resolveInDir } from './file-roots.js';
import type { FileRootLookup } from './file-roots.js';
import type { InputBuffers } from './input-buffers.js';
import { readRangeAsync, readRangeSync, SYNC_READ_MAX_BYTES } from './read-range.js';

export interface SourceFiles {
  /** Exactly [offset, offset+length) of `relPath` under root `root`, for a batch of job `jobId`. */
  read(jobId: string, root: string, relPath: string, offset: number, length: number, signal?: AbortSignal): Promise<Buffer>;
  /** Descriptors open now. */
  open(): number;
  /** Closes every descriptor (idempotent); later reads open again. */
  close(): void;
}

export interface SourceFilesOptions {
  /** Descriptors kept open at most. @default 64 */
  maxOpen?: number;
  /** A job's descriptor is closed when none of its batches read for this long. @default 2000 */
  idleMs?: number;
  /** Memory for large ranges (batch threads' inputs given back: input-buffers.ts). @default fresh each read */
  inputs?: Pick<InputBuffers, 'take'>;
}

interface OpenFile {
  /** The root's directory when the path was resolved: a root moved since means resolving again. */
  dir: string;
  fd: number;
  lastUsed: number;
  /** Asynchronous reads in flight on `fd`: a dropped file is closed only once they are done. */
  reading: number;
  dropped: boolean;
}

export function createSourceFiles(lookup: FileRootLookup, opts: SourceFilesOptions = {}): SourceFiles {
  const maxOpen = opts.maxOpen ?? 64;
  const idleMs = opts.idleMs ?? 2000;
  // Map order is use order: an entry is re-inserted on each use, so the first one is the least recently used.
  const files = new Map<string, OpenFile>();
  let sweeper: NodeJS.Timeout | undefined;

  const drop = (key: string, f: OpenFile): void => {
    files.delete(key);
    f.dropped = true;
    if (f.reading === 0) closeSync(f.fd);
  };

  const sweep = (): void => {
    const now = Date.now();
    for (const [key, f] of files) if (now - f.lastUsed >= idleMs) drop(key, f);
    if (files.size === 0 && sweeper) {
      clearInterval(sweeper);
      sweeper = undefined;
    }
  };

  /** The job's open file, resolved and opened now if needed. Synchronous, so no other batch interleaves. */
  function entry(key: string, dir: string | undefined, root: string, relPath: string): OpenFile {
    const known = files.get(key);
    if (known && known.dir === dir) {
      files.delete(key);
      files.set(key, known);
      known.lastUsed = Date.now();
      return known;
    }
    if (known) drop(key, known);
    // Resolves (and refuses an escape) with the same checks and errors as before.
    const real = resolveInDir(dir, root, relPath);
    const f: OpenFile = { dir: dir!, fd: openSync(real, 'r'), lastUsed: Date.now(), reading: 0, dropped: false };
    files.set(key, f);
    while (files.size > maxOpen) {
      const [oldKey, old] = files.entries().next().value!;
      drop(oldKey, old);
    }
    sweeper ??= setInterval(sweep, idleMs).unref();
    return f;
  }

  async function readLarge(f: OpenFile, offset: number, length: number, signal?: AbortSignal): Promise<Buffer> {
    f.reading++;
    try {
      return await readRangeAsync(f.fd, offset, length, signal, opts.inputs?.take(length));
    } finally {
      if (--f.reading === 0 && f.dropped) closeSync(f.fd);
    }
  }

  return {
    async read(jobId, root, relPath, offset, length, signal) {
      const dir = await lookup(root);
      // From here to the read nothing awaits: an eviction or sweep cannot close the descriptor in between.
      const f = entry(`${jobId}\u0000${root}\u0000${relPath}`, dir, root, relPath);
      // Large ranges are read asynchronously, so a slow disk cannot stall the main thread (read-range.ts).
      if (length > SYNC_READ_MAX_BYTES) return readLarge(f, offset, length, signal);
      signal?.throwIfAborted();
      return readRangeSync(f.fd, offset, length);
    },
    open: () => files.size,
    close() {
      for (const [key, f] of files) drop(key, f);
      if (sweeper) clearInterval(sweeper);
      sweeper = undefined;
    },
  };
}
