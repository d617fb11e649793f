// What the coordinator needs from config-store, as one small typed port: flows (pinned or latest), file
// roots, reference tables, and job records. Implemented over the ConfigStore gRPC service with the
// cluster token and a deadline on every call.
// Flows and file roots are read on every job, so they are served from a watch-driven copy (issue 7: two
// config-store round trips off each job's path). The copy is used only while its watch is live and has
// reached every revision the caller is known to have written (`requireRevision`, fed by the gateway);
// otherwise, and for anything it does not hold, the store is asked as before.
import { createConfigCache, createConfigClient, type ConfigCache } from '@flowmesh/config';
import { ConfigStoreClient, ResourceKind } from '@flowmesh/contracts';
import type { FileRoot, Job, Resource } from '@flowmesh/contracts';
import { callOptions, createClient, NotFoundError, UnavailableError } from '@flowmesh/runtime';
import { Metadata, status as grpcStatus, type ServiceError } from '@grpc/grpc-js';

export interface ReferenceTableData {
  keyColumn: string;
  columns?: string[];
  rows: Array<Record<string, unknown>>;
}

export interface ConfigPort {
  getFlow(name: string, flowRevision: number): Promise<{ source: string; flowRevision: number }>;
  getFileRoot(name: string): Promise<FileRoot>;
  getReferenceTable(name: string): Promise<ReferenceTableData>;
  putJob(job: Job, actor: string): Promise<void>;
  getJob(id: string): Promise<Job | undefined>;
  /**
   * The store is known to have reached `revision` (a flow or file root written at it, as the gateway that
   * wrote it reports): later flow and root reads reflect it, waiting briefly for the watch or asking the store.
   */
  requireRevision(revision: number): void;
  /** The watch-driven copy: live (following the store) and the revision it has reached. */
  cacheState(): { live: boolean; revision: number };
  close(): void;
}

/** Kinds every job reads, kept in the watch-driven copy (one watch, so one revision covers both). */
const CACHED_KINDS = [ResourceKind.RESOURCE_KIND_FLOW, ResourceKind.RESOURCE_KIND_FILE_ROOT];

/** The part of a ConfigCache the port reads. */
export type CachedKinds = Pick<ConfigCache, 'live' | 'revision' | 'get' | 'waitForRevision'>;

function watchCache(address: string, clusterToken: string | undefined): { cache: CachedKinds; close(): void } {
  const client = createConfigClient({ address, clusterToken });
  const cache = createConfigCache(client, CACHED_KINDS);
  return {
    cache,
    close() {
      cache.close();
      client.close();
    },
  };
}

