// The batch trailer checksum: CRC-32 (zlib.crc32, Node >= 20.15) over the chunk payloads in order.
// Incremental so executors and the coordinator checksum chunks as they stream, without concatenating.
// Note: this is CRC-32 (IEEE), the one Node ships natively; docs/architecture.md said CRC-32C.
import { crc32 } from 'node:zlib';

export interface Checksum {
  update(bytes: Uint8Array): Checksum;
  /** 8 lowercase hex digits. */
  digest(): string;
}

export function createChecksum(): Checksum {
  let value = 0;
  const checksum: Checksum = {
    update(bytes) {
      value = crc32(bytes, value);
      return checksum;
    },
    digest() {
      return value.toString(16).padStart(8, '0');
    },
  };
  return checksum;
}

export function crc32hex(buffers: Iterable<Uint8Array>): string {
  const checksum = createChecksum();
  for (const bytes of buffers) checksum.update(bytes);
  return checksum.digest();
}
