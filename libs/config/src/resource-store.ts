// Typed, validated resources over a KvBackend: what the ConfigStore service does, as plain async functions.
// Every write returns the store revision; compare-and-set uses the resource's revision.
import { InvalidArgumentError, NotFoundError } from '@flowmesh/runtime';
import { ResourceKind, WatchEventType, type AuditEntry, type Resource } from '@flowmesh/contracts';
import type { KvBackend, KvEntry, WatchHandle } from '@flowmesh/store';
import { appendAudit } from './audit-log.js';
import {
  createApiKey,
  updateApiKey,
  verifyApiKey,
  type CreateApiKeyInput,
  type CreatedApiKey,
  type VerifiedApiKey,
} from './api-keys.js';
import { checkFlow, type FlowCheckContext, type FlowChecker } from './flow-check.js';
import { getFlowRevision, listFlowRevisions, putFlow } from './flow-history.js';
import { ALL_KINDS, kindPrefix, parseResourceKey, resourceKey } from './keys.js';
import { decodeRecord, encodeRecord } from './record.js';
import { storeCall } from './store-errors.js';
import { LIMITS, validateEnvelope, validateKind, validateName, validatePrefix, validateSpec } from './validate.js';

export interface ResourceStoreDeps {
  backend: KvBackend;
  /** `checkFlowSource` of @flowmesh/flow; without it flows are checked for parsing only. */
  checkFlow?: FlowChecker;
  /** @default () => new Date() */
  now?: () => Date;
}

export interface WriteOptions {
  expectedRevision?: number | undefined;
  actor?: string;
}

export interface ResourceEvent {
  type: WatchEventType;
  resource: Resource;
}

export interface ResourceWatchListener {
  onEvents(events: ResourceEvent[], revision: number): void;
  onError(err: Error): void;
}

export interface ResourceStore {
  get(kind: ResourceKind, name: string, flowRevision?: number): Promise<{ resource: Resource; revision: number }>;
  put(resource: Resource | undefined, opts?: WriteOptions): Promise<{ resource: Resource; revision: number }>;
  /** `put` without reading the stored resource back: for a writer that needs only the revision (issue 7). */
  putRevision(resource: Resource | undefined, opts?: WriteOptions): Promise<{ revision: number }>;
  delete(kind: ResourceKind, name: string, opts?: WriteOptions): Promise<{ revision: number; deleted: boolean }>;
  list(
    kind: ResourceKind,
    opts?: { prefix?: string; pageSize?: number; pageToken?: string },
  ): Promise<{ resources: Resource[]; nextPageToken: string; revision: number }>;
  /** Changes after `startRevision` (0 = from now) of the given kinds (empty = all) whose name starts with `prefix`. */
  watch(
    opts: { kinds: ResourceKind[]; prefix: string; startRevision: number },
    listener: ResourceWatchListener,
  ): WatchHandle;
  listFlowRevisions(name: string): Promise<Resource[]>;
  appendAudit(entry: AuditEntry | undefined): Promise<{ revision: number; name: string }>;
  createApiKey(input: CreateApiKeyInput): Promise<CreatedApiKey>;
  verifyApiKey(key: string): Promise<VerifiedApiKey>;
  revision(): Promise<number>;
}

const MAX_PAGE = 1000;
const DEFAULT_PAGE = 100;

