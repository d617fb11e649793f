import assert from 'node:assert/strict';
import { Command } from 'commander';
import { addOptions, ConfigError, option, resolveConfig } from '@flowmesh/runtime';

const schema = {
  graceMs: option.integer({ flag: '--grace-ms <ms>', env: 'FLOWMESH_GRACE_MS', description: 'grace', default: 10_000 }),
  logLevel: option.oneOf(['info', 'debug'] as const, {
    flag: '--log-level <l>',
    env: 'FLOWMESH_LOG_LEVEL',
    description: 'level',
    default: 'info',
  }),
  bind: option.address({
    flag: '--bind <host:port>',
    env: 'FLOWMESH_BIND',
    description: 'bind',
    default: '127.0.0.1:0',
  }),
  etcd: option.list({ flag: '--etcd <urls>', env: 'FLOWMESH_ETCD', description: 'etcd' }),
  verbose: option.boolean({ flag: '--verbose', env: 'FLOWMESH_VERBOSE', description: 'verbose' }),
  noWaitMs: option.integer({ flag: '--no-wait-ms <ms>', env: 'FLOWMESH_NO_WAIT_MS', description: 'x', default: 5 }),
};

function parse(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const cmd = addOptions(new Command('t').exitOverride(), schema);
  cmd.parse(argv, { from: 'user' });
  return resolveConfig(schema, cmd, env);
}

function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    assert.equal(err.exitCode, 2);
    return err.message;
  }
  assert.fail('expected a ConfigError');
}

describe('resolveConfig', () => {
  it('uses defaults when neither flag nor environment is given', () => {
    assert.deepEqual(parse([]), {
      graceMs: 10_000,
      logLevel: 'info',
      bind: '127.0.0.1:0',
      etcd: undefined,
      verbose: false,
      noWaitMs: 5,
    });
  });

  it('takes the flag over the environment, and the environment over the default', () => {
    const c = parse(['--grace-ms', '250'], {
      FLOWMESH_GRACE_MS: '900',
      FLOWMESH_LOG_LEVEL: 'debug',
      FLOWMESH_VERBOSE: 'true',
    });
    assert.equal(c.graceMs, 250);
    assert.equal(c.logLevel, 'debug');
    assert.equal(c.verbose, true);
  });

  it('parses lists, switches and a value flag spelt --no-…', () => {
    const c = parse(['--etcd', 'http://127.0.0.1:1, http://127.0.0.1:2', '--verbose', '--no-wait-ms', '7']);
    assert.deepEqual(c.etcd, ['http://127.0.0.1:1', 'http://127.0.0.1:2']);
    assert.equal(c.verbose, true);
    assert.equal(c.noWaitMs, 7);
  });

  it('names an invalid flag, what it expected, and the variable that could set it', () => {
    assert.equal(
      configError(() => parse(['--grace-ms', 'abc'])),
      'invalid --grace-ms "abc": expected a non-negative integer (or FLOWMESH_GRACE_MS)',
    );
    assert.match(
      configError(() => parse(['--grace-ms', '-5'])),
      /invalid --grace-ms "-5"/,
    );
    assert.match(
      configError(() => parse(['--bind', 'localhost'])),
      /invalid --bind "localhost": expected host:port/,
    );
    assert.match(
      configError(() => parse(['--bind', '127.0.0.1:70000'])),
      /invalid --bind/,
    );
  });

  it('names an invalid environment variable and the flag that could set it', () => {
    assert.equal(
      configError(() => parse([], { FLOWMESH_LOG_LEVEL: 'loud' })),
      'invalid environment variable FLOWMESH_LOG_LEVEL "loud": expected one of info, debug (or --log-level)',
    );
    assert.match(
      configError(() => parse([], { FLOWMESH_VERBOSE: 'yes' })),
      /FLOWMESH_VERBOSE "yes"/,
    );
  });

  it('fails on a missing required option, naming flag and variable', () => {
    const required = {
      token: option.string({ flag: '--token <t>', env: 'FLOWMESH_TOKEN', description: 'the token', required: true }),
    };
    assert.match(
      configError(() => resolveConfig(required, {}, {})),
      /missing --token \(or FLOWMESH_TOKEN\)/,
    );
  });
});
