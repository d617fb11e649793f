import assert from 'node:assert/strict';
import { ResourceKind, Role, JobServiceService, FlowServiceService, ClusterServiceService } from '@flowmesh/contracts';
import { ROLE_TABLE, requiredRole, roleAllows, parseRole, roleName } from '../src/access/role-table.js';

describe('gateway role table', () => {
  it('lists every public RPC exactly once', () => {
    const paths = [JobServiceService, FlowServiceService, ClusterServiceService].flatMap((s) =>
      Object.values(s).map((m) => m.path as string),
    );
    assert.deepEqual([...ROLE_TABLE.map((r) => r.method)].sort(), [...paths].sort());
  });

  it('viewer reads, operator runs and cancels, admin changes', () => {
    const v = Role.ROLE_VIEWER;
    const o = Role.ROLE_OPERATOR;
    const a = Role.ROLE_ADMIN;
    assert.equal(requiredRole('/flowmesh.v1.JobService/GetJob'), v);
    assert.equal(requiredRole('/flowmesh.v1.JobService/RunJob'), o);
    assert.equal(requiredRole('/flowmesh.v1.JobService/CancelJob'), o);
    assert.equal(requiredRole('/flowmesh.v1.FlowService/PutFlow'), a);
    assert.equal(requiredRole('/flowmesh.v1.ClusterService/CreateApiKey'), a);
    assert.equal(requiredRole('/flowmesh.v1.ClusterService/ListNodes'), v);
  });

  it('resource reads need admin for users, keys and the audit log', () => {
    const m = '/flowmesh.v1.ClusterService/ListResources';
    assert.equal(requiredRole(m, { kind: ResourceKind.RESOURCE_KIND_FLOW }), Role.ROLE_VIEWER);
    assert.equal(requiredRole(m, { kind: ResourceKind.RESOURCE_KIND_JOB }), Role.ROLE_VIEWER);
    assert.equal(requiredRole(m, { kind: ResourceKind.RESOURCE_KIND_API_KEY }), Role.ROLE_ADMIN);
    assert.equal(requiredRole(m, { kind: ResourceKind.RESOURCE_KIND_AUDIT }), Role.ROLE_ADMIN);
    assert.equal(requiredRole(m, { kind: ResourceKind.RESOURCE_KIND_USER }), Role.ROLE_ADMIN);
  });

  it('denies unknown methods and unspecified roles', () => {
    assert.equal(requiredRole('/flowmesh.v1.ConfigStore/Put'), Role.ROLE_ADMIN);
    assert.equal(roleAllows(Role.ROLE_UNSPECIFIED, Role.ROLE_UNSPECIFIED), false);
    assert.equal(roleAllows(Role.UNRECOGNIZED, Role.ROLE_VIEWER), false);
    assert.equal(roleAllows(Role.ROLE_ADMIN, Role.ROLE_OPERATOR), true);
    assert.equal(roleAllows(Role.ROLE_OPERATOR, Role.ROLE_ADMIN), false);
  });

  it('parses and names roles', () => {
    assert.equal(parseRole('Operator'), Role.ROLE_OPERATOR);
    assert.equal(parseRole('ROLE_ADMIN'), Role.ROLE_ADMIN);
    assert.equal(parseRole('root'), undefined);
    assert.equal(roleName(Role.ROLE_VIEWER), 'viewer');
  });
});
