// Watchers of the embedded store. A new watcher first replays history (fromRevision, current] from disk,
// while live commits queue up behind it; then it drains the queue and goes live. Because the watcher is
// registered and the replay bound fixed in the same tick, no commit falls between replay and live.
import type { ClassicLevel } from 'classic-level';
import { RevisionCompactedError } from './errors.js';
import { decodeEvents, historyKey } from './embedded-codec.js';
import type { KvEvent, WatchHandle, WatchListener } from './types.js';

/** Live commits a watcher may hold while its replay runs; beyond this it fails and must re-list. */
const MAX_QUEUED_COMMITS = 10_000;

interface Watcher {
  prefix: string;
  listener: WatchListener;
  /** Undefined once live; else commits that arrived during replay. */
  queue: Array<{ events: KvEvent[]; revision: number }> | undefined;
  closed: boolean;
}

export interface EmbeddedWatchHub {
  add(prefix: string, fromRevision: number, listener: WatchListener): WatchHandle;
  publish(events: KvEvent[], revision: number): void;
  closeAll(): void;
}

export function createEmbeddedWatchHub(
  db: ClassicLevel<string, Uint8Array>,
  state: () => { revision: number; compacted: number },
): EmbeddedWatchHub {
  const watchers = new Set<Watcher>();

  function deliver(w: Watcher, events: KvEvent[], revision: number): void {
    const mine = events.filter((e) => e.key.startsWith(w.prefix));
    if (mine.length === 0 || w.closed) return;
    try {
      w.listener.onEvents(mine, revision);
    } catch (err) {
      fail(w, err instanceof Error ? err : new Error(String(err)));
    }
  }

  function fail(w: Watcher, err: Error): void {
    if (w.closed) return;
    w.closed = true;
    watchers.delete(w);
    w.listener.onError(err);
  }

  async function replay(w: Watcher, fromRevision: number, upTo: number): Promise<void> {
    for await (const [, v] of db.iterator({ gt: historyKey(fromRevision), lte: historyKey(upTo) })) {
      if (w.closed) return;
      const events = decodeEvents(v);
      deliver(w, events, events[0]?.modRevision ?? upTo);
    }
  }

  return {
    add(prefix, fromRevision, listener) {
      const { revision, compacted } = state();
      const w: Watcher = { prefix, listener, queue: [], closed: false };
      watchers.add(w);
      const start = fromRevision <= 0 ? revision : fromRevision;
      const ready = (async () => {
        if (start < compacted) throw new RevisionCompactedError(fromRevision, compacted);
        if (start < revision) await replay(w, start, revision);
        const queued = w.queue ?? [];
        w.queue = undefined;
        for (const c of queued) deliver(w, c.events, c.revision);
      })().catch((err: unknown) => fail(w, err instanceof Error ? err : new Error(String(err))));
      return {
        ready: ready.then(() => undefined),
        async close() {
          w.closed = true;
          watchers.delete(w);
          await ready;
        },
      };
    },
    publish(events, revision) {
      for (const w of watchers) {
        if (!w.queue) {
          deliver(w, events, revision);
        } else if (w.queue.length >= MAX_QUEUED_COMMITS) {
          fail(w, new RevisionCompactedError(revision, revision - 1));
        } else {
          w.queue.push({ events, revision });
        }
      }
    },
    closeAll() {
      for (const w of watchers) w.closed = true;
      watchers.clear();
    },
  };
}
