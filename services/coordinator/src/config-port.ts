// What the coordinator needs from config-store, as one small typed port: flows (pinned or latest), file
// roots, reference tables, and job records. Implemented over the ConfigStore gRPC service with the
// cluster token and a deadline on every call.
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
  close(): void;
}

export function createConfigPort(opts: {
  /** A fixed address, or where to find one (discovery) when the first call is made. */
  address: string | (() => Promise<string>);
  clusterToken?: string;
  timeoutMs?: number;
}): ConfigPort {
  let client: ConfigStoreClient | undefined;
  let connecting: Promise<ConfigStoreClient> | undefined;
  const connect = (): Promise<ConfigStoreClient> =>
    (connecting ??= (async () => {
      const address = typeof opts.address === 'string' ? opts.address : await opts.address();
      client = createClient(ConfigStoreClient, address, { clusterToken: opts.clusterToken });
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

  return {
    async getFlow(name, flowRevision) {
      const r = await get(ResourceKind.RESOURCE_KIND_FLOW, name, flowRevision);
      if (r.spec?.$case !== 'flow') throw new NotFoundError(`flow "${name}" not found`);
      return { source: r.spec.flow.source, flowRevision: r.spec.flow.flowRevision };
    },
    async getFileRoot(name) {
      const r = await get(ResourceKind.RESOURCE_KIND_FILE_ROOT, name);
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
          { resource, expectedRevision: undefined, actor },
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
    close: () => client?.close(),
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
