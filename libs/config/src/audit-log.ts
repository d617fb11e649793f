// The append-only audit log: entries under audit/<sequence, 16 digits>, each written with "must not
// exist" in the same commit that raises the sequence counter, so an entry is never overwritten and the
// sequence has no gaps or repeats even with several config-store instances appending at once.
import { InvalidArgumentError, UnavailableError } from '@flowmesh/runtime';
import { ResourceKind, type AuditEntry } from '@flowmesh/contracts';
import { CasConflictError, type KvBackend } from '@flowmesh/store';
import { AUDIT_SEQ_KEY, auditName, resourceKey } from './keys.js';
import { encodeRecord } from './record.js';
import { newResource } from './new-resource.js';
import { translateStoreError, storeCall } from './store-errors.js';

const APPEND_ATTEMPTS = 32;
const TEXT_LIMIT = 4096;

export function validateAuditEntry(entry: AuditEntry | undefined): AuditEntry {
  if (!entry) throw new InvalidArgumentError('entry', 'is required');
  if (entry.actor === '') throw new InvalidArgumentError('entry.actor', 'is required');
  if (entry.action === '') throw new InvalidArgumentError('entry.action', 'is required');
  for (const f of ['actor', 'action', 'target', 'detail'] as const) {
    if (Buffer.byteLength(entry[f]) > TEXT_LIMIT)
      throw new InvalidArgumentError(`entry.${f}`, `longer than ${TEXT_LIMIT} bytes`);
  }
  return entry;
}

export async function appendAudit(
  backend: KvBackend,
  entry: AuditEntry,
  now: Date,
): Promise<{ revision: number; name: string }> {
  const e: AuditEntry = { ...validateAuditEntry(entry), at: entry.at ?? now };
  for (let attempt = 0; attempt < APPEND_ATTEMPTS; attempt++) {
    const counter = (await storeCall('audit sequence', () => backend.get(AUDIT_SEQ_KEY))).entry;
    const seq = (counter ? Number(counter.value.toString('utf8')) : 0) + 1;
    const name = auditName(seq);
    const value = encodeRecord(
      newResource({
        kind: ResourceKind.RESOURCE_KIND_AUDIT,
        name,
        updatedAt: now,
        updatedBy: e.actor,
        spec: { $case: 'audit', audit: e },
      }),
    );
    try {
      const res = await backend.commit([
        {
          type: 'put',
          key: AUDIT_SEQ_KEY,
          value: Buffer.from(String(seq)),
          expectedRevision: counter?.modRevision ?? 0,
        },
        { type: 'put', key: resourceKey(ResourceKind.RESOURCE_KIND_AUDIT, name), value, expectedRevision: 0 },
      ]);
      return { revision: res.revision, name };
    } catch (err) {
      if (err instanceof CasConflictError) {
        // Another appender took this number: back off a little (jittered) and take the next one.
        await new Promise((r) => setTimeout(r, Math.random() * Math.min(50, 2 ** attempt)));
        continue;
      }
      throw translateStoreError(err, 'audit log');
    }
  }
  throw new UnavailableError('audit log is contended; try again');
}
