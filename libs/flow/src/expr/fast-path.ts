// Fast evaluation of the common subset of CEL (issue 7: the declarative orders flow must reach 0.6× the
// same logic as a plugin, and cel-js' tree walker costs 0.3–2 µs per expression).
//
// At compile time — once per flow, from the parsed and type-checked AST, never from text — the
// expression becomes a tree of small closures. The contract that keeps it correct: a closure returns a
// value only when it is sure the value is the one cel-js would produce; for anything else (a missing key,
// mixed int/double arithmetic, an overflow, a Map) it throws, and the caller re-evaluates the whole
// expression with cel-js, whose result or error is authoritative. Expressions are pure, so re-evaluation
// is safe. Shapes not listed here compile to undefined: cel-js then runs them directly.
import type { EvalContext, Evaluator } from './compile-expression.js';
import { flowFunction } from './functions.js';

interface Ast { op: string; args: unknown }
type Fn = (ctx: EvalContext) => unknown;

const MAX_INT = 9223372036854775807n;
const MIN_INT = -9223372036854775808n;
const ROOTS = new Set(['record', 'vars', 'globals', 'summary', 'aggregates']);

/** Thrown to hand evaluation back to cel-js; never escapes compile-expression. */
class Fallback extends Error {}
const FALLBACK = new Fallback('fallback');
function bail(): never {
  throw FALLBACK;
}

class Unsupported extends Error {}
function unsupported(): never {
  throw new Unsupported();
}

function isAst(v: unknown): v is Ast {
  return typeof v === 'object' && v !== null && typeof (v as Ast).op === 'string';
}

/** Plain JSON-like objects only; a Map, an array or a class instance goes to cel-js. */
function isPlain(o: unknown): o is Record<string, unknown> {
  return typeof o === 'object' && o !== null && (o as { constructor?: unknown }).constructor === Object;
}

function checkInt(v: bigint): bigint {
  if (v > MAX_INT || v < MIN_INT) bail();
  return v;
}

function codePoints(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      // A pair is one code point; a lone surrogate counts as one, as `for…of` does in cel-js.
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
  return n;
}

type Scope = Map<string, number>;

class Compiler {
  readonly slots: unknown[] = [];
  constructor(private readonly roots: Set<string>) {}