export function createConfigPort(opts: {
  /** A fixed address, or where to find one (discovery) when the first call is made. */
  address: string | (() => Promise<string>);
  clusterToken?: string;
  timeoutMs?: number;
  /** Serve flows and file roots from a watch-driven copy (false: always ask the store). @default a ConfigCache */
  cache?: false | ((address: string) => { cache: CachedKinds; close(): void });
  /** How long a read waits for the copy to reach a required revision before asking the store. @default 1000 */
  revisionWaitMs?: number;
}): ConfigPort {
  let client: ConfigStoreClient | undefined;
  let cache: CachedKinds | undefined;
  let closeCache: (() => void) | undefined;
  let connecting: Promise<ConfigStoreClient> | undefined;
  let required = 0;
  const revisionWaitMs = opts.revisionWaitMs ?? 1000;
  const connect = (): Promise<ConfigStoreClient> =>
    (connecting ??= (async () => {
      const address = typeof opts.address === 'string' ? opts.address : await opts.address();
      client = createClient(ConfigStoreClient, address, { clusterToken: opts.clusterToken });
      if (opts.cache !== false) {
        // Started with the first job; until its watch is live, jobs read the store directly.
        const copy = (opts.cache ?? ((a: string) => watchCache(a, opts.clusterToken)))(address);
        cache = copy.cache;
        closeCache = copy.close;
      }
      return client;
    })().catch((err: unknown) => {
      connecting = undefined;
      throw new UnavailableError(`config-store: ${(err as Error).message}`, { cause: err });
    }));
  const timeoutMs = opts.timeoutMs ?? 5000;

  const get = async (kind: ResourceKind, name: string, flowRevision = 0): Promise<Resource> => {
    const client = await connect();
    return new Promise((resolve, reject) => {
      client.get({ kind, name, flowRevision }, new Metadata(), callOptions({ timeoutMs }), (err, res) => {
        if (err) return reject(mapNotFound(err, kind, name));
        if (!res.resource) return reject(new NotFoundError(`${kindLabel(kind)} "${name}" not found`));
        resolve(res.resource);
      });
    });
  };

  /** The cached resource when the copy may be trusted for it; undefined means "ask the store". */
  const cached = async (kind: ResourceKind, name: string): Promise<Resource | undefined> => {
    await connect();
    const c = cache;
    if (!c?.live) return undefined;
    if (c.revision < required) {
      try {
        await c.waitForRevision(required, revisionWaitMs);
      } catch {
        return undefined; // the watch lags: the store answers instead
      }
      if (!c.live) return undefined;
    }
    return c.get(kind, name);
  };

  return {
    async getFlow(name, flowRevision) {
      const hit = await cached(ResourceKind.RESOURCE_KIND_FLOW, name);
      // A pinned older revision is not in the copy (it holds the latest only): the store has its history.
      const r =
        hit?.spec?.$case === 'flow' && (flowRevision === 0 || hit.spec.flow.flowRevision === flowRevision)
          ? hit
          : await get(ResourceKind.RESOURCE_KIND_FLOW, name, flowRevision);
      if (r.spec?.$case !== 'flow') throw new NotFoundError(`flow "${name}" not found`);
      return { source: r.spec.flow.source, flowRevision: r.spec.flow.flowRevision };
    },
    async getFileRoot(name) {
      const hit = await cached(ResourceKind.RESOURCE_KIND_FILE_ROOT, name);
      const r = hit?.spec?.$case === 'fileRoot' ? hit : await get(ResourceKind.RESOURCE_KIND_FILE_ROOT, name);
      if (r.spec?.$case !== 'fileRoot') throw new NotFoundError(`file root "${name}" not found`);
      return r.spec.fileRoot;
    },
    async getReferenceTable(name) {
      const r = await get(ResourceKind.RESOURCE_KIND_REFERENCE_TABLE, name);
      if (r.spec?.$case !== 'referenceTable') throw new NotFoundError(`reference table "${name}" not found`);
      const t = r.spec.referenceTable;
      return { keyColumn: t.keyColumn, columns: t.columns, rows: t.rows as Array<Record<string, unknown>> };
    },
    async putJob(job, actor) {
      const client = await connect();
      const resource: Resource = {
        kind: ResourceKind.RESOURCE_KIND_JOB,
        name: job.id,
        revision: 0,
        createRevision: 0,
        version: 0,
        updatedAt: undefined,
        updatedBy: actor,
        spec: { $case: 'job', job },
      };
      return new Promise((resolve, reject) => {
        client.put(
          // Only the revision back: the record is not read again here (issue 7: ~0.3 ms of CPU before the summary).
          { resource, expectedRevision: undefined, actor, revisionOnly: true },
          new Metadata(),
          callOptions({ timeoutMs }),
          (err) => (err ? reject(mapNotFound(err, ResourceKind.RESOURCE_KIND_JOB, job.id)) : resolve()),
        );
      });
    },
    async getJob(id) {
      try {
        const r = await get(ResourceKind.RESOURCE_KIND_JOB, id);
        return r.spec?.$case === 'job' ? r.spec.job : undefined;
      } catch (err) {
        if (err instanceof NotFoundError) return undefined;
        throw err;
      }
    },
    requireRevision(revision) {
      if (revision > required) required = revision;
    },
    cacheState: () => ({ live: cache?.live ?? false, revision: cache?.revision ?? 0 }),
    close: () => {
      closeCache?.();
      client?.close();
    },
  };
}

function kindLabel(kind: ResourceKind): string {
  return ResourceKind[kind]?.replace('RESOURCE_KIND_', '').toLowerCase().replace('_', ' ') ?? 'resource';
}

function mapNotFound(err: ServiceError, kind: ResourceKind, name: string): Error {
  if (err.code === grpcStatus.NOT_FOUND)
    return new NotFoundError(`${kindLabel(kind)} "${name}" not found`, { cause: err });
  // Transient or not, the caller can only retry later: config-store did not answer usefully.
  return new UnavailableError(`config-store: ${err.details || err.message}`, { cause: err });
}
