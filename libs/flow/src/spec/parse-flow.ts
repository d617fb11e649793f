import { FlowValidationError } from './issues.js';
import type { FlowSpec } from './types.js';
import { validateFlowText } from './validate-flow.js';

/** Parses and validates flow text (YAML or JSON), expressions type-checked. Throws FlowValidationError. */
export function parseFlow(source: string): FlowSpec {
  const result = validateFlowText(source);
  if (!result.spec) throw new FlowValidationError(result.issues);
  return result.spec;
}
