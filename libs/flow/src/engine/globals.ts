// Global cache variables: counters and a small key-value store shared by all batches of a run. Batches
// report counter increments and key-value sets; the coordinator applies them here, in batch order or as
// batches are accepted (counters commute; for the same key the last accepted set wins).
export type Globals = Record<string, unknown>;

export function applyBatchGlobals(globals: Globals, counterDeltas: Record<string, number>, cacheSets: Record<string, string>): Globals {
  for (const [name, delta] of Object.entries(counterDeltas)) {
    const cur = globals[name];
    globals[name] = (typeof cur === 'number' ? cur : 0) + delta;
  }
  for (const [key, value] of Object.entries(cacheSets)) globals[key] = value;
  return globals;
}
