// Deterministic orders CSV (docs/orders-data.md): the example flow's input and the benchmarks' data set.
// Same seed → same bytes. `order_id` is `O-` + the record's 1-based position in 9 digits (`orderId(n)`):
// the chaos checker identifies records by it.
// Rows are written straight into ~1 MiB chunk Buffers, so 1M rows take ~2.5 s.

export const ORDER_COLUMNS = [
  'order_id', 'customer', 'email', 'country', 'sku', 'quantity', 'unit_price', 'order_date', 'note',
] as const;

export type InvalidKind = 'bad-email' | 'bad-quantity' | 'bad-price' | 'unknown-country' | 'wrong-field-count';

export interface GenerateOrdersOptions {
  records: number;
  /** @default 1 */
  seed?: number;
  /** Share of rows made invalid (bad/empty email, bad quantity, bad price, unknown country, wrong field count). @default 0.02 */
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
  'Olga', 'Peter', 'Fatima', 'Mateo', 'Emma', 'Noah', 'Seán', 'Jürgen'];
const LAST = ['Smith', 'Müller', 'García', 'Nowak', 'Rossi', 'Dubois', 'Jensen', 'Tanaka', 'Silva', 'Kowalski',
  'Brown', 'Østergaard', 'Fernández', 'Nguyen', 'Schröder', 'Wang', 'Iglesias', 'Novák', 'Khan', 'Lefèvre'];
const NICKS = ['Jack', 'Bobby', 'The Boss', 'Ace'];
// CSV-encoded note bodies (inside quotes): commas and "" escaped quotes included.
const NOTES = ['gift wrap', 'leave at door', 'call before delivery, please', 'fragile', 'no invoice', 'ring twice',
  'say ""hi"" to the dog', 'box ""A"", shelf 2'];
const DOMAINS = ['example.com', 'mail.test', 'shop.example', 'inbox.test'];
const INVALID: InvalidKind[] = ['bad-email', 'bad-email', 'bad-quantity', 'bad-price', 'unknown-country', 'wrong-field-count'];
const BAD_QUANTITIES = ['0', '-3', 'abc'];
// Letters NFD does not decompose into an ASCII base.
const ASCII_FOLD: Record<string, string> = { 'Ł': 'L', 'ł': 'l', 'Ø': 'O', 'ø': 'o', 'ß': 'ss' };

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

/** ASCII-only lower-case form of a name for the email local part. */
function asciiLower(s: string): string {
  return s.replace(/[ŁłØøß]/g, (c) => ASCII_FOLD[c] ?? '').normalize('NFD').toLowerCase().replace(/[^a-z]/g, '');
}

const DAY_MS = 86_400_000;
const EPOCH_2024 = Date.UTC(2024, 0, 1);

/** The `order_id` of the record at 1-based position `n`. */
export function orderId(n: number): string {
  return `O-${String(n).padStart(9, '0')}`;
}

/** Yields the file as Buffers: the header first, then chunks of whole rows. */
export function* generateOrders(opts: GenerateOrdersOptions): Generator<Buffer, void, undefined> {
  const random = createRandom(opts.seed ?? 1);
  const invalidRate = opts.invalidRate ?? 0.02;
  const newlineRate = opts.newlineRate ?? 0.005;
  const nl = opts.newline ?? '\n';
  const chunkBytes = opts.chunkBytes ?? 1024 * 1024;
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  // Email local parts are precomputed per name pair: normalize() per row would dominate the run time.
  const localParts = LAST.map((last) => FIRST.map((first) => `${asciiLower(first)}.${asciiLower(last)}`));
  const dates = Array.from({ length: 366 }, (_, d) => new Date(EPOCH_2024 + d * DAY_MS).toISOString().slice(0, 10));

  // Each row is written into the chunk Buffer at once: short-lived row strings keep GC cheap (measured
  // 3.4 s → 2.4 s per 1M rows against accumulating one long string per chunk).
  let chunk = Buffer.allocUnsafe(chunkBytes + 64 * 1024);
  let used = chunk.write(ORDER_COLUMNS.join(',') + nl, 0, 'utf8');
  for (let id = 1; id <= opts.records; id++) {
    const fi = Math.floor(random() * FIRST.length);
    const li = Math.floor(random() * LAST.length);
    const first = FIRST[fi]!;
    const last = LAST[li]!;
    const shape = random();
    let customer: string;
    if (shape < 0.1) customer = `${first} ${last}`; // "First Last", unquoted
    else if (shape < 0.12) customer = `"O""${last}, ${first}"`; // escaped quotes
    else if (shape < 0.14) customer = `"${last}, ${first} ""${pick(NICKS)}"""`;
    else customer = `"${last}, ${first}"`;
    let email = `${localParts[li]![fi]!}${id % 100}@${pick(DOMAINS)}`;
    // Mixed case and surrounding spaces: the flow trims and lower-cases.
    if (random() < 0.1) email = `  ${email.charAt(0).toUpperCase()}${email.slice(1, -4)}${email.slice(-4).toUpperCase()} `;
    let country: string = pick(KNOWN_COUNTRIES);
    const sku = `SKU-${String(10000 + Math.floor(random() * 90000))}`;
    let quantity = String(1 + Math.floor(random() * 20));
    const cents = 50 + Math.floor(random() * 99950);
    let price = `${Math.floor(cents / 100)}.${cents % 100 < 10 ? '0' : ''}${cents % 100}`;
    const date = dates[Math.floor(random() * 366)]!;
    let note = '';
    const r = random();
    if (r < newlineRate) note = `"${pick(NOTES)}\n${pick(NOTES)}"`;
    else if (r < newlineRate + 0.05) note = `"${pick(NOTES)}"`;
    let wrongWidth = false;
    if (random() < invalidRate) {
      switch (pick(INVALID)) {
        case 'bad-email': email = random() < 0.5 ? '' : email.replace('@', ' at '); break;
        case 'bad-quantity': quantity = pick(BAD_QUANTITIES); break;
        case 'bad-price': price = 'n/a'; break;
        case 'unknown-country': country = 'ZZ'; break;
        case 'wrong-field-count': wrongWidth = true; break;
      }
    }
    const row = `${orderId(id)},${customer},${email},${country},${sku},${quantity},${price},${date}${wrongWidth ? '' : ',' + note}${nl}`;
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
