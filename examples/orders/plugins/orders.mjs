// Orders enrichment as a flowmesh plugin: the same logic as ../orders.flow.yaml, in plain JavaScript.
// A plugin function takes a record and returns a record (or an array, or null to drop it); a throw
// rejects the record with the message.
import { readFileSync } from 'node:fs';

// The tax table ships beside the plugin when deployed; in this repository it is ../tax-rates.json.
function loadRates() {
  for (const candidate of ['./tax-rates.json', '../tax-rates.json']) {
    try {
      const table = JSON.parse(readFileSync(new URL(candidate, import.meta.url), 'utf8'));
      return new Map(table.rows.map((row) => [String(row[table.keyColumn]), row.rate]));
    } catch {
      // try the next location
    }
  }
  throw new Error('orders plugin: tax-rates.json not found');
}
const RATES = loadRates();

const EMAIL = /^[^@ ]+@[^@ ]+[.][a-z]+$/u;
const DIGITS = /^[0-9]+$/;
const DECIMAL = /^[0-9]+([.][0-9]+)?$/;

// Same rounding as the flow's CEL round(x, digits).
function round(x, digits) {
  const f = 10 ** digits;
  return Math.round((x + Math.sign(x) * Number.EPSILON * Math.abs(x)) * f) / f;
}

export function enrichOrder(record) {
  const email = record.email.trim().toLowerCase();
  record.email = email;
  if (!EMAIL.test(email)) throw new Error('invalid email');
  if (!DIGITS.test(record.quantity) || Number(record.quantity) < 1) throw new Error('quantity must be a positive integer');
  if (!DECIMAL.test(record.unit_price)) throw new Error('unit_price must be a decimal number');
  const rate = RATES.get(record.country);
  if (rate === undefined) throw new Error(`no row in "tax-rates" for key "${record.country}"`);
  record.tax_rate = rate;
  const parts = record.customer.split(',');
  record.customer = parts.length === 2 ? `${parts[1].trim()} ${parts[0].trim()}` : record.customer.trim();
  const quantity = Number(record.quantity);
  const unitPrice = Number(record.unit_price);
  record.quantity = quantity;
  record.unit_price = unitPrice;
  const subtotal = round(quantity * unitPrice, 2);
  record.subtotal = subtotal;
  const tax = round(subtotal * rate, 2);
  record.tax = tax;
  record.total = round(subtotal + tax, 2);
  return record;
}

export default enrichOrder;
