// The contract every KvBackend honours; run against each backend by contract.test.ts.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { deferred, waitFor } from '@flowmesh/testing';
import { CasConflictError, RevisionCompactedError, type KvBackend, type KvEvent } from '@flowmesh/store';

const b = (s: string): Buffer => Buffer.from(s);

/** Collects watch events; `until(n)` resolves once n events arrived. */
function collector() {
  const events: KvEvent[] = [];
  const errors: Error[] = [];
  return {
    events,
    errors,
    listener: { onEvents: (evs: KvEvent[]) => void events.push(...evs), onError: (e: Error) => void errors.push(e) },
    until: (n: number, what: string) => waitFor(() => events.length >= n, { timeoutMs: 10_000, what }),
  };
}

export interface ContractHooks {
  /** Make the backend forget history up to (at least) `revision`: etcd compaction, or enough writes to pass the embedded history bound. */
  compact(kv: KvBackend, revision: number): Promise<void>;
}

export function kvContract(getBackend: () => KvBackend, hooks: ContractHooks): void {
  let p = '';
  beforeEach(() => {
    p = `t-${randomUUID().slice(0, 8)}/`;
  });

  it('put then get returns the value with mod, create revision and version', async () => {
    const kv = getBackend();
    const before = await kv.revision();
    assert.equal((await kv.get(p + 'a')).entry, undefined);
    const e1 = await kv.put(p + 'a', b('one'));
    assert.ok(e1.modRevision > before);
    assert.equal(e1.createRevision, e1.modRevision);
    assert.equal(e1.version, 1);
    const e2 = await kv.put(p + 'a', b('two'));
    assert.ok(e2.modRevision > e1.modRevision);
    assert.equal(e2.createRevision, e1.createRevision);
    assert.equal(e2.version, 2);
    const got = await kv.get(p + 'a');
    assert.equal(got.entry?.value.toString(), 'two');
    assert.equal(got.entry?.modRevision, e2.modRevision);
    assert.ok(got.revision >= e2.modRevision);
    assert.ok((await kv.revision()) >= e2.modRevision);
  });

  it('compare-and-set: 0 means must not exist, N means mod revision must be N', async () => {
    const kv = getBackend();
    const e1 = await kv.put(p + 'k', b('v1'), { expectedRevision: 0 });
    await assert.rejects(kv.put(p + 'k', b('again'), { expectedRevision: 0 }), (err: unknown) => {
      assert.ok(err instanceof CasConflictError);
      assert.equal(err.actualRevision, e1.modRevision);
      return true;
    });
    const e2 = await kv.put(p + 'k', b('v2'), { expectedRevision: e1.modRevision });
    await assert.rejects(kv.put(p + 'k', b('stale'), { expectedRevision: e1.modRevision }), CasConflictError);
    await assert.rejects(kv.delete(p + 'k', { expectedRevision: e1.modRevision }), CasConflictError);
    assert.equal((await kv.get(p + 'k')).entry?.value.toString(), 'v2');
    const d = await kv.delete(p + 'k', { expectedRevision: e2.modRevision });
    assert.equal(d.deleted, true);
    assert.ok(d.revision > e2.modRevision);
    await assert.rejects(kv.put(p + 'missing', b('x'), { expectedRevision: 5 }), CasConflictError);
    assert.equal((await kv.delete(p + 'missing')).deleted, false);
  });

  it('a commit applies all ops at one revision or none of them', async () => {
    const kv = getBackend();
    const a = await kv.put(p + 'a', b('a1'));
    await assert.rejects(
      kv.commit([
        { type: 'put', key: p + 'a', value: b('a2'), expectedRevision: a.modRevision },
        { type: 'put', key: p + 'b', value: b('b1'), expectedRevision: 1 },
      ]),
      CasConflictError,
    );
    assert.equal((await kv.get(p + 'a')).entry?.value.toString(), 'a1');
    assert.equal((await kv.get(p + 'b')).entry, undefined);
    const res = await kv.commit([
      { type: 'put', key: p + 'a', value: b('a2'), expectedRevision: a.modRevision },
      { type: 'put', key: p + 'b', value: b('b1'), expectedRevision: 0 },
      { type: 'delete', key: p + 'c' },
    ]);
    const [ra, rb, rc] = res.results;
    assert.equal(ra?.type === 'put' && ra.entry.modRevision, res.revision);
    assert.equal(rb?.type === 'put' && rb.entry.modRevision, res.revision);
    assert.equal(rc?.type === 'delete' && rc.deleted, false);
  });

  it('lists a prefix in key order, paged with a continuation, without siblings', async () => {
    const kv = getBackend();
    const names = Array.from({ length: 25 }, (_, i) => `item-${String(i).padStart(2, '0')}`);
    for (const n of [...names].reverse()) await kv.put(`${p}items/${n}`, b(n));
    await kv.put(`${p}itemsX`, b('sibling')); // shares the prefix's text but not its slash
    const seen: string[] = [];
    let after: string | undefined;
    let pages = 0;
    do {
      const page = await kv.list(`${p}items/`, { limit: 10, ...(after ? { after } : {}) });
      assert.ok(page.entries.length <= 10);
      seen.push(...page.entries.map((e) => e.value.toString()));
      after = page.next;
      pages++;
      assert.ok(pages <= 4, 'paging does not end');
    } while (after);
    assert.deepEqual(seen, names);
    assert.equal(pages, 3);
    assert.equal((await kv.list(`${p}nothing/`)).entries.length, 0);
    const keys = await kv.list(`${p}items/`, { limit: 3, keysOnly: true });
    assert.deepEqual(
      keys.entries.map((e) => [e.key.slice(p.length), e.value.length]),
      [
        ['items/item-00', 0],
        ['items/item-01', 0],
        ['items/item-02', 0],
      ],
    );
    assert.ok(keys.entries.every((e) => e.modRevision > 0));
  });

  it('watch from a revision replays every later change in order, then goes live', async () => {
    const kv = getBackend();
    const start = (await kv.put(p + 'w/0', b('0'))).modRevision;
    for (let i = 1; i <= 5; i++) await kv.put(`${p}w/${i}`, b(String(i)));
    await kv.delete(p + 'w/2');
    await kv.put(p + 'other', b('not watched'));
    const c = collector();
    const h = kv.watch(p + 'w/', start, c.listener);
    try {
      await h.ready;
      await c.until(6, 'replayed events');
      await kv.put(p + 'w/live', b('live'));
      await c.until(7, 'live event');
      assert.deepEqual(
        c.events.map((e) => `${e.type} ${e.key.slice(p.length)}`),
        ['put w/1', 'put w/2', 'put w/3', 'put w/4', 'put w/5', 'delete w/2', 'put w/live'],
      );
      const revs = c.events.map((e) => e.modRevision);
      assert.deepEqual(
        revs,
        [...revs].sort((x, y) => x - y),
      );
      assert.ok(revs[0]! > start);
      assert.equal(c.events[6]?.value?.toString(), 'live');
      assert.deepEqual(c.errors, []);
    } finally {
      await h.close();
    }
  });

  it('watch from 0 sees only changes made after it is ready, and stops after close', async () => {
    const kv = getBackend();
    await kv.put(p + 'old', b('old'));
    const c = collector();
    const h = kv.watch(p, 0, c.listener);
    await h.ready;
    await kv.put(p + 'new', b('new'));
    await c.until(1, 'new event');
    assert.deepEqual(
      c.events.map((e) => e.key),
      [p + 'new'],
    );
    await h.close();
    const after = collector();
    const h2 = kv.watch(p, (await kv.put(p + 'after-close', b('x'))).modRevision - 1, after.listener);
    await after.until(1, 'event seen by a second watcher');
    await h2.close();
    assert.equal(c.events.length, 1);
  });

  it('delivers concurrent writes to a live watcher exactly once each, in revision order', async () => {
    const kv = getBackend();
    const c = collector();
    const h = kv.watch(p, 0, c.listener);
    await h.ready;
    const done = deferred();
    const writes = Array.from({ length: 40 }, (_, i) => kv.put(`${p}c/${i % 7}`, b(String(i))));
    Promise.all(writes).then(() => done.resolve(), done.reject);
    await done.promise;
    await c.until(40, 'all concurrent writes');
    const revs = c.events.map((e) => e.modRevision);
    assert.equal(new Set(revs).size, 40);
    assert.deepEqual(
      revs,
      [...revs].sort((x, y) => x - y),
    );
    await h.close();
  });

  it('a watch from a compacted revision fails with RevisionCompactedError (the caller lists again)', async () => {
    const kv = getBackend();
    const old = (await kv.put(p + 'gone', b('1'))).modRevision;
    await kv.put(p + 'gone', b('2'));
    await kv.put(p + 'gone', b('3'));
    await hooks.compact(kv, await kv.revision()); // etcd keeps the compaction revision itself, not the ones before
    const failed = deferred<Error>();
    const h = kv.watch(p, old, {
      onEvents: () => failed.reject(new Error('events from compacted history')),
      onError: (e) => failed.resolve(e),
    });
    try {
      const err = await failed.promise;
      assert.ok(err instanceof RevisionCompactedError, `got ${String(err)}`);
    } finally {
      await h.close();
    }
    // The current state is still readable, and a watch from now works.
    assert.equal((await kv.get(p + 'gone')).entry?.value.toString(), '3');
  });
}
