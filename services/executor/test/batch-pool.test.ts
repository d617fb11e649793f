// The batch threads on their own (no gRPC): many batches in turn on standing ports, each with its own
// chunks and result; a batch stuck in a synchronous loop has its thread terminated after the abort grace,
// and the pool goes on with a fresh thread; small batches of declarative flows run inline, with the same output.
import assert from 'node:assert/strict';
import { createBatchPool, type BatchJob } from '../src/batch-pool.js';
import { INLINE_MAX_BYTES, runsInline } from '../src/inline-batch.js';
import { RETURNED_INPUT_MIN_BYTES } from '../src/input-buffers.js';
import { pluginDir } from './executor-harness.js';

const flow = (module?: string): string => `
name: pool-test
source: { type: file, root: data, path: in.csv, format: csv }
steps: [${module ? `{ type: plugin, module: ${module} }` : ''}]
sink: { type: stream }
`;

function job(i: number, module?: string): BatchJob {
  const source = flow(module);
  return {
    flow: 'pool-test',
    flowRevision: 1,
    flowSource: source,
    tablesRevision: 0,
    pluginDir,
    input: {
      bytes: new Uint8Array(Buffer.from(`${i},a\n${i},b\n`)),
      format: 'csv',
      header: new Uint8Array(Buffer.from('n,s\n')),
      firstLine: 2,
      firstRecord: 0,
      batchIndex: i,
      vars: {},
      globals: {},
    },
    chunkBytes: 64 * 1024,
  };
}

