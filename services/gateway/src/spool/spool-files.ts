// Creating and removing a call's spool directory and its parts (issue 7 target 3). Making the directory and
// removing a part are blocking calls: each is one short syscall, cheaper than a thread-pool round trip, as for
// the small reads in the coordinator's file-source.ts. Removing the directory is not: on ext4 an rmdir waits
// for the journal (which every fsync of the job's records keeps busy) — ~10% of the gateway's busy time in
// a profile of 1,000-record jobs, with the event loop stalled meanwhile — so it goes through the thread pool
// (one plain rmdir; a directory that is not empty, with parts of a losing or failed attempt, falls back to
// the recursive removal).
import { mkdirSync, unlinkSync } from 'node:fs';
import { rm, rmdir } from 'node:fs/promises';

export function makeCallDir(abs: string): void {
  mkdirSync(abs, { mode: 0o700 });
}

/** Removes the call's directory and whatever is left in it; rejects only when the recursive removal fails. */
export async function removeCallDir(abs: string): Promise<void> {
  try {
    await rmdir(abs);
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
