// The gateway's side of the result spool (issue 7, direct result path). Each streamed job gets a directory
// of its own in the spool, named in the RunJob call metadata with the spool's id; a coordinator whose
// executors advertise the same id has them write each accepted batch's records there as a part and sends
// only its name (RecordsPart). The gateway reads a part whole (one batch's output: the memory bound is the
// same as a batch in the coordinator's reorder buffer), verifies size and CRC-32 before anything of the
// batch reaches the caller (a failed job shows whole batches only: docs/guarantees.md), sends it in the
// chunks the executor wrote, and removes it. The call's directory goes when the call ends, whatever
// happened (losing and failed attempts' parts with it); directories of gateways that died are swept at
// start. Executors never create the directory, so a late attempt cannot bring it back.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { RecordChunk, RecordsPart } from '@flowmesh/contracts';
import {
  DataLossError,
  isSpoolRelative,
  readCheckedPart,
  SPOOL_DIR_METADATA_KEY,
  SPOOL_ID_METADATA_KEY,
  spoolIdentity,
  type Logger,
} from '@flowmesh/runtime';
import { makeCallDir, removeCallDir, removePart } from './spool-files.js';

export interface ResultSpool {
  readonly id: string;
  /** A directory for one RunJob call, once it exists. */
  openCall(): Promise<CallSpool>;
  /**
   * A directory for one RunJob call, named at once and `made` through the thread pool meanwhile: the caller
   * opens its call to a coordinator in the meantime and sends the job's start only once `made` resolves
   * (executors never create the directory). Rejects `made` when it cannot be made.
   */
  beginCall(): { call: CallSpool; made: Promise<void> };
  /** Removes this gateway's directory (at stop, after the calls ended; idempotent, never throws). */
  close(): Promise<void>;
}

export interface CallSpool {
  /** The call's directory, relative to the spool. */
  readonly dir: string;
  /** The spool's directory (absolute). */
  readonly spoolDir: string;
  /** Metadata entries naming this spool and the call's directory to the coordinator. */
  readonly metadata: ReadonlyArray<readonly [string, string]>;
  /**
   * The part's records as the chunks to send, checked against the part's size and checksum; the part is
   * removed once read. Throws DataLossError naming the batch when the part is missing, short or corrupt.
   */
  read(part: RecordsPart): Promise<RecordChunk[]>;
  /** Removes the call's directory and everything left in it (idempotent, never throws). */
  close(): Promise<void>;
}

/** Own directories are `g-<host>-<pid>`: a sweep removes those of this host whose process is gone. */
const OWNER_PREFIX = 'g-';

export async function openResultSpool(dir: string, logger: Logger): Promise<ResultSpool> {
  const id = await spoolIdentity(dir);
  const host = hostname().replace(/[^A-Za-z0-9.]/g, '_');
  const own = `${OWNER_PREFIX}${host}-${process.pid}`;
  await sweep(dir, host, own, logger);
  await mkdir(join(dir, own), { recursive: true, mode: 0o700 });
  let closing: Promise<void> | undefined;
  function beginCall(): { call: CallSpool; made: Promise<void> } {
    const rel = `${own}/${randomBytes(8).toString('hex')}`;
    const abs = join(dir, rel);
    const made = makeCallDir(abs);
    // Settled either way before a removal starts: an rmdir that ran ahead of the mkdir would leave it behind.
    const settledMade = made.catch(() => undefined);
    let closed: Promise<void> | undefined;
    const call: CallSpool = {
      dir: rel,
      spoolDir: dir,
      metadata: [
        [SPOOL_ID_METADATA_KEY, id],
        [SPOOL_DIR_METADATA_KEY, rel],
      ],
      read: (part) => readPart(dir, rel, part),
      close() {
        closed ??= settledMade
          .then(() => removeCallDir(abs))
          .catch((err: unknown) => logger.warn({ err, dir: abs }, "could not remove a call's result spool directory"));
        return closed;
      },
    };
    return { call, made };
  }

  return {
    id,
    close() {
      closing ??= rm(join(dir, own), { recursive: true, force: true, maxRetries: 3 }).catch((err: unknown) =>
        logger.warn({ err }, 'could not remove the result spool directory'),
      );
      return closing;
    },
    async openCall() {
      const { call, made } = beginCall();
      await made.catch(async (err: unknown) => {
        await call.close();
        throw err;
      });
      return call;
    },
    beginCall,
  };
}

async function readPart(spoolDir: string, callDir: string, part: RecordsPart): Promise<RecordChunk[]> {
  const what = `job ${part.jobId}: batch ${part.batchIndex}'s records part ${part.path}`;
  checkPartOfCall(callDir, part, what);
  const file = join(spoolDir, part.path);
  try {
    return await readCheckedPart(file, { ...part, bytes: Number(part.bytes) }, what);
  } finally {
    removePart(file);
  }
}

/** Throws DataLossError unless the part is in the call's directory and checksummed with CRC-32. */
export function checkPartOfCall(callDir: string, part: RecordsPart, what: string): void {
  if (!isSpoolRelative(part.path) || !part.path.startsWith(`${callDir}/`))
    throw new DataLossError(`${what} is not in this call's spool directory`);
  if (part.checksumAlgorithm && part.checksumAlgorithm.toLowerCase() !== 'crc32')
    throw new DataLossError(`${what}: unsupported checksum algorithm ${part.checksumAlgorithm}`);
}

/** Removes directories of this host's gateways whose process is gone (crashed without cleaning up). */
async function sweep(dir: string, host: string, own: string, logger: Logger): Promise<void> {
  const prefix = `${OWNER_PREFIX}${host}-`;
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length));
    if (!Number.isSafeInteger(pid) || pid <= 0) continue;
    if (name !== own && alive(pid)) continue;
    await rm(join(dir, name), { recursive: true, force: true }).catch((err: unknown) =>
      logger.warn({ err, dir: name }, 'could not sweep a stale result spool directory'),
    );
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
