// Periodic compaction of etcd's history, so a config database with frequently updated records (job
// progress, checkpoints) does not grow without bound. Keeps the last `keepRevisions` revisions for watch
// resume; several config-store instances may run it (compacting to an already compacted revision fails
// harmlessly). Watchers older than the kept history get RevisionCompactedError and list again.
import type { Etcd3 } from 'etcd3';

export interface AutoCompactOptions {
  /** Revisions kept behind the current one. @default 10000 */
  keepRevisions?: number;
  /** @default 300000 (5 minutes) */
  intervalMs?: number;
  onError?: (err: Error) => void;
}

export function startCompactor(client: Etcd3, key: Buffer, opts: AutoCompactOptions): () => void {
  const keep = opts.keepRevisions ?? 10_000;
  let last = 0;
  let running = false;
  const tick = async (): Promise<void> => {
    if (running) return;
    running = true;
    try {
      const res = await client.kv.range({ key, count_only: true });
      const target = Number(res.header.revision) - keep;
      if (target > last) {
        await client.kv.compact({ revision: target });
        last = target;
      }
    } catch (err) {
      if (!/compacted/i.test((err as Error).message)) opts.onError?.(err as Error);
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void tick(), opts.intervalMs ?? 300_000);
  timer.unref();
  return () => clearInterval(timer);
}
