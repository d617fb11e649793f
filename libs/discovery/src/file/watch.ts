// A view over the registry directory, driven by three things:
// - fs.watch on each kind directory names the entry that changed, and only that entry is stat'ed (and read
//   again when its file was replaced);
// - a timer at the earliest TTL deadline of the listed entries re-checks those, so a writer that went
//   silent drops out at its TTL whether or not any event came;
// - a full rescan every `pollMs` (2 s by default) catches whatever a filesystem's watch misses (fs.watch is
//   not reliable everywhere: network and some overlay mounts drop events) and deletes long-dead entries.
// Before (issue 7), every view of every node rescanned in full five times a second — a readdir per kind and a
// stat per entry — which was most of an idle mesh's ~35 ms of CPU per second, paid during every job too.
// Entries whose file is older than their TTL are dropped; files stale for 10 × TTL (at least a minute) are
// deleted, since their writer is gone for good — a paused writer that resumes rewrites its file on its next
// heartbeat anyway.
// Entries are read with synchronous calls: a registry directory is on this machine's disk (the file registry
// is the single-machine provider) and holds a few small files, so a stat or a read is a few µs, where each
// promise call is a thread-pool round trip — a refresh was stat + open + fstat + read + close, five of them.
import { readFileSync, readdirSync, statSync, watch, type FSWatcher, type Stats } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pause } from '../backoff.js';
import { NODE_KINDS, type NodeInfo, type NodeKindName } from '../types.js';
import { LocalView } from '../view.js';
import { decodeEntry, isEntryFileName, type FileEntry } from './entry.js';

/** More entries than this in one kind directory are ignored (bounded work per scan). */
const MAX_ENTRIES_PER_KIND = 10_000;

/**
 * A decoded entry, kept while its file is the same one. Writers replace the content by rename (a new file)
 * and refresh an unchanged entry by setting its mtime (registration.ts), so a file is the same one while its
 * inode, size and birth time are: an inode number freed by a rename can come back with the next temp file,
 * but not with the same birth time. Where the filesystem reports no birth time, the mtime stands in (a
 * heartbeat then reads the entry again).
 */
interface Held {
  ino: number;
  size: number;
  bornMs: number;
  /** The heartbeat: updated without a read when only it changed. */
  mtimeMs: number;
  entry: FileEntry | undefined;
}

function sameFile(held: Held, info: Stats): boolean {
  return held.ino === info.ino && held.size === info.size && held.bornMs === bornMs(info);
}

function bornMs(info: Stats): number {
  return info.birthtimeMs > 0 ? info.birthtimeMs : info.mtimeMs;
}

interface Watched {
  watcher: FSWatcher;
  /** The directory's inode: a directory removed and made again needs a new watch. */
  ino: number;
}