export function createResourceStore(deps: ResourceStoreDeps): ResourceStore {
  const { backend } = deps;
  const now = deps.now ?? (() => new Date());

  async function flowContext(): Promise<FlowCheckContext> {
    const roots = await listAll(ResourceKind.RESOURCE_KIND_FILE_ROOT);
    return {
      fileRoots: Object.fromEntries(
        roots.flatMap((r) => (r.spec?.$case === 'fileRoot' ? [[r.name, r.spec.fileRoot.path]] : [])),
      ),
      referenceTables: await listNames(ResourceKind.RESOURCE_KIND_REFERENCE_TABLE),
    };
  }

  /** Names only: reference tables can be large, and a flow check needs just their names. */
  async function listNames(kind: ResourceKind): Promise<string[]> {
    const prefix = kindPrefix(kind);
    const names: string[] = [];
    let after: string | undefined;
    do {
      const page = await storeCall(`${kindName(kind)} list`, () =>
        backend.list(prefix, { limit: MAX_PAGE, keysOnly: true, ...(after ? { after } : {}) }),
      );
      names.push(...page.entries.map((e) => e.key.slice(prefix.length)));
      after = page.next;
    } while (after);
    return names;
  }

  async function listAll(kind: ResourceKind): Promise<Resource[]> {
    const out: Resource[] = [];
    let pageToken = '';
    do {
      const page = await store.list(kind, { pageSize: MAX_PAGE, pageToken });
      out.push(...page.resources);
      pageToken = page.nextPageToken;
    } while (pageToken);
    return out;
  }

  /**
   * Validates and stores a resource: the stored entry, or (flows and API keys, written by their own modules)
   * their result as read back.
   */
  async function write(
    input: Resource | undefined,
    opts: WriteOptions,
  ): Promise<{ entry: KvEntry } | { done: { resource: Resource; revision: number } }> {
    validateEnvelope(input);
    validateSpec(input);
    const resource: Resource & { spec: NonNullable<Resource['spec']> } = {
      ...input,
      revision: 0,
      createRevision: 0,
      version: 0,
      updatedAt: now(),
      updatedBy: opts.actor ?? '',
    };
    const { expectedRevision } = opts;
    const what = `${kindName(resource.kind)} ${resource.name}`;
    switch (resource.spec.$case) {
      case 'audit':
        throw new InvalidArgumentError('resource.kind', 'audit entries are append-only: use AppendAudit');
      case 'flow':
        await checkFlow(resource.spec.flow.source, deps.checkFlow, flowContext);
        return { done: await putFlow(backend, { ...resource, spec: resource.spec }, expectedRevision) };
      case 'apiKey':
        return { done: await updateApiKey(backend, { ...resource, spec: resource.spec }, expectedRevision) };
      case 'job':
        resource.spec = { $case: 'job', job: { ...resource.spec.job, id: resource.name } };
        break;
      case 'checkpoint':
        resource.spec = { $case: 'checkpoint', checkpoint: { ...resource.spec.checkpoint, jobId: resource.name } };
        break;
      default:
        break;
    }
    const value = encodeRecord(resource);
    if (value.length > LIMITS.resourceBytes)
      throw new InvalidArgumentError('resource', `encodes to ${value.length} bytes; at most ${LIMITS.resourceBytes}`);
    const entry = await storeCall(what, () =>
      backend.put(
        resourceKey(resource.kind, resource.name),
        value,
        expectedRevision !== undefined ? { expectedRevision } : {},
      ),
    );
    return { entry };
  }

  const store: ResourceStore = {
    async get(kind, name, flowRevision = 0) {
      validateKind(kind);
      validateName(name);
      if (kind === ResourceKind.RESOURCE_KIND_FLOW && flowRevision > 0)
        return getFlowRevision(backend, name, flowRevision);
      const got = await storeCall(`${kindName(kind)} ${name}`, () => backend.get(resourceKey(kind, name)));
      if (!got.entry) throw new NotFoundError(`${kindName(kind)} ${name} does not exist`);
      return { resource: decodeRecord(got.entry).resource, revision: got.revision };
    },

    async put(input, opts = {}) {
      const r = await write(input, opts);
      return 'done' in r ? r.done : { resource: decodeRecord(r.entry).resource, revision: r.entry.modRevision };
    },

    async putRevision(input, opts = {}) {
      const r = await write(input, opts);
      return { revision: 'done' in r ? r.done.revision : r.entry.modRevision };
    },

    async delete(kind, name, opts = {}) {
      validateKind(kind);
      validateName(name);
      if (kind === ResourceKind.RESOURCE_KIND_AUDIT)
        throw new InvalidArgumentError('kind', 'audit entries are never deleted');
      const { expectedRevision } = opts;
      // History of a deleted flow stays, so jobs pinned to one of its versions can still read it.
      return storeCall(`${kindName(kind)} ${name}`, () =>
        backend.delete(resourceKey(kind, name), expectedRevision !== undefined ? { expectedRevision } : {}),
      );
    },

    async list(kind, opts = {}) {
      validateKind(kind);
      const prefix = opts.prefix ?? '';
      validatePrefix(prefix);
      const pageSize = Math.min(opts.pageSize || DEFAULT_PAGE, MAX_PAGE);
      const keyPrefix = kindPrefix(kind) + prefix;
      const after = opts.pageToken ? decodePageToken(opts.pageToken, keyPrefix) : undefined;
      const page = await storeCall(`${kindName(kind)} list`, () =>
        backend.list(keyPrefix, { limit: pageSize, ...(after ? { after } : {}) }),
      );
      return {
        resources: page.entries.map((e) => decodeRecord(e).resource),
        nextPageToken: page.next ? Buffer.from(page.next).toString('base64url') : '',
        revision: page.revision,
      };
    },

    watch({ kinds, prefix, startRevision }, listener) {
      kinds.forEach((k, i) => validateKind(k, `kinds[${i}]`));
      validatePrefix(prefix);
      const wanted = new Set(kinds.length > 0 ? kinds : ALL_KINDS);
      const only = wanted.size === 1 ? [...wanted][0] : undefined;
      const keyPrefix = only !== undefined ? kindPrefix(only) + prefix : '';
      return backend.watch(keyPrefix, startRevision, {
        onEvents(events, revision) {
          const out: ResourceEvent[] = [];
          for (const ev of events) {
            const parsed = parseResourceKey(ev.key);
            if (!parsed || !wanted.has(parsed.kind) || !parsed.name.startsWith(prefix)) continue;
            if (ev.type === 'put' && ev.value) {
              out.push({
                type: WatchEventType.WATCH_EVENT_TYPE_PUT,
                resource: decodeRecord({ ...ev, value: ev.value }).resource,
              });
            } else {
              out.push({
                type: WatchEventType.WATCH_EVENT_TYPE_DELETE,
                resource: {
                  kind: parsed.kind,
                  name: parsed.name,
                  revision: ev.modRevision,
                  createRevision: ev.createRevision,
                  version: ev.version,
                  updatedAt: undefined,
                  updatedBy: '',
                  spec: undefined,
                },
              });
            }
          }
          if (out.length > 0) listener.onEvents(out, revision);
        },
        onError: (err) => listener.onError(err),
      });
    },

    async listFlowRevisions(name) {
      validateName(name);
      return listFlowRevisions(backend, name);
    },

    async appendAudit(entry) {
      return appendAudit(backend, entry as AuditEntry, now());
    },

    async createApiKey(input) {
      return createApiKey(backend, input, now());
    },

    async verifyApiKey(key) {
      return verifyApiKey(backend, key);
    },

    async revision() {
      return storeCall('revision', () => backend.revision());
    },
  };
  return store;
}

function decodePageToken(token: string, keyPrefix: string): string {
  const key = Buffer.from(token, 'base64url').toString('utf8');
  if (!key.startsWith(keyPrefix)) throw new InvalidArgumentError('page_token', 'does not belong to this listing');
  return key;
}

export function kindName(kind: ResourceKind): string {
  return ResourceKind[kind]?.replace('RESOURCE_KIND_', '').toLowerCase().replace(/_/g, ' ') ?? `kind ${kind}`;
}
