import assert from 'node:assert/strict';
import { createLoadPublisher } from '../src/load-publisher.js';

/** A manual timer: `fire()` runs what is scheduled, as the delay passing would. */
function manualTimer() {
  let pending: (() => void) | undefined;
  return {
    schedule: (fn: () => void) => {
      pending = fn;
      return () => (pending = undefined);
    },
    get armed() {
      return pending !== undefined;
    },
    fire() {
      const fn = pending;
      pending = undefined;
      fn?.();
    },
  };
}

const settle = () => new Promise((r) => setImmediate(r));

describe('coordinator load publisher (coalesced discovery updates)', () => {
  it('a job that starts and ends within the delay publishes nothing', async () => {
    const timer = manualTimer();
    const sent: number[] = [];
    const p = createLoadPublisher({
      publish: async (v) => void sent.push(v),
      onError: (err) => assert.fail(String(err)),
      schedule: timer.schedule,
    });
    p.set(1);
    p.set(0);
    timer.fire();
    await settle();
    assert.deepEqual(sent, []);
    assert.equal(timer.armed, false);
  });

  it('publishes only the latest value, once per delay, and again after a change during a write', async () => {
    const timer = manualTimer();
    const sent: number[] = [];
    let release!: () => void;
    const p = createLoadPublisher({
      publish: (v) => {
        sent.push(v);
        return new Promise<void>((r) => (release = r));
      },
      onError: (err) => assert.fail(String(err)),
      schedule: timer.schedule,
    });
    p.set(1);
    p.set(2);
    p.set(3);
    timer.fire();
    assert.deepEqual(sent, [3]);
    p.set(1); // while the write of 3 is in flight: not a second concurrent write
    assert.equal(timer.armed, false);
    release();
    await settle();
    assert.equal(timer.armed, true);
    timer.fire();
    assert.deepEqual(sent, [3, 1]);
    release();
    await settle();
    assert.equal(timer.armed, false);
  });

  it('retries a failed write after the delay and stops after close', async () => {
    const timer = manualTimer();
    const sent: number[] = [];
    const errors: unknown[] = [];
    let fail = true;
    const p = createLoadPublisher({
      publish: async (v) => {
        sent.push(v);
        if (fail) throw new Error('registry unavailable');
      },
      onError: (err) => errors.push(err),
      schedule: timer.schedule,
    });
    p.set(2);
    timer.fire();
    await settle();
    assert.equal(errors.length, 1);
    assert.equal(timer.armed, true);
    fail = false;
    timer.fire();
    await settle();
    assert.deepEqual(sent, [2, 2]);
    p.set(5);
    p.close();
    assert.equal(timer.armed, false);
  });
});
