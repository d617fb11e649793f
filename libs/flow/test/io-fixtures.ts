// Shared helpers for the io tests: temp files, a seeded random source, and "decode every planned batch".
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeRecords, planBatches, readHeader } from '../src/io/index.js';
import type { BatchRange, DecodeResult, PlanOptions, RecordFormat } from '../src/io/index.js';

export function createTempDir(): { file(name: string, content: string | Buffer): string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'flowmesh-io-'));
  return {
    file(name, content) {
      const path = join(dir, name);
      writeFileSync(path, content);
      return path;
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface PlannedDecode {
  batches: BatchRange[];
  result: DecodeResult;
  whole: DecodeResult;
}

/**
 * Reads the header, plans batches with `plan`, decodes each batch on its own (as an executor would) and
 * returns their union next to a decode of the whole data region; asserts the ranges tile the data exactly.
 */
export async function decodeInBatches(
  path: string,
  format: RecordFormat,
  plan: Partial<PlanOptions>,
): Promise<PlannedDecode> {
  const fh = await open(path, 'r');
  try {
    const info = await readHeader(fh, format);
    const { size } = await fh.stat();
    const data = Buffer.alloc(size - info.dataOffset);
    await fh.read(data, 0, data.length, info.dataOffset);
    const fields = format === 'csv' ? info.fields : undefined;
    const whole = decodeRecords(format, data, { fields, firstLine: info.firstLine });
    const batches: BatchRange[] = [];
    for await (const batch of planBatches(fh, { format, dataOffset: info.dataOffset, firstLine: info.firstLine, ...plan })) {
      batches.push(batch);
    }
    const result: DecodeResult = { records: [], lines: [], errors: [] };
    let expectedOffset = info.dataOffset;
    let expectedFirstRecord = 0;
    for (const [i, batch] of batches.entries()) {
      assert.equal(batch.index, i, 'batch indexes count up from 0');
      assert.equal(batch.offset, expectedOffset, `batch ${i} starts where the previous one ended`);
      assert.ok(batch.length > 0 && batch.records > 0, `batch ${i} is not empty`);
      expectedOffset += batch.length;
      assert.equal(batch.firstRecord, expectedFirstRecord, `batch ${i}: firstRecord counts earlier records`);
      expectedFirstRecord += batch.records;
      const bytes = data.subarray(batch.offset - info.dataOffset, batch.offset - info.dataOffset + batch.length);
      const part = decodeRecords(format, bytes, { fields, firstLine: batch.firstLine });
      assert.equal(part.records.length + part.errors.length, batch.records, `batch ${i}: planned record count`);
      result.records.push(...part.records);
      result.lines.push(...part.lines);
      result.errors.push(...part.errors);
    }
    // What follows the last batch can only be empty lines.
    assert.match(data.subarray(expectedOffset - info.dataOffset).toString('utf8'), /^[\r\n]*$/);
    return { batches, result, whole };
  } finally {
    await fh.close();
  }
}

export function stripFields(result: DecodeResult): Omit<DecodeResult, 'fields'> {
  return { records: result.records, lines: result.lines, errors: result.errors };
}
