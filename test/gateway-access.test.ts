// Access control through a real gateway and config-store (issue 5): every public RPC, for every role, is
// allowed or refused exactly as the role table says; a missing or unknown key is UNAUTHENTICATED; every
// refusal lands in the audit log.
import assert from 'node:assert/strict';
import {
  ClusterServiceClient,
  ClusterServiceService,
  FlowServiceClient,
  FlowServiceService,
  JobServiceClient,
  JobServiceService,
  ResourceKind,
  Role,
} from '@flowmesh/contracts';
import * as contracts from '@flowmesh/contracts';
import { createClient as createFlowmeshClient, type FlowmeshClient } from '@flowmesh/client';
import { newResource } from '@flowmesh/config';
import { startService, tempDir, waitFor, type RunningService } from '@flowmesh/testing';
import { credentials, Metadata, status, type Client, type ServiceError } from '@grpc/grpc-js';
import { requiredRole, roleAllows, roleName } from '../services/gateway/src/access/role-table.js';
import { startFileMesh } from './mesh-setup.js';

const TOKEN = 'gateway-access-test-token';
const ADMIN_KEY = 'gateway-access-test-admin-key-0123456789abcdef';

/** A key acts for a user that must exist: create the user, then its key. */
async function createUserKey(admin: FlowmeshClient, user: string, role: Role) {
  await admin.putResource(
    newResource({
      kind: ResourceKind.RESOURCE_KIND_USER,
      name: user,
      spec: { $case: 'user', user: { role, disabled: false, description: '' } },
    }),
  );
  return admin.createApiKey(user, role);
}

type Case = { method: string; request: Record<string, unknown>; label?: string };

/** One minimal request per public RPC (two for the kind-dependent resource reads). */
const CASES: Case[] = [
  { method: '/flowmesh.v1.JobService/RunJob', request: { msg: { $case: 'start', start: { flow: 'nope', vars: {} } } } },
  { method: '/flowmesh.v1.JobService/SubmitJob', request: { spec: { flow: 'nope', vars: {} } } },
  { method: '/flowmesh.v1.JobService/WatchJob', request: { jobId: 'no-such-job' } },
  { method: '/flowmesh.v1.JobService/GetJob', request: { jobId: 'no-such-job' } },
  { method: '/flowmesh.v1.JobService/ListJobs', request: {} },
  { method: '/flowmesh.v1.JobService/CancelJob', request: { jobId: 'no-such-job' } },
  { method: '/flowmesh.v1.FlowService/PutFlow', request: { name: 'acl-flow', source: 'not: a flow' } },
  { method: '/flowmesh.v1.FlowService/GetFlow', request: { name: 'acl-flow' } },
  { method: '/flowmesh.v1.FlowService/ListFlows', request: {} },
  { method: '/flowmesh.v1.FlowService/ListFlowVersions', request: { name: 'acl-flow' } },
  { method: '/flowmesh.v1.FlowService/DeleteFlow', request: { name: 'acl-flow' } },
  { method: '/flowmesh.v1.ClusterService/ListNodes', request: {} },
  {
    method: '/flowmesh.v1.ClusterService/GetResource',
    request: { kind: ResourceKind.RESOURCE_KIND_FILE_ROOT, name: 'nope' },
    label: 'file root',
  },
  {
    method: '/flowmesh.v1.ClusterService/GetResource',
    request: { kind: ResourceKind.RESOURCE_KIND_API_KEY, name: 'nope' },
    label: 'api key',
  },
  {
    method: '/flowmesh.v1.ClusterService/ListResources',
    request: { kind: ResourceKind.RESOURCE_KIND_JOB },
    label: 'jobs',
  },
  {
    method: '/flowmesh.v1.ClusterService/ListResources',
    request: { kind: ResourceKind.RESOURCE_KIND_AUDIT },
    label: 'audit log',
  },
  {
    method: '/flowmesh.v1.ClusterService/PutResource',
    request: {
      resource: {
        kind: ResourceKind.RESOURCE_KIND_FILE_ROOT,
        name: 'acl-root',
        spec: { $case: 'fileRoot', fileRoot: { path: '/tmp', writable: false, description: '' } },
      },
    },
  },
  {
    method: '/flowmesh.v1.ClusterService/DeleteResource',
    request: { kind: ResourceKind.RESOURCE_KIND_FILE_ROOT, name: 'acl-root' },
  },
  { method: '/flowmesh.v1.ClusterService/CreateApiKey', request: { user: 'acl-extra', role: Role.ROLE_VIEWER } },
  { method: '/flowmesh.v1.ClusterService/WhoAmI', request: {} },
];

