// File helpers shared by the file sink's two layouts (file-sink.ts, parts-sink.ts).
import type { FileHandle } from 'node:fs/promises';
import type { Reject } from '@flowmesh/contracts';
import { basename, dirname, join } from 'node:path';

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

/** Copies the first `n` bytes of `src` to the start of `dst`; fails when `src` is shorter (a lost write). */
export async function copyRange(src: FileHandle, dst: FileHandle, n: number): Promise<void> {
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
