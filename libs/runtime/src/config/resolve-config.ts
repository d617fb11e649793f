// Resolves a schema from command-line values, then the environment, then defaults — validating each and
// failing with a ConfigError that names the flag or variable the value came from (and the other spelling).
import { Command, Option } from 'commander';
import { ConfigError } from '../errors.js';
import type { ConfigOf, OptionSpec, OptionsSchema } from './option.js';

function flagName(spec: OptionSpec<unknown>): string {
  return spec.flag.split(/[ ,]/)[0] ?? spec.flag;
}

function describe(spec: OptionSpec<unknown>): string {
  const extra: string[] = [];
  if (spec.env) extra.push(`env ${spec.env}`);
  if (spec.default !== undefined && spec.default !== false) extra.push(`default ${JSON.stringify(spec.default)}`);
  return extra.length ? `${spec.description} (${extra.join('; ')})` : spec.description;
}

/** Adds one commander option per schema entry. Values stay raw strings; resolveConfig validates them. */
export function addOptions(command: Command, schema: OptionsSchema): Command {
  for (const spec of Object.values(schema)) command.addOption(new Option(spec.flag, describe(spec)));
  return command;
}

/** Values the user typed: only those whose source is the command line (not commander's implied defaults). */
function givenOnCommandLine(command: Command): Record<string, unknown> {
  const given: Record<string, unknown> = {};
  for (const [attr, value] of Object.entries(command.opts())) {
    if (command.getOptionValueSource(attr) === 'cli') given[attr] = value;
  }
  return given;
}

/**
 * `cli` is the parsed command (addOptions was applied to it) or a record of values given on the command
 * line keyed by commander attribute name ("--grace-ms" → "graceMs"). Precedence: flag, environment,
 * default. Throws ConfigError naming the source of the first invalid or missing value.
 * (A value flag spelt "--no-…" works, but commander stores it under the name without "no-".)
 */
export function resolveConfig<S extends OptionsSchema>(
  schema: S,
  cli: Command | Record<string, unknown>,
  env: NodeJS.ProcessEnv = process.env,
): ConfigOf<S> {
  const cliValues = cli instanceof Command ? givenOnCommandLine(cli) : cli;
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(schema)) {
    const attr = new Option(spec.flag).attributeName();
    const cli = cliValues[attr];
    const flag = flagName(spec);
    if (cli !== undefined) {
      if (spec.isSwitch && typeof cli === 'boolean') {
        out[key] = cli;
        continue;
      }
      const raw = String(cli);
      const value = spec.parse(raw);
      if (value === undefined) {
        const alt = spec.env ? ` (or ${spec.env})` : '';
        throw new ConfigError(`invalid ${flag} ${JSON.stringify(raw)}: expected ${spec.expected}${alt}`);
      }
      out[key] = value;
      continue;
    }
    const raw = spec.env ? env[spec.env] : undefined;
    if (raw !== undefined && raw !== '') {
      const value = spec.parse(raw);
      if (value === undefined) {
        throw new ConfigError(
          `invalid environment variable ${spec.env} ${JSON.stringify(raw)}: expected ${spec.expected} (or ${flag})`,
        );
      }
      out[key] = value;
      continue;
    }
    if (spec.default === undefined && spec.required) {
      throw new ConfigError(`missing ${flag}${spec.env ? ` (or ${spec.env})` : ''}: ${spec.description}`);
    }
    out[key] = spec.default;
  }
  return out as ConfigOf<S>;
}
