// The batch trailer checksum: CRC-32 (crc32.ts) over the chunk payloads in order.
// Incremental so executors and the coordinator checksum chunks as they stream, without concatenating.
// Note: this is CRC-32 (IEEE), the one Node ships natively; docs/architecture.md said CRC-32C.
import { crc32, crc32Hex } from './crc32.js';

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
      return crc32Hex(value);
    },
  };
  return checksum;
}

export function crc32hex(buffers: Iterable<Uint8Array>): string {
  const checksum = createChecksum();
  for (const bytes of buffers) checksum.update(bytes);
  return checksum.digest();
}
