// The gateway's result spool (issue 7): a part is read whole, checked (place, size, CRC-32) before any of
// it is handed out, given back in the executor's chunks and removed — refused parts too; a call's directory
// goes when the call ends; a dead gateway's directory is swept at the next start; processes that open the
// same directory read the same spool id.
import assert from 'node:assert/strict';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hostname } from 'node:os';
import { crc32 } from 'node:zlib';
import type { RecordsPart } from '@flowmesh/contracts';
import {
  createLogger,
  DataLossError,
  SPOOL_DIR_METADATA_KEY,
  SPOOL_ID_METADATA_KEY,
  isSpoolRelative,
  spoolIdentity,
} from '@flowmesh/runtime';
import { tempDir } from '@flowmesh/testing';
import { openResultSpool } from '../src/spool/result-spool.js';

const logger = createLogger('gateway', { level: 'silent' });
const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  );

describe('gateway result spool', () => {
  let dir: string;
  beforeEach(async () => {
    dir = join(await tempDir('result-spool'), 'spool');
  });

  async function writePart(callDir: string, name: string, chunks: string[]): Promise<RecordsPart> {
    const data = Buffer.from(chunks.join(''));
    await writeFile(join(dir, callDir, name), data);
    return {
      jobId: 'j1',
      batchIndex: 4,
      path: `${callDir}/${name}`,
      bytes: data.length,
      records: chunks.length * 2,
      checksum: (crc32(data) >>> 0).toString(16).padStart(8, '0'),
      checksumAlgorithm: 'crc32',
      chunkBytes: chunks.map((c) => Buffer.byteLength(c)),
      chunkRecords: chunks.map(() => 2),
    };
  }

  const callDirOf = (metadata: ReadonlyArray<readonly [string, string]>) =>
    metadata.find(([k]) => k === SPOOL_DIR_METADATA_KEY)![1];

  it('gives a verified part back in its chunks and removes it', async () => {
    const spool = await openResultSpool(dir, logger);
    const call = await spool.openCall();
    const rel = callDirOf(call.metadata);
    assert.ok(isSpoolRelative(rel));
    assert.equal(call.metadata.find(([k]) => k === SPOOL_ID_METADATA_KEY)![1], spool.id);
    const part = await writePart(rel, 'b4-e1-a1.jsonl', ['{"a":1}\n{"a":2}\n', '{"a":3}\n{"a":4}\n']);
    const chunks = await call.read(part);
    assert.deepEqual(
      chunks.map((c) => [c.seq, c.batchIndex, c.recordCount, Buffer.from(c.data).toString()]),
      [
        [0, 4, 2, '{"a":1}\n{"a":2}\n'],
        [1, 4, 2, '{"a":3}\n{"a":4}\n'],
      ],
    );
    assert.equal(await exists(join(dir, part.path)), false, 'the part is removed once read');
    await call.close();
    assert.equal(await exists(join(dir, rel)), false, 'the call directory is removed');
    await spool.close();
  });

  it('refuses a corrupt, short or misplaced part with DATA_LOSS and removes it', async () => {
    const spool = await openResultSpool(dir, logger);
    const call = await spool.openCall();
    const rel = callDirOf(call.metadata);
    const corrupt = await writePart(rel, 'b4-e1-a1.jsonl', ['{"a":1}\n']);
    await writeFile(join(dir, corrupt.path), '{"a":2}\n');
    await assert.rejects(
      call.read(corrupt),
      (e: Error) => e instanceof DataLossError && /fails its checksum/.test(e.message),
    );
    assert.equal(await exists(join(dir, corrupt.path)), false);

    const short = await writePart(rel, 'b4-e1-a2.jsonl', ['{"a":1}\n']);
    await assert.rejects(
      call.read({ ...short, bytes: 100 }),
      (e: Error) => e instanceof DataLossError && /holds 8 bytes/.test(e.message),
    );
    await assert.rejects(call.read({ ...short, path: 'elsewhere/b4.jsonl' }), /not in this call's spool directory/);
    await assert.rejects(call.read({ ...short, path: `${rel}/../x` }), /not in this call's spool directory/);
    await assert.rejects(
      call.read({ ...short, path: `${rel}/gone.jsonl` }),
      (e: Error) => e instanceof DataLossError && /could not be read/.test(e.message),
    );
    await call.close();
    await spool.close();
  });

  it('removes everything left in a call directory when the call ends (idempotent)', async () => {
    const spool = await openResultSpool(dir, logger);
    const call = await spool.openCall();
    const rel = callDirOf(call.metadata);
    await writePart(rel, 'b1-e1-a1.jsonl', ['x\n']);
    await writeFile(join(dir, rel, 'b2-e1-a1.jsonl.tmp-0011'), 'y');
    await Promise.all([call.close(), call.close()]);
    assert.equal(await exists(join(dir, rel)), false);
    await spool.close();
  });

  it('begins a call with its directory named at once and made meanwhile; a close before it is made leaves none', async () => {
    const spool = await openResultSpool(dir, logger);
    const { call, made } = spool.beginCall();
    await made;
    assert.equal(await exists(join(dir, call.dir)), true, 'the directory exists once `made` resolves');
    await call.close();
    assert.equal(await exists(join(dir, call.dir)), false);
    // Closed in the same turn as begun: the removal waits for the mkdir, so nothing is left behind.
    const early = spool.beginCall();
    await early.call.close();
    await early.made;
    assert.equal(await exists(join(dir, early.call.dir)), false, 'a close that raced the mkdir removed it');
    await spool.close();
  });

  it("sweeps the directories of this host's gateways that are gone, not those alive", async () => {
    const host = hostname().replace(/[^A-Za-z0-9.]/g, '_');
    await mkdir(dir, { recursive: true });
    // pid 2^22+1 is above Linux's pid_max: never a live process.
    const dead = `g-${host}-4194305`;
    const living = `g-${host}-${process.ppid}`;
    const otherHost = `g-${host}x-4194305`;
    for (const d of [dead, living, otherHost]) await mkdir(join(dir, d, 'call'), { recursive: true });
    const spool = await openResultSpool(dir, logger);
    const left = await readdir(dir);
    assert.ok(!left.includes(dead), "a dead gateway's directory is swept");
    assert.ok(left.includes(living), "a live gateway's directory is kept");
    assert.ok(left.includes(otherHost), "another host's directory is not ours to judge");
    await spool.close();
  });

  it('processes opening one directory read one id; another directory has another', async () => {
    const [a, b] = await Promise.all([spoolIdentity(dir), spoolIdentity(dir)]);
    assert.equal(a, b);
    assert.notEqual(await spoolIdentity(`${dir}-2`), a);
  });
});
