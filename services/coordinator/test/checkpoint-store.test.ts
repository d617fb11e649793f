// The checkpoint store against a real config-store process: each write answers only the new revision
// (revision_only, issue 7), and that revision is the one the next compare-and-set must name — a write with
// an older one is a lost job (DeposedError), as when another coordinator took it over.
import assert from 'node:assert/strict';
import path from 'node:path';
import { JobCheckpoint } from '@flowmesh/contracts';
import { createConfigClient, type ConfigClient } from '@flowmesh/config';
import { startService, tempDir, type RunningService } from '@flowmesh/testing';
import { createCheckpointStore, DeposedError, type CheckpointStore } from '../src/checkpoint-store.js';

const checkpoint = (owner: string, epoch: number, doneBelow: number): JobCheckpoint =>
  JobCheckpoint.fromPartial({
    jobId: 'job-cp',
    coordinatorId: owner,
    epoch,
    doneBelow,
    planningDone: true,
    spec: { flow: 'orders', vars: { input: 'orders.csv' } },
    streamResults: true,
  });

describe('coordinator checkpoint store (revision-only writes)', function () {
  this.timeout(60_000);
  let service: RunningService | undefined;
  let client: ConfigClient;
  let store: CheckpointStore;

  before(async () => {
    const dir = await tempDir('coordinator-checkpoint-store');
    service = await startService('config-store', {
      args: ['--data-dir', path.join(dir, 'db'), '--discovery', 'file', '--registry-dir', path.join(dir, 'registry')],
    });
    client = createConfigClient({ address: service.address });
    store = createCheckpointStore(client);
  });

  after(async () => {
    client?.close();
    await service?.stop();
  });

  it('answers the stored revision, which the next write must name; a stale one is a lost job', async () => {
    const created = await store.put(checkpoint('c1', 1, 0), 0, 'c1');
    assert.ok(created > 0);
    await assert.rejects(store.put(checkpoint('c1', 1, 0), 0, 'c1'), DeposedError, 'the id is taken');
    const first = await store.get('job-cp');
    assert.equal(first?.revision, created, 'the answered revision is the stored one');

    const next = await store.put(checkpoint('c1', 1, 7), created, 'c1');
    assert.ok(next > created);
    const got = await store.get('job-cp');
    assert.equal(got?.revision, next);
    assert.equal(got?.checkpoint.doneBelow, 7);
    assert.equal(got?.checkpoint.jobId, 'job-cp');

    // Another coordinator takes the job over with its own compare-and-set: the old owner's next write fails.
    const taken = await store.put(checkpoint('c2', 2, 7), next, 'c2');
    await assert.rejects(store.put(checkpoint('c1', 1, 9), next, 'c1'), DeposedError);
    assert.equal((await store.get('job-cp'))?.checkpoint.coordinatorId, 'c2');

    await assert.rejects(store.remove('job-cp', next, 'c1'), DeposedError);
    await store.remove('job-cp', taken, 'c2');
    assert.equal(await store.get('job-cp'), undefined);
  });
});
