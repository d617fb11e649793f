import assert from 'node:assert/strict';
import { createCoordinatorPicker, type CoordinatorCandidate } from '../src/routing/coordinator-picker.js';

const nodes = (...loads: number[]): CoordinatorCandidate[] =>
  loads.map((load, i) => ({ id: `c${i}`, address: `127.0.0.1:${1000 + i}`, load }));

/** A random source that replays the given values. */
function replay(...values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length]!;
}

describe('coordinator picker', () => {
  it('of the two sampled coordinators takes the less loaded', () => {
    const picker = createCoordinatorPicker({ random: replay(0, 0) });
    // first sample index 0 (load 5), second index 1 of the rest → c1 (load 1)
    assert.equal(picker.pick(nodes(5, 1, 9))?.id, 'c1');
  });

  it('never picks the most loaded of three when sampling randomly', () => {
    const picker = createCoordinatorPicker();
    for (let i = 0; i < 200; i++) assert.notEqual(picker.pick(nodes(1, 2, 50))?.id, 'c2');
  });

  it('counts the jobs it started before discovery catches up', () => {
    const picker = createCoordinatorPicker({ random: replay(0, 0) });
    const two = nodes(0, 0);
    assert.equal(picker.pick(two)?.id, 'c0');
    picker.started('c0');
    assert.equal(picker.pick(two)?.id, 'c1');
    picker.finished('c0');
    assert.equal(picker.inFlight('c0'), 0);
  });

  it('fails over: excluded and suspect coordinators are skipped', () => {
    let t = 0;
    const picker = createCoordinatorPicker({ now: () => t, suspectMs: 100 });
    const three = nodes(0, 0, 0);
    picker.markSuspect('c0');
    for (let i = 0; i < 50; i++) {
      const id = picker.pick(three, new Set(['c1']))?.id;
      assert.equal(id, 'c2');
    }
    t = 200;
    assert.ok(['c0', 'c2'].includes(picker.pick(three, new Set(['c1']))!.id));
  });

  it('skips draining coordinators and returns undefined when none is left', () => {
    const picker = createCoordinatorPicker();
    const list = nodes(0, 0);
    list[0]!.health = 'draining';
    assert.equal(picker.pick(list)?.id, 'c1');
    assert.equal(picker.pick(list, new Set(['c1'])), undefined);
    assert.equal(picker.pick([]), undefined);
  });

  it('tries a suspect coordinator rather than none', () => {
    const picker = createCoordinatorPicker();
    picker.markSuspect('c0');
    assert.equal(picker.pick(nodes(0))?.id, 'c0');
  });
});
