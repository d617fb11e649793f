// Validation issues carry a 1-based line and column and a field path ("steps[2].expr") so that a user
// can find the mistake in the text they wrote; config-store shows them verbatim on a refused write.

export interface FlowIssue {
  line: number;
  column: number;
  /** Field path such as `steps[2].expr`; empty for the document itself. */
  path: string;
  message: string;
}

export class FlowValidationError extends Error {
  readonly issues: FlowIssue[];
  constructor(issues: FlowIssue[]) {
    const first = issues[0];
    const head = first ? formatIssue(first) : 'invalid flow';
    super(issues.length > 1 ? `${head} (and ${issues.length - 1} more)` : head);
    this.name = 'FlowValidationError';
    this.issues = issues;
  }
}

export function formatIssue(issue: FlowIssue): string {
  const where = issue.path ? `${issue.path}: ` : '';
  return `line ${issue.line}, column ${issue.column}: ${where}${issue.message}`;
}

export type PathPart = string | number;

export function formatPath(parts: readonly PathPart[]): string {
  let out = '';
  for (const part of parts) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${part}` : part;
  }
  return out;
}
