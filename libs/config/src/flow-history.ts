// Flows with history: every write raises `flow_revision` and stores the full version under
// flow-history/<name>/<rev> in the same commit as the latest copy under flows/<name>, so a job can pin
// the version it started with and read it later even after the flow changed or was deleted.
import { NotFoundError, UnavailableError } from '@flowmesh/runtime';
import { ResourceKind, type Resource } from '@flowmesh/contracts';
import { CasConflictError, type KvBackend } from '@flowmesh/store';
import { FLOW_HISTORY_PREFIX, flowHistoryKey, resourceKey } from './keys.js';
import { decodeRecord, encodeRecord } from './record.js';
import { storeCall, translateStoreError } from './store-errors.js';

/** Versions ListFlowRevisions returns at most (the newest). */
export const MAX_LISTED_FLOW_REVISIONS = 1000;
/** Attempts of an unconditional flow write racing other writers of the same flow. */
const WRITE_ATTEMPTS = 16;

export async function putFlow(
  backend: KvBackend,
  resource: Resource & { spec: { $case: 'flow' } },
  expectedRevision: number | undefined,
): Promise<{ resource: Resource; revision: number }> {
  const key = resourceKey(ResourceKind.RESOURCE_KIND_FLOW, resource.name);
  for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
    const current = (await storeCall(`flow ${resource.name}`, () => backend.get(key))).entry;
    const actual = current?.modRevision ?? 0;
    if (expectedRevision !== undefined && expectedRevision !== actual) {
      throw translateStoreError(new CasConflictError(key, expectedRevision, actual), `flow ${resource.name}`);
    }
    const previous = current ? decodeRecord(current).resource : undefined;
    const prevFlowRev =
      previous?.spec?.$case === 'flow'
        ? previous.spec.flow.flowRevision
        : await lastHistoryRevision(backend, resource.name);
    const flowRevision = prevFlowRev + 1;
    const version: Resource = { ...resource, spec: { $case: 'flow', flow: { ...resource.spec.flow, flowRevision } } };
    const value = encodeRecord(version);
    try {
      const res = await backend.commit([
        { type: 'put', key, value, expectedRevision: actual },
        { type: 'put', key: flowHistoryKey(resource.name, flowRevision), value, expectedRevision: 0 },
      ]);
      const written = res.results[0];
      if (written?.type !== 'put') throw new Error('unreachable: flow put without result');
      return { resource: decodeRecord(written.entry).resource, revision: res.revision };
    } catch (err) {
      // Another writer got in between: a conditional write reports it, an unconditional one tries again.
      if (err instanceof CasConflictError && expectedRevision === undefined) continue;
      throw translateStoreError(err, `flow ${resource.name}`);
    }
  }
  throw new UnavailableError(`flow ${resource.name} is being written concurrently; try again`);
}

export async function getFlowRevision(
  backend: KvBackend,
  name: string,
  flowRevision: number,
): Promise<{ resource: Resource; revision: number }> {
  const got = await storeCall(`flow ${name}`, () => backend.get(flowHistoryKey(name, flowRevision)));
  if (!got.entry) throw new NotFoundError(`flow ${name} has no revision ${flowRevision}`);
  return { resource: decodeRecord(got.entry).resource, revision: got.revision };
}

export async function listFlowRevisions(backend: KvBackend, name: string): Promise<Resource[]> {
  const prefix = `${FLOW_HISTORY_PREFIX}${name}/`;
  const out: Resource[] = [];
  let after: string | undefined;
  do {
    const page = await storeCall(`flow ${name}`, () =>
      backend.list(prefix, { limit: 1000, ...(after ? { after } : {}) }),
    );
    out.push(...page.entries.map((e) => decodeRecord(e).resource));
    after = page.next;
    if (out.length > MAX_LISTED_FLOW_REVISIONS) out.splice(0, out.length - MAX_LISTED_FLOW_REVISIONS);
  } while (after);
  if (out.length === 0) throw new NotFoundError(`flow ${name} does not exist`);
  return out;
}

/** Highest flow revision in history (0 when none): a re-created flow continues after its old versions. */
async function lastHistoryRevision(backend: KvBackend, name: string): Promise<number> {
  const prefix = `${FLOW_HISTORY_PREFIX}${name}/`;
  let last = 0;
  let after: string | undefined;
  do {
    const page = await storeCall(`flow ${name}`, () =>
      backend.list(prefix, { limit: 1000, ...(after ? { after } : {}) }),
    );
    const tail = page.entries[page.entries.length - 1];
    if (tail) last = Number(tail.key.slice(prefix.length));
    after = page.next;
  } while (after);
  return last;
}
