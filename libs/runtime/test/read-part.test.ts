// readCheckedPart(): a spooled part read whole, each chunk into its own buffer, and checked before use.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { DataLossError, readCheckedPart, type PartLayout } from '@flowmesh/runtime';

const hex = (b: Uint8Array) => (crc32(b) >>> 0).toString(16).padStart(8, '0');

describe('readCheckedPart()', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'read-part-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** A part of the given chunk sizes (bytes i % 251), written to a file, with its true layout. */
  async function part(name: string, sizes: number[]): Promise<{ file: string; bytes: Buffer; layout: PartLayout }> {
    const bytes = Buffer.alloc(sizes.reduce((a, b) => a + b, 0));
    for (let i = 0; i < bytes.length; i++) bytes[i] = i % 251;
    const file = join(dir, name);
    await writeFile(file, bytes);
    const layout = { jobId: 'j', batchIndex: 3, bytes: bytes.length, checksum: hex(bytes), chunkBytes: sizes, chunkRecords: sizes.map((_, i) => i + 1) };
    return { file, bytes, layout };
  }

  // More chunks than one preadv takes (1,024), empty ones among them, sizes around the 4 KiB pool boundary;
  // a part up to 1 MiB is read with blocking calls, a larger one through the thread pool.
  for (const [kind, first] of [['small', 300_000], ['large', 1_500_000]] as const) {
    it(`yields the chunks of the layout, each its own buffer, with their records (${kind} part)`, async () => {
      const sizes = [0, first, 1, 0, 4095, 4096, 4097, ...Array.from({ length: 1500 }, (_, i) => (i * 37) % 600), 0];
      const { file, bytes, layout } = await part(kind, sizes);
      const chunks = await readCheckedPart(file, layout, 'part');
      assert.equal(chunks.length, sizes.length);
      assert.deepEqual(Buffer.concat(chunks.map((c) => c.data)), bytes);
      chunks.forEach((c, seq) => {
        assert.equal(c.seq, seq);
        assert.equal(c.batchIndex, 3);
        assert.equal(c.data.length, sizes[seq]);
        assert.equal(c.recordCount, seq + 1);
      });
      // A chunk the caller keeps does not pin the rest of the part.
      assert.equal(chunks[1]!.data.buffer.byteLength, first);
    });
  }

  it('reads an empty part', async () => {
    const { file, layout } = await part('empty', []);
    assert.deepEqual(await readCheckedPart(file, layout, 'part'), []);
  });

  it('refuses a corrupt part before yielding anything (DATA_LOSS)', async () => {
    const { file, layout } = await part('corrupt', [1000, 2000]);
    await assert.rejects(readCheckedPart(file, { ...layout, checksum: '00000000' }, 'the part'), (err: Error) => {
      assert.ok(err instanceof DataLossError);
      assert.match(err.message, /^the part fails its checksum/);
      return true;
    });
  });

  it('refuses a part whose size or chunk layout does not add up', async () => {
    const { file, layout } = await part('sizes', [1000, 2000]);
    const big = await part('big', [1_000_000, 100_000]);
    await assert.rejects(readCheckedPart(big.file, { ...big.layout, bytes: 1_100_001, chunkBytes: [1_000_001, 100_000] }, 'p'), /p holds 1100000 bytes, the executor reported 1100001/);
    await assert.rejects(readCheckedPart(big.file, { ...big.layout, chunkBytes: [1_000_000, 99_999] }, 'p'), /p: its chunks hold 1099999 of its 1100000 bytes/);
    await assert.rejects(readCheckedPart(big.file, { ...big.layout, checksum: '00000000' }, 'p'), /p fails its checksum/);
    await assert.rejects(readCheckedPart(file, { ...layout, bytes: 3001, chunkBytes: [1001, 2000] }, 'p'), /p holds 3000 bytes, the executor reported 3001/);
    await assert.rejects(readCheckedPart(file, { ...layout, chunkBytes: [1000, 1999] }, 'p'), /p: its chunks hold 2999 of its 3000 bytes/);
    await assert.rejects(readCheckedPart(join(dir, 'missing'), layout, 'p'), (err: Error) => err instanceof DataLossError && /could not be read/.test(err.message));
  });

  it('reads into the memory it is given (views a caller reuses), small and large parts alike', async () => {
    const area = Buffer.alloc(2_000_000);
    const memory = (sizes: readonly number[]) => {
      let at = 0;
      return sizes.map((n) => area.subarray(at, (at += n)));
    };
    for (const [name, sizes] of [['into-small', [0, 300, 4096, 0, 7]], ['into-large', [1_200_000, 1, 0, 500_000]]] as const) {
      const { file, bytes, layout } = await part(name, [...sizes]);
      const chunks = await readCheckedPart(file, layout, 'part', memory);
      assert.deepEqual(Buffer.concat(chunks.map((c) => c.data)), bytes);
      for (const c of chunks) assert.equal(c.data.buffer, area.buffer, 'a view of the given memory');
    }
  });
});
