// Resource rules over the embedded backend: validation naming the field, flow history, hashed API keys,
// the append-only audit log, compare-and-set.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FailedPreconditionError, InvalidArgumentError, NotFoundError, UnauthenticatedError } from '@flowmesh/runtime';
import { ResourceKind, Role, type Resource } from '@flowmesh/contracts';
import { createEmbeddedBackend, type KvBackend } from '@flowmesh/store';
import { createResourceStore, type ResourceStore } from '@flowmesh/config';

function res(kind: ResourceKind, name: string, spec: Resource['spec']): Resource {
  return { kind, name, revision: 0, createRevision: 0, version: 0, updatedAt: undefined, updatedBy: '', spec };
}
const root = (name: string, path: string) =>
  res(ResourceKind.RESOURCE_KIND_FILE_ROOT, name, {
    $case: 'fileRoot',
    fileRoot: { path, writable: false, description: '' },
  });
const user = (name: string, disabled = false) =>
  res(ResourceKind.RESOURCE_KIND_USER, name, {
    $case: 'user',
    user: { role: Role.ROLE_OPERATOR, disabled, description: '' },
  });
const flow = (name: string, source: string) =>
  res(ResourceKind.RESOURCE_KIND_FLOW, name, { $case: 'flow', flow: { source, description: '', flowRevision: 0 } });

const invalid = (field: string) => (err: unknown) => {
  assert.ok(err instanceof InvalidArgumentError, `expected InvalidArgumentError, got ${String(err)}`);
  assert.equal(err.field, field);
  return true;
};

