// Writes a deterministic orders CSV (docs/orders-data.md):
//   node --import tsx scripts/gen-orders.ts --records 1000000 --out FILE [--seed 1] [--invalid-rate 0.01]
//     [--newline-rate 0.005] [--crlf]
// Streams to disk with backpressure (pipeline waits for 'drain'), so memory stays at about one chunk.
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { generateOrders } from '@flowmesh/flow';

const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '1000' },
    out: { type: 'string' },
    seed: { type: 'string', default: '1' },
    'invalid-rate': { type: 'string', default: '0.01' },
    'newline-rate': { type: 'string', default: '0.005' },
    crlf: { type: 'boolean', default: false },
  },
});

function number(name: string, text: string | undefined): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0) {
    process.stderr.write(`gen-orders: --${name} must be a non-negative number, got ${String(text)}\n`);
    process.exit(2);
  }
  return value;
}

const records = number('records', values.records);
const started = performance.now();
const chunks = generateOrders({
  records,
  seed: number('seed', values.seed),
  invalidRate: number('invalid-rate', values['invalid-rate']),
  newlineRate: number('newline-rate', values['newline-rate']),
  newline: values.crlf ? '\r\n' : '\n',
});
const out = values.out === undefined ? process.stdout : createWriteStream(values.out);
try {
  await pipeline(Readable.from(chunks, { objectMode: false }), out);
} catch (err) {
  // A reader that stops early (`| head`) is not an error.
  if ((err as NodeJS.ErrnoException).code !== 'EPIPE') throw err;
}
if (values.out !== undefined) {
  const seconds = (performance.now() - started) / 1000;
  process.stderr.write(`${records} records → ${values.out} in ${seconds.toFixed(2)} s\n`);
}
