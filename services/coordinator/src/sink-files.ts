// File helpers shared by the file sink's two layouts (file-sink.ts, parts-sink.ts).
import { access, open, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { FileRef, Reject } from '@flowmesh/contracts';

/**
 * A sink's temp file or directory for `file` (the target or its rejects file): hidden beside the target, named
 * by the job and the ownership epoch (issue 6), so a deposed owner that still writes never touches the new
 * owner's.
 */
export function sinkTempPath(target: string, file: string, jobId: string, epoch: number): string {
  return join(dirname(target), `.${basename(file)}.${jobId}${epoch > 1 ? `.e${epoch}` : ''}.tmp`);
}

/** Positional writes: the file is only ever written at its end, and a partial write is continued. */
export async function writeAll(fh: FileHandle, bytes: Uint8Array, at: number): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await fh.write(bytes, done, bytes.length - done, at + done);
    done += bytesWritten;
  }
}

/** Where a sink's output and its rejects are (relative to the root), as the job record names them. */
export function sinkRefs(rootName: string, path: string): { output: FileRef; rejects: FileRef } {
  return { output: { root: rootName, path }, rejects: { root: rootName, path: `${path}.rejects.jsonl` } };
}

export function pathExists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/**
 * Starts the empty file `dst` from the first `n` bytes of the file `from` (what a checkpoint recorded of an
 * earlier epoch's temp file) and, when `removeFrom`, unlinks `from`: the old owner may still hold it open and
 * write, and its writes then land in a file nobody reads.
 */
export async function restorePrefix(from: string, dst: FileHandle, n: number, removeFrom: boolean): Promise<void> {
  if (n > 0) {
    const src = await open(from, 'r');
    try {
      await copyRange(src, dst, n);
    } finally {
      await src.close();
    }
  }
  if (removeFrom) await rm(from, { force: true });
}

/** Copies the first `n` bytes of `src` to the start of `dst`; fails when `src` is shorter (a lost write). */
async function copyRange(src: FileHandle, dst: FileHandle, n: number): Promise<void> {
  const buf = Buffer.allocUnsafe(Math.min(n, 1 << 20));
  let at = 0;
  while (at < n) {
    const { bytesRead } = await src.read(buf, 0, Math.min(buf.length, n - at), at);
    if (bytesRead === 0) throw new Error(`checkpointed sink file ended at ${at} bytes, expected ${n}`);
    await writeAll(dst, buf.subarray(0, bytesRead), at);
    at += bytesRead;
  }
}

/** Appends a job's rejects to a sink's rejects temp file as JSONL (line, reason, step, raw), counting its bytes. */
export async function appendRejects(fh: FileHandle, rejects: readonly Reject[], at: number): Promise<number> {
  if (rejects.length === 0) return at;
  const text = Buffer.from(
    rejects.map((r) => `${JSON.stringify({ line: r.line, reason: r.reason, step: r.step, raw: r.raw })}\n`).join(''),
  );
  await writeAll(fh, text, at);
  return at + text.length;
}
