// A batch's output written as a file part under a sink root instead of streamed back (the scale-out path of
// issue 7: the coordinator then handles only metadata). The part is written to a temp name and renamed into
// place after an fsync, so a part file that exists is always complete; a failed attempt leaves nothing.
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, realpathSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { mkdir, open, realpath, rename, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { FileRef } from '@flowmesh/contracts';
import { InvalidArgumentError, NotFoundError } from '@flowmesh/runtime';
import { isInside } from './file-roots.js';
import type { FileRootLookup } from './file-roots.js';

export interface OutputPart {
  readonly file: string;
  /**
   * The temp file the part is written to until commit: a batch thread may write it itself (by path, its own
   * handle closed before commit) instead of write().
   */
  readonly tempFile: string;
  write(bytes: Uint8Array): Promise<void>;
  /** fsync, close and rename into place. */
  commit(): Promise<void>;
  /** Close and remove the temp file (idempotent, never throws). */
  discard(): Promise<void>;
}

export interface OutputPartOptions {
  /**
   * fsync before the rename. A file sink's part must survive a crash (it is committed into the output);
   * a spool part is read once by a gateway on the same machine and is worthless after a crash. @default true
   */
  durable?: boolean;
  /**
   * Create missing directories. A spool part goes into a directory its gateway made for the call and
   * removes when the call ends: a late attempt must not bring it back (it fails instead). @default true
   */
  createDirs?: boolean;
}

export async function openOutputPart(
  lookup: FileRootLookup,
  ref: FileRef,
  opts: OutputPartOptions = {},
): Promise<OutputPart> {
  const field = (name: string, message: string) => new InvalidArgumentError(`assign.output_part.${name}`, message);
  if (!ref.root) throw field('root', 'is required');
  if (!ref.path || path.isAbsolute(ref.path) || ref.path.includes('\0')) throw field('path', 'must be a path relative to its root');
  const dir = await lookup(ref.root);
  if (dir === undefined) throw new NotFoundError(`file root "${ref.root}" is not known to this executor`);
  if (opts.durable === false) return openPartBlocking(dir, ref, opts.createDirs ?? true, field);
  const realRoot = await realpath(dir).catch(() => {
    throw new NotFoundError(`file root "${ref.root}" does not exist on this executor`);
  });
  const file = path.resolve(realRoot, ref.path);
  if (!isInside(realRoot, file)) throw field('path', `"${ref.path}" leaves file root "${ref.root}"`);
  if (opts.createDirs ?? true) await mkdir(path.dirname(file), { recursive: true });
  // A symlinked directory inside the root may point outside it.
  const realDir = await realpath(path.dirname(file));
  if (realDir !== realRoot && !isInside(realRoot, realDir)) throw field('path', `"${ref.path}" leaves file root "${ref.root}"`);
  const final = path.join(realDir, path.basename(file));
  const tmp = `${final}.tmp-${randomBytes(4).toString('hex')}`;
  const fh: FileHandle = await open(tmp, 'wx');
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await fh.close();
  };
  return {
    file: final,
    tempFile: tmp,
    async write(bytes) {
      let at = 0;
      while (at < bytes.length) {
        const { bytesWritten } = await fh.write(bytes, at, bytes.length - at);
        at += bytesWritten;
      }
    },
    async commit() {
      if (opts.durable ?? true) await fh.sync();
      await close();
      await rename(tmp, final);
    },
    async discard() {
      await close().catch(() => undefined);
      await unlink(tmp).catch(() => undefined);
    },
  };
}

/**
 * A part that need not survive a crash (a spool part, read once by a gateway or caller on this machine) is
 * made, closed and renamed with blocking calls (issue 7 target 3): two realpaths, open, close and rename
 * through the thread pool were ~20% of the executor main thread's busy time on a 1,000-record job (one
 * ~120 KB part), each a short syscall on a local directory. The checks are the same as above.
 */
function openPartBlocking(
  dir: string,
  ref: FileRef,
  createDirs: boolean,
  field: (name: string, message: string) => InvalidArgumentError,
): OutputPart {
  let realRoot: string;
  try {
    realRoot = realpathSync.native(dir);
  } catch {
    throw new NotFoundError(`file root "${ref.root}" does not exist on this executor`);
  }
  const file = path.resolve(realRoot, ref.path);
  if (!isInside(realRoot, file)) throw field('path', `"${ref.path}" leaves file root "${ref.root}"`);
  if (createDirs) mkdirSync(path.dirname(file), { recursive: true });
  const realDir = realpathSync.native(path.dirname(file));
  if (realDir !== realRoot && !isInside(realRoot, realDir)) throw field('path', `"${ref.path}" leaves file root "${ref.root}"`);
  const final = path.join(realDir, path.basename(file));
  const tmp = `${final}.tmp-${randomBytes(4).toString('hex')}`;
  const fd = openSync(tmp, 'wx');
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    closeSync(fd);
  };
  return {
    file: final,
    tempFile: tmp,
    // async only so that a failure is a rejection, as from the other form
    async write(bytes) {
      for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at, bytes.length - at);
    },
    async commit() {
      close();
      renameSync(tmp, final);
    },
    async discard() {
      try {
        close();
      } catch {
        // closed already or failing: the temp file is removed below either way
      }
      try {
        unlinkSync(tmp);
      } catch {
        // gone already (its directory removed with the call)
      }
    },
  };
}
