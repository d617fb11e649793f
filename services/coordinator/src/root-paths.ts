// Paths under a file root: resolved against the root's real directory and refused when they leave it
// (`..`, absolute paths, or a symlink pointing outside).
import { realpathSync } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from '@flowmesh/runtime';

async function realRoot(rootName: string, rootPath: string): Promise<string> {
  try {
    return await realpath(rootPath);
  } catch {
    throw new FailedPreconditionError(`file root "${rootName}" (${rootPath}) does not exist on the coordinator`);
  }
}

const inside = (root: string, p: string): boolean => p.startsWith(root + sep);

/**
 * The real path of an existing file under the root. Resolved with blocking realpath(3) calls: two thread-pool
 * round trips on every job's path cost more wall time than the microseconds they take (issue 7).
 */
export function pathUnderRoot(rootName: string, rootPath: string, path: string): string {
  let root: string;
  try {
    root = realpathSync.native(rootPath);
  } catch {
    throw new FailedPreconditionError(`file root "${rootName}" (${rootPath}) does not exist on the coordinator`);
  }
  const full = resolve(join(root, path));
  if (!inside(root, full)) throw new InvalidArgumentError('source.path', `"${path}" leaves file root "${rootName}"`);
  let real: string;
  try {
    real = realpathSync.native(full);
  } catch {
    throw new NotFoundError(`"${path}" not found under file root "${rootName}"`);
  }
  if (!inside(root, real)) throw new InvalidArgumentError('source.path', `"${path}" leaves file root "${rootName}"`);
  return real;
}

/** Where a new file may be written under the root, or undefined when `path` leaves it. */
export async function pathUnderRootForWrite(
  rootName: string,
  rootPath: string,
  path: string,
): Promise<string | undefined> {
  const root = await realRoot(rootName, rootPath);
  const full = resolve(join(root, path));
  if (!inside(root, full)) return undefined;
  // The nearest existing ancestor must resolve inside the root too (no symlinked directory escape).
  let dir = dirname(full);
  for (;;) {
    try {
      const real = await realpath(dir);
      return real === root || inside(root, real) ? full : undefined;
    } catch {
      const parent = dirname(dir);
      if (parent === dir) return undefined;
      dir = parent;
    }
  }
}
