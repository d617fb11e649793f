// The client's RunJob/WatchJob decoders: the values the generated decoder gives, with a records payload
// left as a view of the received message (no copy).
import assert from 'node:assert/strict';
import { RunJobResponse, WatchJobResponse } from '@flowmesh/contracts';
import { deserializeRunJobResponse, deserializeWatchJobResponse } from '../src/service-clients.js';

describe('client result decoding', () => {
  const records = { jobId: 'jöb', batchIndex: 4, seq: 0, recordCount: 1, data: Buffer.from('{"x":"ü"}\n'), records: [] };
  const runs: RunJobResponse[] = [
    { msg: { $case: 'records', records } },
    { msg: { $case: 'records', records: { ...records, data: Buffer.alloc(0), records: ['{}'] } } },
    { msg: { $case: 'accepted', accepted: { jobId: 'j', flow: 'f', flowRevision: 1, coordinatorId: 'c', planSlots: 0 } } },
    { msg: { $case: 'rejects', rejects: { jobId: 'j', batchIndex: 1, rejects: [] } } },
  ];

  it('decodes RunJob responses like the generated decoder, records without a copy', () => {
    for (const r of runs) {
      const bytes = Buffer.from(RunJobResponse.encode(r).finish());
      const got = deserializeRunJobResponse(bytes);
      assert.deepEqual(got, RunJobResponse.decode(bytes));
      if (got.msg?.$case === 'records' && got.msg.records.data.length > 0) assert.equal(got.msg.records.data.buffer, bytes.buffer);
    }
  });

  it('decodes WatchJob responses like the generated decoder', () => {
    const w: WatchJobResponse[] = [{ msg: { $case: 'records', records } }, { msg: { $case: 'summary', summary: { job: undefined } } }];
    for (const r of w) {
      const bytes = Buffer.from(WatchJobResponse.encode(r).finish());
      assert.deepEqual(deserializeWatchJobResponse(bytes), WatchJobResponse.decode(bytes));
    }
  });
});
