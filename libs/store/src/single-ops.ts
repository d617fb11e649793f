// `put` and `delete` of one key, written once over any backend's `commit`, so every backend
// answers them (and their CAS conditions) exactly as a one-op transaction.
import type { CasOptions, CommitResult, KvEntry, KvOp } from './types.js';

export type CommitFn = (ops: KvOp[]) => Promise<CommitResult>;

export async function putViaCommit(commit: CommitFn, key: string, value: Buffer, o: CasOptions = {}): Promise<KvEntry> {
  const res = await commit([
    {
      type: 'put',
      key,
      value,
      ...(o.expectedRevision !== undefined ? { expectedRevision: o.expectedRevision } : {}),
    },
  ]);
  const r = res.results[0];
  if (r?.type !== 'put') throw new Error('unreachable: put without a put result');
  return r.entry;
}

export async function deleteViaCommit(
  commit: CommitFn,
  key: string,
  o: CasOptions = {},
): Promise<{ revision: number; deleted: boolean }> {
  const res = await commit([
    { type: 'delete', key, ...(o.expectedRevision !== undefined ? { expectedRevision: o.expectedRevision } : {}) },
  ]);
  const r = res.results[0];
  return { revision: res.revision, deleted: r?.type === 'delete' && r.deleted };
}
