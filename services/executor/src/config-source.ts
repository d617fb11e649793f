// File roots and reference tables from config-store, through the config client and its watch-driven cache
// (one cache per executor, so a batch never waits on a lookup once the cache is loaded). Roots given as
// flags win, so tests and single-machine setups need no config-store at all.
import { existsSync } from 'node:fs';
import { ResourceKind } from '@flowmesh/contracts';
import { createConfigCache, createConfigClient } from '@flowmesh/config';
import type { ConfigCache, ConfigClient } from '@flowmesh/config';
import type { ReferenceTableData } from '@flowmesh/flow';
import { NotFoundError, UnavailableError } from '@flowmesh/runtime';

export interface ConfigSource {
  fileRoot(name: string): Promise<string | undefined>;
  referenceTable(name: string): Promise<ReferenceTableData>;
  /** Highest revision among reference tables seen (compiled flows with lookups are keyed by it). */
  tablesRevision(): number;
  /**
   * Names of the roots this executor can read: the flag roots, and config-store roots whose directory
   * exists here (same machine or shared storage). Coordinators send other batches' bytes inline.
   */
  rootNames(): string[];
  /** Connects now if a config-store is known, and calls `onRootsChanged` when readable roots change. */
  connect(onRootsChanged: (names: string[]) => void): void;
  close(): void;
}

export interface ConfigSourceOptions {
  staticRoots: Record<string, string>;
  /** Address of a config-store now, or undefined while none is known (e.g. not yet in discovery). */
  address: () => string | undefined;
  clusterToken?: string;
  /** How long a first lookup waits for the cache to load. @default 5000 */
  readyTimeoutMs?: number;
}

const KINDS = [ResourceKind.RESOURCE_KIND_FILE_ROOT, ResourceKind.RESOURCE_KIND_REFERENCE_TABLE];

export function createConfigSource(opts: ConfigSourceOptions): ConfigSource {
  const readyTimeoutMs = opts.readyTimeoutMs ?? 5000;
  let client: ConfigClient | undefined;
  let cache: ConfigCache | undefined;

  /** Connects on first use: the executor starts and serves inline batches without any config-store. */
  async function loaded(): Promise<ConfigCache> {
    if (!cache) {
      const address = opts.address();
      if (!address) throw new UnavailableError('no config-store is known to this executor');
      client = createConfigClient({ address, clusterToken: opts.clusterToken });
      cache = createConfigCache(client, KINDS);
    }
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        cache.ready,
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new UnavailableError('config-store cache did not load in time')), readyTimeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
    return cache;
  }

  function rootNames(): string[] {
    const names = new Set(Object.keys(opts.staticRoots));
    for (const r of cache?.list(ResourceKind.RESOURCE_KIND_FILE_ROOT) ?? []) {
      if (r.spec?.$case === 'fileRoot' && existsSync(r.spec.fileRoot.path)) names.add(r.name);
    }
    return [...names].sort();
  }

  return {
    async fileRoot(name) {
      if (Object.hasOwn(opts.staticRoots, name)) return opts.staticRoots[name];
      const c = await loaded();
      const res = c.get(ResourceKind.RESOURCE_KIND_FILE_ROOT, name);
      return res?.spec?.$case === 'fileRoot' ? res.spec.fileRoot.path : undefined;
    },
    async referenceTable(name) {
      const c = await loaded();
      const res = c.get(ResourceKind.RESOURCE_KIND_REFERENCE_TABLE, name);
      if (res?.spec?.$case !== 'referenceTable') throw new NotFoundError(`reference table "${name}" not found`);
      const t = res.spec.referenceTable;
      return { keyColumn: t.keyColumn, columns: t.columns, rows: t.rows };
    },
    rootNames,
    connect(onRootsChanged) {
      let last = rootNames().join(',');
      loaded().then(
        (c) => {
          const check = () => {
            const names = rootNames();
            if (names.join(',') !== last) {
              last = names.join(',');
              onRootsChanged(names);
            }
          };
          c.on('change', (change: { resource: { kind: ResourceKind } }) => {
            if (change.resource.kind === ResourceKind.RESOURCE_KIND_FILE_ROOT) check();
          });
          check();
        },
        () => undefined, // no config-store yet: batches connect on first use
      );
    },
    tablesRevision() {
      if (!cache) return 0;
      let max = 0;
      for (const r of cache.list(ResourceKind.RESOURCE_KIND_REFERENCE_TABLE)) max = Math.max(max, r.revision);
      return max;
    },
    close() {
      cache?.close();
      client?.close();
    },
  };
}
