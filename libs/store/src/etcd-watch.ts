// One etcd watch over a key prefix, delivering each change exactly once and in order across reconnects.
// etcd3 resumes a broken watch stream from the newest *header* revision it saw, which may lie beyond the
// last event delivered while a replay is still streaming; we pin its resume point to our own last
// delivered revision instead, and drop anything at or below it.
import type { Etcd3, IWatchResponse, Watcher } from 'etcd3';
import { RevisionCompactedError, StoreError } from './errors.js';
import { prefixEnd } from './keys.js';
import type { KvEvent, WatchHandle, WatchListener } from './types.js';

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
  let builder = client.watch().inRange({ start: key, end: prefixEnd(key) });
  if (fromRevision > 0) builder = builder.startRevision(String(fromRevision + 1));
  const watcher: Watcher = builder.watcher();
  const pinResume = (): void => {
    if (delivered > 0) watcher.request.start_revision = String(delivered + 1);
  };
  let resolveReady!: () => void;
  const ready = new Promise<void>((r) => (resolveReady = r));

  watcher.on('connected', (res: IWatchResponse) => {
    // A watch "from now" resumes after the revision it was created at.
    if (delivered === 0) delivered = Number(res.header.revision);
    pinResume();
    resolveReady();
  });
  watcher.on('disconnected', pinResume);
  watcher.on('data', (res: IWatchResponse) => {
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
  watcher.on('error', (err: Error) => {
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

  function fail(err: Error): void {
    if (closed) return;
    closed = true;
    resolveReady();
    void watcher.cancel().catch(() => undefined);
    listener.onError(err);
  }

  return {
    ready,
    async close() {
      if (closed) return;
      closed = true;
      resolveReady();
      await watcher.cancel().catch(() => undefined);
    },
  };
}
