// `plugin`: a deployed ES module from the executors' plugin directory. Its function takes a record and
// returns a record, an array of records, or null/undefined (drop); a throw rejects the record.
import { isAbsolute, join, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { FlowRecord } from '../io/types.js';
import type { PluginStep } from '../spec/types.js';
import { DROP, errorMessage, REJECT, type SyncStep } from './step-runtime.js';

export type PluginFunction = (record: FlowRecord, context: { vars: Record<string, string>; globals: Record<string, unknown> }) => unknown;

export class PluginLoadError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PluginLoadError';
  }
}

export async function loadPlugin(step: PluginStep, pluginDir: string | undefined): Promise<PluginFunction> {
  if (!pluginDir) throw new PluginLoadError(`step "${step.name}": no plugin directory is configured`);
  const dir = resolve(pluginDir);
  const file = resolve(join(dir, step.module));
  // The spec validator already refuses path separators; this is the second fence.
  if (!isAbsolute(file) || !file.startsWith(dir + sep)) throw new PluginLoadError(`plugin "${step.module}" is outside the plugin directory`);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (err) {
    throw new PluginLoadError(`plugin "${step.module}" could not be loaded: ${errorMessage(err)}`, { cause: err });
  }
  const fn = mod[step.export];
  if (typeof fn !== 'function') throw new PluginLoadError(`plugin "${step.module}" has no function export "${step.export}"`);
  return fn as PluginFunction;
}

export function pluginStep(step: PluginStep, fn: PluginFunction): SyncStep {
  return {
    kind: 'sync', name: step.name,
    run(record, state) {
      let out: unknown;
      try {
        out = fn(record, state.ctx);
      } catch (err) {
        state.reason = errorMessage(err);
        return REJECT;
      }
      if (out === null || out === undefined) return DROP;
      if (Array.isArray(out)) {
        for (const r of out) {
          if (typeof r !== 'object' || r === null || Array.isArray(r)) {
            state.reason = 'plugin returned an array holding a non-record';
            return REJECT;
          }
        }
        return out as FlowRecord[];
      }
      if (typeof out === 'object' && typeof (out as { then?: unknown }).then !== 'function') return out as FlowRecord;
      state.reason = typeof (out as { then?: unknown }).then === 'function'
        ? 'plugin returned a Promise; plugin functions must be synchronous'
        : `plugin returned ${typeof out}, not a record`;
      return REJECT;
    },
  };
}
