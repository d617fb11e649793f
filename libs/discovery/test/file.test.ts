import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '@flowmesh/testing';
import { discoveryContract } from './contract.js';

describe('discovery on a registry directory', function () {
  let root: string;
  let n = 0;
  before(async () => {
    root = await tempDir('flowmesh-registry');
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  discoveryContract('file', { outages: [] }, () => ({
    options: () => ({ provider: 'file', dir: join(root, `r${++n}`), ttlSeconds: 2, pollMs: 100 }),
  }));

  // The same contract with no rescan within a test: adds, updates, removals and TTL expiry come from the
  // directory watch and the deadline timer alone.
  discoveryContract('file, watch events only', { outages: [] }, () => ({
    options: () => ({ provider: 'file', dir: join(root, `r${++n}`), ttlSeconds: 2, pollMs: 600_000 }),
  }));
});
