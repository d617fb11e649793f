// Structured JSON logs on stdout (pino). The host's "listening" line is the contract the process harness
// and operators read, so every service logs through here.
import { pino, type Logger, type LevelWithSilent } from 'pino';
import { traceFields } from './telemetry/spans.js';

export type { Logger };

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export interface LoggerOptions {
  /** @default FLOWMESH_LOG_LEVEL or "info" */
  level?: LevelWithSilent;
  /** Extra fields on every line, e.g. `{ node: nodeId }`. */
  base?: Record<string, unknown>;
}

/** A pino logger writing JSON lines synchronously to stdout, tagged `service: name`. */
export function createLogger(name: string, opts: LoggerOptions = {}): Logger {
  const level = opts.level ?? (process.env.FLOWMESH_LOG_LEVEL as LevelWithSilent | undefined) ?? 'info';
  return pino(
    {
      level: (LOG_LEVELS as readonly string[]).includes(level) ? level : 'info',
      base: { service: name, pid: process.pid, ...opts.base },
      timestamp: pino.stdTimeFunctions.isoTime,
      // traceId/spanId of the active span (issue 8): a job's lines join its trace. Nothing when tracing is off.
      mixin: traceFields,
    },
    // Synchronous writes: the listening line must be visible at once and nothing may be lost at exit.
    pino.destination({ dest: 1, sync: true }),
  );
}
