// A view over the registry directory by polling: portable (fs.watch misses events on some filesystems) and
// cheap for the few dozen entries of one machine. Entries whose file is older than their TTL are dropped;
// files stale for 10 × TTL (at least a minute) are deleted, since their writer is gone for good — a paused
// writer that resumes rewrites its file on its next heartbeat anyway.
import { readFile, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pause } from '../backoff.js';
import { NODE_KINDS, type NodeInfo, type NodeKindName } from '../types.js';
import { LocalView } from '../view.js';
import { decodeEntry, isEntryFileName } from './entry.js';

/** More entries than this in one kind directory are ignored (bounded work per scan). */
const MAX_ENTRIES_PER_KIND = 10_000;

export function watchFiles(
  dir: string,
  kind: NodeKindName | undefined,
  pollMs: number,
  onClose: (v: LocalView) => void,
): LocalView {
  const stop = new AbortController();
  const view: LocalView = new LocalView(kind, () => {
    stop.abort();
    onClose(view);
  });

  // Decoded entries by path, kept while the file is the same one (writers replace it by rename: a new
  // inode and mtime). A scan then costs a stat per unchanged entry instead of an open, read and close
  // (every node polls five times a second, issue 7).
  let known = new Map<string, { ino: number; mtimeMs: number; size: number; entry: ReturnType<typeof decodeEntry> }>();
  let seen = new Map<string, NonNullable<ReturnType<typeof known.get>>>();

  async function scanKind(k: NodeKindName, now: number, into: NodeInfo[]): Promise<void> {
    const kindDir = join(dir, k);
    const names = await readdir(kindDir).catch(() => [] as string[]);
    for (const name of names.filter(isEntryFileName).slice(0, MAX_ENTRIES_PER_KIND)) {
      const path = join(kindDir, name);
      try {
        const info = await stat(path);
        let held = known.get(path);
        if (!held || held.ino !== info.ino || held.mtimeMs !== info.mtimeMs || held.size !== info.size) {
          held = {
            ino: info.ino,
            mtimeMs: info.mtimeMs,
            size: info.size,
            entry: decodeEntry(await readFile(path, 'utf8')),
          };
        }
        seen.set(path, held);
        const entry = held.entry;
        if (!entry || `${entry.node.id}.json` !== name || entry.node.kind !== k) continue;
        const age = now - info.mtimeMs;
        if (age <= entry.ttlSeconds * 1000) into.push(entry.node);
        else if (age > Math.max(60_000, entry.ttlSeconds * 10_000)) await rm(path, { force: true });
      } catch {
        // Removed or replaced between readdir and read: the next scan sees the new state.
      }
    }
  }

  async function loop(): Promise<void> {
    while (!stop.signal.aborted) {
      const nodes: NodeInfo[] = [];
      const now = Date.now();
      for (const k of kind ? [kind] : NODE_KINDS) await scanKind(k, now, nodes);
      // Only what this scan saw stays known (a removed entry's decoded copy is dropped).
      known = seen;
      seen = new Map();
      view.replaceAll(nodes);
      await pause(pollMs, stop.signal);
    }
  }

  void loop();
  return view;
}
