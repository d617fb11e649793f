// Worker of the thread-pool baseline: reads one byte range, decodes, transforms, encodes JSON lines.
import { open } from 'node:fs/promises';
import { createJsonlEncoder, createRecordReader, type FlowRecord } from '@flowmesh/flow';
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
  // The same decode → transform → encode as an executor's runBatch, record by record (the record reader
  // and the JSONL chunk encoder of @flowmesh/flow), so the comparison stays fair.
  const reader = createRecordReader('csv', bytes, { fields: task.fields, firstLine: task.firstLine });
  const encoder = createJsonlEncoder();
  const chunks: Buffer[] = [];
  let recordsIn = 0;
  let recordsOut = 0;
  let rejected = 0;
  const ctx = { vars: {}, globals: {} };
  const emit = (r: FlowRecord) => {
    recordsOut++;
    const chunk = encoder.write(r);
    if (chunk) chunks.push(chunk.bytes);
  };
  reader.read(
    (record) => {
      recordsIn++;
      if (!applyTransform(transform!, record, ctx, emit)) rejected++;
    },
    () => {
      recordsIn++;
      rejected++;
    },
  );
  const rest = encoder.flush();
  if (rest) chunks.push(rest.bytes);
  const output = Buffer.concat(chunks);
  return { recordsIn, recordsOut, rejected, output };
}
