// Global cache variables of a run (issue 4): counters incremented by batches and key-values they set,
// shared by all batches (each starts with the values known when it is dispatched) and read by `status`.
// Only accepted batches are applied, so a retried batch never counts twice.
export interface Globals {
  apply(counterDeltas: Record<string, number>, cacheSets: Record<string, string>): void;
  snapshot(): Record<string, unknown>;
}

export function createGlobals(initial: Record<string, unknown> = {}): Globals {
  const values: Record<string, unknown> = { ...initial };
  return {
    apply(counterDeltas, cacheSets) {
      for (const [key, delta] of Object.entries(counterDeltas)) {
        const before = values[key];
        values[key] = (typeof before === 'number' ? before : 0) + delta;
      }
      for (const [key, value] of Object.entries(cacheSets)) values[key] = value;
    },
    snapshot: () => ({ ...values }),
  };
}
