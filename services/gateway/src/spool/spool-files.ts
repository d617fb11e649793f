// Creating and removing a call's spool directory and its parts (issue 7 target 3). Removing a part is a
// blocking call: one short syscall, cheaper than a thread-pool round trip, as for the small reads in the
// coordinator's file-source.ts. The directory is made and removed through the thread pool: on ext4 an rmdir
// (and a mkdir) may wait for the journal that every fsync of the job records keeps busy — the rmdir was ~10%
// of the gateway's busy time in a profile of 1,000-record jobs, with the event loop stalled meanwhile — and
// the mkdir, made while the call to the coordinator opens, is then off the job's path (result-spool.ts).
// Removal is one plain rmdir; a directory that is not empty, with parts of a losing or failed attempt, falls
// back to the recursive removal.
import { unlinkSync } from 'node:fs';
import { mkdir, rm, rmdir } from 'node:fs/promises';

export async function makeCallDir(abs: string): Promise<void> {
  await mkdir(abs, { mode: 0o700 });
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
