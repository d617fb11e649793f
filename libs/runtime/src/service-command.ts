// A commander subcommand that starts one service: flags from the schema, validated config, runMain.
// `flowmesh <kind> [options]` in libs/cli is a list of these.
import { Command } from 'commander';
import { ConfigError } from './errors.js';
import type { ConfigOf, OptionsSchema } from './config/option.js';
import { addOptions, resolveConfig } from './config/resolve-config.js';
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
    await runMain(() => spec.start(config));
  });
  return command;
}