const DEFINITIONS = {
  JobService: JobServiceService,
  FlowService: FlowServiceService,
  ClusterService: ClusterServiceService,
};

function methodOf(path: string) {
  const [, service, name] = /^\/flowmesh\.v1\.(\w+)\/(\w+)$/.exec(path)!;
  const def = Object.values(DEFINITIONS[service as keyof typeof DEFINITIONS]).find((m) => m.path === path)!;
  return { service: service as keyof typeof DEFINITIONS, name: name!, def };
}

/** Calls any public RPC and resolves with its final status code (OK, or the error's). */
function callStatus(clients: Record<string, Client>, c: Case, key: string | undefined): Promise<status> {
  const { service, name, def } = methodOf(c.method);
  // ts-proto encoders expect every field: complete the minimal request with the type's defaults.
  const typeName = name === 'CreateApiKey' ? 'ClusterServiceCreateApiKeyRequest' : `${name}Request`;
  const type = (contracts as unknown as Record<string, { fromPartial(o: object): object }>)[typeName]!;
  c = { ...c, request: type.fromPartial(c.request) as Record<string, unknown> };
  const client = clients[service]! as unknown as Record<string, (...args: unknown[]) => unknown>;
  const fn = client[name.charAt(0).toLowerCase() + name.slice(1)]!.bind(client);
  const md = new Metadata();
  if (key) md.set('authorization', `Bearer ${key}`);
  const opts = { deadline: new Date(Date.now() + 15_000) };
  return new Promise<status>((resolve) => {
    if (!def.requestStream && !def.responseStream) {
      fn(c.request, md, opts, (err: ServiceError | null) => resolve(err ? err.code : status.OK));
      return;
    }
    const call = (def.requestStream ? fn(md, opts) : fn(c.request, md, opts)) as NodeJS.EventEmitter & {
      write?: (m: unknown) => void;
      end?: () => void;
      cancel(): void;
    };
    call.on('data', () => {});
    call.on('error', (err: ServiceError) => resolve(err.code));
    call.on('status', (s: { code: status }) => resolve(s.code));
    if (def.requestStream) {
      call.write!(c.request);
      call.end!();
    }
  });
}

