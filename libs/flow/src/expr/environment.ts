// One CEL environment per scope, built once per process. Values are reached through explicit roots
// (`record.email`, `vars.region`, `globals.seen`) rather than bare field names: a field called `size` or
// `vars` can never shadow a function or a root, and an unknown root is a type error at store time.
import { Environment } from '@marcbachmann/cel-js';
import { registerFlowFunctions } from './functions.js';

/** Where an expression runs: per record, in init steps, or in status steps. */
export type ExprScope = 'record' | 'init' | 'status';

const envs = new Map<ExprScope, Environment>();

export function scopeRoots(scope: ExprScope): string[] {
  if (scope === 'record') return ['record', 'vars', 'globals'];
  if (scope === 'init') return ['vars', 'globals'];
  return ['vars', 'globals', 'summary', 'aggregates'];
}

export function celEnvironment(scope: ExprScope): Environment {
  let env = envs.get(scope);
  if (!env) {
    env = registerFlowFunctions(new Environment({ unlistedVariablesAreDyn: false, homogeneousAggregateLiterals: false }));
    if (scope === 'record') env.registerVariable('record', 'map<string, dyn>');
    env.registerVariable('vars', 'map<string, string>');
    env.registerVariable('globals', 'map<string, dyn>');
    if (scope === 'status') {
      env.registerVariable('summary', 'map<string, dyn>');
      env.registerVariable('aggregates', 'list<dyn>');
    }
    envs.set(scope, env);
  }
  return env;
}
