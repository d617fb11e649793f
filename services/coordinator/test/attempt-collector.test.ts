import assert from 'node:assert/strict';
import type { BatchTrailer, RecordChunk } from '@flowmesh/contracts';
import { createChecksum } from '@flowmesh/flow';
import { createAttemptCollector } from '../src/attempt-collector.js';

const id = { jobId: 'j1', batchIndex: 4, attempt: 2, epoch: 7 };
const chunk = (seq: number, text: string, recordCount: number): RecordChunk => ({
  jobId: 'j1',
  batchIndex: 4,
  seq,
  recordCount,
  data: Buffer.from(text),
  records: [],
});
const trailerFor = (chunks: RecordChunk[], patch: Partial<BatchTrailer> = {}): BatchTrailer => {
  const sum = createChecksum();
  for (const c of chunks) sum.update(c.data);
  return {
    jobId: 'j1',
    batchIndex: 4,
    attempt: 2,
    epoch: 7,
    counts: {
      recordsIn: 3,
      recordsOut: chunks.reduce((n, c) => n + c.recordCount, 0),
      recordsRejected: 1,
      recordsFiltered: 0,
      bytesIn: 0,
      bytesOut: 0,
    },
    chunks: chunks.length,
    checksum: sum.digest(),
    checksumAlgorithm: 'crc32',
    counterDeltas: {},
    cacheSets: {},
    aggregates: undefined,
    durationMs: 1,
    executorId: 'e1',
    outputPart: undefined,
    ...patch,
  };
};

describe('attempt collector (trailer verification)', () => {
  const chunks = [chunk(0, '{"a":1}\n{"a":2}\n', 2), chunk(1, '{"a":3}\n', 1)];

  it('accepts an attempt whose trailer matches what was received', () => {
    const c = createAttemptCollector(id, { includeRejects: true });
    for (const ch of chunks) c.onRecords(ch);
    c.onRejects({
      jobId: 'j1',
      batchIndex: 4,
      rejects: [{ line: 9, reason: 'bad', step: 'validate#1', raw: 'x', batchIndex: 4 }],
    });
    const v = c.verify(trailerFor(chunks));
    assert.ok(v.ok);
    assert.equal(v.result.records, 3);
    assert.equal(v.result.rejects[0]?.line, 9);
  });

  it('matches the CRC-32 of zlib for a known input', () => {
    const s = createChecksum();
    s.update(Buffer.from('123456789'));
    assert.equal(s.digest(), 'cbf43926');
  });

  const bad: Array<[string, (t: BatchTrailer) => Partial<BatchTrailer>]> = [
    ['a corrupted checksum', (t) => ({ checksum: t.checksum === '00000000' ? '00000001' : '00000000' })],
    ['a wrong chunk count', () => ({ chunks: 3 })],
    ['a wrong record count', (t) => ({ counts: { ...t.counts!, recordsOut: 4 } })],
    ['a wrong reject count', (t) => ({ counts: { ...t.counts!, recordsRejected: 2 } })],
    ['another attempt', () => ({ attempt: 1 })],
    ['a lower epoch', () => ({ epoch: 6 })],
    ['another batch', () => ({ batchIndex: 5 })],
  ];
  for (const [name, patch] of bad) {
    it(`fails the attempt on ${name}`, () => {
      const c = createAttemptCollector(id, { includeRejects: true });
      for (const ch of chunks) c.onRecords(ch);
      c.onRejects({
        jobId: 'j1',
        batchIndex: 4,
        rejects: [{ line: 9, reason: 'bad', step: 's', raw: 'x', batchIndex: 4 }],
      });
      const t = trailerFor(chunks);
      const v = c.verify({ ...t, ...patch(t) });
      assert.equal(v.ok, false);
      assert.match((v as { reason: string }).reason, /trailer mismatch/);
    });
  }

  it('fails the attempt when chunks arrive out of sequence', () => {
    const c = createAttemptCollector(id, { includeRejects: false });
    c.onRecords(chunks[1]!);
    c.onRecords(chunks[0]!);
    const v = c.verify(trailerFor([chunks[1]!, chunks[0]!]));
    assert.equal(v.ok, false);
  });

  describe('with an output part (file sink: records written by the executor)', () => {
    const part = { root: 'out', path: '.x.jsonl.j1.parts/b4-a2.jsonl' };
    const partTrailer = (patch: Partial<BatchTrailer> = {}): BatchTrailer =>
      trailerFor([], {
        chunks: 2,
        checksum: 'abcdef01',
        outputPart: part,
        counts: { ...trailerFor(chunks).counts!, recordsRejected: 0, bytesOut: 24 },
        ...patch,
      });

    it('accepts the assigned part with its counts and no streamed records', () => {
      const c = createAttemptCollector(id, { includeRejects: true, outputPart: part });
      const v = c.verify(partTrailer());
      assert.ok(v.ok);
      assert.equal(v.result.records, 3);
      assert.equal(v.result.chunks.length, 0);
      assert.deepEqual(v.result.trailer.outputPart, part);
    });

    it('fails a part that was not the one assigned, or one nobody asked for', () => {
      const other = createAttemptCollector(id, { includeRejects: true, outputPart: part });
      assert.equal(other.verify(partTrailer({ outputPart: { root: 'out', path: 'elsewhere.jsonl' } })).ok, false);
      const unasked = createAttemptCollector(id, { includeRejects: true });
      assert.equal(unasked.verify(partTrailer()).ok, false);
    });

    it('fails when records were streamed for a part, or rejects do not match', () => {
      const streamed = createAttemptCollector(id, { includeRejects: true, outputPart: part });
      streamed.onRecords(chunks[0]!);
      assert.equal(streamed.verify(partTrailer()).ok, false);
      const rejects = createAttemptCollector(id, { includeRejects: true, outputPart: part });
      assert.equal(
        rejects.verify(partTrailer({ counts: { ...trailerFor(chunks).counts!, recordsRejected: 1 } })).ok,
        false,
      );
    });

    it('a spool part (issue 7) verifies only when its chunk layout adds up to the counted output', () => {
      const spoolPart = { root: '@spool', path: 'g-h-1/call/b4-e7-a2.jsonl' };
      const counts = { ...trailerFor(chunks).counts!, recordsRejected: 0, bytesOut: 24 };
      const trailer = (partChunks: { bytes: number[]; records: number[] } | undefined) =>
        partTrailer({ outputPart: spoolPart, counts, chunks: 2, ...(partChunks ? { partChunks } : {}) });
      const verify = (t: ReturnType<typeof trailer>) =>
        createAttemptCollector(id, { includeRejects: true, outputPart: spoolPart }).verify(t);
      assert.ok(verify(trailer({ bytes: [16, 8], records: [2, 1] })).ok);
      const bad = [
        trailer(undefined),
        trailer({ bytes: [24], records: [3] }),
        trailer({ bytes: [16, 9], records: [2, 1] }),
        trailer({ bytes: [16, 8], records: [2, 2] }),
      ];
      for (const t of bad) {
        const v = verify(t);
        assert.equal(v.ok, false, JSON.stringify(t.partChunks));
      }
    });
  });
});
