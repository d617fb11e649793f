// The contract every discovery provider is held to (run by etcd.test.ts, file.test.ts, consul.test.ts).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { deferred, waitFor } from '@flowmesh/testing';
import {
  createDiscovery,
  type Discovery,
  type DiscoveryOptions,
  type DiscoveryView,
  type NodeInfo,
  type RegistrationState,
} from '../src/index.js';

export interface ProviderHarness {
  /** Fresh options (own namespace or directory) with a 2 s TTL. */
  options(): DiscoveryOptions;
  /** Ways to make the backend unreachable and bring it back, by name (none: no backend to lose). */
  outages?: Record<string, Outage>;
}

export interface Outage {
  begin(): Promise<void>;
  end(): Promise<void>;
}

const TTL_MS = 2000;
const CHILD = fileURLToPath(new URL('./fixtures/register-child.ts', import.meta.url));

let counter = 0;
export function executor(overrides: Partial<NodeInfo> = {}): NodeInfo {
  counter++;
  return {
    id: `exec-${process.pid}-${counter}`,
    kind: 'executor',
    address: `127.0.0.1:${20000 + counter}`,
    slots: 4,
    slotsBusy: 0,
    load: 0,
    version: '0.1.0',
    fileRoots: ['data'],
    labels: { zone: 'a' },
    startedAt: new Date().toISOString(),
    ...overrides,
  };
}

const ids = (view: DiscoveryView): string[] => view.nodes('executor').map((n) => n.id);

/**
 * `outages`: names of the harness's outage kinds; the outage case is defined once per kind, and only for
 * providers with a backend that can go away (etcd, Consul).
 */
