// compileFlow: a FlowSpec → everything a batch run needs, built once (expressions parsed and checked,
// plugins imported, reference tables indexed). Executors cache the result per flow revision.
import type { ExprScope } from '../expr/environment.js';
import { parseHeader } from '../io/parse-header.js';
import type { FlowSpec, Step } from '../spec/types.js';
import { callStep } from '../steps/call-step.js';
import {
  countStep, dropStep, filterStep, logStep, renameStep, selectStep, setStep, validateStep,
} from '../steps/field-steps.js';
import { indexTable, lookupStep, type ReferenceTableData, type TableIndex } from '../steps/lookup-step.js';
import { loadPlugin, pluginStep } from '../steps/plugin-step.js';
import type { AsyncStep, CompiledStep, SyncStep } from '../steps/step-runtime.js';
import { compileAggregate, type CompiledAggregate } from './aggregates.js';

export interface CompileFlowOptions {
  /** The executors' plugin directory (required when the flow has plugin steps). */
  pluginDir?: string;
  /** Fetches a reference table by name (required when the flow has lookup steps). */
  loadReferenceTable?: (name: string) => Promise<ReferenceTableData>;
}

/** Consecutive sync steps run record by record; an async step (call) runs over the stage's records. */
export type Stage = { kind: 'sync'; steps: SyncStep[] } | { kind: 'async'; step: AsyncStep };

export interface CompiledFlow {
  spec: FlowSpec;
  stages: Stage[];
  init: SyncStep[];
  status: SyncStep[];
  aggregate?: CompiledAggregate;
  /** Parsed CSV header fields by header text: batches of one job all carry the same header. */
  headerFields(header: Buffer): string[];
}

export class FlowCompileError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FlowCompileError';
  }
}

export async function compileFlow(spec: FlowSpec, opts: CompileFlowOptions = {}): Promise<CompiledFlow> {
  const tables = new Map<string, TableIndex>();
  const compileOne = async (step: Step, scope: ExprScope): Promise<CompiledStep> => {
    switch (step.type) {
      case 'filter': return filterStep(step, scope);
      case 'validate': return validateStep(step, scope);
      case 'set': return setStep(step, scope);
      case 'select': return selectStep(step);
      case 'drop': return dropStep(step);
      case 'rename': return renameStep(step);
      case 'count': return countStep(step, scope);
      case 'log': return logStep(step, scope);
      case 'plugin': return pluginStep(step, await loadPlugin(step, opts.pluginDir));
      case 'call': return callStep(step);
      case 'lookup': {
        let index = tables.get(step.table);
        if (!index) {
          if (!opts.loadReferenceTable) throw new FlowCompileError(`step "${step.name}": no reference table loader is configured`);
          let data: ReferenceTableData;
          try {
            data = await opts.loadReferenceTable(step.table);
          } catch (err) {
            throw new FlowCompileError(`step "${step.name}": reference table "${step.table}" could not be loaded: ${String((err as Error)?.message ?? err)}`, { cause: err });
          }
          index = indexTable(step.table, data);
          tables.set(step.table, index);
        }
        return lookupStep(step, index);
      }
    }
  };

  const stages: Stage[] = [];
  for (const step of spec.steps) {
    const compiled = await compileOne(step, 'record');
    const last = stages[stages.length - 1];
    if (compiled.kind === 'async') stages.push({ kind: 'async', step: compiled });
    else if (last?.kind === 'sync') last.steps.push(compiled);
    else stages.push({ kind: 'sync', steps: [compiled] });
  }
  // A flow without steps still needs one stage to pass records through.
  if (stages.length === 0) stages.push({ kind: 'sync', steps: [] });
  const once = async (steps: Step[], scope: ExprScope): Promise<SyncStep[]> => {
    const out: SyncStep[] = [];
    for (const s of steps) out.push((await compileOne(s, scope)) as SyncStep);
    return out;
  };
  const headers = new Map<string, string[]>();
  const csv = spec.source.csv;
  return {
    spec,
    stages,
    init: await once(spec.init, 'init'),
    status: await once(spec.status, 'status'),
    ...(spec.aggregate ? { aggregate: compileAggregate(spec.aggregate) } : {}),
    headerFields(header) {
      const text = header.toString('utf8');
      let fields = headers.get(text);
      if (!fields) {
        fields = parseHeader(text, { delimiter: csv.delimiter, quote: csv.quote });
        if (headers.size > 16) headers.clear();
        headers.set(text, fields);
      }
      return fields;
    },
  };
}
