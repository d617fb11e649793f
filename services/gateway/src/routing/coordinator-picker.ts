// Chooses the coordinator for a new job (issue 5): healthy coordinators from discovery, power of two
// choices on load, and a short "suspect" mark for one that just refused a connection so the failover
// attempt and the next few jobs go elsewhere without waiting for discovery to drop it.

/** The part of a discovery node the picker needs. */
export interface CoordinatorCandidate {
  id: string;
  address: string;
  /** Running jobs as the coordinator last published it; lower is better. */
  load: number;
  /** Discovery may mark a node draining/not serving; only absent or 'serving' is eligible. */
  health?: string;
}

export interface CoordinatorPickerOptions {
  /** Random source in [0, 1), injectable so tests are deterministic. @default Math.random */
  random?: () => number;
  /** How long a coordinator that failed to take a job is skipped. @default 5000 */
  suspectMs?: number;
  now?: () => number;
}

export interface CoordinatorPicker {
  /** A coordinator not in `exclude`, or undefined when none is eligible. */
  pick(candidates: readonly CoordinatorCandidate[], exclude?: ReadonlySet<string>): CoordinatorCandidate | undefined;
  /** Count a job this gateway started there (seen before discovery publishes the new load). */
  started(id: string): void;
  finished(id: string): void;
  /** The coordinator failed before accepting a job: skip it for a while. */
  markSuspect(id: string): void;
  inFlight(id: string): number;
}

export function createCoordinatorPicker(opts: CoordinatorPickerOptions = {}): CoordinatorPicker {
  const random = opts.random ?? Math.random;
  const suspectMs = opts.suspectMs ?? 5000;
  const now = opts.now ?? Date.now;
  const local = new Map<string, number>();
  const suspectUntil = new Map<string, number>();

  const score = (c: CoordinatorCandidate): number => Math.max(c.load, local.get(c.id) ?? 0);

  function eligible(c: CoordinatorCandidate, exclude?: ReadonlySet<string>): boolean {
    if (exclude?.has(c.id)) return false;
    if (c.health !== undefined && c.health !== '' && c.health !== 'serving') return false;
    const until = suspectUntil.get(c.id);
    if (until !== undefined) {
      if (until > now()) return false;
      suspectUntil.delete(c.id);
    }
    return true;
  }

  return {
    pick(candidates, exclude) {
      let pool = candidates.filter((c) => eligible(c, exclude));
      // When every remaining coordinator is suspect, trying one beats refusing the job outright.
      if (pool.length === 0)
        pool = candidates.filter((c) => !exclude?.has(c.id) && (c.health ?? 'serving') === 'serving');
      if (pool.length === 0) return undefined;
      if (pool.length === 1) return pool[0];
      // Power of two choices: two distinct random candidates, the less loaded wins (ties: the first).
      const i = Math.floor(random() * pool.length) % pool.length;
      let j = Math.floor(random() * (pool.length - 1)) % (pool.length - 1);
      if (j >= i) j += 1;
      const a = pool[i]!;
      const b = pool[j]!;
      return score(b) < score(a) ? b : a;
    },
    started(id) {
      local.set(id, (local.get(id) ?? 0) + 1);
    },
    finished(id) {
      const n = (local.get(id) ?? 0) - 1;
      if (n > 0) local.set(id, n);
      else local.delete(id);
    },
    markSuspect(id) {
      suspectUntil.set(id, now() + suspectMs);
    },
    inFlight(id) {
      return local.get(id) ?? 0;
    },
  };
}
