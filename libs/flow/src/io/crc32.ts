// CRC-32 (IEEE), the checksum of every batch's output: executors compute it over each chunk as it is encoded,
// readers of a part (the gateway, a local client) over every byte again — 2 × ~245 MB for a 1M-record job
// (issue 7 target 1). @node-rs/crc32 (SIMD, PCLMULQDQ) does ~10 GB per CPU-second on this machine against
// ~3.5 for node:zlib's, for the same values (so executors and readers of either kind agree); zlib's is the
// fallback where the package's binary for this platform is not installed.
import { createRequire } from 'node:module';
import { crc32 as zlibCrc32 } from 'node:zlib';

type Crc32 = (bytes: Uint8Array, value?: number) => number;

function load(): Crc32 {
  try {
    const native = (
      createRequire(import.meta.url)('@node-rs/crc32') as { crc32: (b: Uint8Array, v?: number) => number }
    ).crc32;
    // A binary that loads but disagrees would make every part look corrupt: check it on the standard vector.
    if (native(Buffer.from('123456789')) >>> 0 === 0xcbf43926) return native;
  } catch {
    // No binary for this platform: zlib's below.
  }
  return zlibCrc32;
}

/** CRC-32 of `bytes`, continuing from `value` (the CRC of the bytes before them; 0 to start). Unsigned. */
export const crc32: Crc32 = (() => {
  const impl = load();
  // Empty input leaves the value as it is — said here because node:zlib's returns 0 for an empty view
  // without a backing store (zlib's crc32 with a null pointer gives its initial value), which broke the
  // running checksum of a part with an empty chunk.
  return (bytes, value = 0) => (bytes.length === 0 ? value >>> 0 : impl(bytes, value) >>> 0);
})();

/** 8 lowercase hex digits, as trailers and part references carry it. */
export function crc32Hex(value: number): string {
  return (value >>> 0).toString(16).padStart(8, '0');
}
