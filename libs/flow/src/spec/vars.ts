// Flow variables: defaults from the flow, overridden per run; `%name%` placeholders in file paths.
import type { FlowSpec } from './types.js';

const PLACEHOLDER = /%([A-Za-z_][A-Za-z0-9_]*)%/g;

export class FlowPathError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FlowPathError';
  }
}

export function placeholders(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER)].map((m) => m[1] ?? '');
}

/** Why a relative path would leave its file root, or undefined when it stays inside. */
export function pathProblem(path: string): string | undefined {
  if (path === '') return 'must not be empty';
  if (path.startsWith('/') || path.startsWith('\\') || /^[A-Za-z]:/.test(path)) {
    return `"${path}" must be relative to its file root, not absolute`;
  }
  if (path.split(/[\\/]/).some((seg) => seg === '..')) return `"${path}" must not leave its file root ("..")`;
  if (path.includes('\0')) return 'must not contain NUL';
  return undefined;
}

export function resolveVars(spec: Pick<FlowSpec, 'vars'>, overrides: Record<string, string> = {}): Record<string, string> {
  const out: Record<string, string> = { ...spec.vars };
  for (const [k, v] of Object.entries(overrides)) {
    if (!(k in spec.vars)) throw new FlowPathError(`unknown variable "${k}": the flow declares ${Object.keys(spec.vars).join(', ') || 'none'}`);
    out[k] = String(v);
  }
  return out;
}

/** Substitutes `%name%`; the result is checked again because a value may itself contain "..". */
export function resolvePath(template: string, vars: Record<string, string>): string {
  const path = template.replace(PLACEHOLDER, (_, name: string) => {
    const v = vars[name];
    if (v === undefined) throw new FlowPathError(`unknown variable %${name}% in path "${template}"`);
    return v;
  });
  const problem = pathProblem(path);
  if (problem) throw new FlowPathError(problem);
  return path;
}
