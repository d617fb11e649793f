// File roots: named directories an executor can read directly. A batch names a root and a path relative to
// it; the path must stay inside the root (symlinks included), or the assignment is refused.
import { realpathSync } from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError, NotFoundError } from '@flowmesh/runtime';

/** Resolves a root name to its absolute directory, or undefined when this executor cannot see it. */
export type FileRootLookup = (name: string) => Promise<string | undefined>;

/** Parses repeated `--file-root name=/abs/path` flags. */
export function parseFileRootFlags(values: readonly string[]): Record<string, string> {
  const roots: Record<string, string> = {};
  for (const value of values) {
    const eq = value.indexOf('=');
    const name = value.slice(0, eq).trim();
    const dir = value.slice(eq + 1).trim();
    if (eq <= 0 || !dir) throw new InvalidArgumentError('file-root', `expected name=/abs/path, got "${value}"`);
    if (!path.isAbsolute(dir)) throw new InvalidArgumentError('file-root', `path of root "${name}" must be absolute`);
    roots[name] = path.resolve(dir);
  }
  return roots;
}

export function staticFileRoots(roots: Record<string, string>): FileRootLookup {
  return async (name) => (Object.hasOwn(roots, name) ? roots[name] : undefined);
}

/**
 * The absolute, symlink-free path of `relPath` under the root, or a typed error. The two realpath calls are
 * synchronous (libc realpath: a few lstat calls answered from the dentry cache), which costs a fraction of
 * two thread-pool round trips at thousands of tiny batches per second (issue 7); a job's batches resolve
 * their file once (source-files.ts).
 */
export async function resolveInRoot(lookup: FileRootLookup, root: string, relPath: string): Promise<string> {
  if (!root) throw new InvalidArgumentError('assign.file.root', 'a file root name is required');
  return resolveInDir(await lookup(root), root, relPath);
}

/** resolveInRoot with the root's directory already looked up (undefined: not known to this executor). */
export function resolveInDir(dir: string | undefined, root: string, relPath: string): string {
  if (!root) throw new InvalidArgumentError('assign.file.root', 'a file root name is required');
  if (!relPath) throw new InvalidArgumentError('assign.file.path', 'a path is required');
  if (dir === undefined) throw new NotFoundError(`file root "${root}" is not known to this executor`);
  if (path.isAbsolute(relPath) || relPath.includes('\0')) {
    throw new InvalidArgumentError('assign.file.path', 'must be relative to its file root');
  }
  let realDir: string;
  try {
    realDir = realpathSync.native(dir);
  } catch {
    throw new NotFoundError(`file root "${root}" does not exist on this executor`);
  }
  const lexical = path.resolve(realDir, relPath);
  if (!isInside(realDir, lexical)) throw escaped(root, relPath);
  let real: string;
  try {
    real = realpathSync.native(lexical);
  } catch {
    throw new NotFoundError(`file "${relPath}" not found under root "${root}"`);
  }
  // A symlink inside the root may still point outside it.
  if (!isInside(realDir, real)) throw escaped(root, relPath);
  return real;
}

export function isInside(dir: string, file: string): boolean {
  const rel = path.relative(dir, file);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

function escaped(root: string, relPath: string): InvalidArgumentError {
  return new InvalidArgumentError('assign.file.path', `path "${relPath}" leaves file root "${root}"`);
}
