// @flowmesh/flow public API (flow-spec part). flow-io appends its exports below.
export type {
  FlowSpec, FlowSource, FileSource, StreamSource, FlowSink, Distribute, BatchSize, CsvOptions, RecordFormat,
  Step, StepType, AggregateSpec, Metric, MetricOp, GroupKey,
} from './spec/types.js';
export { FlowValidationError, formatIssue, type FlowIssue } from './spec/issues.js';
export { parseFlow } from './spec/parse-flow.js';
export { checkFlowSource, type FlowCheckContext } from './spec/check-flow-source.js';
export { resolveVars, resolvePath, FlowPathError } from './spec/vars.js';

// flow-io: codecs, planning, encoding, checksums, orders generator.
export * from './io/index.js';
