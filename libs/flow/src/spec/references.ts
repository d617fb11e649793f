// Things a flow names that only the deployment can confirm (file roots, plugin files, reference tables).
// The validator records them with their positions; checkFlowSource resolves them against its context.
export interface FlowReference {
  kind: 'root' | 'plugin' | 'table';
  value: string;
  path: string;
  line: number;
  column: number;
}
