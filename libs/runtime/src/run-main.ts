// Process lifecycle for composition roots: start, then SIGTERM/SIGINT → graceful stop → exit 0.
// A second signal while stopping forces exit 1 (an operator who presses ^C twice means it).
import { pino } from 'pino';
import { ConfigError } from './errors.js';
import type { Logger } from './logger.js';

export interface Stoppable {
  stop(reason?: string): Promise<void>;
  readonly logger?: Logger;
}

/**
 * An idempotent stop for a composition root: every call returns the first call's promise, so a signal
 * during a test's own stop (or two signals) never runs the ordered stop twice.
 */
export function stopOnce(stop: (reason: string) => Promise<void>): (reason?: string) => Promise<void> {
  let stopping: Promise<void> | undefined;
  return (reason = 'stop requested') => (stopping ??= stop(reason));
}

/** Installed by telemetry/register.ts when tracing is on: flushes spans before exit. */
const TELEMETRY_SHUTDOWN = Symbol.for('flowmesh.telemetry.shutdown');

async function shutdownTelemetry(): Promise<void> {
  const fn = (globalThis as Record<symbol, unknown>)[TELEMETRY_SHUTDOWN];
  if (typeof fn === 'function') await (fn as () => Promise<void>)().catch(() => undefined);
}

export async function runMain(start: () => Promise<Stoppable>): Promise<void> {
  const fallback = pino({ base: { pid: process.pid } }, pino.destination({ dest: 2, sync: true }));
  let service: Stoppable | undefined;
  let signalled: NodeJS.Signals | undefined;

  const stopAndExit = async (reason: string): Promise<void> => {
    try {
      await service?.stop(reason);
    } catch (err) {
      (service?.logger ?? fallback).error({ err }, 'stop failed');
      process.exitCode = 1;
    }
    await shutdownTelemetry();
    // Exit explicitly: clients, watches and timers of dependencies must not keep a stopped service alive.
    process.exit(process.exitCode ?? 0);
  };

  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled) {
      (service?.logger ?? fallback).warn({ signal }, 'second signal: exiting without waiting');
      process.exit(1);
    }
    signalled = signal;
    // Still starting: stop as soon as start() returns (below).
    if (service) void stopAndExit(signal);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.on('unhandledRejection', (err) => {
    (service?.logger ?? fallback).fatal({ err }, 'unhandled rejection');
    process.exit(1);
  });

  try {
    service = await start();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`flowmesh: ${err.message}\n`);
      process.exit(err.exitCode);
    }
    fallback.fatal({ err }, 'start-up failed');
    process.stderr.write(`flowmesh: start-up failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
  if (signalled) await stopAndExit(signalled);
}
