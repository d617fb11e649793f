// PutRequest.revision_only (issue 7): the handler answers the new revision without the resource read back
// (what the coordinator asks for its job records), and stores exactly what a plain put stores.
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { Job, JobState, ResourceKind, type Resource } from '@flowmesh/contracts';
import { createResourceStore } from '@flowmesh/config';
import { createEmbeddedBackend, type KvBackend } from '@flowmesh/store';
import { tempDir } from '@flowmesh/testing';
import { createConfigStoreHandlers } from '@flowmesh/config-store';

const jobResource = (id: string, state: JobState): Resource => ({
  kind: ResourceKind.RESOURCE_KIND_JOB,
  name: id,
  revision: 0,
  createRevision: 0,
  version: 0,
  updatedAt: undefined,
  updatedBy: '',
  spec: { $case: 'job', job: Job.fromPartial({ id, flow: 'orders', flowRevision: 2, state }) },
});

describe('config-store put: revision_only', () => {
  let dir = '';
  let backend: KvBackend;
  before(async () => {
    dir = await tempDir('flowmesh-put-revision-only');
    backend = await createEmbeddedBackend({ dir });
  });
  after(async () => {
    await backend?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers the revision without the resource, and the record reads back as with a plain put', async () => {
    const handlers = createConfigStoreHandlers(createResourceStore({ backend }));
    const plain = await handlers.put({ resource: jobResource('j-plain', JobState.JOB_STATE_SUCCEEDED), actor: 'c1' });
    assert.ok(plain.resource, 'a plain put answers the stored resource');
    const only = await handlers.put({
      resource: jobResource('j-only', JobState.JOB_STATE_SUCCEEDED),
      actor: 'c1',
      revisionOnly: true,
    });
    assert.equal(only.resource, undefined);
    assert.ok(only.revision > plain.revision);
    const got = await handlers.get({ kind: ResourceKind.RESOURCE_KIND_JOB, name: 'j-only', flowRevision: 0 });
    assert.equal(got.resource?.revision, only.revision);
    assert.equal(got.resource?.updatedBy, 'c1');
    assert.equal(got.resource?.spec?.$case === 'job' && got.resource.spec.job.state, JobState.JOB_STATE_SUCCEEDED);
    // Compare-and-set still applies.
    await assert.rejects(
      handlers.put({
        resource: jobResource('j-only', JobState.JOB_STATE_FAILED),
        expectedRevision: 0,
        actor: 'c1',
        revisionOnly: true,
      }),
    );
  });
});
