// Functions the orders flow and similar cleanups need that CEL's standard library lacks. Registered through
// cel-js' Environment.registerFunction (typed signatures, checked at store time) — never by evaluating text.
import type { Environment } from '@marcbachmann/cel-js';

const regexCache = new Map<string, RegExp>();
function globalRegex(pattern: string): RegExp {
  let re = regexCache.get(pattern);
  if (!re) {
    re = new RegExp(pattern, 'gu');
    // Bounded: patterns come from flow text, so a handful per flow.
    if (regexCache.size > 256) regexCache.clear();
    regexCache.set(pattern, re);
  }
  re.lastIndex = 0;
  return re;
}

function roundTo(x: number, digits: bigint): number {
  const f = 10 ** Number(digits);
  // EPSILON nudge so 1.005 rounds to 1.01 the way people expect of money.
  return Math.round((x + Math.sign(x) * Number.EPSILON * Math.abs(x)) * f) / f;
}

const roundValue = (x: number) => Math.round(x);
const floorValue = (x: number) => Math.floor(x);
const ceilValue = (x: number) => Math.ceil(x);
const absValue = (x: number) => Math.abs(x);

type Impl = (...args: never[]) => unknown;
/** Global (non-method) functions by name/arity with their JS argument types, shared with the fast path. */
const GLOBAL_FUNCTIONS: Record<string, [string[], Impl]> = {
  'round/2': [['number', 'bigint'], roundTo as Impl],
  'round/1': [['number'], roundValue as Impl],
  'floor/1': [['number'], floorValue as Impl],
  'ceil/1': [['number'], ceilValue as Impl],
  'abs/1': [['number'], absValue as Impl],
};

export function flowFunction(name: string, arity: number): [string[], (...args: unknown[]) => unknown] | undefined {
  return GLOBAL_FUNCTIONS[`${name}/${arity}`] as [string[], (...args: unknown[]) => unknown] | undefined;
}

/** Names and signatures, listed in docs/flows.md. */
export function registerFlowFunctions(env: Environment): Environment {
  return env
    .registerFunction('string.replace(string, string): string', (s: string, a: string, b: string) => s.replaceAll(a, b))
    .registerFunction('string.replaceRegex(string, string): string', (s: string, p: string, b: string) =>
      s.replace(globalRegex(p), b))
    .registerFunction('string.lower(): string', (s: string) => s.toLowerCase())
    .registerFunction('string.upper(): string', (s: string) => s.toUpperCase())
    .registerFunction('string.trimStart(): string', (s: string) => s.trimStart())
    .registerFunction('string.trimEnd(): string', (s: string) => s.trimEnd())
    .registerFunction('string.padStart(int, string): string', (s: string, n: bigint, p: string) => s.padStart(Number(n), p))
    .registerFunction('round(double, int): double', roundTo)
    .registerFunction('round(double): double', roundValue)
    .registerFunction('floor(double): double', floorValue)
    .registerFunction('ceil(double): double', ceilValue)
    .registerFunction('abs(double): double', absValue)
    .registerFunction('isNumber(string): bool', (s: string) => s.trim() !== '' && Number.isFinite(Number(s)))
    .registerFunction('get(map, string, dyn): dyn', (m: Record<string, unknown> | Map<string, unknown>, k: string, d: unknown) => {
      const v = m instanceof Map ? m.get(k) : Object.prototype.hasOwnProperty.call(m, k) ? m[k] : undefined;
      return v === undefined || v === null ? d : v;
    });
}
