// The executor's per-job source files: one resolution and one descriptor per job, the same confinement and
// errors as resolving on every batch, bounded and closed when idle.
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import { waitFor } from '@flowmesh/testing';
import { staticFileRoots } from '../src/file-roots.js';
import { SYNC_READ_MAX_BYTES } from '../src/read-range.js';
import { createSourceFiles } from '../src/source-files.js';
import type { SourceFiles } from '../src/source-files.js';

const code = (c: number) => (err: { code: number }) => err.code === c;

describe('executor source files', () => {
  let dir: string;
  let root: string;
  let files: SourceFiles | undefined;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'executor-source-files-'));
    root = path.join(dir, 'root');
    await mkdir(path.join(root, 'sub'), { recursive: true });
    await writeFile(path.join(root, 'sub', 'a.csv'), 'id\n1\n2\n3\n');
    await writeFile(path.join(dir, 'secret.txt'), 'no');
    await symlink(path.join(dir, 'secret.txt'), path.join(root, 'out.txt'));
  });
  afterEach(() => files?.close());
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("reads exact ranges, through one descriptor per job's file", async () => {
    files = createSourceFiles(staticFileRoots({ data: root }));
    assert.equal((await files.read('j1', 'data', 'sub/a.csv', 3, 4)).toString(), '1\n2\n');
    assert.equal((await files.read('j1', 'data', 'sub/a.csv', 7, 2)).toString(), '3\n');
    assert.equal(files.open(), 1);
    assert.equal((await files.read('j2', 'data', 'sub/a.csv', 0, 3)).toString(), 'id\n');
    assert.equal(files.open(), 2, 'another job resolves and opens its own');
    await assert.rejects(files.read('j1', 'data', 'sub/a.csv', 8, 10), code(status.FAILED_PRECONDITION));
  });

  it('refuses paths that leave the root, unknown roots and missing files, and keeps nothing open for them', async () => {
    files = createSourceFiles(staticFileRoots({ data: root }));
    for (const bad of ['../secret.txt', 'sub/../../secret.txt', '/etc/passwd', 'out.txt', 'a\0b']) {
      await assert.rejects(
        files.read('j1', 'data', bad, 0, 1),
        (err: { code: number; message: string }) => err.code === status.INVALID_ARGUMENT && /assign\.file\.path/.test(err.message),
        bad,
      );
    }
    await assert.rejects(files.read('j1', 'nope', 'a.csv', 0, 1), code(status.NOT_FOUND));
    await assert.rejects(files.read('j1', 'data', 'missing.csv', 0, 1), code(status.NOT_FOUND));
    assert.equal(files.open(), 0);
  });

  it('a running job reads the file it resolved when a symlink in the root is pointed outside; a new job is refused', async () => {
    const link = path.join(root, 'moving.csv');
    await symlink(path.join(root, 'sub', 'a.csv'), link);
    try {
      files = createSourceFiles(staticFileRoots({ data: root }));
      assert.equal((await files.read('j1', 'data', 'moving.csv', 3, 2)).toString(), '1\n');
      await unlink(link);
      await symlink(path.join(dir, 'secret.txt'), link);
      assert.equal((await files.read('j1', 'data', 'moving.csv', 5, 2)).toString(), '2\n');
      await assert.rejects(files.read('j2', 'data', 'moving.csv', 0, 2), code(status.INVALID_ARGUMENT));
    } finally {
      await unlink(link);
    }
  });

  it('resolves again when the root moves to another directory', async () => {
    let rootDir = root;
    files = createSourceFiles(async (name) => (name === 'data' ? rootDir : undefined));
    await mkdir(path.join(dir, 'other', 'sub'), { recursive: true });
    await writeFile(path.join(dir, 'other', 'sub', 'a.csv'), 'id\n7\n8\n9\n');
    assert.equal((await files.read('j1', 'data', 'sub/a.csv', 3, 2)).toString(), '1\n');
    rootDir = path.join(dir, 'other');
    assert.equal((await files.read('j1', 'data', 'sub/a.csv', 3, 2)).toString(), '7\n');
    assert.equal(files.open(), 1);
  });

  it('keeps at most maxOpen descriptors and closes those of jobs gone idle', async () => {
    files = createSourceFiles(staticFileRoots({ data: root }), { maxOpen: 2, idleMs: 20 });
    for (const job of ['j1', 'j2', 'j3']) await files.read(job, 'data', 'sub/a.csv', 0, 3);
    assert.equal(files.open(), 2);
    // j1 was closed to make room: it opens again.
    assert.equal((await files.read('j1', 'data', 'sub/a.csv', 3, 2)).toString(), '1\n');
    await waitFor(() => files!.open() === 0, { timeoutMs: 2000 });
  });

  it('reads ranges above the synchronous limit asynchronously, also after close', async () => {
    const big = Buffer.alloc(SYNC_READ_MAX_BYTES + 10, 0x61);
    big.write('xyz', big.length - 3);
    await writeFile(path.join(root, 'big.txt'), big);
    files = createSourceFiles(staticFileRoots({ data: root }));
    const read = files.read('j1', 'data', 'big.txt', 1, big.length - 1);
    // Closed while the read may be in flight on the descriptor: it is closed only after the read.
    await new Promise((resolve) => setImmediate(resolve));
    files.close();
    const got = await read;
    assert.equal(got.length, big.length - 1);
    assert.equal(got.subarray(-3).toString(), 'xyz');
    assert.equal(files.open(), 0);
    await assert.rejects(files.read('j1', 'data', 'big.txt', 5, big.length), code(status.FAILED_PRECONDITION));
  });
});
