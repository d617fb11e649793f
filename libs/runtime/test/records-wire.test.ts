// The hand-written records codec against the generated one: the same bytes when encoding, the same values
// when decoding (with `data` a view, not a copy), a fallback (undefined) for every shape it does not take,
// and forwarding of received bytes only while the chunk is unchanged.
import assert from 'node:assert/strict';
import {
  CoordinatorServiceRunJobResponse,
  ExecuteBatchResponse,
  RunJobResponse,
  WatchJobResponse,
  type RecordChunk,
} from '@flowmesh/contracts';
import {
  decodeRecordsMessage,
  encodeRecordsMessage,
  receivedRecordsMessage,
  unwrapMessage,
  wrapMessage,
  wrapReceived,
} from '@flowmesh/runtime';

/** Deterministic PRNG (mulberry32), so a failing case can be reproduced from its index. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ALPHABET = ['a', 'Z', '7', '-', 'é', 'ü', '日', '本', '😀', 'ß'];

function randomUint32(r: () => number): number {
  // Zero, small, around varint byte boundaries and up to the maximum.
  const pick = Math.floor(r() * 6);
  if (pick === 0) return 0;
  if (pick === 1) return Math.floor(r() * 128);
  if (pick === 2) return 2 ** (7 * (1 + Math.floor(r() * 4))) - 1 + Math.floor(r() * 3);
  if (pick === 3) return 2 ** 32 - 1;
  return Math.floor(r() * 2 ** 32);
}

function randomChunk(r: () => number): RecordChunk {
  const idLen = r() < 0.2 ? 0 : Math.floor(r() * 40);
  let jobId = '';
  for (let i = 0; i < idLen; i++) jobId += ALPHABET[Math.floor(r() * ALPHABET.length)];
  const sizes = [0, 1, 127, 128, 16_383, 16_384, 70_000, 300_000];
  const size = sizes[Math.floor(r() * sizes.length)] ?? 0;
  const data = Buffer.alloc(size);
  for (let i = 0; i < size; i += 97) data[i] = Math.floor(r() * 256);
  return {
    jobId,
    batchIndex: randomUint32(r),
    seq: randomUint32(r),
    recordCount: randomUint32(r),
    data,
    records: [],
  };
}

const generated = (chunk: RecordChunk): Buffer =>
  Buffer.from(RunJobResponse.encode({ msg: { $case: 'records', records: chunk } }).finish());

describe('records wire codec', () => {
  const r = prng(4242);
  const chunks: RecordChunk[] = [
    { jobId: '', batchIndex: 0, seq: 0, recordCount: 0, data: Buffer.alloc(0), records: [] },
    { jobId: 'jöb-日本-😀', batchIndex: 2 ** 32 - 1, seq: 2 ** 28, recordCount: 2 ** 21, data: Buffer.from('{"a":1}\n'), records: [] },
    ...Array.from({ length: 400 }, () => randomChunk(r)),
  ];

  it('encodes the same bytes as the generated encoder (RunJobResponse, ExecuteBatchResponse, WatchJobResponse)', () => {
    for (const [i, c] of chunks.entries()) {
      const fast = encodeRecordsMessage(c);
      assert.deepEqual(fast, generated(c), `case ${i}`);
      assert.deepEqual(fast, Buffer.from(ExecuteBatchResponse.encode({ msg: { $case: 'records', records: c } }).finish()));
      assert.deepEqual(fast, Buffer.from(WatchJobResponse.encode({ msg: { $case: 'records', records: c } }).finish()));
    }
  });

  it('decodes what the generated decoder decodes, with data as a view of the message', () => {
    for (const [i, c] of chunks.entries()) {
      const bytes = generated(c);
      const fast = decodeRecordsMessage(bytes);
      const slow = RunJobResponse.decode(bytes).msg;
      assert.equal(slow?.$case, 'records');
      assert.deepEqual(fast, slow.records, `case ${i}`);
      assert.equal(fast?.data.buffer, bytes.buffer, `case ${i}: data must not be copied`);
    }
  });

  it('reads valid non-canonical encodings like the generated decoder (repeated fields: last wins; long varints)', () => {
    const bytes = Buffer.from([
      0x12, 22,
      0x0a, 1, 0x61, // job_id "a"
      0x10, 0x85, 0x80, 0x80, 0x80, 0x00, // batch_index 5 in 5 bytes
      0x0a, 2, 0x62, 0x63, // job_id again: "bc" wins
      0x2a, 1, 0x78, // data "x"
      0x2a, 2, 0x79, 0x7a, // data again: "yz" wins
      0x20, 0x00, // record_count 0, written explicitly
    ]);
    const fast = decodeRecordsMessage(bytes);
    assert.deepEqual(fast, (RunJobResponse.decode(bytes).msg as { records: RecordChunk }).records);
    assert.equal(fast?.jobId, 'bc');
    assert.equal(fast?.batchIndex, 5);
    assert.deepEqual(fast?.data, Buffer.from('yz'));
  });

  it('leaves every other shape to the generated decoder', () => {
    const plain = generated({ jobId: 'j', batchIndex: 1, seq: 2, recordCount: 3, data: Buffer.from('x\n'), records: [] });
    const odd: Array<[string, Buffer]> = [
      ['another message', Buffer.from(RunJobResponse.encode({ msg: { $case: 'accepted', accepted: { jobId: 'j', flow: 'f', flowRevision: 1, coordinatorId: 'c', planSlots: 0 } } }).finish())],
      ['JSON-text records (field 6)', generated({ jobId: 'j', batchIndex: 0, seq: 0, recordCount: 1, data: Buffer.alloc(0), records: ['{}'] })],
      ['an unknown field in the chunk (field 7)', Buffer.from([0x12, 2, 0x38, 0x01])],
      ['a field after the records field', Buffer.concat([plain, Buffer.from([0x08, 0x01])])],
      ['a truncated message', plain.subarray(0, plain.length - 1)],
      ['a length past the end', Buffer.from([0x12, 5, 0x2a, 10, 0x61])],
      ['a wrong wire type', Buffer.from([0x12, 2, 0x11, 0x01])],
      ['a varint longer than 5 bytes', Buffer.from([0x12, 7, 0x10, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00])],
      ['a varint above 2^32', Buffer.from([0x12, 6, 0x10, 0xff, 0xff, 0xff, 0xff, 0x1f])],
      ['a job id that is not UTF-8', Buffer.from([0x12, 4, 0x0a, 2, 0xc3, 0x28])],
      ['an empty buffer', Buffer.alloc(0)],
    ];
    for (const [name, bytes] of odd) assert.equal(decodeRecordsMessage(bytes), undefined, name);
  });

  it('hands back the received bytes while the chunk is unchanged, even through a spread copy', () => {
    const bytes = generated(chunks[1]!);
    const chunk = decodeRecordsMessage(bytes, true)!;
    assert.equal(receivedRecordsMessage(chunk), bytes);
    assert.equal(receivedRecordsMessage({ ...chunk }), bytes);
    assert.equal(receivedRecordsMessage({ ...chunk, jobId: chunk.jobId }), bytes);
    for (const changed of [
      { ...chunk, jobId: 'other' },
      { ...chunk, batchIndex: chunk.batchIndex - 1 },
      { ...chunk, seq: chunk.seq + 1 },
      { ...chunk, recordCount: 0 },
      { ...chunk, records: ['{}'] },
      { ...chunk, data: Buffer.from(chunk.data) },
    ]) {
      assert.equal(receivedRecordsMessage(changed), undefined);
    }
    // Not remembered unless asked (the client keeps nothing).
    assert.equal(receivedRecordsMessage(decodeRecordsMessage(generated(chunks[1]!))!), undefined);
  });

  it('gives each empty-data chunk its own view, so remembered bytes are never confused', () => {
    const a = decodeRecordsMessage(generated({ ...chunks[0]!, seq: 1 }), true)!;
    const b = decodeRecordsMessage(generated({ ...chunks[0]!, seq: 2 }), true)!;
    assert.notEqual(a.data, b.data);
    assert.equal(receivedRecordsMessage(a)?.equals(generated({ ...chunks[0]!, seq: 1 })), true);
    assert.equal(receivedRecordsMessage(b)?.equals(generated({ ...chunks[0]!, seq: 2 })), true);
  });

  it('wraps and unwraps like the coordinator messages (field 1)', () => {
    for (const c of chunks.slice(0, 50)) {
      const inner = generated(c);
      const wrapper = Buffer.from(
        CoordinatorServiceRunJobResponse.encode({ response: { msg: { $case: 'records', records: c } } }).finish(),
      );
      assert.deepEqual(wrapMessage(inner), wrapper);
      assert.deepEqual(unwrapMessage(wrapper), inner);
    }
    assert.equal(unwrapMessage(Buffer.concat([wrapMessage(Buffer.from([1])), Buffer.from([0x10, 1])])), undefined);
    assert.equal(unwrapMessage(Buffer.from([0x12, 0])), undefined);
    assert.equal(unwrapMessage(Buffer.from([0x0a, 3, 0])), undefined);
  });
});

describe('wrapReceived', () => {
  /** A message as grpc-js hands it to a deserializer: a view from byte 5 of a buffer of its own. */
  const received = (n: number): Buffer => {
    const framed = Buffer.allocUnsafe(5 + n);
    framed.fill(0x61);
    return framed.subarray(5);
  };

  it('writes the wrapper header in the frame-header bytes before a received message (no copy)', () => {
    for (const n of [4096, 70_000, 300_000, 2 ** 21]) {
      const message = received(n);
      const out = wrapReceived(message);
      assert.equal(out.buffer, message.buffer, `${n} bytes: no copy`);
      assert.deepEqual(out, wrapMessage(Buffer.from(message)));
      assert.deepEqual(unwrapMessage(out), message);
    }
  });

  it('copies when the bytes before the view may belong to someone else', () => {
    const small = received(100); // below Buffer.poolSize / 2: a slice of the shared pool
    const big = Buffer.alloc(100_000);
    for (const message of [small, big.subarray(5, 50_000), big.subarray(10), Buffer.alloc(10_000)]) {
      const before = Buffer.from(big.buffer, 0, 5).toString('hex');
      const around = Buffer.from(message.buffer, Math.max(0, message.byteOffset - 5), Math.min(5, message.byteOffset));
      const aroundBefore = Buffer.from(around).toString('hex');
      const out = wrapReceived(message);
      const overlaps =
        out.buffer === message.buffer &&
        out.byteOffset < message.byteOffset + message.length &&
        message.byteOffset - 5 < out.byteOffset + out.length;
      assert.equal(overlaps, false, 'a fresh buffer');
      assert.equal(around.toString('hex'), aroundBefore, 'the bytes before the view are untouched');
      assert.deepEqual(out, wrapMessage(message));
      assert.equal(Buffer.from(big.buffer, 0, 5).toString('hex'), before, 'nothing outside the view is written');
    }
  });
});
