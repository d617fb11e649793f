// A few expression shapes dominate flows — a field read, `record.x.trim().lowerAscii()`, a comparison of a
// field with a literal. For those we build closures over the already type-checked AST once at compile
// time (never from text), with the same results and the same errors as cel-js: a missing key throws
// "No such key", a non-string receiver throws. Anything not recognised returns undefined (use cel-js).
import type { Evaluator } from './compile-expression.js';

interface Ast { op: string; args: unknown }

function isAst(v: unknown): v is Ast {
  return typeof v === 'object' && v !== null && 'op' in v;
}

type Root = 'record' | 'vars' | 'globals';

const hasOwn = Object.prototype.hasOwnProperty;

function missing(key: string): never {
  throw new Error(`No such key: ${key}`);
}

/** `record.name` (and vars/globals). */
function fieldRead(ast: Ast): Evaluator | undefined {
  if (ast.op !== '.' || !Array.isArray(ast.args)) return undefined;
  const [target, key] = ast.args as [unknown, unknown];
  if (!isAst(target) || target.op !== 'id' || typeof key !== 'string') return undefined;
  const root = target.args as string;
  if (root !== 'record' && root !== 'vars' && root !== 'globals') return undefined;
  const r = root as Root;
  return (ctx) => {
    const obj = ctx[r] as Record<string, unknown>;
    const v = obj[key];
    if (v === undefined && !hasOwn.call(obj, key)) missing(key);
    return v;
  };
}

const STRING_METHODS: Record<string, (s: string) => string> = {
  trim: (s) => s.trim(),
  lowerAscii: (s) => s.toLowerCase(),
  upperAscii: (s) => s.toUpperCase(),
  lower: (s) => s.toLowerCase(),
  upper: (s) => s.toUpperCase(),
};

function notString(method: string, v: unknown): never {
  throw new Error(`found no matching overload for '${typeof v}.${method}()'`);
}

/** `<field>.trim()`, `.lowerAscii()`… chains of argument-less string methods. */
function stringChain(ast: Ast): Evaluator | undefined {
  if (ast.op !== 'rcall' || !Array.isArray(ast.args)) return undefined;
  const [name, receiver, args] = ast.args as [unknown, unknown, unknown];
  if (typeof name !== 'string' || !Array.isArray(args) || args.length !== 0 || !isAst(receiver)) return undefined;
  const method = STRING_METHODS[name];
  if (!method) return undefined;
  const inner = fieldRead(receiver) ?? stringChain(receiver);
  if (!inner) return undefined;
  return (ctx) => {
    const v = inner(ctx);
    if (typeof v !== 'string') notString(name, v);
    return method(v);
  };
}

export function fastPath(ast: unknown): Evaluator | undefined {
  if (!isAst(ast)) return undefined;
  return fieldRead(ast) ?? stringChain(ast);
}
