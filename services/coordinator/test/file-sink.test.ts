import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openFileSink, type FileSink } from '../src/file-sink.js';

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
    await sink.writeRecords(Buffer.from('{"x":1}\n'), 0);
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

  it('takes over a checkpointed prefix of an earlier epoch, whatever that epoch wrote after it', async () => {
    const old = await openFileSink(opts());
    await old.writeRecords(Buffer.from('{"b":0}\n{"b":1}\n'), 0);
    await old.writeRejects([{ line: 3, reason: 'bad', step: 's', raw: 'r', batchIndex: 1 }]);
    const at = old.lengths();
    await old.sync();
    // Written after the checkpoint: a batch the new owner runs again, so it must not survive.
    await old.writeRecords(Buffer.from('{"b":2,"partial":'), 0);
    const sink = await openFileSink(opts({ epoch: 2 }));
    await sink.restore(1, at.output, at.rejects);
    // The deposed owner still writes to its own (now unlinked) file: nothing reaches the new one.
    await old.writeRecords(Buffer.from('{"late":true}\n'), 0);
    await sink.writeRecords(Buffer.from('{"b":2}\n'), 0);
    assert.deepEqual(sink.lengths(), { output: 24, rejects: at.rejects });
    assert.equal(await sink.committedBy(2), false);
    await sink.commit();
    assert.equal(await readFile(join(root, 'a/b.jsonl'), 'utf8'), '{"b":0}\n{"b":1}\n{"b":2}\n');
    assert.match(await readFile(join(root, 'a/b.jsonl.rejects.jsonl'), 'utf8'), /"line":3/);
    assert.equal(await sink.committedBy(2), true);
    await old.abort();
    assert.deepEqual((await readdir(join(root, 'a'))).sort(), ['b.jsonl', 'b.jsonl.rejects.jsonl']);
  });

  it('refuses to restore more bytes than the earlier epoch wrote (a lost write is not papered over)', async () => {
    const old = await openFileSink(opts());
    await old.writeRecords(Buffer.from('{"b":0}\n'), 0);
    const sink = await openFileSink(opts({ epoch: 2 }));
    await assert.rejects(sink.restore(1, 100, 0), /ended at 8 bytes, expected 100/);
    await Promise.all([old.abort(), sink.abort()]);
  });

  it('leaves nothing behind when aborted', async () => {
    const sink = await openFileSink(opts());
    await sink.writeRecords(Buffer.from('{"x":1}\n'), 0);
    await sink.abort();
    assert.deepEqual(await readdir(join(root, 'a')), []);
  });

  it('appends executor-written output parts in the order given, checks their size, and cleans them up', async () => {
    const sink = await openFileSink(opts());
    const parts = sink.parts!;
    assert.equal(parts.root, 'out');
    const p0 = parts.partFor({ index: 0, attempt: 1, epoch: 1 });
    const p1 = parts.partFor({ index: 1, attempt: 2, epoch: 1 });
    assert.match(p0.path, /^a\/\.b\.jsonl\.j1\.parts\//, 'hidden beside the target, relative to the root');
    // What an executor does: write the part under its own view of the root.
    await mkdir(join(root, 'a', '.b.jsonl.j1.parts'), { recursive: true });
    await writeFile(join(root, p0.path), '{"x":1}\n');
    await writeFile(join(root, p1.path), '{"x":2}\n{"x":3}\n');
    await writeFile(join(root, parts.partFor({ index: 1, attempt: 1, epoch: 1 }).path), 'a losing attempt\n');
    await parts.append(p0, 8, (b) => sink.writeRecords(b, 0));
    await assert.rejects(
      parts.append(p1, 8, (b) => sink.writeRecords(b, 0)),
      /holds 16 bytes, the executor reported 8/,
    );
    await parts.append(p1, 16, (b) => sink.writeRecords(b, 0));
    await assert.rejects(
      parts.append({ root: 'out', path: 'elsewhere/x.jsonl' }, 1, async () => {}),
      /not one of this job's parts/,
    );
    await sink.commit();
    assert.equal(await readFile(join(root, 'a/b.jsonl'), 'utf8'), '{"x":1}\n{"x":2}\n{"x":3}\n');
    assert.deepEqual((await readdir(join(root, 'a'))).sort(), ['b.jsonl', 'b.jsonl.rejects.jsonl'], 'parts removed');
  });

  it('offers no output parts for a CSV sink (records are re-encoded here)', async () => {
    const sink = await openFileSink(opts({ path: 'c.csv', format: 'csv', columns: ['x'] }));
    assert.equal(sink.parts, undefined);
    await sink.abort();
  });

  it('writes CSV with a header from the configured columns', async () => {
    const sink = await openFileSink(opts({ path: 'c.csv', format: 'csv', columns: ['x', 'y'] }));
    await sink.writeRecords(Buffer.from('{"x":1,"y":"a,b"}\n'), 0);
    await sink.writeRecords(Buffer.from('{"x":2,"y":"c"}\n'), 0);
    await sink.commit();
    assert.equal(await readFile(join(root, 'c.csv'), 'utf8'), 'x,y\n1,"a,b"\n2,c\n');
  });

  it('refuses paths that leave the root and roots that are not writable', async () => {
    await assert.rejects(openFileSink(opts({ path: '../escape.jsonl' })), /leaves file root/);
    await symlink(tmpdir(), join(root, 'link'));
    await assert.rejects(openFileSink(opts({ path: 'link/x.jsonl' })), /leaves file root/);
    await assert.rejects(openFileSink(opts({ writable: false })), /not writable/);
  });

  // A `parts` layout sink (parts-sink.ts, issue 7 target 6): the output is a directory of one JSONL part per
  // batch, executors' parts renamed in (no byte copied here), visible only on commit, taken over by a later
  // ownership epoch up to exactly the checkpointed bytes.
  describe('parts layout', () => {
    const partsOpts = (patch = {}) => opts({ layout: 'parts' as const, ...patch });
    /** What an executor does: writes an attempt's part under its own view of the root. */
    const executorWrites = async (
      sink: FileSink,
      at: { index: number; attempt: number; epoch: number },
      text: string,
    ) => {
      const ref = sink.parts!.partFor(at);
      await mkdir(join(root, ref.path, '..'), { recursive: true });
      await writeFile(join(root, ref.path), text);
      return ref;
    };
    const visible = async (dir: string) => (await readdir(dir)).filter((f) => !f.startsWith('.')).sort();

    it('renames accepted parts into a directory in input order, writes records-only batches itself, shows it on commit', async () => {
      const sink = await openFileSink(partsOpts());
      const p0 = await executorWrites(sink, { index: 0, attempt: 1, epoch: 1 }, '{"x":1}\n');
      const p2 = await executorWrites(sink, { index: 2, attempt: 2, epoch: 1 }, '{"x":3}\n{"x":4}\n');
      await executorWrites(sink, { index: 2, attempt: 1, epoch: 1 }, 'a losing attempt\n');
      await sink.acceptPart(0, p0, 8);
      // Batch 1's executor did not see the root: its records came here.
      await sink.writeRecords(Buffer.from('{"x":2}\n'), 1);
      await assert.rejects(sink.acceptPart(2, p2, 8), /holds 16 bytes, the executor reported 8/);
      await sink.acceptPart(2, p2, 16);
      await assert.rejects(
        sink.acceptPart(3, { root: 'out', path: 'elsewhere/x.jsonl' }, 1),
        /not one of this job's parts/,
      );
      await sink.writeRejects([{ line: 7, reason: 'bad', step: 's', raw: 'r', batchIndex: 1 }]);
      assert.deepEqual(sink.lengths().output, 32);
      assert.deepEqual(await visible(join(root, 'a')), [], 'nothing visible before commit');

      const where = await sink.commit();
      assert.deepEqual(where.output, { root: 'out', path: 'a/b.jsonl' });
      assert.deepEqual(await readdir(join(root, 'a/b.jsonl')), [
        'part-000000.jsonl',
        'part-000001.jsonl',
        'part-000002.jsonl',
      ]);
      const all = await Promise.all(
        ['0', '1', '2'].map((i) => readFile(join(root, `a/b.jsonl/part-00000${i}.jsonl`), 'utf8')),
      );
      assert.equal(all.join(''), '{"x":1}\n{"x":2}\n{"x":3}\n{"x":4}\n');
      assert.match(await readFile(join(root, 'a/b.jsonl.rejects.jsonl'), 'utf8'), /"line":7/);
      assert.deepEqual(
        (await readdir(join(root, 'a'))).sort(),
        ['b.jsonl', 'b.jsonl.rejects.jsonl'],
        'parts and temp removed',
      );
      assert.equal(await sink.committedBy(1), true);
    });

    it('takes over the checkpointed parts of an earlier epoch, not what that epoch wrote after the checkpoint', async () => {
      const old = await openFileSink(partsOpts());
      await old.acceptPart(0, await executorWrites(old, { index: 0, attempt: 1, epoch: 1 }, '{"b":0}\n'), 8);
      await old.writeRecords(Buffer.from('{"b":1}\n'), 1);
      await old.writeRejects([{ line: 3, reason: 'bad', step: 's', raw: 'r', batchIndex: 1 }]);
      await old.sync();
      const at = old.lengths();
      // After the checkpoint: a batch the new owner runs again.
      await old.acceptPart(
        2,
        await executorWrites(old, { index: 2, attempt: 1, epoch: 1 }, '{"b":2,"old":true}\n'),
        19,
      );

      const sink = await openFileSink(partsOpts({ epoch: 2 }));
      await sink.restore(1, at.output, at.rejects);
      assert.deepEqual(sink.lengths(), at);
      await sink.acceptPart(2, await executorWrites(sink, { index: 2, attempt: 1, epoch: 2 }, '{"b":2}\n'), 8);
      assert.equal(await sink.committedBy(2), false);
      await sink.commit();
      const dir = join(root, 'a/b.jsonl');
      const texts = await Promise.all((await readdir(dir)).sort().map((f) => readFile(join(dir, f), 'utf8')));
      assert.equal(texts.join(''), '{"b":0}\n{"b":1}\n{"b":2}\n');
      assert.match(await readFile(join(root, 'a/b.jsonl.rejects.jsonl'), 'utf8'), /"line":3/);
      assert.equal(await sink.committedBy(2), true);
      await old.abort();
      assert.deepEqual((await readdir(join(root, 'a'))).sort(), ['b.jsonl', 'b.jsonl.rejects.jsonl']);
    });

    it('refuses to take over other than exactly the checkpointed bytes', async () => {
      const old = await openFileSink(partsOpts());
      await old.writeRecords(Buffer.from('{"b":0}\n'), 0);
      await old.sync();
      const sink = await openFileSink(partsOpts({ epoch: 2 }));
      await assert.rejects(sink.restore(1, 100, 0), /holds 8 bytes of parts, expected 100/);
      await Promise.all([old.abort(), sink.abort()]);
    });

    it('replaces an earlier output, a directory or a file', async () => {
      for (const earlier of ['dir', 'file'] as const) {
        const target = join(root, 'a/b.jsonl');
        await rm(target, { recursive: true, force: true });
        if (earlier === 'dir') {
          await mkdir(target, { recursive: true });
          await writeFile(join(target, 'part-000009.jsonl'), 'old\n');
        } else {
          await mkdir(join(root, 'a'), { recursive: true });
          await writeFile(target, 'old\n');
        }
        const sink = await openFileSink(partsOpts());
        await sink.writeRecords(Buffer.from('{"new":1}\n'), 0);
        await sink.commit();
        assert.deepEqual(await readdir(target), ['part-000000.jsonl'], earlier);
        assert.deepEqual((await readdir(join(root, 'a'))).sort(), ['b.jsonl', 'b.jsonl.rejects.jsonl'], earlier);
      }
    });

    it('leaves nothing behind when aborted, and is for JSONL only', async () => {
      const sink = await openFileSink(partsOpts());
      await sink.acceptPart(0, await executorWrites(sink, { index: 0, attempt: 1, epoch: 1 }, '{"x":1}\n'), 8);
      await sink.writeRecords(Buffer.from('{"x":2}\n'), 1);
      await sink.abort();
      assert.deepEqual(await readdir(join(root, 'a')), []);
      await assert.rejects(
        openFileSink(partsOpts({ path: 'c.csv', format: 'csv', columns: ['x'] })),
        /parts layout needs format jsonl/,
      );
    });
  });
});
