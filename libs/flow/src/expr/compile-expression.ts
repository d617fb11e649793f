// Compiles expression text once per flow into an evaluator called per record with a reused context
// object (no per-record allocation here). Simple shapes are turned into direct closures over the parsed
// AST (see fast-path.ts); everything else runs through cel-js' own evaluator.
import { celEnvironment, scopeRoots, type ExprScope } from './environment.js';
import { fastPath } from './fast-path.js';

/** The variables an expression sees; one object per batch, its `record` swapped per record. */
export interface EvalContext {
  record: Record<string, unknown>;
  vars: Record<string, string>;
  globals: Record<string, unknown>;
  summary?: Record<string, unknown>;
  aggregates?: unknown[];
}

export type Evaluator = (ctx: EvalContext) => unknown;

export class ExpressionError extends Error {
  constructor(readonly expression: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ExpressionError';
  }
}

export interface CompileOptions {
  /** Use cel-js for everything (the oracle in tests of the fast path). */
  noFastPath?: boolean;
}

export function compileExpression(text: string, scope: ExprScope, opts: CompileOptions = {}): Evaluator {
  const env = celEnvironment(scope);
  let parsed: ReturnType<typeof env.parse>;
  try {
    parsed = env.parse(text);
    const checked = parsed.check();
    if (!checked.valid) throw checked.error ?? new Error('type check failed');
  } catch (err) {
    throw new ExpressionError(text, `invalid expression "${text}": ${firstLine(err)}`, { cause: err });
  }
  const slow = parsed as unknown as Evaluator;
  const fast = opts.noFastPath ? undefined : fastPath(parsed.ast, scopeRoots(scope));
  if (!fast) return slow;
  return (ctx) => {
    try {
      return fast(ctx);
    } catch {
      // The fast path declined (or met an error): cel-js decides, with its own result or message.
      return slow(ctx);
    }
  };
}

export function firstLine(err: unknown): string {
  return String((err as { message?: unknown })?.message ?? err).split('\n')[0] ?? '';
}

/**
 * CEL integers are BigInt; records are JSON. Safe integers become numbers, larger ones strings (JSON
 * has no big integers), and containers are converted deeply only when they hold a BigInt.
 */
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);

export function toJsonValue(value: unknown): unknown {
  if (typeof value === 'bigint') return value <= MAX_SAFE && value >= MIN_SAFE ? Number(value) : value.toString();
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(toJsonValue);
  if (value instanceof Map) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of value) out[String(k)] = toJsonValue(v);
    return out;
  }
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (value instanceof Date) return value.toISOString();
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(value)) out[k] = toJsonValue((value as Record<string, unknown>)[k]);
  return out;
}
