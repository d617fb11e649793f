// Paths under a file root: resolved against the root's real directory and refused when they leave it
// (`..`, absolute paths, or a symlink pointing outside).
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

/** The real path of an existing file under the root. */
export async function pathUnderRoot(rootName: string, rootPath: string, path: string): Promise<string> {
  const root = await realRoot(rootName, rootPath);
  const full = resolve(join(root, path));
  if (!inside(root, full)) throw new InvalidArgumentError('source.path', `"${path}" leaves file root "${rootName}"`);
  let real: string;
  try {
    real = await realpath(full);
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
