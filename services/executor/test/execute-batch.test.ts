// ExecuteBatch against an in-process executor on port 0 with real worker threads: output equal to the
// engine's, reject lines, inline bytes, checksum, fencing, slots, heartbeats while CPU-busy, cancel.
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import { compileFlow, crc32hex, parseFlow, runBatch, runFlowLocal } from '@flowmesh/flow';
import { waitFor } from '@flowmesh/testing';
import { parseFaults } from '../src/faults.js';
import {
  assignment,
  execute,
  FLOW,
  ordersFixture,
  pluginDir,
  startInProcess,
  trailerOf,
} from './executor-harness.js';
import type { InProcessExecutor, OrdersFixture } from './executor-harness.js';

describe('executor ExecuteBatch', function () {
  let fixture: OrdersFixture;
  let ex: InProcessExecutor;

  before(async () => {
    fixture = await ordersFixture(6000, 96 * 1024);
    ex = await startInProcess(fixture, { faults: parseFaults('corrupt-trailer:job=bad-trailer') });
  });
  after(async () => {
    await ex?.stop();
    await fixture?.cleanup();
  });

  it('a CSV batch read by offset gives exactly what runBatch gives for that range, rejects with their lines', async () => {
    assert.ok(fixture.batches.length >= 4, `planned ${fixture.batches.length} batches`);
    const batch = fixture.batches[2]!;
    const got = await execute(ex.client, assignment(fixture, batch));
    assert.equal(got.error, undefined, got.error?.message);
    assert.equal(got.messages[0]?.msg?.$case, 'started');

    const compiled = await compileFlow(parseFlow(FLOW), { pluginDir });
    const bytes = (await readFile(fixture.file)).subarray(batch.offset, batch.offset + batch.length);
    const expected: Buffer[] = [];
    const want = await runBatch(
      compiled,
      { bytes, format: 'csv', header: fixture.header, firstLine: batch.firstLine, firstRecord: 0, batchIndex: batch.index, vars: { busy_ms: '0' }, globals: {} },
      { onChunk: (c) => void expected.push(Buffer.from(c)) },
    );
    assert.ok(got.output.equals(Buffer.concat(expected)), 'record bytes differ from runBatch');
    assert.ok(want.rejects.length > 0, 'the fixture batch should hold invalid rows');
    assert.deepEqual(
      got.rejects.map((r) => [r.line, r.reason, r.step]),
      want.rejects.map((r) => [r.line, r.reason, r.step]),
    );
    const trailer = trailerOf(got);
    assert.ok(trailer);
    assert.equal(trailer.counts?.recordsOut, want.counts.out);
    assert.equal(trailer.counts?.recordsRejected, want.counts.rejected);
    assert.equal(trailer.counts?.recordsIn, want.counts.in);
    assert.equal(trailer.counterDeltas.rows, want.counts.out);
  });

  it('all batches together equal the single-process reference run (records, reject lines, counts)', async () => {
    const outputs: Buffer[] = [];
    const rejects: Array<[number, string]> = [];
    let out = 0;
    // Two at a time: the executor has 2 slots.
    for (let i = 0; i < fixture.batches.length; i += 2) {
      const pair = fixture.batches.slice(i, i + 2);
      const results = await Promise.all(pair.map((b) => execute(ex.client, assignment(fixture, b, { jobId: 'job-all' }))));
      for (const r of results) {
        assert.equal(r.error, undefined, r.error?.message);
        outputs.push(r.output);
        rejects.push(...r.rejects.map((x): [number, string] => [x.line, x.reason]));
        out += trailerOf(r)?.counts?.recordsOut ?? 0;
      }
    }
    const local = await runFlowLocal(FLOW, { fileRoots: { data: fixture.root }, pluginDir });
    assert.ok(Buffer.concat(outputs).equals(local.output), 'concatenated batch output differs from runFlowLocal');
    const byLine = (a: [number, string], b: [number, string]) => a[0] - b[0];
    assert.deepEqual(rejects.sort(byLine), local.rejects.map((x): [number, string] => [x.line, x.reason]).sort(byLine));
    assert.equal(out, local.counts.out);
  });

  it('the trailer checksum is the CRC-32 of the record chunks in order', async () => {
    const got = await execute(ex.client, assignment(fixture, fixture.batches[1]!, { chunkBytes: 8 * 1024 }));
    const trailer = trailerOf(got);
    assert.ok(trailer && got.chunks.length > 3, `${got.chunks.length} chunks`);
    assert.deepEqual(got.chunks.map((c) => c.seq), got.chunks.map((_, i) => i));
    assert.equal(trailer.chunks, got.chunks.length);
    assert.equal(trailer.checksumAlgorithm, 'crc32');
    assert.equal(trailer.checksum, crc32hex(got.chunks.map((c) => c.data)));
    assert.equal(trailer.executorId, 'exec-test');

    // The test-only fault corrupts it, so the coordinator's verification has something to catch.
    const bad = await execute(ex.client, assignment(fixture, fixture.batches[1]!, { jobId: 'bad-trailer', chunkBytes: 8 * 1024 }));
    assert.notEqual(trailerOf(bad)?.checksum, crc32hex(bad.chunks.map((c) => c.data)));
  });

  it('takes the bytes inline and refuses more than assign.length', async () => {
    const batch = fixture.batches[3]!;
    const bytes = (await readFile(fixture.file)).subarray(batch.offset, batch.offset + batch.length);
    const byOffset = await execute(ex.client, assignment(fixture, batch));
    const inline = await execute(ex.client, assignment(fixture, batch, { inline: true, file: undefined }), { inline: bytes });
    assert.equal(inline.error, undefined, inline.error?.message);
    assert.ok(inline.output.equals(byOffset.output));
    assert.equal(trailerOf(inline)?.checksum, trailerOf(byOffset)?.checksum);

    const tooMuch = await execute(ex.client, assignment(fixture, batch, { inline: true, length: 10, file: undefined }), { inline: bytes });
    assert.equal(tooMuch.error?.code, status.INVALID_ARGUMENT);
    assert.match(tooMuch.error?.details ?? '', /more inline bytes/);
  });

  it('writes an output part under the sink root instead of streaming records, complete or not at all', async () => {
    const batch = fixture.batches[2]!;
    const streamed = await execute(ex.client, assignment(fixture, batch, { jobId: 'job-part' }));
    const outputPart = { root: 'data', path: 'out/job-part/part-00002.jsonl' };
    const got = await execute(ex.client, assignment(fixture, batch, { jobId: 'job-part', attempt: 2, outputPart }));
    assert.equal(got.error, undefined, got.error?.message);
    assert.equal(got.chunks.length, 0, 'no records travel back');
    const trailer = trailerOf(got);
    assert.deepEqual(trailer?.outputPart, outputPart);
    const written = await readFile(path.join(fixture.root, 'out/job-part/part-00002.jsonl'));
    assert.ok(written.equals(streamed.output), 'the part holds exactly the records the batch streams');
    assert.equal(trailer?.checksum, crc32hex([written]));
    assert.equal(trailer?.counts?.bytesOut, written.length);
    assert.deepEqual(await readdir(path.join(fixture.root, 'out/job-part')), ['part-00002.jsonl'], 'no temp file left');

    const escape = await execute(ex.client, assignment(fixture, batch, { jobId: 'job-part', attempt: 3, outputPart: { root: 'data', path: '../x.jsonl' } }));
    assert.equal(escape.error?.code, status.INVALID_ARGUMENT);
    assert.match(escape.error?.details ?? '', /assign\.output_part\.path/);
  });

  it('writes a spool part (issue 7) with its chunk layout, only into an existing call directory', async () => {
    const spool = path.join(fixture.root, 'spool');
    await mkdir(path.join(spool, 'g-h-1', 'call'), { recursive: true });
    const sp = await startInProcess(fixture, { spoolDir: spool });
    try {
      const batch = fixture.batches[1]!;
      const streamed = await execute(sp.client, assignment(fixture, batch, { jobId: 'job-spool' }));
      const outputPart = { root: '@spool', path: 'g-h-1/call/b1-e1-a2.jsonl' };
      const got = await execute(sp.client, assignment(fixture, batch, { jobId: 'job-spool', attempt: 2, outputPart }));
      assert.equal(got.error, undefined, got.error?.message);
      assert.equal(got.chunks.length, 0, 'no records travel back');
      const trailer = trailerOf(got)!;
      const written = await readFile(path.join(spool, outputPart.path));
      assert.ok(written.equals(streamed.output), 'the part holds exactly the records the batch streams');
      assert.deepEqual(trailer.partChunks?.bytes, streamed.chunks.map((c) => c.data.length), 'the streamed chunks, by size');
      assert.deepEqual(trailer.partChunks?.records, streamed.chunks.map((c) => c.recordCount));
      assert.deepEqual(await readdir(path.join(spool, 'g-h-1/call')), ['b1-e1-a2.jsonl'], 'no temp file left');

      // The gateway removed the call's directory (the call ended): a late attempt does not bring it back.
      const late = await execute(sp.client, assignment(fixture, batch, { jobId: 'job-spool', attempt: 3, outputPart: { root: '@spool', path: 'g-h-1/gone/b1-e1-a3.jsonl' } }));
      assert.equal(late.error?.code, status.FAILED_PRECONDITION, late.error?.message);
      assert.deepEqual(await readdir(path.join(spool, 'g-h-1')), ['call']);
      // An executor without a spool refuses a spool part.
      const none = await execute(ex.client, assignment(fixture, batch, { jobId: 'job-spool', attempt: 4, outputPart }));
      assert.equal(none.error?.code, status.FAILED_PRECONDITION);
    } finally {
      await sp.stop();
    }
  });

  it('refuses an invalid assignment naming the field, and paths outside the root', async () => {
    const b = fixture.batches[0]!;
    const noJob = await execute(ex.client, assignment(fixture, b, { jobId: '' }));
    assert.equal(noJob.error?.code, status.INVALID_ARGUMENT);
    assert.match(noJob.error?.details ?? '', /assign\.job_id/);
    const escape = await execute(ex.client, assignment(fixture, b, { file: { root: 'data', path: '../../etc/passwd' } }));
    assert.equal(escape.error?.code, status.INVALID_ARGUMENT);
    assert.match(escape.error?.details ?? '', /leaves file root/);
  });

  it('refuses an assignment from a lower epoch than one it has seen for the job', async () => {
    const b = fixture.batches[0]!;
    const newer = await execute(ex.client, assignment(fixture, b, { jobId: 'job-epoch', epoch: 5 }));
    assert.equal(newer.error, undefined);
    const older = await execute(ex.client, assignment(fixture, b, { jobId: 'job-epoch', epoch: 4, attempt: 2 }));
    assert.equal(older.error?.code, status.FAILED_PRECONDITION);
    assert.match(older.error?.details ?? '', /superseded/);
  });

  it('keeps heartbeating while a CPU-heavy plugin runs, and a third batch on 2 slots gets RESOURCE_EXHAUSTED', async () => {
    const b = fixture.batches[0]!;
    // ~2 ms per record and one big chunk: the worker produces nothing for seconds; only heartbeats flow.
    const slow = { vars: { busy_ms: '2' }, chunkBytes: 16 * 1024 * 1024 };
    const beats: number[][] = [[], []];
    const started = [false, false];
    const running = [0, 1].map((i) =>
      execute(ex.client, assignment(fixture, b, { jobId: `job-busy-${i}`, ...slow }), {
        onMessage(msg) {
          if (msg.msg?.$case === 'started') started[i] = true;
          if (msg.msg?.$case === 'heartbeat') beats[i]!.push(Date.now());
          return beats[i]!.length >= 8 ? 'cancel' : undefined;
        },
      }),
    );
    await waitFor(() => started[0] && started[1], { what: 'both batches started' });
    const third = await execute(ex.client, assignment(fixture, b, { jobId: 'job-third' }));
    assert.equal(third.error?.code, status.RESOURCE_EXHAUSTED);

    const results = await Promise.all(running);
    for (const [i, r] of results.entries()) {
      assert.equal(r.error?.code, status.CANCELLED);
      assert.equal(r.chunks.length, 0, 'no records before the cancel');
      const gaps = beats[i]!.slice(1).map((t, k) => t - beats[i]![k]!);
      assert.ok(Math.max(...gaps) < 600, `heartbeat gaps ${gaps.join(',')} ms at a 100 ms interval`);
    }
    await waitFor(() => ex.executor.slots.busy() === 0, { timeoutMs: 5000, what: 'slots freed after cancel' });
  });

  it('holds a batch sent ahead (may_wait) while both slots are busy: it heartbeats, then runs after one of them', async () => {
    const b = fixture.batches[0]!;
    const slow = { vars: { busy_ms: '2' }, chunkBytes: 16 * 1024 * 1024 };
    let maxBusy = 0;
    ex.executor.slots.onChange((busy) => (maxBusy = Math.max(maxBusy, busy)));
    const started = [false, false];
    const ended: number[] = [];
    const seen: Array<{ kind: string; at: number }> = [];
    // The busy batches end (cancelled) only once the held one has heartbeated while it waited.
    const heldBeat = (): boolean => seen.some((m) => m.kind === 'heartbeat');
    const running = [0, 1].map((i) =>
      execute(ex.client, assignment(fixture, b, { jobId: `job-ahead-busy-${i}`, ...slow }), {
        onMessage(msg) {
          if (msg.msg?.$case === 'started') started[i] = true;
          return msg.msg?.$case === 'heartbeat' && heldBeat() ? 'cancel' : undefined;
        },
      }).then((r) => (ended.push(Date.now()), r)),
    );
    await waitFor(() => started[0] && started[1], { what: 'both slots busy' });
    const ahead = await execute(ex.client, assignment(fixture, b, { jobId: 'job-ahead', mayWait: true }), {
      onMessage: (msg) => void seen.push({ kind: msg.msg?.$case ?? '', at: Date.now() }),
    });
    assert.equal(ahead.error, undefined, ahead.error?.message);
    const kinds = seen.map((m) => m.kind);
    assert.ok(trailerOf(ahead), 'the held batch ran to its trailer');
    assert.ok(kinds.indexOf('heartbeat') < kinds.indexOf('started'), `no heartbeat while held: ${kinds.join(',')}`);
    const startedAt = seen.find((m) => m.kind === 'started')!.at;
    assert.ok(ended.length > 0 && startedAt >= Math.min(...ended) - 50, 'started before a slot was free');
    assert.equal(maxBusy, 2, 'never more batches running than slots');
    for (const r of await Promise.all(running)) assert.equal(r.error?.code, status.CANCELLED);
    await waitFor(() => ex.executor.slots.busy() === 0, { timeoutMs: 5000, what: 'slots freed' });
  });

  it('a cancel or a deadline mid-batch stops the worker and frees its slot', async () => {
    const b = fixture.batches[0]!;
    // Long enough (~20 s of CPU) that only a stopped worker can free the slot within the wait below.
    const got = await execute(ex.client, assignment(fixture, b, { jobId: 'job-cancel', vars: { busy_ms: '20' } }), {
      onMessage: (msg) => (msg.msg?.$case === 'heartbeat' ? 'cancel' : undefined),
    });
    assert.equal(got.error?.code, status.CANCELLED);
    await waitFor(() => ex.executor.slots.busy() === 0, { timeoutMs: 5000, what: 'slot freed after cancel' });
    // A deadline that passes mid-batch stops it the same way.
    const late = await execute(ex.client, assignment(fixture, b, { jobId: 'job-deadline', vars: { busy_ms: '20' } }), { deadlineMs: 500 });
    assert.equal(late.error?.code, status.DEADLINE_EXCEEDED);
    await waitFor(() => ex.executor.slots.busy() === 0, { timeoutMs: 5000, what: 'slot freed after the deadline' });
    // The pool is usable at once: a normal batch completes.
    const next = await execute(ex.client, assignment(fixture, b, { jobId: 'job-after-cancel' }));
    assert.equal(next.error, undefined);
  });
});
