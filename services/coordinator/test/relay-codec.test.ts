// The coordinator's relay codec: executor responses decode as the generated code decodes them, and a
// records chunk is forwarded as exactly the bytes the generated encoder would write for the caller —
// from the executor's own bytes when the chunk is unchanged, encoded afresh when it is not.
import assert from 'node:assert/strict';
import {
  CoordinatorServiceRunJobResponse,
  CoordinatorServiceWatchJobResponse,
  ExecuteBatchResponse,
  type RecordChunk,
} from '@flowmesh/contracts';
import { receivedRecordsMessage } from '@flowmesh/runtime';
import {
  deserializeExecutorResponse,
  serializeRunJobResponse,
  serializeWatchJobResponse,
} from '../src/relay-codec.js';

const chunk = (over: Partial<RecordChunk> = {}): RecordChunk => ({
  jobId: 'job-ü-1',
  batchIndex: 7,
  seq: 3,
  recordCount: 2,
  data: Buffer.from('{"a":1}\n{"b":"ö"}\n'),
  records: [],
  ...over,
});

const fromExecutor = (value: ExecuteBatchResponse): Buffer => Buffer.from(ExecuteBatchResponse.encode(value).finish());

describe('coordinator relay codec', () => {
  const messages: ExecuteBatchResponse[] = [
    { msg: { $case: 'started', started: { executorId: 'executor-1' } } },
    { msg: { $case: 'records', records: chunk() } },
    { msg: { $case: 'records', records: chunk({ jobId: '', batchIndex: 0, seq: 0, recordCount: 0, data: Buffer.alloc(0) }) } },
    { msg: { $case: 'records', records: chunk({ data: Buffer.alloc(0), records: ['{"a":1}', '{}'] }) } },
    { msg: { $case: 'rejects', rejects: { jobId: 'j', batchIndex: 1, rejects: [{ line: 3, reason: 'bad', step: 's', raw: 'x', batchIndex: 1 }] } } },
    { msg: { $case: 'heartbeat', heartbeat: { recordsDone: 2 ** 40 } } },
  ];

  it('decodes every executor message like the generated decoder', () => {
    for (const m of messages) {
      const bytes = fromExecutor(m);
      assert.deepEqual(deserializeExecutorResponse(bytes), ExecuteBatchResponse.decode(bytes));
    }
  });

  it('forwards a verified chunk as the bytes the generated encoder writes, reusing the received ones', () => {
    const bytes = fromExecutor({ msg: { $case: 'records', records: chunk() } });
    const got = deserializeExecutorResponse(bytes);
    assert.equal(got.msg?.$case, 'records');
    const records = got.msg.records;
    assert.equal(receivedRecordsMessage(records), bytes, 'the executor bytes are kept for forwarding');
    // run-job.ts forwards `{ ...chunk, jobId }`: same values, so the received bytes go out.
    const value: CoordinatorServiceRunJobResponse = { response: { msg: { $case: 'records', records: { ...records, jobId: 'job-ü-1' } } } };
    assert.deepEqual(serializeRunJobResponse(value), Buffer.from(CoordinatorServiceRunJobResponse.encode(value).finish()));
    const watched: CoordinatorServiceWatchJobResponse = { response: { msg: { $case: 'records', records } } };
    assert.deepEqual(serializeWatchJobResponse(watched), Buffer.from(CoordinatorServiceWatchJobResponse.encode(watched).finish()));
  });

  it('forwards a chunk received through grpc-js without copying it (header in the frame-header bytes)', () => {
    const records = chunk({ data: Buffer.alloc(300_000, 0x62) });
    const bytes = fromExecutor({ msg: { $case: 'records', records } });
    // As grpc-js hands a message to the deserializer: its own buffer, a view past the 5-byte frame header.
    const framed = Buffer.concat([Buffer.from([0, 0, 0, 0, 0]), bytes]);
    const got = deserializeExecutorResponse(framed.subarray(5));
    assert.equal(got.msg?.$case, 'records');
    const value: CoordinatorServiceRunJobResponse = { response: { msg: { $case: 'records', records: { ...got.msg.records } } } };
    const out = serializeRunJobResponse(value);
    assert.equal(out.buffer, framed.buffer, 'no copy');
    assert.deepEqual(out, Buffer.from(CoordinatorServiceRunJobResponse.encode({ response: { msg: { $case: 'records', records } } }).finish()));
  });

  it('encodes afresh a chunk whose fields changed on the way (never the stale received bytes)', () => {
    const got = deserializeExecutorResponse(fromExecutor({ msg: { $case: 'records', records: chunk() } }));
    assert.equal(got.msg?.$case, 'records');
    const value: CoordinatorServiceRunJobResponse = { response: { msg: { $case: 'records', records: { ...got.msg.records, jobId: 'another-job' } } } };
    const out = serializeRunJobResponse(value);
    assert.deepEqual(out, Buffer.from(CoordinatorServiceRunJobResponse.encode(value).finish()));
    assert.equal(CoordinatorServiceRunJobResponse.decode(out).response?.msg?.$case, 'records');
  });

  it('encodes chunks that were never received (local mode) and every other message like the generated encoder', () => {
    const values: CoordinatorServiceRunJobResponse[] = [
      { response: { msg: { $case: 'records', records: chunk() } } },
      { response: { msg: { $case: 'records', records: chunk({ data: Buffer.alloc(0), records: ['{}'] }) } } },
      { response: { msg: { $case: 'accepted', accepted: { jobId: 'j', flow: 'f', flowRevision: 2, coordinatorId: 'c', planSlots: 0 } } } },
      { response: { msg: { $case: 'rejects', rejects: { jobId: 'j', batchIndex: 1, rejects: [] } } } },
      { response: undefined },
    ];
    for (const v of values) {
      assert.deepEqual(serializeRunJobResponse(v), Buffer.from(CoordinatorServiceRunJobResponse.encode(v).finish()));
    }
  });
});