  compile(node: unknown, scope: Scope): Fn {
    if (!isAst(node)) unsupported();
    const a = node.args;
    switch (node.op) {
      case 'value': {
        const v = a;
        if (v !== null && typeof v === 'object') unsupported(); // bytes, uint: cel-js
        return () => v;
      }
      case 'id': {
        const name = a as string;
        const slot = scope.get(name);
        if (slot !== undefined) {
          const slots = this.slots;
          return () => slots[slot];
        }
        if (!this.roots.has(name)) unsupported();
        const key = name as keyof EvalContext;
        return (ctx) => {
          const v = ctx[key];
          if (v === undefined) bail();
          return v;
        };
      }
      case '.': {
        const [target, key] = a as [unknown, string];
        const t = this.compile(target, scope);
        return (ctx) => {
          const o = t(ctx);
          if (!isPlain(o)) bail();
          const v = o[key];
          if (v === undefined) bail();
          return v;
        };
      }
      case '[]': {
        const [target, index] = a as [unknown, unknown];
        const t = this.compile(target, scope);
        const i = this.compile(index, scope);
        return (ctx) => {
          const o = t(ctx);
          const k = i(ctx);
          if (Array.isArray(o)) {
            if (typeof k !== 'bigint' || k < 0n || k >= BigInt(o.length)) bail();
            return o[Number(k)];
          }
          if (!isPlain(o) || typeof k !== 'string') bail();
          const v = o[k];
          if (v === undefined) bail();
          return v;
        };
      }
      case '!_': {
        const x = this.compile(a, scope);
        return (ctx) => {
          const v = x(ctx);
          if (typeof v !== 'boolean') bail();
          return !v;
        };
      }
      case '-_': {
        const x = this.compile(a, scope);
        return (ctx) => {
          const v = x(ctx);
          if (typeof v === 'number') return -v;
          if (typeof v === 'bigint') return checkInt(-v);
          return bail();
        };
      }
      case '?:': {
        const [c, y, n] = (a as unknown[]).map((x) => this.compile(x, scope)) as [Fn, Fn, Fn];
        return (ctx) => {
          const v = c(ctx);
          if (v === true) return y(ctx);
          if (v === false) return n(ctx);
          return bail();
        };
      }
      case '&&':
      case '||': {
        const [l, r] = (a as unknown[]).map((x) => this.compile(x, scope)) as [Fn, Fn];
        const short = node.op === '||';
        return (ctx) => {
          // Only the plain left-to-right case; CEL's commutative error absorption is cel-js' job.
          const v = l(ctx);
          if (v === short) return short;
          if (v !== !short) bail();
          const w = r(ctx);
          if (typeof w !== 'boolean') bail();
          return w;
        };
      }
      case '==':
      case '!=': {
        const [l, r] = (a as unknown[]).map((x) => this.compile(x, scope)) as [Fn, Fn];
        const eq = node.op === '==';
        return (ctx) => {
          const x = l(ctx);
          const y = r(ctx);
          // Same primitive type (or both null): plain identity. Mixed numeric types, lists, maps: cel-js.
          if (x === null || y === null) {
            if (x === y) return eq;
            return bail();
          }
          if (typeof x !== typeof y || typeof x === 'object') bail();
          return (x === y) === eq;
        };
      }
      case '<':
      case '<=':
      case '>':
      case '>=':
        return this.compare(node.op, a as unknown[], scope);
      case '+':
      case '-':
      case '*':
      case '/':
      case '%':
        return this.arithmetic(node.op, a as unknown[], scope);
      case 'rcall':
        return this.method(a as [string, unknown, unknown[]], scope);
      case 'call':
        return this.call(a as [string, unknown[]], scope);
      default:
        return unsupported();
    }
  }

  private compare(op: string, args: unknown[], scope: Scope): Fn {
    const [l, r] = args.map((x) => this.compile(x, scope)) as [Fn, Fn];
    const test = op === '<' ? (x: number | bigint | string, y: typeof x) => x < y
      : op === '<=' ? (x: number | bigint | string, y: typeof x) => x <= y
      : op === '>' ? (x: number | bigint | string, y: typeof x) => x > y
      : (x: number | bigint | string, y: typeof x) => x >= y;
    return (ctx) => {
      const x = l(ctx);
      const y = r(ctx);
      const tx = typeof x;
      if (tx !== typeof y || (tx !== 'number' && tx !== 'bigint' && tx !== 'string')) bail();
      return test(x as number, y as number);
    };
  }

  private arithmetic(op: string, args: unknown[], scope: Scope): Fn {
    const [l, r] = args.map((x) => this.compile(x, scope)) as [Fn, Fn];
    switch (op) {
      case '+':
        return (ctx) => {
          const x = l(ctx);
          const y = r(ctx);
          if (typeof x === 'number' && typeof y === 'number') return x + y;
          if (typeof x === 'string' && typeof y === 'string') return x + y;
          if (typeof x === 'bigint' && typeof y === 'bigint') return checkInt(x + y);
          return bail();
        };
      case '-':
        return (ctx) => {
          const x = l(ctx);
          const y = r(ctx);
          if (typeof x === 'number' && typeof y === 'number') return x - y;
          if (typeof x === 'bigint' && typeof y === 'bigint') return checkInt(x - y);
          return bail();
        };
      case '*':
        return (ctx) => {
          const x = l(ctx);
          const y = r(ctx);
          if (typeof x === 'number' && typeof y === 'number') return x * y;
          if (typeof x === 'bigint' && typeof y === 'bigint') return checkInt(x * y);
          return bail();
        };
      case '/':
        return (ctx) => {
          const x = l(ctx);
          const y = r(ctx);
          if (typeof x === 'number' && typeof y === 'number' && y !== 0) return x / y;
          if (typeof x === 'bigint' && typeof y === 'bigint' && y !== 0n) return checkInt(x / y);
          return bail();
        };
      default:
        return (ctx) => {
          const x = l(ctx);
          const y = r(ctx);
          if (typeof x === 'bigint' && typeof y === 'bigint' && y !== 0n) return x % y;
          return bail();
        };
    }
  }

