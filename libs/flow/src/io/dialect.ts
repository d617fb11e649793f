// CSV dialect options resolved once into a complete object with documented defaults.
import type { CsvDialect } from './decode-csv.js';

export const DEFAULT_DELIMITER = ',';
export const DEFAULT_QUOTE = '"';

/** Resolves `{ delimiter?, quote? }`; both must be one character (and not a line break) — the scanner compares single bytes. */
export function resolveDialect(opts: { delimiter?: string; quote?: string }): CsvDialect {
  const delimiter = opts.delimiter ?? DEFAULT_DELIMITER;
  const quote = opts.quote ?? DEFAULT_QUOTE;
  for (const [name, value] of [['delimiter', delimiter], ['quote', quote]] as const) {
    if (value.length !== 1 || value === '\n' || value === '\r' || value.charCodeAt(0) > 0x7f) {
      throw new RangeError(`CSV ${name} must be one ASCII character other than CR/LF, got ${JSON.stringify(value)}`);
    }
  }
  if (delimiter === quote) throw new RangeError('CSV delimiter and quote must differ');
  return { delimiter, quote };
}
