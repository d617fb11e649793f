import assert from 'node:assert/strict';

describe('harness', () => {
  it('runs TypeScript tests under mocha', () => {
    assert.equal(typeof describe, 'function');
  });
});
