// Unit tests of the executor's guards: fencing by epoch/attempt, slot accounting, fault specs, file roots.
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import { createFencing } from '../src/fencing.js';
import { createSlots } from '../src/slots.js';
import { parseFaults } from '../src/faults.js';
import { parseFileRootFlags, resolveInRoot, staticFileRoots } from '../src/file-roots.js';
import { readRange } from '../src/read-range.js';
import { createLoadReporter } from '../src/load-reporter.js';
import { waitFor } from '@flowmesh/testing';

const key = (epoch: number, attempt = 1, batchIndex = 0) => ({ jobId: 'j1', batchIndex, attempt, epoch });

describe('executor guards', () => {
  describe('fencing', () => {
    it('refuses an assignment from a lower epoch than one seen for the job', () => {
      const fencing = createFencing();
      fencing.admit(key(3))();
      assert.throws(
        () => fencing.admit(key(2, 2)),
        (err: { code: number; message: string }) => err.code === status.FAILED_PRECONDITION && /superseded/.test(err.message),
      );
      // The same or a higher epoch is fine, and other jobs are unaffected.
      fencing.admit(key(3, 2))();
      fencing.admit({ ...key(1), jobId: 'j2' })();
      assert.equal(fencing.epochOf('j1'), 3);
    });

    it('refuses a duplicate live attempt, and admits it again once ended', () => {
      const fencing = createFencing();
      const end = fencing.admit(key(1));
      assert.throws(() => fencing.admit(key(1)), (err: { code: number }) => err.code === status.ALREADY_EXISTS);
      fencing.admit(key(1, 2))(); // another attempt of the same batch is a different attempt
      end();
      end(); // idempotent
      fencing.admit(key(1))();
      assert.equal(fencing.live(), 0);
    });

    it('forgets the oldest jobs beyond its bound', () => {
      const fencing = createFencing({ maxJobs: 2 });
      for (const jobId of ['a', 'b', 'c']) fencing.admit({ ...key(5), jobId })();
      assert.equal(fencing.epochOf('a'), 0);
      assert.equal(fencing.epochOf('c'), 5);
    });
  });

  describe('slots', () => {
    it('gives RESOURCE_EXHAUSTED beyond its slots and reports idle after release', async () => {
      const slots = createSlots(2);
      const seen: number[] = [];
      slots.onChange((busy) => seen.push(busy));
      const r1 = slots.acquire();
      const r2 = slots.acquire();
      assert.throws(() => slots.acquire(), (err: { code: number }) => err.code === status.RESOURCE_EXHAUSTED);
      let idle = false;
      const idleP = slots.idle().then(() => (idle = true));
      r1();
      r1();
      assert.equal(slots.busy(), 1);
      assert.equal(idle, false);
      r2();
      await idleP;
      assert.deepEqual(seen, [1, 2, 1, 0]);
    });

    it('holds batches sent ahead in arrival order, bounded, and is idle only once they have run', async () => {
      const slots = createSlots(1);
      const none = new AbortController().signal;
      const first = await slots.wait(none, 2); // a free slot: taken at once
      const order: string[] = [];
      const second = slots.wait(none, 2).then((release) => (order.push('second'), release));
      const third = slots.wait(none, 2).then((release) => (order.push('third'), release));
      await assert.rejects(slots.wait(none, 2), (err: { code: number }) => err.code === status.RESOURCE_EXHAUSTED);
      assert.equal(slots.waiting(), 2);
      let idle = false;
      const idleP = slots.idle().then(() => (idle = true));
      first();
      const r2 = await second;
      // The slot passed straight to the next waiter: one busy, never idle in between.
      assert.equal(slots.busy(), 1);
      assert.deepEqual(order, ['second']);
      r2();
      const r3 = await third;
      assert.deepEqual(order, ['second', 'third']);
      assert.equal(idle, false);
      r3();
      await idleP;
      assert.equal(slots.busy(), 0);
    });

    it('drops a waiting batch that is cancelled, and the slot goes to the one after it', async () => {
      const slots = createSlots(1);
      const none = new AbortController().signal;
      const first = slots.acquire();
      const cancel = new AbortController();
      const cancelled = slots.wait(cancel.signal, 4);
      const next = slots.wait(none, 4);
      cancel.abort();
      await assert.rejects(cancelled, (err: { code: number }) => err.code === status.CANCELLED);
      assert.equal(slots.waiting(), 1);
      first();
      const r = await next;
      assert.equal(slots.busy(), 1);
      r();
      assert.equal(slots.busy(), 0);
    });
  });

  describe('faults', () => {
    it('parses kinds and selectors and matches attempts', () => {
      const faults = parseFaults('corrupt-trailer:batch=3,crash:batch=5;attempt=1,hang:job=x');
      assert.equal(faults.has('corrupt-trailer', { jobId: 'any', batchIndex: 3, attempt: 7 }), true);
      assert.equal(faults.has('corrupt-trailer', { jobId: 'any', batchIndex: 4, attempt: 1 }), false);
      assert.equal(faults.has('crash', { jobId: 'j', batchIndex: 5, attempt: 1 }), true);
      assert.equal(faults.has('crash', { jobId: 'j', batchIndex: 5, attempt: 2 }), false);
      assert.equal(faults.has('hang', { jobId: 'x', batchIndex: 0, attempt: 1 }), true);
      assert.equal(parseFaults(undefined).rules.length, 0);
      assert.throws(() => parseFaults('explode:batch=1'), /unknown fault/);
      assert.throws(() => parseFaults('crash:batch=x'), /integer/);
    });
  });

  describe('file roots', () => {
    let dir: string;
    before(async () => {
      dir = await mkdtemp(path.join(tmpdir(), 'executor-roots-'));
      await mkdir(path.join(dir, 'root', 'sub'), { recursive: true });
      await writeFile(path.join(dir, 'root', 'sub', 'a.csv'), 'id\n1\n2\n3\n');
      await writeFile(path.join(dir, 'secret.txt'), 'no');
      await symlink(path.join(dir, 'secret.txt'), path.join(dir, 'root', 'link.txt'));
    });
    after(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('resolves a path inside its root and reads exactly the range', async () => {
      const lookup = staticFileRoots(parseFileRootFlags([`data=${path.join(dir, 'root')}`]));
      const file = await resolveInRoot(lookup, 'data', 'sub/a.csv');
      assert.equal((await readRange(file, 3, 4)).toString(), '1\n2\n');
      await assert.rejects(readRange(file, 8, 10), (err: { code: number }) => err.code === status.FAILED_PRECONDITION);
    });

    it('refuses paths that leave the root, also through a symlink, and unknown roots', async () => {
      const lookup = staticFileRoots({ data: path.join(dir, 'root') });
      for (const bad of ['../secret.txt', 'sub/../../secret.txt', '/etc/passwd', 'link.txt']) {
        await assert.rejects(
          resolveInRoot(lookup, 'data', bad),
          (err: { code: number; message: string }) => err.code === status.INVALID_ARGUMENT && /assign\.file\.path/.test(err.message),
          bad,
        );
      }
      await assert.rejects(resolveInRoot(lookup, 'nope', 'a.csv'), (err: { code: number }) => err.code === status.NOT_FOUND);
      await assert.rejects(resolveInRoot(lookup, 'data', 'missing.csv'), (err: { code: number }) => err.code === status.NOT_FOUND);
    });
  });

  describe('load reporter', () => {
    it('publishes a burst of slot changes as few updates carrying the latest figures', async () => {
      const slots = createSlots(4);
      const sent: Array<{ slotsBusy: number; load: number }> = [];
      const reporter = createLoadReporter({
        target: { update: async (patch) => void sent.push(patch) },
        slots,
        intervalMs: 50,
      });
      slots.onChange(() => reporter.changed());
      const releases = [slots.acquire(), slots.acquire(), slots.acquire()];
      await waitFor(() => sent.length >= 1, { what: 'first update' });
      releases[0]!();
      releases[1]!();
      await waitFor(() => sent.at(-1)?.slotsBusy === 1, { what: 'latest figures published' });
      reporter.stop();
      assert.ok(sent.length <= 3, `${sent.length} updates for 5 changes`);
      assert.deepEqual(sent.at(-1), { slotsBusy: 1, load: 0.25 });
    });

    it('writes nothing when the slots are back at the published figure (a short job within the interval)', async () => {
      const slots = createSlots(2);
      const sent: Array<{ slotsBusy: number; load: number }> = [];
      const reporter = createLoadReporter({
        target: { update: async (patch) => void sent.push(patch) },
        slots,
        intervalMs: 20,
      });
      slots.onChange(() => reporter.changed());
      slots.acquire()(); // busy 1 and back to 0 before the update is due: still 0, as registered
      const release = slots.acquire();
      release(); // the same again
      const held = slots.acquire(); // a change that stays is published
      await waitFor(() => sent.length >= 1, { what: 'the lasting change published' });
      held();
      await waitFor(() => sent.at(-1)?.slotsBusy === 0, { what: 'back to idle published' });
      reporter.stop();
      assert.deepEqual(sent, [
        { slotsBusy: 1, load: 0.5 },
        { slotsBusy: 0, load: 0 },
      ]);
    });
  });
});
