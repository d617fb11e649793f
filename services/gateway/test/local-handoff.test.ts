// The gateway's side of the local hand-off (issue 7): only a caller with the spool's id gets references;
// a reference names the part relative to the call's directory; a part is removed and confirmed only when
// the caller acks it (or at once when dropped); `settled` waits for the last acks, or for cancel / timeout.
import assert from 'node:assert/strict';
import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Metadata } from '@grpc/grpc-js';
import type { RecordsPart } from '@flowmesh/contracts';
import { CALLER_SPOOL_ID_METADATA_KEY, createLogger, DataLossError, SPOOL_DIR_METADATA_KEY } from '@flowmesh/runtime';
import { tempDir, waitFor } from '@flowmesh/testing';
import { openResultSpool, type CallSpool, type ResultSpool } from '../src/spool/result-spool.js';
import { callerSharesSpool, createLocalHandoff } from '../src/spool/local-handoff.js';

const logger = createLogger('gateway', { level: 'silent' });
const present = (file: string) =>
  stat(file).then(
    () => true,
    () => false,
  );

describe('gateway local hand-off', () => {
  let spool: ResultSpool;
  let call: CallSpool;

  beforeEach(async () => {
    spool = await openResultSpool(join(await tempDir('local-handoff'), 'spool'), logger);
    call = await spool.openCall();
  });
  afterEach(async () => {
    await call.close();
    await spool.close();
  });

  async function part(batchIndex: number): Promise<RecordsPart> {
    const path = `${call.dir}/b${batchIndex}-e1-a1.jsonl`;
    await writeFile(join(call.spoolDir, path), '{"a":1}\n');
    return {
      jobId: 'j1',
      batchIndex,
      path,
      bytes: 8,
      records: 1,
      checksum: '00000000',
      checksumAlgorithm: 'crc32',
      chunkBytes: [8],
      chunkRecords: [1],
    };
  }

  it("hands off only to a caller that sent this spool's id", () => {
    const md = (id?: string) => {
      const m = new Metadata();
      if (id !== undefined) m.set(CALLER_SPOOL_ID_METADATA_KEY, id);
      return m;
    };
    assert.equal(callerSharesSpool(spool, md(spool.id)), true);
    assert.equal(callerSharesSpool(spool, md('another-spool-id')), false);
    assert.equal(callerSharesSpool(spool, md('')), false);
    assert.equal(callerSharesSpool(spool, md()), false);
    assert.equal(callerSharesSpool(undefined, md(spool.id)), false);
  });

  it('names the part relative to the call directory; removes and confirms it only on the ack', async () => {
    const local = createLocalHandoff(call);
    assert.deepEqual(local.header, [SPOOL_DIR_METADATA_KEY, call.dir]);
    const p = await part(3);
    const confirmed: number[] = [];
    const ref = local.offer(p, () => confirmed.push(3));
    assert.equal(ref.path, 'b3-e1-a1.jsonl');
    assert.deepEqual([ref.batchIndex, ref.bytes, ref.records, ref.chunkBytes], [3, 8, 1, [8]]);
    local.ack(7); // not handed off: ignored
    assert.ok(await present(join(call.spoolDir, p.path)), 'kept until acked');
    assert.deepEqual(confirmed, []);
    const settled = local.settled(new AbortController().signal, 60_000);
    local.ack(3);
    await settled;
    assert.deepEqual(confirmed, [3]);
    assert.equal(await present(join(call.spoolDir, p.path)), false);
    local.ack(3); // twice: nothing more
    assert.deepEqual(confirmed, [3]);
  });

  it('refuses a part outside the call directory', async () => {
    const local = createLocalHandoff(call);
    const p = { ...(await part(1)), path: `${call.dir}/../x.jsonl` };
    assert.throws(() => local.offer(p, () => {}), DataLossError);
    const other = { ...(await part(1)), path: 'g-other-1/call/b1-e1-a1.jsonl' };
    assert.throws(() => local.offer(other, () => {}), DataLossError);
  });

  it('a dropped part (the caller has the batch) is removed and confirmed at once', async () => {
    const local = createLocalHandoff(call);
    const p = await part(2);
    let confirmed = false;
    local.drop(p, () => (confirmed = true));
    await waitFor(() => confirmed, { timeoutMs: 5000, what: 'the drop confirmed' });
    assert.equal(await present(join(call.spoolDir, p.path)), false);
  });

  it('settled ends at once without pending parts, and on cancel or timeout with some', async () => {
    const local = createLocalHandoff(call);
    await local.settled(new AbortController().signal, 60_000);
    local.offer(await part(5), () => {});
    const cancel = new AbortController();
    const waiting = local.settled(cancel.signal, 60_000);
    cancel.abort();
    await waiting;
    await local.settled(new AbortController().signal, 1);
  });
});
