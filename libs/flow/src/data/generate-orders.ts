// Deterministic orders CSV (docs/orders-data.md): the example flow's input and the benchmarks' data set.
// Same seed → same bytes. `order_id` is the record's 1-based position, which the chaos checker relies on.
// Rows are written straight into ~1 MiB chunk Buffers, so 1M rows take about a second.

export const ORDER_COLUMNS = [
  'order_id', 'customer', 'email', 'country', 'sku', 'quantity', 'unit_price', 'order_date', 'note',
] as const;

export type InvalidKind = 'bad-email' | 'negative-quantity' | 'unknown-country' | 'wrong-field-count';

export interface GenerateOrdersOptions {
  records: number;
  /** @default 1 */
  seed?: number;
  /** Share of rows made invalid (bad email, negative quantity, unknown country, wrong field count). @default 0.01 */
  invalidRate?: number;
  /** Share of rows whose quoted `note` holds a newline. @default 0.005 */
  newlineRate?: number;
  /** Line terminator. @default '\n' */
  newline?: '\n' | '\r\n';
  /** Approximate size of yielded chunks. @default 1 MiB */
  chunkBytes?: number;
}

export const KNOWN_COUNTRIES = ['US', 'DE', 'FR', 'GB', 'ES', 'IT', 'NL', 'SE', 'PL', 'JP', 'CA', 'AU', 'BR', 'IN', 'CH'] as const;

const FIRST = ['John', 'Mary', 'José', 'Zoë', 'Łukasz', 'Søren', 'Ana', 'Li', 'Ahmed', 'Chloé', 'Björn', 'Yuki',
  'Olga', 'Peter', 'Fatima', 'Mateo', 'Emma', 'Noah', 'Aiko', 'Jürgen'];
const LAST = ['Smith', 'Müller', 'García', 'Nowak', 'Rossi', 'Dubois', 'Jensen', 'Tanaka', 'Silva', 'Kowalski',
  'Brown', 'Østergaard', 'Fernández', 'Nguyen', 'Schröder', 'Wang', 'Iglesias', 'Novák', 'Khan', 'Lefèvre'];
const NICKS = ['Jack', 'Bobby', 'The Boss', 'Ace'];
const NOTES = ['gift wrap', 'leave at door', 'call before delivery, please', 'fragile', 'no invoice', 'ring twice'];
const DOMAINS = ['example.com', 'mail.test', 'shop.example', 'inbox.test'];
const INVALID: InvalidKind[] = ['bad-email', 'negative-quantity', 'unknown-country', 'wrong-field-count'];

/** mulberry32: tiny, fast, good enough for test data, and the same on every platform. */
function createRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** ASCII-only form of a name for the email local part. */
function asciiLower(s: string): string {
  return s.normalize('NFD').replace(/[^\x20-\x7e]/g, '').toLowerCase().replace(/[^a-z]/g, '');
}

const DAY_MS = 86_400_000;
const EPOCH_2024 = Date.UTC(2024, 0, 1);

/** Yields the file as Buffers: the header first, then chunks of whole rows. */
export function* generateOrders(opts: GenerateOrdersOptions): Generator<Buffer, void, undefined> {
  const random = createRandom(opts.seed ?? 1);
  const invalidRate = opts.invalidRate ?? 0.01;
  const newlineRate = opts.newlineRate ?? 0.005;
  const nl = opts.newline ?? '\n';
  const chunkBytes = opts.chunkBytes ?? 1024 * 1024;
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  // Email local parts are precomputed per name pair: normalize() per row would dominate the run time.
  const localParts = LAST.map((last) => FIRST.map((first) => `${asciiLower(first)}.${asciiLower(last)}`));
  const dates = Array.from({ length: 366 }, (_, d) => new Date(EPOCH_2024 + d * DAY_MS).toISOString().slice(0, 10));

  // Each row is written into the chunk Buffer at once: short-lived row strings keep GC cheap (measured
  // 3.4 s → ~1 s per 1M rows against accumulating one long string per chunk).
  let chunk = Buffer.allocUnsafe(chunkBytes + 64 * 1024);
  let used = chunk.write(ORDER_COLUMNS.join(',') + nl, 0, 'utf8');
  for (let id = 1; id <= opts.records; id++) {
    const fi = Math.floor(random() * FIRST.length);
    const li = Math.floor(random() * LAST.length);
    let customer = `${LAST[li]!}, ${FIRST[fi]!}`;
    if (random() < 0.02) customer += ` ""${pick(NICKS)}""`; // escaped quotes inside the quoted field
    let email = `${localParts[li]![fi]!}${id % 100}@${pick(DOMAINS)}`;
    if (random() < 0.05) email = ` ${email.toUpperCase()} `; // the flow trims and lowercases
    let country: string = pick(KNOWN_COUNTRIES);
    const sku = `SKU-${String(10000 + Math.floor(random() * 90000))}`;
    let quantity = 1 + Math.floor(random() * 20);
    const cents = 100 + Math.floor(random() * 50000);
    const price = `${Math.floor(cents / 100)}.${cents % 100 < 10 ? '0' : ''}${cents % 100}`;
    const date = dates[Math.floor(random() * 366)]!;
    let note = '';
    const r = random();
    if (r < newlineRate) note = `"${pick(NOTES)}\n${pick(NOTES)}"`;
    else if (r < newlineRate + 0.05) note = `"${pick(NOTES)}"`;
    let wrongWidth = false;
    if (random() < invalidRate) {
      switch (pick(INVALID)) {
        case 'bad-email': email = email.replace('@', ' at '); break;
        case 'negative-quantity': quantity = -quantity; break;
        case 'unknown-country': country = 'XX'; break;
        case 'wrong-field-count': wrongWidth = true; break;
      }
    }
    const row = `${id},"${customer}",${email},${country},${sku},${quantity},${price},${date}${wrongWidth ? '' : ',' + note}${nl}`;
    // A row is far below the 64 KiB slack, so it always fits after a chunk that is not yet full.
    used += chunk.write(row, used, 'utf8');
    if (used >= chunkBytes) {
      yield chunk.subarray(0, used);
      chunk = Buffer.allocUnsafe(chunkBytes + 64 * 1024);
      used = 0;
    }
  }
  if (used > 0) yield chunk.subarray(0, used);
}
