// The config database on etcd. All etcd access of config-store goes through this file and its helpers:
// keys live under one namespace (default `/flowmesh/config/`, see docs/key-layout.md), compare-and-set is
// a transaction comparing mod_revision, and every unary call has a deadline and a bounded retry.
import type { Etcd3, IKeyValue, IRequestOp, ITxnResponse } from 'etcd3';
import { CasConflictError, StoreClosedError } from './errors.js';
import { createEtcdClient, type EtcdClientOptions } from './etcd-client.js';
import { defaultRetryBudget, withRetry, type RetryBudget } from './etcd-retry.js';
import { createEtcdWatch } from './etcd-watch.js';
import { startCompactor, type AutoCompactOptions } from './etcd-compactor.js';
import { checkKey, checkOps, clampLimit, prefixEnd } from './keys.js';
import type { CasOptions, CommitResult, KvBackend, KvEntry, KvOp, ListOptions, ListPage } from './types.js';
import { deleteViaCommit, putViaCommit } from './single-ops.js';

export interface EtcdBackendOptions extends EtcdClientOptions {
  /** Prefix of every key. @default '/flowmesh/config/' */
  namespace?: string;
  retry?: Partial<RetryBudget>;
  /** Compact etcd's history periodically (off unless given). */
  autoCompact?: AutoCompactOptions;
}

export function createEtcdBackend(opts: EtcdBackendOptions): KvBackend {
  const ns = opts.namespace ?? '/flowmesh/config/';
  const client: Etcd3 = createEtcdClient(opts);
  const budget: RetryBudget = { ...defaultRetryBudget, ...opts.retry };
  let closed = false;
  const full = (key: string): Buffer => Buffer.from(ns + key);
  const stopCompactor = opts.autoCompact ? startCompactor(client, full(''), opts.autoCompact) : undefined;
  const toEntry = (kv: IKeyValue): KvEntry => ({
    key: kv.key.toString('utf8').slice(ns.length),
    value: Buffer.from(kv.value ?? []),
    modRevision: Number(kv.mod_revision),
    createRevision: Number(kv.create_revision),
    version: Number(kv.version),
  });
  const assertOpen = (): void => {
    if (closed) throw new StoreClosedError();
  };

  function commit(ops: KvOp[]): Promise<CommitResult> {
    assertOpen();
    checkOps(ops);
    const casOps = ops.filter((op) => op.expectedRevision !== undefined);
    const request = {
      compare: casOps.map((op) => ({
        key: full(op.key),
        target: 'Mod' as const,
        result: 'Equal' as const,
        mod_revision: op.expectedRevision!,
      })),
      success: ops.map((op): IRequestOp =>
        op.type === 'put'
          ? { request_put: { key: full(op.key), value: op.value, prev_kv: true } }
          : { request_delete_range: { key: full(op.key), prev_kv: true } },
      ),
      // On a conflict, read every key of the commit: to name the actual revision, and to recognize
      // our own earlier attempt that succeeded although its answer was lost (see below).
      failure: ops.map((op): IRequestOp => ({ request_range: { key: full(op.key) } })),
    };
    return withRetry('commit', budget, async (attempt) => {
      const res: ITxnResponse = await client.kv.txn(request);
      if (res.succeeded) return successResult(ops, res);
      const current = res.responses.map((r) => r.response_range.kvs[0]);
      // A retried write whose first attempt was applied (the leader died before answering) fails its
      // own compare now. If every key already holds exactly what we wrote, that was us: report success.
      if (attempt > 0 && ops.every((op, i) => (op.type === 'put' ? current[i]?.value.equals(op.value) : !current[i]))) {
        // All puts of one commit share its revision; a delete-only commit reports the store's revision.
        const putRevision = Math.max(0, ...current.map((kv) => Number(kv?.mod_revision ?? 0)));
        const revision = putRevision > 0 ? putRevision : Number(res.header.revision);
        return {
          revision,
          results: ops.map((op, i) =>
            op.type === 'put'
              ? { type: 'put' as const, entry: toEntry(current[i]!) }
              : { type: 'delete' as const, deleted: true },
          ),
        };
      }
      for (const [i, op] of ops.entries()) {
        const actual = Number(current[i]?.mod_revision ?? 0);
        if (op.expectedRevision !== undefined && op.expectedRevision !== actual) {
          throw new CasConflictError(op.key, op.expectedRevision, actual);
        }
      }
      throw new CasConflictError(casOps[0]?.key ?? ops[0]!.key, casOps[0]?.expectedRevision ?? 0, -1); // changed between compare and read
    });
  }

  function successResult(ops: KvOp[], res: ITxnResponse): CommitResult {
    const revision = Number(res.header.revision);
    return {
      revision,
      results: ops.map((op, i) => {
        const r = res.responses[i];
        if (op.type === 'put') {
          const prev = r?.response_put.prev_kv;
          return {
            type: 'put' as const,
            entry: {
              key: op.key,
              value: Buffer.from(op.value),
              modRevision: revision,
              createRevision: prev ? Number(prev.create_revision) : revision,
              version: prev ? Number(prev.version) + 1 : 1,
            },
          };
        }
        return { type: 'delete' as const, deleted: Number(r?.response_delete_range.deleted ?? 0) > 0 };
      }),
    };
  }

  function put(key: string, value: Buffer, o: CasOptions = {}): Promise<KvEntry> {
    return putViaCommit(commit, key, value, o);
  }

  function del(key: string, o: CasOptions = {}): Promise<{ revision: number; deleted: boolean }> {
    return deleteViaCommit(commit, key, o);
  }

  async function list(prefix: string, o: ListOptions = {}): Promise<ListPage> {
    assertOpen();
    const limit = clampLimit(o.limit);
    const start =
      o.after !== undefined && o.after >= prefix ? Buffer.concat([full(o.after), Buffer.from([0])]) : full(prefix);
    const res = await withRetry('list', budget, () =>
      client.kv.range({
        key: start,
        range_end: prefixEnd(full(prefix)),
        limit,
        ...(o.keysOnly ? { keys_only: true } : {}),
      }),
    );
    const entries = res.kvs.map(toEntry);
    const last = entries[entries.length - 1];
    return { entries, revision: Number(res.header.revision), ...(res.more && last ? { next: last.key } : {}) };
  }

  return {
    kind: 'etcd',
    async get(key) {
      assertOpen();
      checkKey(key);
      const res = await withRetry('get', budget, () => client.kv.range({ key: full(key) }));
      const kv = res.kvs[0];
      return { ...(kv ? { entry: toEntry(kv) } : {}), revision: Number(res.header.revision) };
    },
    put,
    delete: del,
    commit,
    list,
    watch(prefix, fromRevision, listener) {
      assertOpen();
      return createEtcdWatch(client, ns, prefix, fromRevision, listener);
    },
    async revision() {
      assertOpen();
      const res = await withRetry('revision', budget, () => client.kv.range({ key: full(''), count_only: true }));
      return Number(res.header.revision);
    },
    async close() {
      if (closed) return;
      closed = true;
      stopCompactor?.();
      client.close();
    },
  };
}
