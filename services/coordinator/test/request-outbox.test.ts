// The request outbox of an ExecuteBatches call: what the coordinator has ready in one event-loop turn goes
// as one message, in order; inline bytes never wait and never overtake what was sent before them.
import assert from 'node:assert/strict';
import type { ExecuteBatchesRequest } from '@flowmesh/contracts';
import { createRequestOutbox } from '../src/request-outbox.js';

const cancel = (tag: number): ExecuteBatchesRequest => ({ tag, msg: { $case: 'cancel', cancel: { reason: 'r' } }, traceContext: {}, more: [] });
const assign = (tag: number): ExecuteBatchesRequest => ({
  tag,
  msg: { $case: 'assign', assign: { jobId: 'j', batchIndex: tag } as never },
  traceContext: {},
  more: [],
});
const data = (tag: number): ExecuteBatchesRequest => ({ tag, msg: { $case: 'data', data: { data: Buffer.from('x') } }, traceContext: {}, more: [] });
/** Each written message as the list of `tag:kind` it carries (a bundle has none of its own, and tag 0). */
const shape = (m: ExecuteBatchesRequest): string[] => {
  if (m.more.length > 0) assert.deepEqual([m.tag, m.msg], [0, undefined], 'a bundle carries only `more`');
  return (m.more.length > 0 ? m.more : [m]).map((r) => `${r.tag}:${r.msg?.$case}`);
};
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('coordinator request outbox', () => {
  it('writes each request at once until the executor takes bundles', async () => {
    const written: string[][] = [];
    const outbox = createRequestOutbox(async (m) => void written.push(shape(m)));
    await Promise.all([outbox.send(cancel(1)), outbox.send(cancel(2))]);
    assert.deepEqual(written, [['1:cancel'], ['2:cancel']]);
  });

  it('bundles what is ready in one turn, in order; inline data sends what waits first and goes alone', async () => {
    const written: string[][] = [];
    const outbox = createRequestOutbox(async (m) => void written.push(shape(m)));
    outbox.takeBundles();
    await outbox.send(cancel(1));
    await outbox.send(cancel(2));
    assert.equal(written.length, 0, 'nothing is written before the end of the turn');
    await outbox.send(data(2));
    await outbox.send(cancel(3));
    assert.deepEqual(written, [['1:cancel', '2:cancel'], ['2:data']]);
    await turn();
    assert.deepEqual(written, [['1:cancel', '2:cancel'], ['2:data'], ['3:cancel']]);
    outbox.flush();
    assert.equal(written.length, 3, 'nothing left to flush');
  });

  it('writes an assign to an idle call at once, and bundles it when other attempts are live or requests wait', async () => {
    const written: string[][] = [];
    let idle = true;
    const outbox = createRequestOutbox(async (m) => void written.push(shape(m)), { idle: () => idle });
    outbox.takeBundles();
    await outbox.send(assign(1));
    assert.deepEqual(written, [['1:assign']], 'alone on the call: written at once');
    await outbox.send(cancel(1));
    await outbox.send(assign(2));
    assert.equal(written.length, 1, 'behind a waiting request it waits too (order kept)');
    await turn();
    assert.deepEqual(written, [['1:assign'], ['1:cancel', '2:assign']]);
    idle = false;
    await outbox.send(assign(3));
    await outbox.send(assign(4));
    assert.equal(written.length, 2, 'with other attempts live, assigns wait for the end of the turn');
    await turn();
    assert.deepEqual(written, [['1:assign'], ['1:cancel', '2:assign'], ['3:assign', '4:assign']]);
  });

  it('writes what waits on flush (before the call is half-closed)', async () => {
    const written: string[][] = [];
    const outbox = createRequestOutbox(async (m) => void written.push(shape(m)));
    outbox.takeBundles();
    void outbox.send(cancel(1));
    outbox.flush();
    assert.deepEqual(written, [['1:cancel']]);
  });

  it('holds senders back while a bundle waits for the call to drain, and fails them after a failed write', async () => {
    let drained!: (err?: Error) => void;
    let calls = 0;
    const outbox = createRequestOutbox(() => {
      calls++;
      return new Promise<void>((resolve, reject) => (drained = (err) => (err ? reject(err) : resolve())));
    });
    outbox.takeBundles();
    await outbox.send(cancel(1));
    await turn();
    assert.equal(calls, 1);
    const first = drained;
    let released = false;
    const held = outbox.send(cancel(2)).then(() => (released = true));
    await turn();
    assert.equal(released, false, 'the sender waits for drain');
    assert.equal(calls, 2, 'its request went in the next bundle');
    first();
    await held;
    drained(new Error('call ended'));
    await turn();
    await assert.rejects(outbox.send(cancel(3)), /call ended/);
  });
});
