// A watch-driven local copy of some resource kinds. Loads each kind with List, then applies the Watch
// stream from the lowest list revision, skipping what a list already reflected. It never goes back:
// a resource is replaced only by a higher revision, and after a broken stream it resumes from the last
// revision it saw (re-listing only when the store no longer has that history).
import { EventEmitter } from 'node:events';
import { status } from '@grpc/grpc-js';
import { type ResourceKind, WatchEventType, type Resource, type WatchResponse } from '@flowmesh/contracts';
import type { ConfigClient } from './config-client.js';

/**
 * gRPC metadata a gateway sends with a job (RunJob, SubmitJob): the store revision of the last flow or
 * file-root change it made. A coordinator serving those kinds from a cache waits until its copy has
 * reached that revision, so a job started right after a change through the same gateway sees it.
 */
export const CONFIG_REVISION_HEADER = 'x-flowmesh-config-revision';

export interface ConfigCacheOptions {
  /** Longest pause between reconnect attempts. @default 2000 */
  maxBackoffMs?: number;
}

export interface ConfigCacheChange {
  type: 'put' | 'delete';
  resource: Resource;
}

export interface ConfigCache extends EventEmitter {
  /** Resolves after the first load; rejects only if closed before. */
  readonly ready: Promise<void>;
  /** Highest store revision applied. Never decreases. */
  readonly revision: number;
  /**
   * True while the watch stream is established (after its `created` response, until it breaks): only then
   * is the copy known to follow the store. Readers that must not serve stale data fall back to the store
   * while it is false.
   */
  readonly live: boolean;
  get(kind: ResourceKind, name: string): Resource | undefined;
  list(kind: ResourceKind): Resource[];
  /** Resolves once the cache has applied `revision` (e.g. the revision a write returned). */
  waitForRevision(revision: number, timeoutMs?: number): Promise<void>;
  close(): void;
}

export function createConfigCache(
  client: ConfigClient,
  kinds: ResourceKind[],
  opts: ConfigCacheOptions = {},
): ConfigCache {
  const maxBackoff = opts.maxBackoffMs ?? 2000;
  const data = new Map<ResourceKind, Map<string, Resource>>(kinds.map((k) => [k, new Map()]));
  /** Per kind, the revision its last List reflected: watch events at or below it are already in. */
  const listedAt = new Map<ResourceKind, number>();
  const emitter = new EventEmitter() as ConfigCache;
  const controller = new AbortController();
  let revision = 0;
  let live = false;
  let closed = false;
  let resolveReady!: () => void;
  let rejectReady!: (err: unknown) => void;
  const ready = new Promise<void>((res, rej) => {
    resolveReady = res;
    rejectReady = rej;
  });
  ready.catch(() => undefined);
  const waiters = new Set<{ revision: number; resolve: () => void }>();

  function advance(to: number): void {
    if (to <= revision) return;
    revision = to;
    for (const w of waiters) {
      if (w.revision <= revision) {
        waiters.delete(w);
        w.resolve();
      }
    }
  }

  async function load(): Promise<number> {
    let from = Infinity;
    for (const kind of kinds) {
      const { resources, revision: at } = await client.listAll(kind, { signal: controller.signal });
      const fresh = new Map(resources.map((r) => [r.name, r]));
      const current = data.get(kind)!;
      // Keep a copy we hold that is newer than the listing (cannot happen with one store, but be safe).
      for (const [name, r] of current) {
        const listed = fresh.get(name);
        if (listed && listed.revision < r.revision) fresh.set(name, r);
      }
      data.set(kind, fresh);
      listedAt.set(kind, at);
      from = Math.min(from, at);
      advance(at);
    }
    return from === Infinity ? 0 : from;
  }

  function apply(res: WatchResponse): void {
    for (const ev of res.events) {
      const r = ev.resource;
      if (!r) continue;
      const kindMap = data.get(r.kind);
      if (!kindMap || r.revision <= (listedAt.get(r.kind) ?? 0)) continue;
      const held = kindMap.get(r.name);
      if (held && held.revision >= r.revision) continue;
      if (ev.type === WatchEventType.WATCH_EVENT_TYPE_DELETE) {
        kindMap.delete(r.name);
        emitter.emit('change', { type: 'delete', resource: r } satisfies ConfigCacheChange);
      } else {
        kindMap.set(r.name, r);
        emitter.emit('change', { type: 'put', resource: r } satisfies ConfigCacheChange);
      }
    }
    advance(res.revision);
  }

  /** One watch stream from `from`; resolves when it ends, rejects with its error. */
  function stream(from: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const call = client.watch({ kinds, startRevision: from }, { signal: controller.signal });
      call.on('data', (res: WatchResponse) => {
        apply(res);
        if (res.created) {
          live = true;
          resolveReady();
        }
      });
      call.on('error', (err: unknown) => {
        live = false;
        reject(err);
      });
      call.on('end', () => {
        live = false;
        resolve();
      });
    });
  }

  async function run(): Promise<void> {
    let from = -1;
    let backoff = 50;
    while (!closed) {
      try {
        if (from < 0) from = await load();
        await stream(from);
        backoff = 50;
      } catch (err) {
        if (closed) return;
        const code = (err as { code?: unknown }).code;
        // The store no longer has our history: load again (lists are newer than anything we hold).
        if (code === status.FAILED_PRECONDITION || code === status.OUT_OF_RANGE) from = -1;
        emitter.emit('disconnected', err);
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, maxBackoff);
      }
      // Resume after the last revision applied; never from before it.
      if (from >= 0) from = Math.max(from, revision);
    }
  }
  void run();

  Object.defineProperties(emitter, {
    ready: { get: () => ready },
    revision: { get: () => revision },
    live: { get: () => live && !closed },
  });
  emitter.get = (kind, name) => data.get(kind)?.get(name);
  emitter.list = (kind) => [...(data.get(kind)?.values() ?? [])].sort((a, b) => (a.name < b.name ? -1 : 1));
  emitter.waitForRevision = (rev, timeoutMs = 10_000) => {
    if (rev <= revision) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const w = { revision: rev, resolve: () => (clearTimeout(timer), resolve()) };
      const timer = setTimeout(() => {
        waiters.delete(w);
        reject(new Error(`config cache did not reach revision ${rev} within ${timeoutMs} ms (at ${revision})`));
      }, timeoutMs);
      waiters.add(w);
    });
  };
  emitter.close = () => {
    if (closed) return;
    closed = true;
    controller.abort();
    rejectReady(new Error('config cache closed'));
    for (const w of waiters) w.resolve();
    waiters.clear();
  };
  return emitter;
}
