// Heartbeats of attempts on one shared timer: each attempt's come no later than its interval, not while one
// is outstanding or after an abort, and none after stop(). A companion attempt's heartbeats are the clock
// the absences are checked against (no sleeps).
import assert from 'node:assert/strict';
import type { ExecuteBatchResponse } from '@flowmesh/contracts';
import { waitFor } from '@flowmesh/testing';
import { startHeartbeats } from '../src/heartbeats.js';

function target() {
  const abort = new AbortController();
  const beats: Array<{ at: number; records: number }> = [];
  let hold: Promise<void> | undefined;
  return {
    abort,
    beats,
    holdSends(p: Promise<void> | undefined) {
      hold = p;
    },
    signal: abort.signal,
    async send(msg: ExecuteBatchResponse) {
      if (msg.msg?.$case === 'heartbeat') beats.push({ at: Date.now(), records: msg.msg.heartbeat.recordsDone });
      await hold;
    },
  };
}

describe('executor heartbeats (shared timer)', () => {
  it('beats each attempt within its interval, with its records done, and stops on stop()', async () => {
    const a = target();
    const b = target();
    const started = Date.now();
    let records = 0;
    const ha = startHeartbeats(a, 40, () => ++records);
    const hb = startHeartbeats(b, 40, () => 0);
    await waitFor(() => a.beats.length >= 4 && b.beats.length >= 4, { timeoutMs: 5000, intervalMs: 5 });
    ha.stop();
    hb.stop();
    const times = [started, ...a.beats.map((x) => x.at)];
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    // Never earlier than 3/4 of the interval; later only by timer lateness on a loaded machine.
    assert.ok(gaps.every((g) => g >= 29), `gaps ${gaps.join(',')} ms at a 40 ms interval`);
    assert.deepEqual(
      a.beats.slice(0, 3).map((x) => x.records),
      [1, 2, 3],
    );
    const after = a.beats.length;
    const clock = target();
    const hc = startHeartbeats(clock, 40, () => 0);
    await waitFor(() => clock.beats.length >= 3, { timeoutMs: 5000, intervalMs: 5 });
    hc.stop();
    assert.equal(a.beats.length, after, 'no heartbeat after stop()');
  });

  it('sends none while one is outstanding, nor after the attempt is aborted', async () => {
    const a = target();
    const clock = target();
    let release!: () => void;
    a.holdSends(new Promise<void>((resolve) => (release = resolve)));
    const h = startHeartbeats(a, 20, () => 0);
    const hc = startHeartbeats(clock, 20, () => 0);
    await waitFor(() => a.beats.length === 1, { timeoutMs: 5000, intervalMs: 5 });
    let from = clock.beats.length;
    await waitFor(() => clock.beats.length >= from + 3, { timeoutMs: 5000, intervalMs: 5 });
    assert.equal(a.beats.length, 1, 'a second heartbeat while the first was not sent');
    a.holdSends(undefined);
    release();
    await waitFor(() => a.beats.length >= 2, { timeoutMs: 5000, intervalMs: 5 });
    a.abort.abort();
    const n = a.beats.length;
    from = clock.beats.length;
    await waitFor(() => clock.beats.length >= from + 3, { timeoutMs: 5000, intervalMs: 5 });
    assert.equal(a.beats.length, n, 'a heartbeat after the abort');
    h.stop();
    hc.stop();
  });
});
