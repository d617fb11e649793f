// The gateway's relay codec: coordinator responses decode as the generated code decodes them, and the
// caller gets exactly the bytes the generated encoder would write — a received records message as it
// came, anything else (or a chunk changed on the way) encoded afresh.
import assert from 'node:assert/strict';
import {
  CoordinatorServiceRunJobResponse,
  CoordinatorServiceWatchJobResponse,
  RunJobResponse,
  WatchJobResponse,
  type CoalescedRecords,
  type RecordChunk,
} from '@flowmesh/contracts';
import {
  deserializeRunJobResponse,
  deserializeWatchJobResponse,
  serializeRunJobResponse,
  serializeWatchJobResponse,
} from '../src/downstream/relay-codec.js';

const chunk = (over: Partial<RecordChunk> = {}): RecordChunk => ({
  jobId: 'job-日本',
  batchIndex: 300,
  seq: 128,
  recordCount: 16_384,
  data: Buffer.alloc(70_000, 0x61),
  records: [],
  ...over,
});

const coalesced = (over: Partial<CoalescedRecords> = {}): CoalescedRecords => ({
  jobId: 'job-1',
  batchIndices: [7, 0, 300_000],
  batchRecords: [1, 0, 2],
  batchBytes: [3, 0, 6],
  data: Buffer.from('a7\nb3\nc3\n'),
  ...over,
});

const wrapped = (response: RunJobResponse): Buffer =>
  Buffer.from(CoordinatorServiceRunJobResponse.encode({ response }).finish());

describe('gateway relay codec', () => {
  const responses: RunJobResponse[] = [
    { msg: { $case: 'accepted', accepted: { jobId: 'j', flow: 'f', flowRevision: 1, coordinatorId: 'c', planSlots: 0 } } },
    { msg: { $case: 'records', records: chunk() } },
    {
      msg: {
        $case: 'records',
        records: chunk({ jobId: '', batchIndex: 0, seq: 0, recordCount: 0, data: Buffer.alloc(0) }),
      },
    },
    { msg: { $case: 'records', records: chunk({ data: Buffer.alloc(0), records: ['{"a":1}'] }) } },
    {
      msg: {
        $case: 'rejects',
        rejects: { jobId: 'j', batchIndex: 2, rejects: [{ line: 9, reason: 'r', step: 's', raw: 'x', batchIndex: 2 }] },
      },
    },
    {
      msg: {
        $case: 'progress',
        progress: {
          jobId: 'j',
          state: 2,
          counts: undefined,
          batchesPlanned: 3,
          batchesDone: 1,
          batchesRunning: 1,
          batchesRetried: 0,
          batchesSpeculative: 0,
          planningDone: false,
          bytesTotal: 10,
          bytesDone: 5,
          elapsedMs: 20,
        },
      },
    },
    { msg: { $case: 'coalesced', coalesced: coalesced() } },
    {
      msg: {
        $case: 'coalesced',
        coalesced: coalesced({ batchIndices: [0], batchRecords: [0], batchBytes: [0], data: Buffer.alloc(0) }),
      },
    },
    { msg: undefined },
  ];

  it('decodes every coordinator response like the generated decoder', () => {
    for (const r of responses) {
      const bytes = wrapped(r);
      assert.deepEqual(deserializeRunJobResponse(bytes), CoordinatorServiceRunJobResponse.decode(bytes));
    }
    const w: WatchJobResponse = { msg: { $case: 'records', records: chunk() } };
    const wb = Buffer.from(CoordinatorServiceWatchJobResponse.encode({ response: w }).finish());
    assert.deepEqual(deserializeWatchJobResponse(wb), CoordinatorServiceWatchJobResponse.decode(wb));
  });

  it('relays every response as the bytes the generated encoder writes for the caller', () => {
    for (const r of responses) {
      const relayed = deserializeRunJobResponse(wrapped(r)).response!;
      assert.deepEqual(serializeRunJobResponse(relayed), Buffer.from(RunJobResponse.encode(r).finish()));
    }
    const w: WatchJobResponse = { msg: { $case: 'records', records: chunk() } };
    const relayed = deserializeWatchJobResponse(
      Buffer.from(CoordinatorServiceWatchJobResponse.encode({ response: w }).finish()),
    ).response!;
    assert.deepEqual(serializeWatchJobResponse(relayed), Buffer.from(WatchJobResponse.encode(w).finish()));
  });

  it('sends a received records message without copying it, and re-encodes a changed one', () => {
    const bytes = wrapped({ msg: { $case: 'records', records: chunk() } });
    const relayed = deserializeRunJobResponse(bytes).response!;
    const out = serializeRunJobResponse(relayed);
    assert.equal(out.buffer, bytes.buffer, 'the received bytes themselves are sent');
    assert.equal(relayed.msg?.$case, 'records');
    const changed: RunJobResponse = { msg: { $case: 'records', records: { ...relayed.msg.records, seq: 1 } } };
    assert.deepEqual(serializeRunJobResponse(changed), Buffer.from(RunJobResponse.encode(changed).finish()));
  });

  it('relays a coalesced message (issue 7) as received, to RunJob and WatchJob callers alike', () => {
    const bytes = wrapped({ msg: { $case: 'coalesced', coalesced: coalesced() } });
    const relayed = deserializeRunJobResponse(bytes).response!;
    const out = serializeRunJobResponse(relayed);
    assert.equal(out.buffer, bytes.buffer, 'the received bytes themselves are sent');
    const w: WatchJobResponse = { msg: { $case: 'coalesced', coalesced: coalesced() } };
    const wb = Buffer.from(CoordinatorServiceWatchJobResponse.encode({ response: w }).finish());
    const watched = deserializeWatchJobResponse(wb).response!;
    assert.deepEqual(serializeWatchJobResponse(watched), Buffer.from(WatchJobResponse.encode(w).finish()));
    assert.equal(serializeWatchJobResponse(watched).buffer, wb.buffer);
  });
});
