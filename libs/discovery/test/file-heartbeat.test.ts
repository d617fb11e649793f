// The file registry's heartbeat and change detection (watch.ts, registration.ts): an unchanged entry is kept
// alive by its mtime alone, and a watcher tells content changes from heartbeats even when a rewrite has the
// same size (and possibly a reused inode number).
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { rm } from 'node:fs/promises';
import { tempDir, waitFor } from '@flowmesh/testing';
import { createDiscovery, type Discovery } from '../src/index.js';
import { executor } from './contract.js';

describe('file registry heartbeats', function () {
  let root: string;
  let n = 0;
  const open: Discovery[] = [];
  before(async () => {
    root = await tempDir('flowmesh-registry-hb');
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((d) => d.close()));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });
  const discovery = (dir: string): Discovery => {
    // No rescan within a test: what a watcher sees comes from the directory watch and its TTL timer.
    const d = createDiscovery({ provider: 'file', dir, ttlSeconds: 1, pollMs: 600_000 });
    open.push(d);
    return d;
  };

  it('keeps an unchanged entry alive past its TTL by its mtime, without rewriting the file', async () => {
    const dir = join(root, `r${++n}`);
    const view = discovery(dir).watch('executor');
    await view.ready;
    const node = executor();
    await discovery(dir).register(node);
    const file = join(dir, 'executor', `${node.id}.json`);
    const first = await stat(file);
    await waitFor(async () => (await stat(file)).mtimeMs > first.mtimeMs + 1500, {
      timeoutMs: 5000,
      what: 'heartbeats for longer than the TTL',
    });
    const later = await stat(file);
    assert.equal(later.ino, first.ino, 'the heartbeat rewrote the file');
    assert.deepEqual(view.get(node.id), node);
  });

  it('a watcher sees every same-size update, however quickly they follow each other', async () => {
    const dir = join(root, `r${++n}`);
    const view = discovery(dir).watch('executor');
    await view.ready;
    const reg = await discovery(dir).register(executor({ load: 0.25, slotsBusy: 1 }));
    await waitFor(() => view.get(reg.node.id), { what: 'the watcher sees the node' });
    for (let i = 0; i < 20; i++) await reg.update({ load: i % 2 === 0 ? 0.75 : 0.25, slotsBusy: i % 2 === 0 ? 3 : 1 });
    await waitFor(() => view.get(reg.node.id)?.load === 0.25 && view.get(reg.node.id)?.slotsBusy === 1, {
      what: 'the last update',
    });
    await reg.update({ load: 0.75, slotsBusy: 3 });
    await waitFor(() => view.get(reg.node.id)?.load === 0.75 && view.get(reg.node.id)?.slotsBusy === 3, {
      what: 'an update of the same size after it',
    });
  });
});
