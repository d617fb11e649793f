import assert from 'node:assert/strict';
import { createSlotLedger, pickExecutor, type ExecutorView } from '../src/slot-ledger.js';

const ex = (id: string, slots: number, load = 0): ExecutorView => ({
  id,
  address: `addr-${id}`,
  slots,
  fileRoots: [],
  load,
});

describe('slot ledger and executor choice', () => {
  it('prefers the least-loaded executor with a free slot', () => {
    const l = createSlotLedger([ex('a', 2), ex('b', 2)]);
    l.acquire('a');
    assert.equal(l.pick()?.id, 'b');
    l.acquire('b');
    l.acquire('b');
    assert.equal(l.pick()?.id, 'a');
    l.acquire('a');
    assert.equal(l.pick(), undefined, 'no free slot anywhere: the batch waits');
    assert.equal(l.inFlight(), 4);
  });

  it('never puts more batches on an executor than it has slots', () => {
    const l = createSlotLedger([ex('a', 1), ex('b', 3)]);
    const picked: string[] = [];
    for (;;) {
      const e = l.pick();
      if (!e) break;
      l.acquire(e.id);
      picked.push(e.id);
    }
    assert.equal(picked.filter((p) => p === 'a').length, 1);
    assert.equal(picked.filter((p) => p === 'b').length, 3);
  });

  it('sends small batches ahead to busy slots only as deep as the executor holds them', () => {
    const held = new Map([['a', 2], ['b', 0]]);
    const l = createSlotLedger([ex('a', 1), ex('b', 1)], { aheadPerSlot: (e) => held.get(e.id) ?? 0 });
    l.acquire('a');
    l.acquire('b');
    assert.equal(l.pick(), undefined, 'a batch that is not sent ahead waits for a free slot');
    assert.equal(l.pick(undefined, 2)?.id, 'a');
    l.acquire('a');
    l.acquire('a');
    assert.equal(l.pick(undefined, 2), undefined, 'a holds 1 + 2, b (an older executor) holds none');
    assert.equal(l.pick(undefined, 1), undefined, 'a batch that goes 1 deep finds no room either');
    assert.equal(l.pick(undefined, 4), undefined, 'nor one that may go 4 deep: a holds only 2');
    held.set('a', 4);
    assert.equal(l.pick(undefined, 4)?.id, 'a', 'a tiny batch goes as deep as the executor holds');
    assert.equal(l.pick(undefined, 2), undefined);
  });

  it('sends a retry to another executor when one exists, waiting for its slot', () => {
    const execs = [ex('a', 2), ex('b', 1)];
    const busy = new Map([['b', 1]]);
    assert.equal(
      pickExecutor(execs, (id) => busy.get(id) ?? 0, new Set(['a'])),
      undefined,
    );
    busy.set('b', 0);
    assert.equal(pickExecutor(execs, (id) => busy.get(id) ?? 0, new Set(['a']))?.id, 'b');
    assert.equal(pickExecutor([ex('a', 2)], () => 0, new Set(['a']))?.id, 'a', 'the only executor is reused');
  });

  it('breaks ties by reported load', () => {
    assert.equal(pickExecutor([ex('a', 2, 0.9), ex('b', 2, 0.1)], () => 0)?.id, 'b');
  });

  it('wakes waiters on release and membership changes', async () => {
    const l = createSlotLedger([ex('a', 1)]);
    l.acquire('a');
    const woken = l.changed();
    l.release('a');
    await woken;
    assert.equal(l.pick()?.id, 'a');
    const woken2 = l.changed();
    l.setExecutors([]);
    await woken2;
    assert.equal(l.pick(), undefined);
  });

  it('skips a suspended executor until its suspension ends', async () => {
    const l = createSlotLedger([ex('a', 1), ex('b', 1)]);
    l.suspend('a', 30);
    assert.equal(l.pick()?.id, 'b');
    l.acquire('b');
    assert.equal(l.pick(), undefined, 'a is suspended, b is full');
    await l.changed();
    assert.equal(l.pick()?.id, 'a');
  });
});
