// The config-store client other services use: every call has a deadline (and inherits a parent call's
// deadline and cancellation), reads are retried on UNAVAILABLE, and typed helpers hide the Resource oneof.
import { Metadata, status, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { callOptions, createClient, retryIdempotent, UnavailableError, type CallContext } from '@flowmesh/runtime';
import {
  ConfigStoreClient,
  ResourceKind,
  type AppendAuditResponse,
  type AuditEntry,
  type CreateApiKeyRequest,
  type CreateApiKeyResponse,
  type DeleteResponse,
  type GetResponse,
  type Job,
  type ListResponse,
  type PutResponse,
  type Resource,
  type VerifyApiKeyResponse,
  type WatchRequest,
  type WatchResponse,
} from '@flowmesh/contracts';
import { newResource } from './new-resource.js';

export interface ConfigClientOptions {
  /**
   * host:port of a config-store instance, or a function asked before every call (e.g. picking from
   * discovery), so calls and watches move to another instance when one goes away.
   */
  address: string | (() => string | undefined);
  clusterToken?: string;
  /** Budget of each unary call. @default 5000 */
  timeoutMs?: number;
}

/** Per-call options: a parent call to inherit deadline and cancellation from, or a signal. */
export interface CallOpts {
  parent?: Pick<CallContext, 'deadline' | 'signal'>;
  signal?: AbortSignal;
  timeoutMs?: number;
}

export interface ConfigClient {
  /** The instance calls go to now (undefined while the resolver knows none). */
  readonly address: string | undefined;
  get(kind: ResourceKind, name: string, opts?: CallOpts & { flowRevision?: number }): Promise<GetResponse>;
  /**
   * `revisionOnly`: the answer holds the new revision and no resource (the store does not read the record
   * back), for writers that need only the revision of their compare-and-set (issue 7).
   */
  put(
    resource: Resource,
    opts?: CallOpts & { expectedRevision?: number; actor?: string; revisionOnly?: boolean },
  ): Promise<PutResponse>;
  delete(
    kind: ResourceKind,
    name: string,
    opts?: CallOpts & { expectedRevision?: number; actor?: string },
  ): Promise<DeleteResponse>;
  list(
    kind: ResourceKind,
    opts?: CallOpts & { prefix?: string; pageSize?: number; pageToken?: string },
  ): Promise<ListResponse>;
  /** Every page of a kind; the revision is the first page's. */
  listAll(
    kind: ResourceKind,
    opts?: CallOpts & { prefix?: string },
  ): Promise<{ resources: Resource[]; revision: number }>;
  getFlow(name: string, flowRevision?: number, opts?: CallOpts): Promise<Resource>;
  listFlowRevisions(name: string, opts?: CallOpts): Promise<Resource[]>;
  listFileRoots(opts?: CallOpts): Promise<Resource[]>;
  getFileRoot(name: string, opts?: CallOpts): Promise<Resource>;
  getReferenceTable(name: string, opts?: CallOpts): Promise<Resource>;
  putJob(job: Job, opts?: CallOpts & { expectedRevision?: number; actor?: string }): Promise<PutResponse>;
  /** Undefined when no such job. */
  getJob(id: string, opts?: CallOpts): Promise<{ job: Job; revision: number } | undefined>;
  listJobs(
    opts?: CallOpts & { prefix?: string; pageSize?: number; pageToken?: string },
  ): Promise<{ jobs: Job[]; nextPageToken: string; revision: number }>;
  appendAudit(entry: AuditEntry, opts?: CallOpts): Promise<AppendAuditResponse>;
  createApiKey(
    req: Partial<CreateApiKeyRequest> & Pick<CreateApiKeyRequest, 'user' | 'role'>,
    opts?: CallOpts,
  ): Promise<CreateApiKeyResponse>;
  verifyApiKey(secret: string, opts?: CallOpts): Promise<VerifyApiKeyResponse>;
  /** A long-lived stream without deadline; end it with `signal`. */
  watch(req: Partial<WatchRequest>, opts?: { signal?: AbortSignal }): ClientReadableStream<WatchResponse>;
  close(): void;
}

type Unary<Res> = (req: unknown, md: Metadata, o: object, cb: (err: ServiceError | null, res: Res) => void) => unknown;

interface Responses {
  get: GetResponse;
  put: PutResponse;
  delete: DeleteResponse;
  list: ListResponse;
  listFlowRevisions: { revisions: Resource[] };
  appendAudit: AppendAuditResponse;
  createApiKey: CreateApiKeyResponse;
  verifyApiKey: VerifyApiKeyResponse;
}

export function isNotFound(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === status.NOT_FOUND;
}

export function createConfigClient(opts: ConfigClientOptions): ConfigClient {
  const resolveAddress =
    typeof opts.address === 'string'
      ? (
          (a: string) => () =>
            a
        )(opts.address)
      : opts.address;
  const clients = new Map<string, ConfigStoreClient>();
  /** One channel per instance ever used (few: the config-stores of one mesh). */
  function current(): ConfigStoreClient {
    const address = resolveAddress();
    if (!address) throw new UnavailableError('no config-store instance is known');
    let c = clients.get(address);
    if (!c) {
      c = createClient(ConfigStoreClient, address, opts.clusterToken ? { clusterToken: opts.clusterToken } : {});
      clients.set(address, c);
    }
    return c;
  }
  const defaultTimeout = opts.timeoutMs ?? 5000;

  function call<M extends keyof Responses>(method: M, req: unknown, o: CallOpts = {}): Promise<Responses[M]> {
    const options = callOptions({
      timeoutMs: o.timeoutMs ?? defaultTimeout,
      ...(o.parent ? { parent: o.parent } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
    });
    return new Promise<Responses[M]>((resolve, reject) => {
      const c = current();
      (c[method] as unknown as Unary<Responses[M]>).call(c, req, new Metadata(), options, (err, res) =>
        err ? reject(err) : resolve(res),
      );
    });
  }
  /** Reads may be sent again (to the instance the resolver names then) when one was unavailable. */
  const read = <M extends keyof Responses>(method: M, req: unknown, o: CallOpts = {}): Promise<Responses[M]> =>
    retryIdempotent(() => call(method, req, o), { ...(o.signal ? { signal: o.signal } : {}) });

  const client: ConfigClient = {
    get address() {
      return resolveAddress();
    },
    get: (kind, name, o = {}) => read('get', { kind, name, flowRevision: o.flowRevision ?? 0 }, o),
    put: (resource, o = {}) =>
      call(
        'put',
        { resource, expectedRevision: o.expectedRevision, actor: o.actor ?? '', revisionOnly: o.revisionOnly ?? false },
        o,
      ),
    delete: (kind, name, o = {}) =>
      call('delete', { kind, name, expectedRevision: o.expectedRevision, actor: o.actor ?? '' }, o),
    list: (kind, o = {}) =>
      read('list', { kind, prefix: o.prefix ?? '', pageSize: o.pageSize ?? 0, pageToken: o.pageToken ?? '' }, o),
    async listAll(kind, o = {}) {
      const resources: Resource[] = [];
      let pageToken = '';
      let revision = 0;
      do {
        const page = await client.list(kind, { ...o, pageSize: 1000, pageToken });
        if (revision === 0) revision = page.revision;
        resources.push(...page.resources);
        pageToken = page.nextPageToken;
      } while (pageToken);
      return { resources, revision };
    },
    getFlow: async (name, flowRevision = 0, o) =>
      (await client.get(ResourceKind.RESOURCE_KIND_FLOW, name, { ...o, flowRevision })).resource!,
    listFlowRevisions: async (name, o) => (await read('listFlowRevisions', { name }, o)).revisions,
    listFileRoots: async (o) => (await client.listAll(ResourceKind.RESOURCE_KIND_FILE_ROOT, o)).resources,
    getFileRoot: async (name, o) => (await client.get(ResourceKind.RESOURCE_KIND_FILE_ROOT, name, o)).resource!,
    getReferenceTable: async (name, o) =>
      (await client.get(ResourceKind.RESOURCE_KIND_REFERENCE_TABLE, name, o)).resource!,
    putJob: (job, o) => client.put(jobResource(job), o),
    async getJob(id, o) {
      try {
        const res = await client.get(ResourceKind.RESOURCE_KIND_JOB, id, o);
        return res.resource?.spec?.$case === 'job'
          ? { job: res.resource.spec.job, revision: res.resource.revision }
          : undefined;
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },
    async listJobs(o = {}) {
      const page = await client.list(ResourceKind.RESOURCE_KIND_JOB, o);
      return {
        jobs: page.resources.flatMap((r) => (r.spec?.$case === 'job' ? [r.spec.job] : [])),
        nextPageToken: page.nextPageToken,
        revision: page.revision,
      };
    },
    appendAudit: (entry, o) => call('appendAudit', { entry }, o),
    createApiKey: (req, o) => call('createApiKey', { description: '', actor: '', secret: '', ...req }, o),
    verifyApiKey: (secret, o) => read('verifyApiKey', { secret }, o),
    watch(req, o = {}) {
      const request: WatchRequest = {
        kinds: req.kinds ?? [],
        prefix: req.prefix ?? '',
        startRevision: req.startRevision ?? 0,
      };
      return current().watch(request, new Metadata(), o.signal ? ({ signal: o.signal } as object) : {});
    },
    close() {
      for (const c of clients.values()) c.close();
      clients.clear();
    },
  };
  return client;
}

export function jobResource(job: Job): Resource {
  return newResource({ kind: ResourceKind.RESOURCE_KIND_JOB, name: job.id, spec: { $case: 'job', job } });
}