  private method([name, receiver, args]: [string, unknown, unknown[]], scope: Scope): Fn {
    if (name === 'bind' && isAst(receiver) && receiver.op === 'id' && receiver.args === 'cel') {
      const [id, init, body] = args as [Ast, unknown, unknown];
      if (!isAst(id) || id.op !== 'id') unsupported();
      const slot = this.slots.length;
      this.slots.push(undefined);
      const inner = new Map(scope).set(id.args as string, slot);
      const i = this.compile(init, scope);
      const b = this.compile(body, inner);
      const slots = this.slots;
      return (ctx) => {
        slots[slot] = i(ctx);
        return b(ctx);
      };
    }
    const recv = this.compile(receiver, scope);
    const argFns = args.map((x) => this.compile(x, scope));
    const unary = STRING_UNARY[name];
    if (unary && argFns.length === 0) {
      return (ctx) => {
        const s = recv(ctx);
        if (typeof s !== 'string') bail();
        return unary(s);
      };
    }
    if (name === 'size' && argFns.length === 0) return (ctx) => sizeOf(recv(ctx));
    if (name === 'matches' && args.length === 1) {
      const pattern = args[0];
      if (!isAst(pattern) || pattern.op !== 'value' || typeof pattern.args !== 'string') unsupported();
      let re: RegExp;
      try {
        re = new RegExp(pattern.args); // the same construction cel-js uses, done once
      } catch {
        return unsupported();
      }
      return (ctx) => {
        const s = recv(ctx);
        if (typeof s !== 'string') bail();
        return re.test(s);
      };
    }
    const binary = STRING_BINARY[name];
    if (binary && argFns.length === 1) {
      const arg = argFns[0]!;
      return (ctx) => {
        const s = recv(ctx);
        const t = arg(ctx);
        if (typeof s !== 'string' || typeof t !== 'string') bail();
        return binary(s, t);
      };
    }
    if (name === 'replace' && argFns.length === 2) {
      const [x, y] = argFns as [Fn, Fn];
      return (ctx) => {
        const s = recv(ctx);
        const f = x(ctx);
        const t = y(ctx);
        if (typeof s !== 'string' || typeof f !== 'string' || typeof t !== 'string') bail();
        return s.replaceAll(f, t);
      };
    }
    if (name === 'join' && argFns.length <= 1) {
      const sep = argFns[0];
      return (ctx) => {
        const list = recv(ctx);
        const j = sep ? sep(ctx) : '';
        if (!Array.isArray(list) || typeof j !== 'string') bail();
        for (let i = 0; i < list.length; i++) if (typeof list[i] !== 'string') bail();
        return list.join(j);
      };
    }
    return unsupported();
  }

