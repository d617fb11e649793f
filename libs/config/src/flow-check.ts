// Flow validation on write: the YAML/JSON must parse to a mapping, then the flow package's checker
// (injected, so this package does not depend on the engine) reports issues with line and field.
import { parseDocument } from 'yaml';
import { InvalidArgumentError } from '@flowmesh/runtime';

export interface FlowIssue {
  line: number;
  column: number;
  path: string;
  message: string;
}

export interface FlowCheckContext {
  fileRoots: Record<string, string>;
  referenceTables: string[];
}

/** `checkFlowSource` of @flowmesh/flow, or a stand-in; returns [] for a valid flow. */
export type FlowChecker = (source: string, ctx: FlowCheckContext) => Promise<FlowIssue[]>;

const FIELD = 'resource.flow.source';
const MAX_REPORTED = 5;

export function issuesError(issues: FlowIssue[]): InvalidArgumentError {
  const shown = issues
    .slice(0, MAX_REPORTED)
    .map((i) => `line ${i.line}, column ${i.column}${i.path ? `, ${i.path}` : ''}: ${i.message}`);
  const more = issues.length > MAX_REPORTED ? ` (and ${issues.length - MAX_REPORTED} more)` : '';
  return new InvalidArgumentError(FIELD, shown.join('; ') + more);
}

/** Parse-level check: YAML (JSON is YAML) that yields a mapping. */
export function parseIssues(source: string): FlowIssue[] {
  const doc = parseDocument(source, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return doc.errors.map((e) => ({
      line: e.linePos?.[0]?.line ?? 1,
      column: e.linePos?.[0]?.col ?? 1,
      path: '',
      message: e.message.split('\n')[0] ?? e.message,
    }));
  }
  const value: unknown = doc.toJS();
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return [{ line: 1, column: 1, path: '', message: 'a flow must be a mapping (name, source, steps, sink…)' }];
  }
  return [];
}

export async function checkFlow(
  source: string,
  checker: FlowChecker | undefined,
  ctx: () => Promise<FlowCheckContext>,
): Promise<void> {
  const parsed = parseIssues(source);
  if (parsed.length > 0) throw issuesError(parsed);
  if (!checker) return;
  const issues = await checker(source, await ctx());
  if (issues.length > 0) throw issuesError(issues);
}