describe('executor batch threads', function () {
  this.timeout(20_000);
  // Threads only here; the inline path has its own test below.
  const pool = createBatchPool({ threads: 2, abortGraceMs: 300, inline: false });
  after(() => pool.close());

  const run = async (j: BatchJob, signal = new AbortController().signal) => {
    const chunks: Buffer[] = [];
    const outcome = await pool.run(j, {
      signal,
      loadTable: () => Promise.reject(new Error('no tables')),
      onChunk: async (data) => void chunks.push(Buffer.from(data)),
    });
    return { outcome, text: Buffer.concat(chunks).toString('utf8') };
  };

  it('runs many batches on two threads, each with exactly its own output', async () => {
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => run(job(i))));
    results.forEach((r, i) => {
      assert.ok(r.outcome.ok, JSON.stringify(r.outcome));
      assert.equal(r.text, `{"n":"${i}","s":"a"}\n{"n":"${i}","s":"b"}\n`);
    });
  });

  it('a batch of many chunks arrives whole and in order through a small window and a slow reader', async () => {
    const small = createBatchPool({ threads: 1, window: 3, inline: false });
    try {
      const rows = Array.from({ length: 300 }, (_, i) => `${i},x\n`).join('');
      const j = job(0);
      const chunks: Buffer[] = [];
      const outcome = await small.run(
        { ...j, chunkBytes: 200, input: { ...j.input, bytes: new Uint8Array(Buffer.from(rows)) } },
        {
          signal: new AbortController().signal,
          loadTable: () => Promise.reject(new Error('no tables')),
          // A reader slower than the thread: the window, not the reader, bounds what is queued.
          onChunk: async (data) => {
            chunks.push(Buffer.from(data));
            await new Promise((r) => setImmediate(r));
          },
        },
      );
      assert.ok(outcome.ok);
      assert.equal(outcome.chunks, chunks.length);
      assert.ok(chunks.length > 20, `${chunks.length} chunks`);
      const ids = Buffer.concat(chunks)
        .toString('utf8')
        .trim()
        .split('\n')
        .map((l) => Number((JSON.parse(l) as { n: string }).n));
      assert.deepEqual(
        ids,
        Array.from({ length: 300 }, (_, i) => i),
      );
    } finally {
      await small.close();
    }
  });

  it("gives a big batch's input memory back for the next read, and the next batch reads right from it", async () => {
    const one = createBatchPool({ threads: 1, inline: false });
    try {
      // Two big batches (above RETURNED_INPUT_MIN_BYTES) in turn, the second read into the first's memory
      // (a range a little shorter, as the balanced tail's are): each exactly its own output.
      const rows = (from: number, bytes: number): string => {
        let text = '';
        for (let i = from; text.length < bytes; i++) text += `${i},${'y'.repeat(40)}\n`;
        return text;
      };
      const outputOf = async (text: string): Promise<string> => {
        const bytes = one.inputs.take(Buffer.byteLength(text));
        bytes.write(text);
        const chunks: Buffer[] = [];
        const j = job(0);
        const outcome = await one.run(
          { ...j, input: { ...j.input, bytes } },
          {
            signal: new AbortController().signal,
            loadTable: () => Promise.reject(new Error('no tables')),
            onChunk: async (data) => void chunks.push(Buffer.from(data)),
          },
        );
        assert.ok(outcome.ok, JSON.stringify(outcome));
        return Buffer.concat(chunks).toString('utf8');
      };
      const first = rows(0, RETURNED_INPUT_MIN_BYTES + 4096);
      const firstOut = await outputOf(first);
      assert.equal(firstOut.split('\n').length - 1, first.split('\n').length - 1);
      assert.equal(one.inputs.kept, 1);
      const second = rows(1_000_000, RETURNED_INPUT_MIN_BYTES + 100);
      const secondOut = await outputOf(second);
      assert.ok(secondOut.startsWith(`{"n":"1000000","s":"${'y'.repeat(40)}"}\n`));
      assert.equal(secondOut.split('\n').length - 1, second.split('\n').length - 1);
      assert.ok(!secondOut.includes('"n":"0"'), "no record of the first batch's memory");
      assert.equal(one.inputs.kept, 1);
      // A small batch's input is not sent back.
      await outputOf('1,a\n');
      assert.equal(one.inputs.kept, 1);
    } finally {
      await one.close();
    }
  });

  it('terminates the thread of a batch stuck in a loop after the grace, then runs the next batch', async () => {
    const stop = new AbortController();
    const channel = new BroadcastChannel('forever-plugin');
    const spinning = new Promise((resolve) => (channel.onmessage = resolve));
    const stuck = run(job(1, 'forever.mjs'), stop.signal);
    await spinning;
    channel.close();
    const started = Date.now();
    stop.abort();
    await assert.rejects(stuck, /cancelled/);
    assert.ok(Date.now() - started < 5000);
    const results = await Promise.all([run(job(2)), run(job(3)), run(job(4))]);
    for (const r of results) assert.ok(r.outcome.ok);
  });

  it('runs a small batch of a declarative flow inline and anything with user code or a regex on a thread', async () => {
    const declarative = `
name: pool-test
source: { type: file, root: data, path: in.csv, format: csv }
steps:
  - { type: set, fields: { t: 'record.s + "!"' } }
  - { type: filter, expr: 'record.n != "x"' }
sink: { type: stream }
`;
    assert.equal(runsInline({ flowSource: declarative, input: { bytes: new Uint8Array(100) } }), true);
    assert.equal(
      runsInline({ flowSource: declarative, input: { bytes: new Uint8Array(INLINE_MAX_BYTES + 1) } }),
      false,
    );
    assert.equal(runsInline({ flowSource: flow('busy.mjs'), input: { bytes: new Uint8Array(100) } }), false);
    const regex = declarative.replace('record.n != "x"', 'record.n.matches("^[0-9]+$")');
    assert.equal(runsInline({ flowSource: regex, input: { bytes: new Uint8Array(100) } }), false);
    assert.equal(runsInline({ flowSource: 'not: [a flow', input: { bytes: new Uint8Array(100) } }), false);

    // Same output inline as on a thread.
    const inline = createBatchPool({ threads: 1 });
    try {
      const j = { ...job(7), flowSource: declarative };
      const chunks: Buffer[] = [];
      const outcome = await inline.run(j, {
        signal: new AbortController().signal,
        loadTable: () => Promise.reject(new Error('no tables')),
        onChunk: async (data) => void chunks.push(Buffer.from(data)),
      });
      const threaded = await run({ ...job(7), flowSource: declarative });
      assert.ok(outcome.ok && threaded.outcome.ok);
      assert.equal(Buffer.concat(chunks).toString('utf8'), threaded.text);
      assert.equal(outcome.checksum, threaded.outcome.checksum);
    } finally {
      await inline.close();
    }
  });
});
