import assert from 'node:assert/strict';
import { createJobLimiter, JobLimitExceeded } from '../src/limits/job-limiter.js';

describe('job limiter', () => {
  it('refuses the key over its limit and admits it again after a release', () => {
    const limiter = createJobLimiter({ perKey: 2, total: 10 });
    const r1 = limiter.acquire('k');
    limiter.acquire('k');
    assert.throws(
      () => limiter.acquire('k'),
      (e: unknown) => e instanceof JobLimitExceeded && e.scope === 'key',
    );
    limiter.acquire('other');
    r1();
    r1(); // idempotent: a double release must not open two slots
    limiter.acquire('k');
    assert.throws(() => limiter.acquire('k'), JobLimitExceeded);
    assert.equal(limiter.running('k'), 2);
    assert.equal(limiter.running(), 3);
  });

  it('refuses everyone over the gateway total', () => {
    const limiter = createJobLimiter({ perKey: 5, total: 2 });
    limiter.acquire('a');
    limiter.acquire('b');
    assert.throws(
      () => limiter.acquire('c'),
      (e: unknown) => e instanceof JobLimitExceeded && e.scope === 'gateway',
    );
  });
});
