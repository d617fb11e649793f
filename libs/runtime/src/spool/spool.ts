// The result spool (issue 7, direct result path): a directory where executors write streamed jobs' batch
// output as part files that the gateway reads and sends to the caller, so the records cross gRPC once
// (gateway → caller) instead of three times. The three must see the *same* directory: an equal path is
// not proof (containers on one host each have their own /tmp), so the first process to use a spool
// writes a random id into it and every process reads that id back. Equal ids ⇒ one shared directory.
import { randomUUID } from 'node:crypto';
import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';

/** Default spool: the same on every process of one machine (`flowmesh up`). */
export const DEFAULT_SPOOL_DIR = join(tmpdir(), 'flowmesh-spool');
/** RunJob call metadata (gateway → coordinator): the id of the caller's spool and its directory for this call. */
export const SPOOL_ID_METADATA_KEY = 'flowmesh-spool-id';
export const SPOOL_DIR_METADATA_KEY = 'flowmesh-spool-dir';
/**
 * RunJob request metadata (caller → gateway, issue 7 local hand-off): the id the caller read from its spool.
 * Equal to the gateway's, the caller is sent references to parts (`LocalPart`) instead of their bytes, and
 * the gateway names the call's directory in the response header SPOOL_DIR_METADATA_KEY.
 */
export const CALLER_SPOOL_ID_METADATA_KEY = 'flowmesh-caller-spool-id';
/** Discovery label of an executor: the id of the spool it writes parts into. */
export const SPOOL_LABEL = 'spool';
/** File root name of the spool in an output part's FileRef ('@' cannot start a configured root's name). */
export const SPOOL_ROOT = '@spool';

const ID_FILE = '.spool-id';

/** The spool's id, created (race-free: link(2) fails if another process won) when the spool is new. */
export async function spoolIdentity(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, ID_FILE);
  const existing = await readId(file);
  if (existing) return existing;
  const tmp = `${file}.${process.pid}.${randomUUID()}`;
  await writeFile(tmp, randomUUID(), { mode: 0o600 });
  try {
    await link(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
  const id = await readId(file);
  if (!id) throw new Error(`spool ${dir}: ${ID_FILE} is empty`);
  return id;
}

/** The id of an existing spool, or undefined when there is none at `dir` (never creates one). */
export function existingSpoolId(dir: string): Promise<string | undefined> {
  return readId(join(dir, ID_FILE));
}

async function readId(file: string): Promise<string | undefined> {
  try {
    const id = (await readFile(file, 'utf8')).trim();
    return id || undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** A relative path inside the spool that cannot leave it (no absolute path, no `..`, no NUL). */
export function isSpoolRelative(path: string): boolean {
  if (!path || path.includes('\0') || path.includes('\\') || posix.isAbsolute(path)) return false;
  return path.split('/').every((seg) => seg !== '' && seg !== '.' && seg !== '..');
}
