// One etcd watch over a key prefix, delivering each change exactly once and in order across reconnects.
// etcd3 resumes a broken watch stream from the newest *header* revision it saw, which may lie beyond the
// last event delivered while a replay is still streaming; we pin its resume point to our own last
// delivered revision instead, and drop anything at or below it.
import type { Etcd3, IWatchResponse, Watcher } from 'etcd3';
import { RevisionCompactedError, StoreError } from './errors.js';
import { prefixEnd } from './keys.js';
import type { KvEvent, WatchHandle, WatchListener } from './types.js';

/** Budget of the read that fixes where a watch "from now" starts. */
const START_DEADLINE_MS = 5000;

export function createEtcdWatch(
  client: Etcd3,
  ns: string,
  prefix: string,
  fromRevision: number,
  listener: WatchListener,
): WatchHandle {
  const key = Buffer.from(ns + prefix);
  let delivered = fromRevision;
  let closed = false;
  let watcher: Watcher | undefined;
  const pinResume = (): void => {
    if (watcher && delivered > 0) watcher.request.start_revision = String(delivered + 1);
  };
  let resolveReady!: () => void;
  const ready = new Promise<void>((r) => (resolveReady = r));

  // "From now" must mean after every write acknowledged before this call. A watch without a start revision
  // starts at the serving member's applied revision, and a follower can lag behind a write the quorum has
  // acknowledged — it then delivered that earlier write as new (seen in CI on a 3-member cluster). A
  // linearizable read (etcd3's default for range) gives the revision to start after instead.
  const start = async (): Promise<void> => {
    if (delivered === 0) {
      const now = await client.kv.range({ key, count_only: true }, { deadline: Date.now() + START_DEADLINE_MS });
      delivered = Number(now.header.revision);
    }
    if (closed) return;
    watch(
      client
        .watch()
        .inRange({ start: key, end: prefixEnd(key) })
        .startRevision(String(delivered + 1))
        .watcher(),
    );
  };
  start().catch((err: unknown) =>
    fail(new StoreError(`etcd watch could not start: ${(err as Error).message}`, { cause: err })),
  );

  function watch(w: Watcher): void {
    watcher = w;
    w.on('connected', () => {
      pinResume();
      resolveReady();
    });
    w.on('disconnected', pinResume);
    w.on('data', (res: IWatchResponse) => {
      const events: KvEvent[] = [];
      for (const ev of res.events) {
        const mod = Number(ev.kv.mod_revision);
        if (mod <= delivered) continue;
        events.push({
          type: ev.type === 'Put' ? 'put' : 'delete',
          key: ev.kv.key.toString('utf8').slice(ns.length),
          ...(ev.type === 'Put' ? { value: Buffer.from(ev.kv.value) } : {}),
          modRevision: mod,
          createRevision: Number(ev.kv.create_revision),
          version: Number(ev.kv.version),
        });
      }
      const last = events[events.length - 1];
      if (last) delivered = last.modRevision;
      pinResume();
      if (events.length > 0 && !closed) {
        try {
          listener.onEvents(events, Math.max(Number(res.header.revision), delivered));
        } catch (err) {
          fail(err instanceof Error ? err : new Error(String(err)));
        }
      }
    });
    w.on('error', (err: Error) => {
      // etcd3 drops the cancel response's compact_revision (the reason is often empty), so ask etcd
      // whether the revision we need is still there: a read at a compacted revision fails saying so.
      const needed = delivered + 1;
      client.kv.range({ key, revision: needed, limit: 1 }, { deadline: Date.now() + 2000 }).then(
        () => fail(new StoreError(`etcd watch failed: ${err.message}`, { cause: err })),
        (probe: Error) =>
          fail(
            /compact/i.test(probe.message) || /compact/i.test(err.message)
              ? new RevisionCompactedError(delivered, Number(/(\d+)/.exec(probe.message)?.[1] ?? 0))
              : new StoreError(`etcd watch failed: ${err.message}`, { cause: err }),
          ),
      );
    });
  }

  function fail(err: Error): void {
    if (closed) return;
    closed = true;
    resolveReady();
    void watcher?.cancel().catch(() => undefined);
    listener.onError(err);
  }

  return {
    ready,
    async close() {
      if (closed) return;
      closed = true;
      resolveReady();
      await watcher?.cancel().catch(() => undefined);
    },
  };
}
