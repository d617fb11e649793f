// The response outbox of an ExecuteBatches call: what is ready in one event-loop turn goes as one message,
// in order; a records chunk never waits and never overtakes what was sent before it.
import assert from 'node:assert/strict';
import type { ExecuteBatchesResponse } from '@flowmesh/contracts';
import { createResponseOutbox } from '../src/response-outbox.js';

const started = (tag: number): ExecuteBatchesResponse => ({ tag, msg: { $case: 'started', started: { executorId: 'e' } }, more: [] });
const heartbeat = (tag: number): ExecuteBatchesResponse => ({ tag, msg: { $case: 'heartbeat', heartbeat: { recordsDone: 1 } }, more: [] });
const records = (tag: number): ExecuteBatchesResponse => ({
  tag,
  msg: { $case: 'records', records: { jobId: 'j', batchIndex: 0, seq: 0, recordCount: 1, data: Buffer.from('{}\n'), records: [] } },
  more: [],
});
/** Each written message as the list of `tag:kind` it carries. */
const shape = (m: ExecuteBatchesResponse): string[] => [m, ...m.more].map((r) => `${r.tag}:${r.msg?.$case}`);

describe('executor response outbox', () => {
  it('writes each response at once until the coordinator takes bundles', async () => {
    const written: string[][] = [];
    const outbox = createResponseOutbox(async (m) => void written.push(shape(m)));
    await Promise.all([outbox.send(started(1)), outbox.send(heartbeat(2))]);
    assert.deepEqual(written, [['1:started'], ['2:heartbeat']]);
  });

  it('bundles what is ready in one turn, in order; a records chunk sends what waits first and goes alone', async () => {
    const written: string[][] = [];
    const outbox = createResponseOutbox(async (m) => void written.push(shape(m)));
    outbox.takeBundles();
    const sent = [outbox.send(started(1)), outbox.send(heartbeat(2)), outbox.send(records(1)), outbox.send(started(3))];
    outbox.send(heartbeat(1)).catch(() => undefined);
    assert.deepEqual(written, [['1:started', '2:heartbeat'], ['1:records']], 'nothing waits behind a records chunk');
    await Promise.all(sent);
    assert.deepEqual(written, [['1:started', '2:heartbeat'], ['1:records'], ['3:started', '1:heartbeat']]);
  });

  it('fails every response of a bundle whose write fails', async () => {
    const outbox = createResponseOutbox(() => Promise.reject(new Error('call ended')));
    outbox.takeBundles();
    const results = await Promise.allSettled([outbox.send(started(1)), outbox.send(heartbeat(1))]);
    assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected']);
  });
});
