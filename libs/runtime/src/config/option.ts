// Option specs: one flag, its environment fallback, a default, and a parser that says what it expected.
// Builders keep the type of the resolved value, so `resolveConfig` returns a fully typed object.

export interface OptionSpec<T> {
  /** Commander syntax: "--grace-ms <ms>" (value) or "--verbose" (boolean switch). */
  flag: string;
  /** Environment fallback, e.g. "FLOWMESH_GRACE_MS". */
  env?: string;
  description: string;
  /** Used when neither the flag nor the environment gives a value. */
  default?: T;
  /** Fail start-up when no value is given at all. */
  required?: boolean;
  /** What a valid value looks like, for error messages ("a non-negative integer"). */
  expected: string;
  /** Returns the value, or undefined when `raw` is not valid. */
  parse(raw: string): T | undefined;
  /** Switch without a value (commander passes `true`). */
  isSwitch?: boolean;
}

interface Base {
  flag: string;
  env?: string;
  description: string;
  required?: boolean;
}

export type OptionsSchema = Record<string, OptionSpec<unknown>>;

/** The resolved configuration of a schema: options with a default (or required) are never undefined. */
export type ConfigOf<S extends OptionsSchema> = {
  [K in keyof S]: S[K] extends OptionSpec<infer T> ? T : never;
};

function spec<T>(base: Base & { default?: T }, expected: string, parse: (raw: string) => T | undefined): OptionSpec<T> {
  return { ...base, expected, parse };
}

export function string(o: Base & { default: string }): OptionSpec<string>;
export function string(o: Base): OptionSpec<string | undefined>;
export function string(o: Base & { default?: string }): OptionSpec<string | undefined> {
  return spec<string | undefined>(o, 'a non-empty string', (raw) => (raw.length > 0 ? raw : undefined));
}

export function integer(o: Base & { default: number; min?: number; max?: number }): OptionSpec<number>;
export function integer(o: Base & { min?: number; max?: number }): OptionSpec<number | undefined>;
export function integer(o: Base & { default?: number; min?: number; max?: number }): OptionSpec<number | undefined> {
  const min = o.min ?? 0;
  const expected =
    o.max !== undefined
      ? `an integer from ${min} to ${o.max}`
      : min === 0
        ? 'a non-negative integer'
        : `an integer >= ${min}`;
  return spec<number | undefined>(o, expected, (raw) => {
    if (!/^-?\d+$/.test(raw.trim())) return undefined;
    const n = Number(raw);
    if (!Number.isSafeInteger(n) || n < min || (o.max !== undefined && n > o.max)) return undefined;
    return n;
  });
}

export function oneOf<const V extends string>(values: readonly V[], o: Base & { default: V }): OptionSpec<V>;
export function oneOf<const V extends string>(values: readonly V[], o: Base): OptionSpec<V | undefined>;
export function oneOf<const V extends string>(
  values: readonly V[],
  o: Base & { default?: V },
): OptionSpec<V | undefined> {
  return spec<V | undefined>(o, `one of ${values.join(', ')}`, (raw) =>
    (values as readonly string[]).includes(raw) ? (raw as V) : undefined,
  );
}

/** "host:port" or "[v6]:port"; port 0 means "pick a free port". */
export function address(o: Base & { default: string }): OptionSpec<string>;
export function address(o: Base): OptionSpec<string | undefined>;
export function address(o: Base & { default?: string }): OptionSpec<string | undefined> {
  return spec<string | undefined>(o, 'host:port with a port from 0 to 65535', (raw) => {
    const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(raw.trim());
    if (!m || Number(m[2]) > 65535) return undefined;
    return raw.trim();
  });
}

/** Comma-separated list, e.g. etcd endpoints. */
export function list(o: Base & { default: string[] }): OptionSpec<string[]>;
export function list(o: Base): OptionSpec<string[] | undefined>;
export function list(o: Base & { default?: string[] }): OptionSpec<string[] | undefined> {
  return spec<string[] | undefined>(o, 'a comma-separated list', (raw) => {
    const items = raw
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    return items.length > 0 ? items : undefined;
  });
}

/** A switch: `--flag` on the command line, or true/false/1/0 in the environment. @default false */
export function boolean(o: Base & { default?: boolean }): OptionSpec<boolean> {
  return {
    ...spec<boolean>({ ...o, default: o.default ?? false }, 'true, false, 1 or 0', (raw) =>
      ['true', '1'].includes(raw) ? true : ['false', '0'].includes(raw) ? false : undefined,
    ),
    isSwitch: true,
  };
}
