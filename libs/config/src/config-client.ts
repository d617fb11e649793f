// The config-store client other services use: every call has a deadline (and inherits a parent call's
// deadline and cancellation), reads are retried on UNAVAILABLE, and typed helpers hide the Resource oneof.
import { Metadata, status, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { callOptions, createClient, retryIdempotent, type CallContext } from '@flowmesh/runtime';
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

export interface ConfigClientOptions {
  /** host:port of a config-store instance. */
  address: string;
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
  readonly address: string;
  get(kind: ResourceKind, name: string, opts?: CallOpts & { flowRevision?: number }): Promise<GetResponse>;
  put(resource: Resource, opts?: CallOpts & { expectedRevision?: number; actor?: string }): Promise<PutResponse>;
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

type Unary<Req, Res> = (req: Req, md: Metadata, o: object, cb: (err: ServiceError | null, res: Res) => void) => unknown;

export function isNotFound(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === status.NOT_FOUND;
}

export function createConfigClient(opts: ConfigClientOptions): ConfigClient {
  const raw = createClient(
    ConfigStoreClient,
    opts.address,
    opts.clusterToken ? { clusterToken: opts.clusterToken } : {},
  );
  const defaultTimeout = opts.timeoutMs ?? 5000;

  function call<Req, Res>(method: Unary<Req, Res>, req: Req, o: CallOpts = {}): Promise<Res> {
    const options = callOptions({
      timeoutMs: o.timeoutMs ?? defaultTimeout,
      ...(o.parent ? { parent: o.parent } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
    });
    return new Promise<Res>((resolve, reject) => {
      method.call(raw, req, new Metadata(), options, (err, res) => (err ? reject(err) : resolve(res)));
    });
  }
  /** Reads (and CAS writes) may be sent again when the server was unavailable. */
  const read = <Req, Res>(method: Unary<Req, Res>, req: Req, o: CallOpts = {}): Promise<Res> =>
    retryIdempotent(() => call(method, req, o), { ...(o.signal ? { signal: o.signal } : {}) });

  const client: ConfigClient = {
    address: opts.address,
    get: (kind, name, o = {}) =>
      read(raw.get as Unary<unknown, GetResponse>, { kind, name, flowRevision: o.flowRevision ?? 0 }, o),
    put: (resource, o = {}) =>
      call(
        raw.put as Unary<unknown, PutResponse>,
        { resource, expectedRevision: o.expectedRevision, actor: o.actor ?? '' },
        o,
      ),
    delete: (kind, name, o = {}) =>
      call(
        raw.delete as Unary<unknown, DeleteResponse>,
        { kind, name, expectedRevision: o.expectedRevision, actor: o.actor ?? '' },
        o,
      ),
    list: (kind, o = {}) =>
      read(
        raw.list as Unary<unknown, ListResponse>,
        { kind, prefix: o.prefix ?? '', pageSize: o.pageSize ?? 0, pageToken: o.pageToken ?? '' },
        o,
      ),
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
    listFlowRevisions: async (name, o) =>
      (await read(raw.listFlowRevisions as Unary<unknown, { revisions: Resource[] }>, { name }, o)).revisions,
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
    appendAudit: (entry, o) => call(raw.appendAudit as Unary<unknown, AppendAuditResponse>, { entry }, o),
    createApiKey: (req, o) =>
      call(
        raw.createApiKey as Unary<unknown, CreateApiKeyResponse>,
        { description: '', actor: '', secret: '', ...req },
        o,
      ),
    verifyApiKey: (secret, o) => read(raw.verifyApiKey as Unary<unknown, VerifyApiKeyResponse>, { secret }, o),
    watch(req, o = {}) {
      const request: WatchRequest = {
        kinds: req.kinds ?? [],
        prefix: req.prefix ?? '',
        startRevision: req.startRevision ?? 0,
      };
      return raw.watch(request, new Metadata(), o.signal ? ({ signal: o.signal } as object) : {});
    },
    close: () => raw.close(),
  };
  return client;
}

export function jobResource(job: Job): Resource {
  return {
    kind: ResourceKind.RESOURCE_KIND_JOB,
    name: job.id,
    revision: 0,
    createRevision: 0,
    version: 0,
    updatedAt: undefined,
    updatedBy: '',
    spec: { $case: 'job', job },
  };
}