describe('gateway access control (real gateway and config-store)', function () {
  this.timeout(120_000);
  const services: RunningService[] = [];
  let gateway: RunningService;
  const clients: Record<string, Client> = {};
  const keys: Record<string, string> = {};

  before(async () => {
    const dir = await tempDir('gateway-access');
    const env = { FLOWMESH_CLUSTER_TOKEN: TOKEN };
    const { mesh, store } = await startFileMesh(dir, env, services);
    gateway = await startService('gateway', {
      args: [...mesh, '--config-store', store.address, '--key-cache-ms', '200'],
      env: { ...env, FLOWMESH_ADMIN_KEY: ADMIN_KEY },
      timeoutMs: 60_000,
    });
    services.push(gateway);
    const admin = createFlowmeshClient(gateway.address, { apiKey: ADMIN_KEY });
    try {
      await waitFor(() => admin.whoAmI().then((w) => w.user === 'admin'), {
        timeoutMs: 30_000,
        what: 'the bootstrap admin key',
      });
      for (const role of [Role.ROLE_VIEWER, Role.ROLE_OPERATOR]) {
        keys[roleName(role)] = (await createUserKey(admin, `acl-${roleName(role)}`, role)).secret;
      }
    } finally {
      admin.close();
    }
    keys.admin = ADMIN_KEY;
    const creds = credentials.createInsecure();
    clients.JobService = new JobServiceClient(gateway.address, creds);
    clients.FlowService = new FlowServiceClient(gateway.address, creds);
    clients.ClusterService = new ClusterServiceClient(gateway.address, creds);
  });

  after(async () => {
    for (const c of Object.values(clients)) c.close();
    for (const s of services.reverse()) await s.stop('SIGTERM', { timeoutMs: 5000 });
  });

  it('the cases cover every public RPC', () => {
    const all = Object.values(DEFINITIONS).flatMap((d) => Object.values(d).map((m) => m.path as string));
    assert.deepEqual([...new Set(CASES.map((c) => c.method))].sort(), all.sort());
  });

  for (const role of [Role.ROLE_VIEWER, Role.ROLE_OPERATOR, Role.ROLE_ADMIN]) {
    for (const c of CASES) {
      const min = requiredRole(c.method, c.request);
      const allowed = roleAllows(role, min);
      it(`${roleName(role)} ${allowed ? 'may' : 'may not'} call ${c.method.split('.').pop()}${c.label ? ` (${c.label})` : ''}`, async () => {
        const code = await callStatus(clients, c, keys[roleName(role)]);
        if (allowed) {
          assert.ok(
            code !== status.PERMISSION_DENIED && code !== status.UNAUTHENTICATED,
            `refused with ${status[code]}`,
          );
        } else {
          assert.equal(code, status.PERMISSION_DENIED, `answered ${status[code]}`);
        }
      });
    }
  }

  it('answers UNAUTHENTICATED for a missing or unknown key on every public RPC', async () => {
    for (const c of CASES) {
      assert.equal(await callStatus(clients, c, undefined), status.UNAUTHENTICATED, `${c.method} without a key`);
      assert.equal(
        await callStatus(clients, c, 'not-a-real-key-but-long-enough-0123456789'),
        status.UNAUTHENTICATED,
        `${c.method} with an unknown key`,
      );
    }
  });

  it('writes every refusal and every admin change to the audit log', async () => {
    const admin = createFlowmeshClient(gateway.address, { apiKey: ADMIN_KEY });
    try {
      await callStatus(
        clients,
        { method: '/flowmesh.v1.FlowService/DeleteFlow', request: { name: 'audited-flow' } },
        keys.viewer,
      );
      await callStatus(clients, { method: '/flowmesh.v1.JobService/ListJobs', request: {} }, undefined);
      const entries = await waitFor(
        async () => {
          const res = await admin.listResources({ kind: ResourceKind.RESOURCE_KIND_AUDIT, pageSize: 1000 });
          const audits = res.resources
            .map((r) => (r.spec?.$case === 'audit' ? r.spec.audit : undefined))
            .filter((a) => !!a);
          const denied = audits.find(
            (a) =>
              !a.allowed &&
              a.actor === 'acl-viewer' &&
              a.action === 'FlowService/DeleteFlow' &&
              a.target === 'audited-flow',
          );
          const anonymous = audits.find(
            (a) => !a.allowed && a.actor === 'anonymous' && /UNAUTHENTICATED/.test(a.detail),
          );
          const change = audits.find(
            (a) => a.allowed && a.actor === 'admin' && a.action === 'ClusterService/CreateApiKey',
          );
          return denied && anonymous && change ? { denied, anonymous, change } : undefined;
        },
        { timeoutMs: 15_000, what: 'the refusals and the admin change in the audit log' },
      );
      assert.match(entries.denied.detail, /PERMISSION_DENIED: FlowService\/DeleteFlow needs role admin/);
    } finally {
      admin.close();
    }
  });

  it('counts a revoked key as unknown once the cache expires', async () => {
    const admin = createFlowmeshClient(gateway.address, { apiKey: ADMIN_KEY });
    try {
      const created = await createUserKey(admin, 'acl-revoked', Role.ROLE_VIEWER);
      const viewer = createFlowmeshClient(gateway.address, { apiKey: created.secret });
      assert.equal((await viewer.whoAmI()).user, 'acl-revoked');
      const res = await admin.getResource(ResourceKind.RESOURCE_KIND_API_KEY, created.keyId);
      assert.equal(res.spec?.$case, 'apiKey');
      if (res.spec?.$case === 'apiKey') res.spec.apiKey.revoked = true;
      await admin.putResource(res);
      await waitFor(
        () =>
          viewer.whoAmI().then(
            () => false,
            (err: ServiceError) => err.code === status.UNAUTHENTICATED,
          ),
        { what: 'the revoked key to be refused' },
      );
      viewer.close();
    } finally {
      admin.close();
    }
  });

  it('refuses the key of a deleted user once the cache expires', async () => {
    const admin = createFlowmeshClient(gateway.address, { apiKey: ADMIN_KEY });
    const created = await createUserKey(admin, 'acl-deleted', Role.ROLE_VIEWER);
    const viewer = createFlowmeshClient(gateway.address, { apiKey: created.secret });
    try {
      assert.equal((await viewer.whoAmI()).user, 'acl-deleted');
      assert.equal(await admin.deleteResource(ResourceKind.RESOURCE_KIND_USER, 'acl-deleted'), true);
      await waitFor(
        () =>
          viewer.whoAmI().then(
            () => false,
            (err: ServiceError) => err.code === status.UNAUTHENTICATED,
          ),
        { what: "the deleted user's key to be refused" },
      );
      // Refused for good, not for one call: the refusal is not a transient store failure.
      await assert.rejects(viewer.whoAmI(), (err: ServiceError) => err.code === status.UNAUTHENTICATED);
    } finally {
      viewer.close();
      admin.close();
    }
  });
});
