// The store-time check: everything parseFlow checks, plus what only the deployment knows — that file
// roots and reference tables exist and that plugin files are present in the executors' plugin directory.
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { FlowIssue } from './issues.js';
import { validateFlowText } from './validate-flow.js';

export interface FlowCheckContext {
  /** Root name → absolute directory; when given, every root the flow names must be listed. */
  fileRoots?: Record<string, string>;
  /** When given, plugin modules must exist there. */
  pluginDir?: string;
  /** When given, lookup tables must be among these names. */
  referenceTables?: string[];
}

export async function checkFlowSource(source: string, ctx: FlowCheckContext = {}): Promise<FlowIssue[]> {
  const { issues, references } = validateFlowText(source);
  const out = [...issues];
  for (const ref of references) {
    const at = { line: ref.line, column: ref.column, path: ref.path };
    if (ref.kind === 'root' && ctx.fileRoots && !Object.prototype.hasOwnProperty.call(ctx.fileRoots, ref.value)) {
      out.push({ ...at, message: `unknown file root "${ref.value}"` });
    } else if (ref.kind === 'table' && ctx.referenceTables && !ctx.referenceTables.includes(ref.value)) {
      out.push({ ...at, message: `unknown reference table "${ref.value}"` });
    } else if (ref.kind === 'plugin' && ctx.pluginDir !== undefined) {
      const file = join(ctx.pluginDir, ref.value);
      const found = await stat(file).then((s) => s.isFile(), () => false);
      if (!found) out.push({ ...at, message: `plugin "${ref.value}" does not exist in the plugin directory` });
    }
  }
  return out.sort((a, b) => a.line - b.line || a.column - b.column);
}
