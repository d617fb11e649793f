// The embedded store survives SIGKILL mid-write: every acknowledged commit is intact after reopening,
// and no commit is half applied. A real child process writes; the test kills it while it writes.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { deferred, waitFor } from '@flowmesh/testing';
import { createEmbeddedBackend, type KvEntry, type KvEvent } from '@flowmesh/store';

const WRITER = fileURLToPath(new URL('./fixtures/embedded-writer.ts', import.meta.url));

interface Acks {
  last: number;
  lastRevision: number;
  count: number;
}

/** Starts the writer, lets it acknowledge `acks` commits, then SIGKILLs it while it keeps writing. */
async function runAndKill(dir: string, from: number, acks: number, children: Set<ChildProcess>): Promise<Acks> {
  const child = spawn(process.execPath, ['--import', 'tsx', WRITER, dir, String(from)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const seen: Acks = { last: from - 1, lastRevision: 0, count: 0 };
  const enough = deferred();
  const exited = deferred<NodeJS.Signals | null>();
  child.on('exit', (_code, signal) => {
    children.delete(child);
    exited.resolve(signal);
    enough.reject(new Error(`writer exited before ${acks} acks: ${stderr}`));
  });
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const m = /^ack (\d+) (\d+)$/.exec(line);
    if (!m) return;
    seen.last = Number(m[1]);
    seen.lastRevision = Number(m[2]);
    seen.count++;
    if (seen.count >= acks) enough.resolve();
  });
  await enough.promise;
  child.kill('SIGKILL'); // the loop is mid-commit: it never waits between commits
  assert.equal(await exited.promise, 'SIGKILL');
  return seen;
}

async function readAll(kv: Awaited<ReturnType<typeof createEmbeddedBackend>>, prefix: string): Promise<KvEntry[]> {
  const out: KvEntry[] = [];
  let after: string | undefined;
  do {
    const page = await kv.list(prefix, { limit: 1000, ...(after ? { after } : {}) });
    out.push(...page.entries);
    after = page.next;
  } while (after);
  return out;
}

describe('embedded store: SIGKILL mid-write', () => {
  let dir = '';
  const children = new Set<ChildProcess>();
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'flowmesh-crash-'));
  });
  after(async () => {
    for (const c of children) c.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps every acknowledged commit, whole, across three kills', async () => {
    let next = 0;
    let lastRevision = 0;
    for (let round = 0; round < 3; round++) {
      const acks = await runAndKill(dir, next, 150, children);
      const kv = await createEmbeddedBackend({ dir, historyLimit: 100_000 });
      try {
        const keys = await readAll(kv, 'k/');
        const pairs = await readAll(kv, 'pair/');
        // Every acknowledged commit is there: k/0 … k/<last acked>, gap-free.
        assert.ok(keys.length >= acks.last + 1, `round ${round}: ${keys.length} keys, last ack ${acks.last}`);
        keys.forEach((e, i) => assert.equal(e.key, `k/${String(i).padStart(8, '0')}`));
        // At most the one commit in flight at the kill may have landed unacknowledged, and whole.
        assert.ok(keys.length <= acks.last + 2);
        assert.deepEqual(
          pairs.map((e) => e.key.slice(5)),
          keys.map((e) => e.key.slice(2)),
        );
        pairs.forEach((e, i) => assert.equal(e.modRevision, keys[i]!.modRevision));
        assert.ok((await kv.revision()) >= acks.lastRevision);
        assert.ok(acks.lastRevision > lastRevision);
        lastRevision = acks.lastRevision;
        next = keys.length;
        // History survived too: a watch from the first commit replays every later one, in order.
        const events: KvEvent[] = [];
        const h = kv.watch('k/', keys[0]!.modRevision, {
          onEvents: (e) => void events.push(...e),
          onError: (e) => assert.fail(e),
        });
        await waitFor(() => events.length === keys.length - 1, { what: 'replay of every commit' });
        await h.close();
        assert.deepEqual(
          events.map((e) => e.key),
          keys.slice(1).map((e) => e.key),
        );
      } finally {
        await kv.close();
      }
    }
  });

  it('refuses a second opener while one process holds the store', async () => {
    const kv = await createEmbeddedBackend({ dir });
    try {
      await assert.rejects(createEmbeddedBackend({ dir }));
    } finally {
      await kv.close();
    }
  });
});
