// What is left in a result spool, for the mesh tests of the spool path and of the local hand-off: part
// files and call directories must all be gone once a call has ended, whatever happened to it.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { waitFor } from '@flowmesh/testing';

/** Every file under `dir` (recursively) except the spool's id: parts, temp parts. */
async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile() && e.name !== '.spool-id') out.push(join(e.parentPath, e.name));
  }
  return out;
}

/** Call directories (g-<host>-<pid>/<call>) still in the spool. */
async function callDirsUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const own of await readdir(dir, { withFileTypes: true })) {
    if (!own.isDirectory()) continue;
    for (const call of await readdir(join(dir, own.name))) out.push(join(own.name, call));
  }
  return out;
}

/** Resolves once the spool holds no part file and no call directory. */
export function spoolEmptied(spool: string): Promise<unknown> {
  return waitFor(async () => (await filesUnder(spool)).length === 0 && (await callDirsUnder(spool)).length === 0, {
    timeoutMs: 20_000,
    what: 'no part file or call directory left in the spool',
  });
}
