// On-disk form of one file-registry entry: `<dir>/<kind>/<id>.json`. The file's mtime is the heartbeat;
// the writer's TTL travels in the file so watchers judge freshness by the registrant's own setting.
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeNodeInfo } from '../node-info.js';
import type { NodeInfo, NodeKindName } from '../types.js';

export interface FileEntry {
  ttlSeconds: number;
  node: NodeInfo;
}

export function entryPath(dir: string, kind: NodeKindName, id: string): string {
  return join(dir, kind, `${id}.json`);
}

/** Entry files end in `.json`; temp files start with a dot and are never read. */
export function isEntryFileName(name: string): boolean {
  return name.endsWith('.json') && !name.startsWith('.');
}

/** Writes the entry atomically (temp file + rename), so a watcher never reads half a file. */
export async function writeEntry(dir: string, entry: FileEntry): Promise<void> {
  const kindDir = join(dir, entry.node.kind);
  await mkdir(kindDir, { recursive: true });
  const tmp = join(kindDir, `.${entry.node.id}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFile(tmp, JSON.stringify(entry));
    await rename(tmp, entryPath(dir, entry.node.kind, entry.node.id));
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

export function decodeEntry(text: string): FileEntry | undefined {
  try {
    const raw = JSON.parse(text) as { ttlSeconds?: unknown; node?: unknown };
    const node = decodeNodeInfo(JSON.stringify(raw.node));
    const ttl = raw.ttlSeconds;
    if (!node || typeof ttl !== 'number' || !(ttl > 0)) return undefined;
    return { ttlSeconds: ttl, node };
  } catch {
    return undefined;
  }
}