  private call([name, args]: [string, unknown[]], scope: Scope): Fn {
    if (name === 'has' && args.length === 1) {
      const sel = args[0];
      if (!isAst(sel) || sel.op !== '.') unsupported();
      const [target, key] = sel.args as [unknown, string];
      const t = this.compile(target, scope);
      return (ctx) => {
        const o = t(ctx);
        if (!isPlain(o)) bail();
        return o[key] !== undefined;
      };
    }
    const fns = args.map((x) => this.compile(x, scope));
    if (fns.length === 1) {
      const x = fns[0]!;
      switch (name) {
        case 'size': return (ctx) => sizeOf(x(ctx));
        case 'double': return (ctx) => toDouble(x(ctx));
        case 'int': return (ctx) => toInt(x(ctx));
        case 'string': return (ctx) => {
          const v = x(ctx);
          if (typeof v === 'string') return v;
          if (typeof v === 'bigint' || typeof v === 'boolean') return `${v}`;
          return bail();
        };
      }
    }
    // The flow's own registered functions: the same implementation cel-js calls.
    const custom = flowFunction(name, fns.length);
    if (custom) {
      const [types, impl] = custom;
      if (fns.length === 2) {
        const [f0, f1] = fns as [Fn, Fn];
        const [t0, t1] = types as [string, string];
        return (ctx) => {
          const x = f0(ctx);
          const y = f1(ctx);
          if (typeof x !== t0 || typeof y !== t1) bail();
          return impl(x, y);
        };
      }
      return (ctx) => {
        const vals = new Array(fns.length);
        for (let i = 0; i < fns.length; i++) {
          const v = fns[i]!(ctx);
          if (typeof v !== types[i]) bail();
          vals[i] = v;
        }
        return impl(...vals);
      };
    }
    return unsupported();
  }
}

const STRING_UNARY: Record<string, (s: string) => string> = {
  trim: (s) => s.trim(),
  lowerAscii: (s) => s.toLowerCase(),
  upperAscii: (s) => s.toUpperCase(),
  lower: (s) => s.toLowerCase(),
  upper: (s) => s.toUpperCase(),
  trimStart: (s) => s.trimStart(),
  trimEnd: (s) => s.trimEnd(),
};

const STRING_BINARY: Record<string, (s: string, t: string) => unknown> = {
  contains: (s, t) => s.includes(t),
  startsWith: (s, t) => s.startsWith(t),
  endsWith: (s, t) => s.endsWith(t),
  split: (s, t) => s.split(t),
};

function sizeOf(v: unknown): bigint {
  if (typeof v === 'string') return bigintOf(codePoints(v));
  if (Array.isArray(v)) return bigintOf(v.length);
  return bail();
}

function toDouble(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string' && v !== '' && v === v.trim()) {
    const n = Number(v);
    if (!Number.isNaN(n)) return n;
  }
  return bail();
}

// Small integers come up constantly (sizes, quantities): reuse their BigInts instead of allocating.
const SMALL_INTS: bigint[] = Array.from({ length: 1024 }, (_, i) => BigInt(i));
function bigintOf(n: number): bigint {
  return n >= 0 && n < 1024 ? SMALL_INTS[n]! : BigInt(n);
}

/** Up to 15 digits (with an optional sign) is exact as a double: BigInt(number) is ~5× BigInt(string). */
function shortIntString(v: string): boolean {
  const n = v.length;
  if (n === 0 || n > 15) return false;
  let i = 0;
  const c0 = v.charCodeAt(0);
  if (c0 === 43 || c0 === 45) i = 1;
  if (i === n) return false;
  for (; i < n; i++) {
    const c = v.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

function toInt(v: unknown): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'string' && shortIntString(v)) return bigintOf(Number(v));
  if (typeof v === 'number' && Number.isFinite(v)) return checkInt(BigInt(Math.trunc(v)));
  if (typeof v === 'string' && v !== '' && v === v.trim() && v.length <= 20 && !v.includes('0x') && /^[+-]?[0-9]+$/.test(v)) {
    return checkInt(BigInt(v));
  }
  return bail();
}

/** Evaluator for `ast`, or undefined when the shape is outside the subset (then cel-js runs it). */
export function fastPath(ast: unknown, roots: readonly string[] = [...ROOTS]): Evaluator | undefined {
  try {
    return new Compiler(new Set(roots)).compile(ast, new Map());
  } catch (err) {
    if (err instanceof Unsupported) return undefined;
    throw err;
  }
}

export function isFallback(err: unknown): boolean {
  return err === FALLBACK;
}
