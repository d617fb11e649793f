// A commander subcommand that starts one service: flags from the schema, validated config, runMain.
// `flowmesh <kind> [options]` in libs/cli is a list of these.
import { Command } from 'commander';
import { ConfigError } from './errors.js';
import type { ConfigOf, OptionsSchema } from './config/option.js';
import { addOptions, resolveConfig } from './config/resolve-config.js';
import { createLogger, type Logger, type LoggerOptions } from './logger.js';
import { startMetricsServer } from './metrics/metrics-server.js';
import { runMain, type Stoppable } from './run-main.js';

export interface ServiceCommandSpec<S extends OptionsSchema> {
  /** Subcommand name, e.g. "executor". */
  name: string;
  description: string;
  options: S;
  /** The composition root: build dependencies from the config, start the host, return it. */
  start(config: ConfigOf<S>): Promise<Stoppable>;
}

export function serviceCommand<S extends OptionsSchema>(spec: ServiceCommandSpec<S>): Command {
  const command = new Command(spec.name).description(spec.description);
  addOptions(command, spec.options);
  command.action(async (_opts, cmd: Command) => {
    let config: ConfigOf<S>;
    try {
      config = resolveConfig(spec.options, cmd);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      process.stderr.write(`flowmesh ${spec.name}: ${err.message}\n`);
      process.exit(err.exitCode);
    }
    await runMain(() => startWithMetrics(spec, config));
  });
  return command;
}

/**
 * With --metrics-bind (commonOptions), the Prometheus endpoint starts before the service, so the meter
 * its composition root takes is the SDK's; it stops after the service (the last scrape sees the drain).
 */
async function startWithMetrics<S extends OptionsSchema>(spec: ServiceCommandSpec<S>, config: ConfigOf<S>): Promise<Stoppable> {
  const bind = (config as { metricsBind?: unknown }).metricsBind;
  if (typeof bind !== 'string' || bind === '') return spec.start(config);
  const level = (config as { logLevel?: LoggerOptions['level'] }).logLevel;
  const metrics = await startMetricsServer({ bind, service: spec.name, logger: createLogger(spec.name, level ? { level } : {}) });
  let service: Stoppable;
  try {
    service = await spec.start(config);
  } catch (err) {
    await metrics.shutdown();
    throw err;
  }
  return {
    get logger(): Logger | undefined {
      return service.logger;
    },
    async stop(reason?: string) {
      try {
        await service.stop(reason);
      } finally {
        await metrics.shutdown();
      }
    },
  };
}
