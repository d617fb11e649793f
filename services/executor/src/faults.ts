// Test-only fault injection, off unless FLOWMESH_FAULTS is set. It lets the coordinator's and the chaos
// tests prove that a bad trailer is retried and a poison batch crashes its executor (issue 6).
//
//   FLOWMESH_FAULTS=corrupt-trailer:batch=3,crash:batch=5,hang:batch=7;attempt=1
//
// Kinds: corrupt-trailer (trailer checksum altered), corrupt-part (an output part's first byte flipped on disk), crash (the process SIGKILLs itself after `started`),
// hang (stops sending anything, heartbeats included, until cancelled), fail (INTERNAL error).
// Selectors, all optional and joined with ';': batch=N, attempt=N, job=ID.

export type FaultKind = 'corrupt-trailer' | 'corrupt-part' | 'crash' | 'hang' | 'fail';
const KINDS: readonly FaultKind[] = ['corrupt-trailer', 'corrupt-part', 'crash', 'hang', 'fail'];

export interface FaultRule {
  kind: FaultKind;
  batch?: number;
  attempt?: number;
  job?: string;
}

export interface Faults {
  readonly rules: readonly FaultRule[];
  /** True when a rule of this kind matches the attempt. */
  has(kind: FaultKind, at: { jobId: string; batchIndex: number; attempt: number }): boolean;
}

export function parseFaults(spec: string | undefined): Faults {
  const rules: FaultRule[] = [];
  for (const part of (spec ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const [kind, selectors = ''] = part.split(':', 2) as [string, string?];
    if (!KINDS.includes(kind as FaultKind)) {
      throw new Error(`FLOWMESH_FAULTS: unknown fault "${kind}" (known: ${KINDS.join(', ')})`);
    }
    const rule: FaultRule = { kind: kind as FaultKind };
    for (const sel of selectors.split(';').map((s) => s.trim()).filter(Boolean)) {
      const [key, value = ''] = sel.split('=', 2) as [string, string?];
      if (key === 'batch' || key === 'attempt') {
        const n = Number(value);
        if (!Number.isInteger(n) || n < 0) throw new Error(`FLOWMESH_FAULTS: ${key} must be an integer in "${part}"`);
        rule[key] = n;
      } else if (key === 'job') {
        rule.job = value;
      } else {
        throw new Error(`FLOWMESH_FAULTS: unknown selector "${key}" in "${part}"`);
      }
    }
    rules.push(rule);
  }
  return {
    rules,
    has(kind, at) {
      return rules.some(
        (r) =>
          r.kind === kind &&
          (r.batch === undefined || r.batch === at.batchIndex) &&
          (r.attempt === undefined || r.attempt === at.attempt) &&
          (r.job === undefined || r.job === at.jobId),
      );
    },
  };
}

export const noFaults: Faults = parseFaults(undefined);
