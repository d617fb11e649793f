// Creating and removing a call's spool directory and its parts, with blocking calls (issue 7 target 3). Each
// RunJob call made a directory, removed a part and removed the directory through the thread pool; the
// promise forms cost a pool round trip each, and `rm` adds an lstat (a recursive one: lstat, readdir,
// rmdir). On a local spool these are single short syscalls: blocking is cheaper than the hand-off, as for
// the small reads in the coordinator's file-source.ts. A directory that is not empty (parts of a losing or
// failed attempt) falls back to the recursive removal off the event loop.
import { mkdirSync, rmdirSync, unlinkSync } from 'node:fs';
import { rm } from 'node:fs/promises';

export function makeCallDir(abs: string): void {
  mkdirSync(abs, { mode: 0o700 });
}

/** Removes the call's directory and whatever is left in it; rejects only when the recursive removal fails. */
export async function removeCallDir(abs: string): Promise<void> {
  try {
    rmdirSync(abs);
    return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
  }
  await rm(abs, { recursive: true, force: true, maxRetries: 3 });
}

/** Removes a part; a missing one is fine (removed already). Never throws. */
export function removePart(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // ENOENT: gone already; anything else: the call's directory removal takes it with it.
  }
}
