// Everything before the first batch: the flow at its pinned (or latest) revision, variables resolved,
// distribution settings, `init` run once, the source opened under its root with its header read once,
// and a file sink opened on temp files. Errors name what the caller can fix.
import { DataFormat } from '@flowmesh/contracts';
import type { InputChunk, JobSpec } from '@flowmesh/contracts';
import {
  compileFlow,
  FlowPathError,
  FlowStepFailedError,
  FlowValidationError,
  parseFlow,
  resolvePath,
  resolveVars,
  runInit,
} from '@flowmesh/flow';
import type { CompiledFlow, FlowSpec } from '@flowmesh/flow';
import { FailedPreconditionError, InvalidArgumentError } from '@flowmesh/runtime';
import type { ConfigPort } from './config-port.js';
import { openFileSink, type FileSink } from './file-sink.js';
import { openFileSource } from './file-source.js';
import type { BatchSource } from './job-driver.js';
import { resolveJobSettings, type JobSettings } from './job-settings.js';
import { createStreamSource } from './stream-source.js';

export interface PreparedJob {
  flowName: string;
  flowRevision: number;
  flowSource: string;
  spec: FlowSpec;
  settings: JobSettings;
  /** Variables after the run's overrides and `init`. */
  vars: Record<string, string>;
  globals: Record<string, unknown>;
  /** Compiled for init/status (and every step in local mode). */
  compiled: CompiledFlow;
  /** Whole flow compiled, for batches run inside the coordinator. */
  compileAll(): Promise<CompiledFlow>;
  format: DataFormat;
  source: BatchSource & { close?(): Promise<void> };
  sink?: FileSink;
}

/** Parsed flows by name and revision: parsing and validating the YAML costs 2–5 ms, and every job needs it. */
const MAX_PARSED_FLOWS = 64;
const parsedFlows = new Map<string, { source: string; spec: FlowSpec }>();

/** The flow parsed from `source`; a revision parses once (the spec is never mutated: compile and settings copy). */
function parseFlowCached(name: string, flowRevision: number, source: string): FlowSpec {
  const key = `${name}@${flowRevision}`;
  const hit = parsedFlows.get(key);
  // The source is compared too: a flow deleted and created again starts its revisions over.
  if (hit && hit.source === source) return hit.spec;
  const spec = parseFlow(source);
  parsedFlows.delete(key);
  parsedFlows.set(key, { source, spec });
  while (parsedFlows.size > MAX_PARSED_FLOWS) parsedFlows.delete(parsedFlows.keys().next().value as string);
  return spec;
}

const FORMATS = {
  csv: DataFormat.DATA_FORMAT_CSV,
  jsonl: DataFormat.DATA_FORMAT_JSONL,
  lines: DataFormat.DATA_FORMAT_LINES,
} as const;

export async function prepareJob(
  config: ConfigPort,
  jobId: string,
  spec: JobSpec,
  opts: {
    pluginDir?: string;
    input?: AsyncIterator<InputChunk | 'end'>;
    epoch?: number;
    /** Slots a file's batches are planned for (its tail shrinks to balance them), from the job's settings. */
    planSlots?: (settings: JobSettings) => number;
  },
): Promise<PreparedJob> {
  if (!spec.flow) throw new InvalidArgumentError('spec.flow', 'name the flow to run');
  const def = await config.getFlow(spec.flow, spec.flowRevision);
  let flow: FlowSpec;
  try {
    flow = parseFlowCached(spec.flow, def.flowRevision, def.source);
  } catch (err) {
    if (err instanceof FlowValidationError) {
      throw new FailedPreconditionError(`flow ${spec.flow}@${def.flowRevision} is not valid: ${err.message}`);
    }
    throw err;
  }
  const settings = resolveJobSettings(flow, spec.distribute);
  let vars: Record<string, string>;
  try {
    vars = resolveVars(flow, spec.vars);
  } catch (err) {
    if (err instanceof FlowPathError) throw new InvalidArgumentError('spec.vars', err.message);
    throw err;
  }
  const loadReferenceTable = (name: string) => config.getReferenceTable(name);
  // Distributed runs compile only what runs here (init/status): plugins live on the executors.
  const compiled = await compileFlow({ ...flow, steps: [] }, { loadReferenceTable });
  let all: Promise<CompiledFlow> | undefined;
  const compileAll = (): Promise<CompiledFlow> =>
    (all ??= compileFlow(flow, {
      loadReferenceTable,
      ...(opts.pluginDir !== undefined ? { pluginDir: opts.pluginDir } : {}),
    }));

  let globals: Record<string, unknown> = {};
  try {
    const init = await runInit(compiled, { vars });
    vars = init.vars;
    globals = init.globals;
  } catch (err) {
    if (err instanceof FlowStepFailedError)
      throw new FailedPreconditionError(`init of flow ${spec.flow}: ${err.message}`);
    throw err;
  }

  const src = flow.source;
  const path = (template: string, field: string): string => {
    try {
      return resolvePath(template, vars);
    } catch (err) {
      if (err instanceof FlowPathError) throw new InvalidArgumentError(field, err.message);
      throw err;
    }
  };
  let source: PreparedJob['source'];
  if (src.type === 'file') {
    const root = await config.getFileRoot(src.root);
    source = await openFileSource({
      rootName: src.root,
      rootPath: root.path,
      path: path(src.path, 'source.path'),
      format: src.format,
      delimiter: src.csv.delimiter,
      quote: src.csv.quote,
      ...(settings.batchBytes !== undefined ? { batchBytes: settings.batchBytes } : {}),
      ...(settings.batchRecords !== undefined ? { batchRecords: settings.batchRecords } : {}),
      ...(opts.planSlots ? { planSlots: opts.planSlots(settings) } : {}),
    });
  } else {
    if (!opts.input)
      throw new FailedPreconditionError(`flow ${spec.flow} reads streamed input: run it with RunJob and send input`);
    source = createStreamSource(opts.input, {
      format: src.format,
      batchRecords: settings.batchRecords ?? 10_000,
      delimiter: src.csv.delimiter,
      quote: src.csv.quote,
    });
  }

  let sink: FileSink | undefined;
  try {
    if (flow.sink.type === 'file') {
      const root = await config.getFileRoot(flow.sink.root);
      sink = await openFileSink({
        rootName: flow.sink.root,
        rootPath: root.path,
        writable: root.writable,
        path: path(flow.sink.path, 'sink.path'),
        format: flow.sink.format,
        ...(flow.sink.columns ? { columns: flow.sink.columns } : {}),
        ...(flow.sink.layout ? { layout: flow.sink.layout } : {}),
        jobId,
        ...(opts.epoch !== undefined ? { epoch: opts.epoch } : {}),
      });
    }
  } catch (err) {
    await source.close?.();
    throw err;
  }

  return {
    flowName: spec.flow,
    flowRevision: def.flowRevision,
    flowSource: def.source,
    spec: flow,
    settings,
    vars,
    globals,
    compiled,
    compileAll,
    format: FORMATS[src.format],
    source,
    ...(sink ? { sink } : {}),
  };
}
