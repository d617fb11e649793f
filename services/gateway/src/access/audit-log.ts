// The gateway's side of the audit log (issue 5): every refusal and every admin change is appended to
// config-store. Appends run one at a time from a bounded queue so a slow store never blocks a call or
// grows memory; what overflows is dropped, counted and logged (never silently lost).
import type { AuditEntry } from '@flowmesh/contracts';

export interface AuditLogOptions {
  append: (entry: AuditEntry) => Promise<void>;
  /** Entries waiting to be appended. @default 1000 */
  maxQueue?: number;
  onError?: (err: unknown, entry: AuditEntry) => void;
  onDrop?: (entry: AuditEntry) => void;
}

export interface AuditLog {
  record(entry: Omit<AuditEntry, 'at'> & { at?: Date }): void;
  /** Resolves when everything recorded so far has been appended (or failed). */
  flush(): Promise<void>;
  readonly dropped: number;
  readonly failed: number;
}

export function createAuditLog(opts: AuditLogOptions): AuditLog {
  const maxQueue = opts.maxQueue ?? 1000;
  const queue: AuditEntry[] = [];
  let draining: Promise<void> | undefined;
  let dropped = 0;
  let failed = 0;

  async function drain(): Promise<void> {
    for (let entry = queue.shift(); entry; entry = queue.shift()) {
      try {
        await opts.append(entry);
      } catch (err) {
        failed += 1;
        opts.onError?.(err, entry);
      }
    }
  }

  function kick(): Promise<void> {
    draining ??= drain().finally(() => {
      draining = undefined;
      if (queue.length > 0) void kick();
    });
    return draining;
  }

  return {
    record(e) {
      const entry: AuditEntry = { ...e, at: e.at ?? new Date() };
      if (queue.length >= maxQueue) {
        dropped += 1;
        opts.onDrop?.(entry);
        return;
      }
      queue.push(entry);
      void kick();
    },
    async flush() {
      while (draining || queue.length > 0) await kick();
    },
    get dropped() {
      return dropped;
    },
    get failed() {
      return failed;
    },
  };
}
