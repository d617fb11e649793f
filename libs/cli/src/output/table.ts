// Output for people (aligned tables) and for scripts (`--json`): every list command goes through here so
// the two forms never drift apart.

export interface Column<T> {
  header: string;
  value: (row: T) => string | number | boolean | undefined;
  /** Right-align numbers. */
  align?: 'left' | 'right';
}

/** Plain aligned columns, two spaces apart; an empty list prints the headers and "(none)". */
export function renderTable<T>(columns: readonly Column<T>[], rows: readonly T[]): string {
  const cells = rows.map((row) => columns.map((c) => cellText(c.value(row))));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => displayWidth(r[i]!))));
  const line = (values: string[]) =>
    values
      .map((v, i) => {
        const pad = ' '.repeat(Math.max(0, widths[i]! - displayWidth(v)));
        return columns[i]!.align === 'right' ? pad + v : v + pad;
      })
      .join('  ')
      .trimEnd();
  const out = [line(columns.map((c) => c.header.toUpperCase())), ...cells.map(line)];
  if (rows.length === 0) out.push('(none)');
  return out.join('\n') + '\n';
}

/** Key/value pairs for one object (`get` commands). */
export function renderFields(fields: readonly [string, string | number | boolean | undefined][]): string {
  const width = Math.max(...fields.map(([k]) => k.length));
  return fields.map(([k, v]) => `${(k + ':').padEnd(width + 1)}  ${cellText(v)}`).join('\n') + '\n';
}

/** JSON for scripts: stable, pretty, Dates as ISO strings, Buffers as base64. */
export function renderJson(value: unknown): string {
  return (
    JSON.stringify(
      value,
      (_k, v: unknown) => {
        if (typeof v === 'bigint') return v.toString();
        if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
        if (
          v &&
          typeof v === 'object' &&
          (v as { type?: string }).type === 'Buffer' &&
          Array.isArray((v as { data?: unknown }).data)
        )
          return Buffer.from((v as { data: number[] }).data).toString('base64');
        return v;
      },
      2,
    ) + '\n'
  );
}

function cellText(v: string | number | boolean | undefined): string {
  if (v === undefined || v === '') return '-';
  if (typeof v === 'number') return formatCount(v);
  return String(v).replace(/\s*\n\s*/g, ' ');
}

// East Asian wide characters take two columns; enough for names in tables without a dependency.
function displayWidth(s: string): number {
  let w = 0;
  for (const ch of s)
    w += /[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]/u.test(ch)
      ? 2
      : 1;
  return w;
}

export function formatCount(n: number): string {
  return Number.isInteger(n) ? n.toLocaleString('en-US') : n.toFixed(2);
}
