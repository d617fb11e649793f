// crc32(): the checksum of every part, incremental over its chunks.
import assert from 'node:assert/strict';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { crc32, crc32Hex } from '../src/io/crc32.js';

describe('crc32()', () => {
  it('gives CRC-32 (IEEE) values, whole or chunk by chunk', () => {
    assert.equal(crc32Hex(crc32(Buffer.from('123456789'))), 'cbf43926');
    const bytes = Buffer.from(Array.from({ length: 100_000 }, (_, i) => (i * 7) % 256));
    let value = 0;
    for (let at = 0; at < bytes.length; at += 4093) value = crc32(bytes.subarray(at, at + 4093), value);
    assert.equal(value, zlibCrc32(bytes) >>> 0);
  });

  it('leaves a running value as it is for an empty chunk, whatever its backing store', () => {
    const value = crc32(Buffer.from('1234'));
    for (const empty of [
      Buffer.allocUnsafe(0),
      Buffer.alloc(0),
      new Uint8Array(0),
      Buffer.allocUnsafe(10).subarray(5, 5),
    ])
      assert.equal(crc32(empty, value), value);
    assert.equal(crc32Hex(crc32(Buffer.from('56789'), crc32(Buffer.allocUnsafe(0), value))), 'cbf43926');
  });
});
