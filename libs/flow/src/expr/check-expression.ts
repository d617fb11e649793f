// Parse and type-check one expression without evaluating it: used when a flow is stored, so a typo or a
// type mismatch is refused with its position instead of failing on the first record of a job.
import { celEnvironment, type ExprScope } from './environment.js';

export interface ExprProblem {
  message: string;
  /** Offset of the problem inside the expression text. */
  offset: number;
}

/** Result types an expression may have where a specific one is needed (`dyn` is allowed: checked per record). */
export type ExpectedType = 'bool' | 'string' | 'any';

export function checkExpression(text: string, scope: ExprScope, expect: ExpectedType = 'any'): ExprProblem | undefined {
  const env = celEnvironment(scope);
  let result;
  try {
    result = env.check(text);
  } catch (err) {
    return toProblem(err);
  }
  if (!result.valid) return toProblem(result.error);
  if (expect !== 'any' && result.type !== expect && result.type !== 'dyn') {
    return { message: `must be a ${expect} expression, but its type is ${result.type}`, offset: 0 };
  }
  return undefined;
}

function toProblem(err: unknown): ExprProblem {
  const e = err as { message?: string; range?: { start?: number }; node?: { start?: number; pos?: number } } | undefined;
  // cel-js appends a caret drawing after a blank line; the first line is the message.
  const message = String(e?.message ?? err).split('\n')[0] ?? 'invalid expression';
  const offset = e?.range?.start ?? e?.node?.start ?? e?.node?.pos ?? 0;
  return { message: `invalid expression: ${message}`, offset };
}
