// The hand-written records serializer must produce exactly the generated encoder's bytes.
import assert from 'node:assert/strict';
import { ExecuteBatchesResponse, ExecuteBatchResponse } from '@flowmesh/contracts';
import type { RecordChunk } from '@flowmesh/contracts';
import { serializeResponse, serializeStreamResponse } from '../src/response-codec.js';

describe('executor response codec', () => {
  const cases: Array<[string, RecordChunk]> = [
    ['all fields, large payload', { jobId: 'job-1', batchIndex: 300, seq: 2 ** 20, recordCount: 70_000, data: Buffer.alloc(300_000, 0x61), records: [] }],
    ['zero values are omitted', { jobId: '', batchIndex: 0, seq: 0, recordCount: 0, data: Buffer.alloc(0), records: [] }],
    ['non-ASCII job id, small payload', { jobId: 'jöb-ü', batchIndex: 1, seq: 127, recordCount: 128, data: Buffer.from('{"a":1}\n'), records: [] }],
    ['uint32 extremes', { jobId: 'j', batchIndex: 2 ** 32 - 1, seq: 2 ** 31, recordCount: 16_383, data: Buffer.alloc(16_384, 1), records: [] }],
  ];
  for (const [name, chunk] of cases) {
    it(`encodes records like the generated code: ${name}`, () => {
      const value: ExecuteBatchResponse = { msg: { $case: 'records', records: chunk } };
      const fast = serializeResponse(value);
      assert.deepEqual(fast, Buffer.from(ExecuteBatchResponse.encode(value).finish()));
      const back = ExecuteBatchResponse.decode(fast);
      assert.equal(back.msg?.$case, 'records');
    });
  }

  it('falls back to the generated encoder for other messages', () => {
    const value: ExecuteBatchResponse = { msg: { $case: 'heartbeat', heartbeat: { recordsDone: 5 } } };
    assert.deepEqual(serializeResponse(value), Buffer.from(ExecuteBatchResponse.encode(value).finish()));
  });

  it('encodes a bundle (tag 0, responses in `more`) like the generated code, small records included', () => {
    const chunk: RecordChunk = { jobId: 'job-1', batchIndex: 7, seq: 0, recordCount: 2, data: Buffer.from('{"a":1}\n{"b":2}\n'), records: [] };
    const bundle: ExecuteBatchesResponse = {
      tag: 0,
      msg: undefined,
      more: [
        { tag: 3, msg: { $case: 'started', started: { executorId: 'e-1' } }, more: [] },
        { tag: 3, msg: { $case: 'records', records: chunk }, more: [] },
        { tag: 300, msg: { $case: 'heartbeat', heartbeat: { recordsDone: 5 } }, more: [] },
        { tag: 3, msg: { $case: 'records', records: { ...chunk, data: Buffer.alloc(0), recordCount: 0 } }, more: [] },
      ],
    };
    const fast = serializeStreamResponse(bundle);
    assert.deepEqual(fast, Buffer.from(ExecuteBatchesResponse.encode(bundle).finish()));
    const back = ExecuteBatchesResponse.decode(fast);
    assert.deepEqual(back.more.map((r) => `${r.tag}:${r.msg?.$case}`), ['3:started', '3:records', '300:heartbeat', '3:records']);
  });
});
