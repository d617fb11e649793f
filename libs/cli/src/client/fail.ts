// The one way client commands end on an error: a clear message on stderr and a non-zero exit code that
// says what kind of failure it was (see exitCodeOf in @flowmesh/client).
import { describeError, exitCodeOf } from '@flowmesh/client';
import { flushTelemetry } from '@flowmesh/runtime';
import { UsageError } from './connection.js';

export function fail(command: string, err: unknown): never {
  const message = err instanceof UsageError ? err.message : describeError(err);
  process.stderr.write(`flowmesh ${command}: ${message}\n`);
  process.exit(err instanceof UsageError ? err.exitCode : exitCodeOf(err));
}

/** Runs a command body, then exits 0 (open gRPC channels must not keep the CLI alive). */
export async function runAction(command: string, body: () => Promise<void>): Promise<never> {
  try {
    await body();
  } catch (err) {
    fail(command, err);
  }
  await flushTelemetry(); // client spans when OTEL_TRACES_EXPORTER is set (issue 8); nothing otherwise
  process.exit(process.exitCode ?? 0);
}
