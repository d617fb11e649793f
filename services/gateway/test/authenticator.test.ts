import assert from 'node:assert/strict';
import { Role } from '@flowmesh/contracts';
import { AuthenticationFailed, bearerSecret, createAuthenticator, type Identity } from '../src/access/authenticator.js';
import { createAuditLog } from '../src/access/audit-log.js';
import { deferred } from '@flowmesh/testing';

const admin: Identity = { keyId: 'k1', user: 'root', role: Role.ROLE_ADMIN };

describe('authenticator', () => {
  it('parses bearer metadata', () => {
    assert.equal(bearerSecret(['Bearer abc']), 'abc');
    assert.equal(bearerSecret(['bearer   abc  ']), 'abc');
    assert.equal(bearerSecret(['Basic abc']), undefined);
    assert.equal(bearerSecret([]), undefined);
  });

  it('rejects missing and unknown keys, caches verified ones until the TTL', async () => {
    let t = 0;
    let calls = 0;
    const auth = createAuthenticator({
      ttlMs: 100,
      now: () => t,
      verify: async (s) => {
        calls += 1;
        return s === 'good' ? admin : undefined;
      },
    });
    await assert.rejects(auth.authenticate([]), AuthenticationFailed);
    await assert.rejects(auth.authenticate(['Bearer bad']), /unknown/);
    assert.deepEqual(await auth.authenticate(['Bearer good']), admin);
    await auth.authenticate(['Bearer good']);
    assert.equal(calls, 2);
    t = 101;
    await auth.authenticate(['Bearer good']);
    assert.equal(calls, 3);
  });

  it('forgets the identities of a changed key or user at once, and does not cache a lookup that straddled a change', async () => {
    const other: Identity = { keyId: 'k2', user: 'ops', role: Role.ROLE_OPERATOR };
    let calls = 0;
    let gate: ReturnType<typeof deferred<Identity | undefined>> | undefined;
    const auth = createAuthenticator({
      ttlMs: 60_000,
      verify: async (s) => {
        calls += 1;
        if (gate) return gate.promise;
        return s === 'good' ? admin : s === 'ops' ? other : undefined;
      },
    });
    await auth.authenticate(['Bearer good']);
    await auth.authenticate(['Bearer ops']);
    assert.equal(calls, 2);
    auth.forget((i) => i.keyId === 'k1');
    await auth.authenticate(['Bearer good']); // asked again
    await auth.authenticate(['Bearer ops']); // still cached
    assert.equal(calls, 3);
    auth.forget((i) => i.user === 'ops');
    // A verification in flight when the key changes answers its call but is not cached.
    gate = deferred<Identity | undefined>();
    const straddling = auth.authenticate(['Bearer ops']);
    auth.forget((i) => i.keyId === 'k2');
    gate.resolve(other);
    assert.deepEqual(await straddling, other);
    gate = undefined;
    await auth.authenticate(['Bearer ops']);
    assert.equal(calls, 5);
  });

  it('shares one lookup between concurrent calls and propagates store errors', async () => {
    const gate = deferred<Identity | undefined>();
    let calls = 0;
    const auth = createAuthenticator({
      verify: () => {
        calls += 1;
        return gate.promise;
      },
    });
    const a = auth.authenticate(['Bearer x']);
    const b = auth.authenticate(['Bearer x']);
    gate.reject(new Error('store down'));
    await assert.rejects(a, /store down/);
    await assert.rejects(b, /store down/);
    assert.equal(calls, 1);
  });
});

describe('audit log queue', () => {
  it('appends in order, drops and counts over its bound', async () => {
    const gate = deferred();
    const seen: string[] = [];
    const log = createAuditLog({
      maxQueue: 2,
      append: async (e) => {
        await gate.promise;
        seen.push(e.action);
      },
    });
    for (const action of ['a', 'b', 'c', 'd'])
      log.record({ actor: 'x', action, target: '', allowed: false, detail: '' });
    // 'a' is being appended, 'b' and 'c' wait, 'd' overflows.
    gate.resolve();
    await log.flush();
    assert.deepEqual(seen, ['a', 'b', 'c']);
    assert.equal(log.dropped, 1);
  });
});
