// What a failed chaos scenario reports beside its problems, so that a failure seen once (in CI, under load)
// explains itself without a rerun: every attempt the coordinators counted as failed (their "batch attempt
// failed" warn lines: batch, attempt, executor, error, outcome) and the last log lines of each process the
// fault hit (a drain's "executor stopping", a batch's failure, an exit). Read from the processes' own
// output, which the harness keeps (bounded) for dead processes too.
import type { FaultEvent } from '@flowmesh/testing';

/** The part of the chaos mesh the report reads (test/chaos-mesh.ts). */
export interface LogSource {
  logsOf(nodeId: string): string[];
  coordinatorIds(): string[];
}

/** Last lines of each victim in the report. */
const VICTIM_LINES = 15;
/** A log line longer than this is cut (a stack trace or a long error stays readable in a test title). */
const LINE_CHARS = 600;

interface LogLine {
  time?: string;
  level?: number;
  msg?: string;
  [k: string]: unknown;
}

function parse(line: string): LogLine | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    return JSON.parse(line) as LogLine;
  } catch {
    return undefined;
  }
}

const cut = (s: string): string => (s.length > LINE_CHARS ? `${s.slice(0, LINE_CHARS)}…` : s);

/** Every failed attempt of `jobId` the coordinators logged, oldest first per coordinator. */
export function attemptFailures(mesh: LogSource, jobId: string): string[] {
  const out: string[] = [];
  for (const id of mesh.coordinatorIds()) {
    for (const logs of mesh.logsOf(id)) {
      for (const line of logs.split('\n')) {
        if (!line.includes('batch attempt failed')) continue;
        const l = parse(line);
        if (!l || l.msg !== 'batch attempt failed' || l.jobId !== jobId) continue;
        out.push(
          cut(
            `${id} ${l.time ?? ''}: batch ${String(l.batch)} attempt ${String(l.attempt)} on ${String(l.executor)} ` +
              `${String(l.outcome)}: ${String(l.err)}`,
          ),
        );
      }
    }
  }
  return out;
}

/** The last lines (raw, JSON or not) of every process the scenario's faults targeted. */
export function victimTails(mesh: LogSource, events: FaultEvent[], lines = VICTIM_LINES): string[] {
  const out: string[] = [];
  for (const target of new Set(events.map((e) => e.target))) {
    const runs = mesh.logsOf(target);
    // etcd members are not the mesh's processes: nothing kept for them here.
    if (runs.length === 0) continue;
    // The run the fault hit is the last one that ran under that id.
    const tail = runs[runs.length - 1]!.split('\n').filter(Boolean).slice(-lines);
    out.push(`last ${tail.length} lines of ${target}:`, ...tail.map((l) => `  ${cut(l)}`));
  }
  return out;
}

/** The report of a failed scenario: failed attempts, then the victims' last lines. */
export function failureDiagnostics(mesh: LogSource, jobId: string, events: FaultEvent[]): string[] {
  const failures = attemptFailures(mesh, jobId);
  return [
    failures.length > 0 ? `failed attempts of ${jobId}:` : `no failed attempt of ${jobId} in the coordinators' logs`,
    ...failures.map((f) => `  ${f}`),
    ...victimTails(mesh, events),
  ];
}