export function discoveryContract(name: string, caps: { outages: string[] }, harness: () => ProviderHarness): void {
  describe(`discovery contract: ${name}`, function () {
    const open: Discovery[] = [];
    const children: ChildProcess[] = [];

    function discovery(opts: DiscoveryOptions): Discovery {
      const d = createDiscovery(opts);
      open.push(d);
      return d;
    }

    afterEach(async () => {
      for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      await Promise.all(open.splice(0).map((d) => d.close()));
    });

    it('lists a registered node for a watcher started later, and removes it on deregister', async () => {
      const opts = harness().options();
      const node = executor();
      const reg = await discovery(opts).register(node);
      const view = discovery(opts).watch('executor');
      await view.ready;
      assert.deepEqual(view.get(node.id), node);
      const removed = deferred<NodeInfo>();
      view.on('remove', (n: NodeInfo) => removed.resolve(n));
      await reg.deregister();
      assert.equal((await removed.promise).id, node.id);
      assert.deepEqual(ids(view), []);
    });

    it('update events carry the new load', async () => {
      const opts = harness().options();
      const view = discovery(opts).watch('executor');
      await view.ready;
      const node = executor();
      const added = deferred<NodeInfo>();
      view.on('add', (n: NodeInfo) => n.id === node.id && added.resolve(n));
      const reg = await discovery(opts).register(node);
      assert.equal((await added.promise).load, 0);
      const updated = deferred<NodeInfo>();
      view.on('update', (n: NodeInfo) => n.id === node.id && updated.resolve(n));
      await reg.update({ load: 0.75, slotsBusy: 3 });
      const seen = await updated.promise;
      assert.equal(seen.load, 0.75);
      assert.equal(seen.slotsBusy, 3);
      assert.equal(view.get(node.id)?.load, 0.75);
    });

    it('an executor SIGKILLed in a child process disappears from every watcher within TTL + 1 s', async () => {
      const opts = harness().options();
      const views = [discovery(opts).watch('executor'), discovery(opts).watch(), discovery(opts).watch('executor')];
      await Promise.all(views.map((v) => v.ready));
      const node = executor();
      const child = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(opts), JSON.stringify(node)], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      children.push(child);
      const registered = deferred();
      child.stdout?.setEncoding('utf8').on('data', (s: string) => s.includes('registered') && registered.resolve());
      child.once('exit', (code) => registered.reject(new Error(`registrant exited early (${code})`)));
      await registered.promise;
      await waitFor(() => views.every((v) => v.get(node.id)), { what: 'every watcher sees the child' });

      const gone = views.map(() => deferred<number>());
      views.forEach((v, i) => v.on('remove', (n: NodeInfo) => n.id === node.id && gone[i]?.resolve(Date.now())));
      const killedAt = Date.now();
      child.kill('SIGKILL');
      await once(child, 'exit');
      const removedAt = await Promise.all(gone.map((g) => g.promise));
      for (const at of removedAt)
        assert.ok(at - killedAt <= TTL_MS + 1000, `removed ${at - killedAt} ms after SIGKILL`);
    });

    it('50 registrations, updates and removals converge to the same view on every watcher', async () => {
      const opts = harness().options();
      const watchers = [discovery(opts).watch('executor'), discovery(opts).watch('executor'), discovery(opts).watch()];
      // Each watcher's event stream, replayed, must give the same state as its view.
      const replays = watchers.map((v) => {
        const m = new Map<string, NodeInfo>();
        v.on('add', (n: NodeInfo) => m.set(n.id, n));
        v.on('update', (n: NodeInfo) => m.set(n.id, n));
        v.on('remove', (n: NodeInfo) => m.delete(n.id));
        return m;
      });
      await Promise.all(watchers.map((v) => v.ready));
      const writer = discovery(opts);
      const nodes = Array.from({ length: 50 }, () => executor());
      const regs = await Promise.all(nodes.map((n) => writer.register(n)));
      const kept = regs.filter((_, i) => i % 2 === 1);
      await Promise.all(regs.filter((_, i) => i % 2 === 0).map((r) => r.deregister()));
      await Promise.all(kept.slice(0, 10).map((r, i) => r.update({ load: i + 1 })));
      const expected = kept.map((r) => r.node).sort((a, b) => a.id.localeCompare(b.id));
      const late = discovery(opts).watch('executor');
      for (const [i, v] of [...watchers, late].entries()) {
        await waitFor(() => JSON.stringify(v.nodes('executor')) === JSON.stringify(expected), {
          timeoutMs: 10_000,
          what: `watcher ${i} converges to 25 nodes`,
        });
      }
      for (const m of replays) {
        assert.deepEqual(
          [...m.values()].sort((a, b) => a.id.localeCompare(b.id)),
          expected,
        );
      }
    });

    for (const outageName of caps.outages) {
      it(`an executor survives a short backend outage (${outageName}) and is registered again after it`, async () => {
        const h = harness();
        const outage = h.outages?.[outageName];
        assert.ok(outage, `harness has no outage "${outageName}"`);
        const opts = h.options();
        const view = discovery(opts).watch('executor');
        await view.ready;
        const reg = await discovery(opts).register(executor());
        await waitFor(() => view.get(reg.node.id), { what: 'registered before the outage' });
        const states: RegistrationState[] = [];
        const lost = deferred();
        const back = deferred();
        reg.on('state', (s: RegistrationState) => {
          states.push(s);
          if (s === 'lost') lost.resolve();
          if (s === 'registered') back.resolve();
        });
        await outage.begin();
        try {
          await lost.promise;
        } finally {
          await outage.end();
        }
        await back.promise;
        await waitFor(() => view.get(reg.node.id), { what: 'registered again after the outage' });
        // No flapping once re-registered: the entry lives on a new lease and must outlive the old one's TTL.
        let removals = 0;
        view.on('remove', (n: NodeInfo) => n.id === reg.node.id && removals++);
        const seenAgainAt = Date.now();
        await waitFor(() => Date.now() - seenAgainAt > TTL_MS + 1000, { what: 'the old lease to expire' });
        assert.equal(removals, 0, 'entry was removed after re-registration');
        assert.ok(view.get(reg.node.id));
        assert.deepEqual(states, ['lost', 'registered']);
        assert.equal(reg.state, 'registered');
      });
    }
  });
}
