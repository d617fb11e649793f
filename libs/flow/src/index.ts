// @flowmesh/flow public API (flow-spec part). flow-io appends its exports below.
export type {
  FlowSpec, FlowSource, FileSource, StreamSource, FlowSink, Distribute, BatchSize, CsvOptions, RecordFormat,
  Step, StepType, AggregateSpec, Metric, MetricOp, GroupKey,
} from './spec/types.js';
export { FlowValidationError, formatIssue, type FlowIssue } from './spec/issues.js';
export { parseFlow } from './spec/parse-flow.js';
export { checkFlowSource, type FlowCheckContext } from './spec/check-flow-source.js';
export { resolveVars, resolvePath, FlowPathError } from './spec/vars.js';
// expressions, engine, reference runner (flow-spec)
export { compileExpression, ExpressionError, type EvalContext, type Evaluator } from './expr/compile-expression.js';
export { checkExpression, type ExprProblem } from './expr/check-expression.js';
export { compileFlow, FlowCompileError, type CompiledFlow, type CompileFlowOptions } from './engine/compile-flow.js';
export { runBatch, type BatchInput, type BatchResult, type BatchCounts, type Reject, type RunBatchOptions } from './engine/run-batch.js';
export { runInit, runStatus, FlowStepFailedError, type InitContext, type JobSummary, type OnceResult } from './engine/run-once.js';
export { applyBatchGlobals, type Globals } from './engine/globals.js';
export { mergeAggregates, finalizeAggregates, type AggregatePartial, type AggregateRow } from './engine/aggregates.js';
export type { ReferenceTableData } from './steps/lookup-step.js';
export { PluginLoadError } from './steps/plugin-step.js';
export { runFlowLocal, type LocalRunOptions, type LocalRunResult } from './local/run-flow-local.js';

// flow-io: codecs, planning, encoding, checksums, orders generator.
export * from './io/index.js';