export function watchFiles(
  dir: string,
  kind: NodeKindName | undefined,
  pollMs: number,
  onClose: (v: LocalView) => void,
): LocalView {
  const kinds: readonly NodeKindName[] = kind ? [kind] : NODE_KINDS;
  const stop = new AbortController();
  const watchers = new Map<NodeKindName, Watched>();
  let expiryTimer: NodeJS.Timeout | undefined;
  /** The deadline `expiryTimer` is set for (Infinity: none). */
  let expiryAt = Infinity;
  const view: LocalView = new LocalView(kind, () => {
    stop.abort();
    for (const w of watchers.values()) w.watcher.close();
    watchers.clear();
    clearTimeout(expiryTimer);
    onClose(view);
  });

  let known = new Map<string, Held>();
  // One worker applies scans and refreshes in turn, so a refresh never races a full scan over the view.
  let fullScanDue = false;
  const duePaths = new Map<string, { k: NodeKindName; name: string }>();
  let working = false;

  function kick(): void {
    if (!working && !stop.signal.aborted) void work();
  }

  async function work(): Promise<void> {
    working = true;
    try {
      while (!stop.signal.aborted && (fullScanDue || duePaths.size > 0)) {
        if (fullScanDue) {
          fullScanDue = false;
          duePaths.clear();
          await fullScan();
          continue;
        }
        const [path, due] = duePaths.entries().next().value as [string, { k: NodeKindName; name: string }];
        duePaths.delete(path);
        refresh(due.k, due.name, path);
      }
    } finally {
      working = false;
    }
    armExpiry();
  }

  /** The entry at `path`, read again only when its file was replaced; throws when it is gone. */
  function load(path: string): Held {
    const info = statSync(path);
    const held = known.get(path);
    if (held && sameFile(held, info)) {
      held.mtimeMs = info.mtimeMs;
      return held;
    }
    const entry = decodeEntry(readFileSync(path, 'utf8'));
    return { ino: info.ino, size: info.size, bornMs: bornMs(info), mtimeMs: info.mtimeMs, entry };
  }

  /** The node an entry lists now, or undefined when it is invalid or older than its TTL. */
  function listed(k: NodeKindName, name: string, held: Held, now: number): NodeInfo | undefined {
    const entry = held.entry;
    if (!entry || `${entry.node.id}.json` !== name || entry.node.kind !== k) return undefined;
    return now - held.mtimeMs <= entry.ttlSeconds * 1000 ? entry.node : undefined;
  }

  function refresh(k: NodeKindName, name: string, path: string): void {
    let node: NodeInfo | undefined;
    try {
      const held = load(path);
      known.set(path, held);
      node = listed(k, name, held, Date.now());
    } catch {
      known.delete(path); // removed (or replaced between stat and read: its own event follows)
    }
    if (node) view.upsert(node);
    else {
      const id = name.slice(0, -'.json'.length);
      if (view.get(id)?.kind === k) view.remove(id);
    }
  }

  async function fullScan(): Promise<void> {
    const nodes: NodeInfo[] = [];
    const now = Date.now();
    const seen = new Map<string, Held>();
    for (const k of kinds) {
      const kindDir = join(dir, k);
      let names: string[];
      try {
        names = readdirSync(kindDir);
      } catch {
        names = [];
      }
      for (const name of names.filter(isEntryFileName).slice(0, MAX_ENTRIES_PER_KIND)) {
        const path = join(kindDir, name);
        try {
          const held = load(path);
          seen.set(path, held);
          const node = listed(k, name, held, now);
          if (node) nodes.push(node);
          else if (held.entry && now - held.mtimeMs > Math.max(60_000, held.entry.ttlSeconds * 10_000))
            await rm(path, { force: true });
        } catch {
          // Removed or replaced between readdir and read: the next scan (or its event) sees the new state.
        }
      }
    }
    // Only what this scan saw stays known (a removed entry's decoded copy is dropped).
    known = seen;
    view.replaceAll(nodes);
  }

  /** One timer at the earliest deadline of a listed entry: those entries are stat'ed again then. */
  function armExpiry(): void {
    let first = Infinity;
    if (!stop.signal.aborted) {
      for (const held of known.values()) {
        const entry = held.entry;
        if (!entry || view.get(entry.node.id)?.kind !== entry.node.kind) continue;
        first = Math.min(first, held.mtimeMs + entry.ttlSeconds * 1000);
      }
    }
    if (first === expiryAt) return; // the timer set for it stands
    clearTimeout(expiryTimer);
    expiryTimer = undefined;
    expiryAt = first;
    if (first === Infinity) return;
    expiryTimer = setTimeout(expire, Math.max(0, first - Date.now()) + 1);
    expiryTimer.unref();
  }

  function expire(): void {
    expiryTimer = undefined;
    expiryAt = Infinity;
    const now = Date.now();
    for (const [path, held] of known) {
      const entry = held.entry;
      if (!entry || held.mtimeMs + entry.ttlSeconds * 1000 >= now) continue;
      duePaths.set(path, { k: entry.node.kind, name: `${entry.node.id}.json` });
    }
    kick(); // re-arms the timer when done
  }

  /** Watches every kind directory not yet watched (made when missing); failures leave it to the rescan. */
  async function ensureWatchers(): Promise<void> {
    for (const k of kinds) {
      const kindDir = join(dir, k);
      const current = watchers.get(k);
      try {
        await mkdir(kindDir, { recursive: true });
        const { ino } = await stat(kindDir);
        if (current?.ino === ino || stop.signal.aborted) continue;
        current?.watcher.close();
        const watcher = watch(kindDir, { persistent: false }, (_event, filename) => {
          const name = filename?.toString();
          if (!name) fullScanDue = true;
          else if (isEntryFileName(name)) duePaths.set(join(kindDir, name), { k, name });
          else return; // a writer's temp file
          kick();
        });
        // A broken watch is dropped; the next rescan watches again.
        watcher.on('error', () => {
          watcher.close();
          if (watchers.get(k)?.watcher === watcher) watchers.delete(k);
        });
        watchers.set(k, { watcher, ino });
      } catch {
        current?.watcher.close();
        watchers.delete(k);
      }
    }
  }

  async function loop(): Promise<void> {
    while (!stop.signal.aborted) {
      await ensureWatchers();
      fullScanDue = true;
      kick();
      // A directory without a watch (no inotify instance left, a directory that cannot be made) is rescanned
      // as often as before watches were used, so changes still arrive within 200 ms.
      await pause(watchers.size === kinds.length ? pollMs : Math.min(pollMs, 200), stop.signal);
    }
  }

  void loop();
  return view;
}
