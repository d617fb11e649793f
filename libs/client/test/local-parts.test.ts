// The client's side of the local hand-off (issue 7): which spool it proves, and how it reads a part — whole
// and checked before any record is passed on (DATA_LOSS otherwise), never outside the call's directory.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { Metadata, status } from '@grpc/grpc-js';
import type { LocalPart } from '@flowmesh/contracts';
import { CALLER_SPOOL_ID_METADATA_KEY, SPOOL_DIR_METADATA_KEY, spoolIdentity } from '@flowmesh/runtime';
import { createLocalParts, LocalPartError, localPartsRequest, resolveSpoolDir } from '../src/local-parts.js';

const CALL_DIR = 'g-host-1/abcd';
const chunks = [Buffer.from('{"a":1}\n{"a":2}\n'), Buffer.from('{"a":3}\n')];
const whole = Buffer.concat(chunks);

function partOf(path: string, bytes: Buffer = whole): LocalPart {
  return {
    jobId: 'j1',
    batchIndex: 7,
    path,
    bytes: bytes.length,
    records: 3,
    checksum: (crc32(bytes) >>> 0).toString(16).padStart(8, '0'),
    chunkBytes: chunks.map((c) => c.length),
    chunkRecords: [2, 1],
  };
}

function headers(dir: string): Metadata {
  const m = new Metadata();
  m.set(SPOOL_DIR_METADATA_KEY, dir);
  return m;
}

const dataLoss = (pattern: RegExp) => (err: LocalPartError) => {
  assert.ok(err instanceof LocalPartError);
  assert.equal(err.code, status.DATA_LOSS);
  assert.match(err.details, pattern);
  return true;
};

describe('client local parts (issue 7 local hand-off)', () => {
  let spool: string;

  beforeEach(async () => {
    spool = await mkdtemp(join(tmpdir(), 'local-parts-'));
    await mkdir(join(spool, CALL_DIR), { recursive: true });
  });
  afterEach(() => rm(spool, { recursive: true, force: true }));

  it("asks for parts with the spool's id, and not at all without a spool or when off", async () => {
    assert.equal(await localPartsRequest(spool), undefined, 'no .spool-id yet: the client never creates one');
    const id = await spoolIdentity(spool);
    assert.deepEqual(await localPartsRequest(spool), [CALLER_SPOOL_ID_METADATA_KEY, id]);
    assert.equal(await localPartsRequest(join(spool, 'missing')), undefined);
    assert.equal(resolveSpoolDir('off'), undefined);
    assert.equal(resolveSpoolDir(spool), spool);
  });

  it('reads the id once, and again after a call that offered it was not handed parts (spool made again)', async () => {
    const id = await spoolIdentity(spool);
    assert.deepEqual(await localPartsRequest(spool), [CALLER_SPOOL_ID_METADATA_KEY, id]);
    await writeFile(join(spool, '.spool-id'), 'a-newer-id\n');
    assert.deepEqual(await localPartsRequest(spool), [CALLER_SPOOL_ID_METADATA_KEY, id], 'known: not read again');
    createLocalParts(spool).onHeaders(new Metadata()); // the gateway named no directory: the id was refused
    assert.deepEqual(await localPartsRequest(spool), [CALLER_SPOOL_ID_METADATA_KEY, 'a-newer-id']);
  });

  it('gives the chunks the executor wrote, byte for byte and in order', async () => {
    await writeFile(join(spool, CALL_DIR, 'b7.jsonl'), whole);
    const local = createLocalParts(spool);
    local.onHeaders(headers(CALL_DIR));
    const got = await local.read(partOf('b7.jsonl'));
    assert.deepEqual(
      got.map((c) => [c.batchIndex, c.seq, c.recordCount, Buffer.from(c.data).toString()]),
      [
        [7, 0, 2, chunks[0]!.toString()],
        [7, 1, 1, chunks[1]!.toString()],
      ],
    );
  });

  it('a corrupt, short or missing part is DATA_LOSS', async () => {
    const local = createLocalParts(spool);
    local.onHeaders(headers(CALL_DIR));
    const corrupt = Buffer.from(whole);
    corrupt[0] = 0x5b;
    await writeFile(join(spool, CALL_DIR, 'corrupt.jsonl'), corrupt);
    await assert.rejects(
      local.read(partOf('corrupt.jsonl')),
      dataLoss(/batch 7's records part corrupt.jsonl fails its checksum/),
    );
    await writeFile(join(spool, CALL_DIR, 'short.jsonl'), whole.subarray(1));
    await assert.rejects(local.read(partOf('short.jsonl')), dataLoss(/holds 23 bytes, the executor reported 24/));
    await assert.rejects(local.read(partOf('gone.jsonl')), dataLoss(/could not be read: ENOENT/));
  });

  it('refuses a path that is absolute or leaves the call directory, and parts without a named directory', async () => {
    await writeFile(join(spool, 'outside.jsonl'), whole);
    const local = createLocalParts(spool);
    await assert.rejects(local.read(partOf('b7.jsonl')), dataLoss(/named no spool directory/));
    local.onHeaders(headers(CALL_DIR));
    for (const path of [
      '../../outside.jsonl',
      '/etc/passwd',
      join(spool, 'outside.jsonl'),
      'a/../../x',
      '',
      'a\\..\\x',
    ])
      await assert.rejects(local.read(partOf(path)), dataLoss(/not in this call's spool directory; refused/), path);
    const escaping = createLocalParts(spool);
    escaping.onHeaders(headers('..'));
    await assert.rejects(escaping.read(partOf('outside.jsonl')), dataLoss(/refused/));
    const absolute = createLocalParts(spool);
    absolute.onHeaders(headers(spool));
    await assert.rejects(absolute.read(partOf('outside.jsonl')), dataLoss(/refused/));
  });
});
