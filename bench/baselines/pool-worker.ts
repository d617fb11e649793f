// Worker of the thread-pool baseline: reads one byte range, decodes, transforms, encodes JSON lines.
import { open } from 'node:fs/promises';
import { decodeRecords, encodeJsonl } from '@flowmesh/flow';
import { applyTransform, loadTransform, type Transform } from '../lib/plugin.js';

let transform: Transform | undefined;

export interface PoolTask {
  file: string;
  offset: number;
  length: number;
  firstLine: number;
  fields: string[];
}

export default async function run(task: PoolTask): Promise<{ recordsIn: number; recordsOut: number; rejected: number; output: Buffer }> {
  transform ??= await loadTransform();
  const fh = await open(task.file, 'r');
  const bytes = Buffer.allocUnsafe(task.length);
  try {
    await fh.read(bytes, 0, task.length, task.offset);
  } finally {
    await fh.close();
  }
  const decoded = decodeRecords('csv', bytes, { fields: task.fields, firstLine: task.firstLine });
  const out: Record<string, unknown>[] = [];
  let rejected = decoded.errors.length;
  const ctx = { vars: {}, globals: {} };
  for (const record of decoded.records) {
    if (!applyTransform(transform, record, ctx, (r) => out.push(r))) rejected++;
  }
  const output = encodeJsonl(out);
  return { recordsIn: decoded.records.length + decoded.errors.length, recordsOut: out.length, rejected, output };
}
