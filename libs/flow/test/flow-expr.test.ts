// The fast evaluation path must give exactly what cel-js gives: a value when cel-js gives that value,
// and cel-js' own error when cel-js fails. Checked over many expressions × awkward records.
import assert from 'node:assert/strict';
import { compileExpression, type EvalContext } from '../src/index.js';

const EXPRESSIONS = [
  'record.s', 'record.s.trim().lowerAscii()', 'record.s.upper()', 'record.s.size()', 'size(record.s)',
  'record.s.contains("a")', 'record.s.startsWith("A")', 'record.s.endsWith(" ")', 'record.s.matches("^[a-z]+$")',
  'record.s.split(",")', 'record.s.split(",").join("|")', 'record.s.replace("a", "b")',
  'record.n * 2.0', 'record.n + record.m', 'record.n - 1.5', 'record.n / record.m', 'record.i + 1', 'record.i * 2',
  'record.i / 0', 'record.i % 3', '-record.n', '!record.b', 'record.b && record.n > 1.0', 'record.b || record.missing',
  'record.missing || record.b', 'record.n > 2', 'record.n == 3', 'record.s == "abc"', 'record.s != null', 'record.z == null',
  'record.n < record.m', 'record.s < "m"', 'record.b ? "y" : "n"', 'has(record.s)', 'has(record.missing)',
  'double(record.s)', 'int(record.s)', 'int(record.n)', 'string(record.i)', 'string(record.n)', 'double(record.i)',
  'round(record.n * 1.005, 2)', 'round(record.n)', 'abs(record.n)', 'record.list[1]', 'record.list[5]', 'size(record.list)',
  'record.obj.k', 'record.obj.nope', 'record["s"]', 'vars.v + "!"', 'globals.g',
  'cel.bind(p, record.s.split(","), size(p) == 2 ? p[1].trim() + " " + p[0].trim() : record.s.trim())',
  'record.missing', 'record.s * 2.0', 'record.n + 1', '9223372036854775807 + record.i',
];

const RECORDS: Array<Record<string, unknown>> = [
  { s: 'abc', n: 3, m: 2, i: 7n, b: true, list: ['x', 'y'], obj: { k: 1 }, z: null },
  { s: ' Doe, John ', n: -1.5, m: 0, i: -4n, b: false, list: [], obj: {}, z: 'set' },
  { s: '42', n: 0, m: 0.1, i: 0n, b: true, list: ['only'], obj: { k: 'v' } },
  { s: '', n: 1e300, m: 1e-300, b: false },
  { s: 'Zoë, Łukasz 😀', n: 2.5, m: 2.5, i: 9223372036854775807n, b: true, list: [1, 2] },
  { s: 1, n: '3', m: null, i: 2.5, b: 'yes', list: 'nope', obj: [] },
  { s: '0x10', n: Number.NaN, m: Infinity, i: 3n, b: true },
  { s: ' 12', n: 4, m: -4, i: -9223372036854775807n },
  { s: 'lone \ud83d high, \ude00 low', n: 1, m: 1, i: 1n, b: false },
  { s: '+5', n: -0, m: 1, i: 1n }, { s: '-0012', n: 1 }, { s: '-' }, { s: '123456789012345' }, { s: '1234567890123456789' }, { s: '99999999999999999999' },
];

function outcome(fn: (ctx: EvalContext) => unknown, ctx: EvalContext): string {
  try {
    const v = fn(ctx);
    return `ok ${typeof v} ${JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : Number.isNaN(x) ? 'NaN' : x))}`;
  } catch (err) {
    return `error ${(err as Error).message.split('\n')[0]}`;
  }
}

describe('flow expressions: fast path equals cel-js', () => {
  it(`agrees on ${EXPRESSIONS.length} expressions × ${RECORDS.length} records`, () => {
    let compared = 0;
    for (const text of EXPRESSIONS) {
      const fast = compileExpression(text, 'record');
      const reference = compileExpression(text, 'record', { noFastPath: true });
      for (const record of RECORDS) {
        const ctx: EvalContext = { record: { ...record }, vars: { v: 'x' }, globals: { g: 5 } };
        assert.equal(outcome(fast, ctx), outcome(reference, ctx), `${text} on ${JSON.stringify(record, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x))}`);
        compared++;
      }
    }
    assert.equal(compared, EXPRESSIONS.length * RECORDS.length);
  });

  it('custom functions: replace, replaceRegex, lower/upper, round, get, isNumber', () => {
    const ctx: EvalContext = { record: { s: 'a-b-c', p: '12.5', q: 'x' }, vars: {}, globals: {} };
    const ev = (t: string) => compileExpression(t, 'record')(ctx);
    assert.equal(ev('record.s.replace("-", "+")'), 'a+b+c');
    assert.equal(ev('record.s.replaceRegex("[a-c]", "X")'), 'X-X-X');
    assert.equal(ev('"ÄB".lower()'), 'äb');
    assert.equal(ev('round(1.005, 2)'), 1.01);
    assert.equal(ev('get(record, "nope", "dflt")'), 'dflt');
    assert.equal(ev('isNumber(record.p) && !isNumber(record.q)'), true);
  });

  it('refuses invalid text with a typed error at compile time', () => {
    assert.throws(() => compileExpression('record.a +', 'record'), /invalid expression/);
    assert.throws(() => compileExpression('nope.a', 'record'), /Unknown variable: nope/);
  });
});
