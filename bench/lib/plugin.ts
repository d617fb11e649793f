// Loads the orders transform that every configuration of the benchmark runs: the example plugin module.
import { pathToFileURL } from 'node:url';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

export type Transform = (record: Record<string, unknown>, ctx: { vars: Record<string, string>; globals: Record<string, unknown> }) => unknown;

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const pluginDir = join(repoRoot, 'examples', 'orders', 'plugins');
export const pluginModule = 'orders.mjs';
export const pluginExport = 'enrichOrder';

export async function loadTransform(): Promise<Transform> {
  const mod = (await import(pathToFileURL(join(pluginDir, pluginModule)).href)) as Record<string, unknown>;
  const fn = mod[pluginExport];
  if (typeof fn !== 'function') throw new Error(`${pluginModule} has no export "${pluginExport}"`);
  return fn as Transform;
}

/** Applies the transform the way the engine does: a record, an array of records, or nothing. */
export function applyTransform(fn: Transform, record: Record<string, unknown>, ctx: Parameters<Transform>[1], out: (r: Record<string, unknown>) => void): boolean {
  let result: unknown;
  try {
    result = fn(record, ctx);
  } catch {
    return false;
  }
  if (result === null || result === undefined) return true;
  if (Array.isArray(result)) for (const r of result) out(r as Record<string, unknown>);
  else out(result as Record<string, unknown>);
  return true;
}
