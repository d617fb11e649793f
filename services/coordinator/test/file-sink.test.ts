import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openFileSink } from '../src/file-sink.js';

describe('file sink', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'sink-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });
  const opts = (patch = {}) => ({
    rootName: 'out',
    rootPath: root,
    writable: true,
    path: 'a/b.jsonl',
    format: 'jsonl' as const,
    jobId: 'j1',
    ...patch,
  });

  it('makes the output visible only on commit, rejects beside it', async () => {
    const sink = await openFileSink(opts());
    await sink.writeRecords(Buffer.from('{"x":1}\n'));
    await sink.writeRejects([{ line: 7, reason: 'bad', step: 'validate#1', raw: 'r', batchIndex: 0 }]);
    assert.deepEqual(
      (await readdir(join(root, 'a'))).filter((f) => !f.startsWith('.')),
      [],
      'nothing visible before commit',
    );
    const where = await sink.commit();
    assert.deepEqual(where.output, { root: 'out', path: 'a/b.jsonl' });
    assert.equal(await readFile(join(root, 'a/b.jsonl'), 'utf8'), '{"x":1}\n');
    assert.match(await readFile(join(root, 'a/b.jsonl.rejects.jsonl'), 'utf8'), /"line":7/);
    assert.deepEqual((await readdir(join(root, 'a'))).sort(), ['b.jsonl', 'b.jsonl.rejects.jsonl']);
  });

  it('leaves nothing behind when aborted', async () => {
    const sink = await openFileSink(opts());
    await sink.writeRecords(Buffer.from('{"x":1}\n'));
    await sink.abort();
    assert.deepEqual(await readdir(join(root, 'a')), []);
  });

  it('writes CSV with a header from the configured columns', async () => {
    const sink = await openFileSink(opts({ path: 'c.csv', format: 'csv', columns: ['x', 'y'] }));
    await sink.writeRecords(Buffer.from('{"x":1,"y":"a,b"}\n'));
    await sink.writeRecords(Buffer.from('{"x":2,"y":"c"}\n'));
    await sink.commit();
    assert.equal(await readFile(join(root, 'c.csv'), 'utf8'), 'x,y\n1,"a,b"\n2,c\n');
  });

  it('refuses paths that leave the root and roots that are not writable', async () => {
    await assert.rejects(openFileSink(opts({ path: '../escape.jsonl' })), /leaves file root/);
    await symlink(tmpdir(), join(root, 'link'));
    await assert.rejects(openFileSink(opts({ path: 'link/x.jsonl' })), /leaves file root/);
    await assert.rejects(openFileSink(opts({ writable: false })), /not writable/);
  });
});