describe('config resources (embedded backend)', () => {
  let dir = '';
  let backend: KvBackend;
  let store: ResourceStore;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'flowmesh-config-'));
    backend = await createEmbeddedBackend({ dir });
    store = createResourceStore({ backend });
  });
  after(async () => {
    await backend?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses a file root that is relative, contains "..", or is not normalized, naming the field', async () => {
    await assert.rejects(store.put(root('data', 'data/in')), invalid('resource.file_root.path'));
    await assert.rejects(store.put(root('data', '/srv/../etc')), invalid('resource.file_root.path'));
    await assert.rejects(store.put(root('data', '/srv//in/')), invalid('resource.file_root.path'));
    await assert.rejects(store.put(root('../x', '/srv')), invalid('resource.name'));
    const ok = await store.put(root('data', '/srv/in'), { actor: 'alice' });
    assert.equal(ok.resource.updatedBy, 'alice');
    assert.equal(ok.revision, ok.resource.revision);
  });

  it('refuses a flow that does not parse, naming the line', async () => {
    await assert.rejects(store.put(flow('orders', 'name: x\nsteps: [\n  - a: b\n')), (err: unknown) => {
      assert.ok(invalid('resource.flow.source')(err));
      assert.match((err as Error).message, /line \d+/);
      return true;
    });
    await assert.rejects(store.put(flow('orders', '- just\n- a list\n')), invalid('resource.flow.source'));
  });

  it('refuses a flow the injected checker rejects, with line and path', async () => {
    const strict = createResourceStore({
      backend,
      checkFlow: async (_source, ctx) =>
        ctx.fileRoots.data === '/srv/in'
          ? [{ line: 3, column: 7, path: 'steps[0].expr', message: 'unknown field' }]
          : [],
    });
    await assert.rejects(strict.put(flow('checked', 'name: checked\nsteps:\n  - expr: nope\n')), (err: unknown) => {
      assert.ok(invalid('resource.flow.source')(err));
      assert.match((err as Error).message, /line 3, column 7, steps\[0\]\.expr: unknown field/);
      return true;
    });
  });

  it('keeps every flow version: flow_revision rises, old versions stay readable', async () => {
    const v1 = await store.put(flow('hist', 'name: hist\nversion: 1\n'));
    const v2 = await store.put(flow('hist', 'name: hist\nversion: 2\n'), { expectedRevision: v1.revision });
    assert.equal(v1.resource.spec?.$case === 'flow' && v1.resource.spec.flow.flowRevision, 1);
    assert.equal(v2.resource.spec?.$case === 'flow' && v2.resource.spec.flow.flowRevision, 2);
    const old = await store.get(ResourceKind.RESOURCE_KIND_FLOW, 'hist', 1);
    assert.match(old.resource.spec?.$case === 'flow' ? old.resource.spec.flow.source : '', /version: 1/);
    const revisions = await store.listFlowRevisions('hist');
    assert.deepEqual(
      revisions.map((r) => (r.spec?.$case === 'flow' ? r.spec.flow.flowRevision : 0)),
      [1, 2],
    );
    // Deleted and written again, the flow continues its numbering and the history survives.
    await store.delete(ResourceKind.RESOURCE_KIND_FLOW, 'hist');
    await assert.rejects(store.get(ResourceKind.RESOURCE_KIND_FLOW, 'hist'), NotFoundError);
    const v3 = await store.put(flow('hist', 'name: hist\nversion: 3\n'));
    assert.equal(v3.resource.spec?.$case === 'flow' && v3.resource.spec.flow.flowRevision, 3);
    assert.ok(await store.get(ResourceKind.RESOURCE_KIND_FLOW, 'hist', 2));
  });

  it('answers a stale compare-and-set with FAILED_PRECONDITION', async () => {
    const a = await store.put(root('cas', '/srv/a'), { expectedRevision: 0 });
    await assert.rejects(store.put(root('cas', '/srv/b'), { expectedRevision: 0 }), FailedPreconditionError);
    await store.put(root('cas', '/srv/b'), { expectedRevision: a.revision });
    await assert.rejects(store.put(root('cas', '/srv/c'), { expectedRevision: a.revision }), FailedPreconditionError);
    await assert.rejects(
      store.delete(ResourceKind.RESOURCE_KIND_FILE_ROOT, 'cas', { expectedRevision: a.revision }),
      FailedPreconditionError,
    );
    const f = await store.put(flow('casflow', 'name: x\n'));
    await assert.rejects(
      store.put(flow('casflow', 'name: y\n'), { expectedRevision: f.revision - 1 }),
      FailedPreconditionError,
    );
  });

  it('putRevision stores like put, checks compare-and-set, and answers the revision only', async () => {
    const a = await store.putRevision(root('rev-only', '/srv/a'), { expectedRevision: 0, actor: 'bob' });
    assert.deepEqual(Object.keys(a), ['revision']);
    const got = await store.get(ResourceKind.RESOURCE_KIND_FILE_ROOT, 'rev-only');
    assert.equal(got.resource.revision, a.revision);
    assert.equal(got.resource.updatedBy, 'bob');
    assert.equal(got.resource.spec?.$case === 'fileRoot' && got.resource.spec.fileRoot.path, '/srv/a');
    await assert.rejects(store.putRevision(root('rev-only', '/srv/b'), { expectedRevision: 0 }), FailedPreconditionError);
    await assert.rejects(store.putRevision(root('rev-only', 'relative')), invalid('resource.file_root.path'));
    // Flows keep their history through putRevision too.
    const f = await store.putRevision(flow('rev-flow', 'name: x\n'));
    assert.equal((await store.get(ResourceKind.RESOURCE_KIND_FLOW, 'rev-flow')).resource.revision, f.revision);
  });

  it('validates reference tables: key column among the columns, rows only use columns', async () => {
    const table = (keyColumn: string, rows: Array<Record<string, unknown>>) =>
      res(ResourceKind.RESOURCE_KIND_REFERENCE_TABLE, 'countries', {
        $case: 'referenceTable',
        referenceTable: { keyColumn, columns: ['code', 'name'], rows, description: '' },
      });
    await assert.rejects(store.put(table('iso', [])), invalid('resource.reference_table.key_column'));
    await assert.rejects(
      store.put(table('code', [{ code: 'DE', capital: 'Berlin' }])),
      invalid('resource.reference_table.rows[0].capital'),
    );
    await assert.rejects(
      store.put(table('code', [{ code: 'DE' }, { code: 'DE' }])),
      invalid('resource.reference_table.rows[1].code'),
    );
    const ok = await store.put(table('code', [{ code: 'DE', name: 'Germany' }]));
    assert.ok(ok.revision > 0);
  });

  it('stores API keys hashed, verifies them, and never returns the secret', async () => {
    await store.put(user('alice'));
    const created = await store.createApiKey({
      user: 'alice',
      role: Role.ROLE_OPERATOR,
      description: 'ci',
      actor: 'admin',
      secret: '',
    });
    assert.match(created.secret, /^fmk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    const verified = await store.verifyApiKey(created.secret);
    assert.deepEqual(verified, { keyId: created.keyId, user: 'alice', role: Role.ROLE_OPERATOR });
    await assert.rejects(
      store.verifyApiKey(created.secret.slice(0, -1) + (created.secret.endsWith('A') ? 'B' : 'A')),
      UnauthenticatedError,
    );
    await assert.rejects(store.verifyApiKey('nonsense'), UnauthenticatedError);
    const raw = (await backend.get(`api-keys/${created.keyId}`)).entry!.value.toString();
    assert.ok(!raw.includes(created.secret.slice(`fmk_${created.keyId}_`.length)), 'the secret is stored in clear');
    const listed = await store.list(ResourceKind.RESOURCE_KIND_API_KEY);
    assert.ok(!JSON.stringify(listed).includes(created.secret.slice(`fmk_${created.keyId}_`.length)));
    assert.ok(!JSON.stringify(await store.get(ResourceKind.RESOURCE_KIND_API_KEY, created.keyId)).includes('digest'));
    // Revoking through Put keeps the hash; the key stops working.
    const got = await store.get(ResourceKind.RESOURCE_KIND_API_KEY, created.keyId);
    const spec = got.resource.spec!;
    assert.equal(spec.$case, 'apiKey');
    if (spec.$case !== 'apiKey') return;
    await store.put({ ...got.resource, spec: { $case: 'apiKey', apiKey: { ...spec.apiKey, revoked: true } } });
    await assert.rejects(store.verifyApiKey(created.secret), UnauthenticatedError);
  });

  it('accepts an operator-given bootstrap key once, idempotently', async () => {
    await store.put(user('admin'));
    const secret = 'bootstrap-secret-from-the-environment-0123456789';
    const a = await store.createApiKey({
      user: 'admin',
      role: Role.ROLE_ADMIN,
      description: '',
      actor: 'bootstrap',
      secret,
    });
    const b = await store.createApiKey({
      user: 'admin',
      role: Role.ROLE_ADMIN,
      description: '',
      actor: 'bootstrap',
      secret,
    });
    assert.equal(a.keyId, b.keyId);
    assert.equal((await store.verifyApiKey(secret)).role, Role.ROLE_ADMIN);
    await assert.rejects(
      store.createApiKey({ user: 'admin', role: Role.ROLE_ADMIN, description: '', actor: 'x', secret: 'short' }),
      invalid('secret'),
    );
  });

  it('refuses a key whose user is disabled, deleted or was never created', async () => {
    const keyOf = async (name: string) =>
      (await store.createApiKey({ user: name, role: Role.ROLE_VIEWER, description: '', actor: 'admin', secret: '' }))
        .secret;
    await store.put(user('carol'));
    const carol = await keyOf('carol');
    assert.equal((await store.verifyApiKey(carol)).user, 'carol');
    const disabled = await store.put(user('carol', true));
    await assert.rejects(store.verifyApiKey(carol), UnauthenticatedError);
    await store.put({ ...user('carol'), revision: disabled.revision });
    assert.equal((await store.verifyApiKey(carol)).user, 'carol');
    await store.delete(ResourceKind.RESOURCE_KIND_USER, 'carol');
    await assert.rejects(store.verifyApiKey(carol), UnauthenticatedError);
    await assert.rejects(store.verifyApiKey(await keyOf('nobody')), UnauthenticatedError);
  });

  it('appends audit entries with gap-free sequence numbers, never overwritten', async () => {
    const appended = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        store.appendAudit({
          actor: 'alice',
          action: 'flows.put',
          target: `f${i}`,
          allowed: true,
          detail: '',
          at: undefined,
        }),
      ),
    );
    const names = appended.map((a) => a.name).sort();
    assert.deepEqual(
      names,
      Array.from({ length: 20 }, (_, i) => String(i + 1).padStart(16, '0')),
    );
    const listed = await store.list(ResourceKind.RESOURCE_KIND_AUDIT, { pageSize: 7 });
    assert.equal(listed.resources.length, 7);
    assert.ok(listed.nextPageToken);
    const next = await store.list(ResourceKind.RESOURCE_KIND_AUDIT, { pageSize: 7, pageToken: listed.nextPageToken });
    assert.equal(next.resources[0]?.name, String(8).padStart(16, '0'));
    await assert.rejects(
      store.appendAudit({ actor: '', action: 'x', target: '', allowed: true, detail: '', at: undefined }),
      invalid('entry.actor'),
    );
    await assert.rejects(
      store.put(
        res(ResourceKind.RESOURCE_KIND_AUDIT, names[0]!, {
          $case: 'audit',
          audit: { actor: 'eve', action: 'x', target: '', allowed: true, detail: '', at: undefined },
        }),
      ),
      invalid('resource.kind'),
    );
    await assert.rejects(store.delete(ResourceKind.RESOURCE_KIND_AUDIT, names[0]!), invalid('kind'));
  });

  it('refuses a spec that does not match the kind', async () => {
    await assert.rejects(
      store.put(
        res(ResourceKind.RESOURCE_KIND_USER, 'bob', {
          $case: 'fileRoot',
          fileRoot: { path: '/x', writable: false, description: '' },
        }),
      ),
      invalid('resource.spec'),
    );
    await assert.rejects(
      store.put(
        res(ResourceKind.RESOURCE_KIND_USER, 'bob', {
          $case: 'user',
          user: { role: Role.ROLE_UNSPECIFIED, disabled: false, description: '' },
        }),
      ),
      invalid('resource.user.role'),
    );
  });
});
