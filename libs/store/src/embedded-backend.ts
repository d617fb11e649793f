// Single-machine backend: classic-level (LevelDB) on local disk. Every commit is one atomic batch written
// with `sync: true` (fsync before the ack), holding the data, the new revision and the commit's history
// record, so a SIGKILL or power cut loses no acknowledged write and leaves no half-applied commit.
// One writer inside the process (a serial queue); LevelDB's lock file keeps other processes out.
import { ClassicLevel } from 'classic-level';
import { CasConflictError, StoreArgumentError, StoreClosedError } from './errors.js';
import { checkKey, checkOps, clampLimit } from './keys.js';
import { createSerialQueue } from './serial-queue.js';
import {
  DATA,
  META_COMPACTED,
  META_REV,
  dataKey,
  decodeEntry,
  encodeEntry,
  encodeEvents,
  historyKey,
} from './embedded-codec.js';
import { createEmbeddedWatchHub } from './embedded-watch.js';
import type { CasOptions, CommitResult, KvBackend, KvEntry, KvEvent, KvOp, ListOptions, ListPage } from './types.js';
import { deleteViaCommit, putViaCommit } from './single-ops.js';

export interface EmbeddedBackendOptions {
  /** Directory of the LevelDB files; created when missing. */
  dir: string;
  /** Commits kept for watch replay; older revisions answer RevisionCompactedError. @default 10000 */
  historyLimit?: number;
}

type Db = ClassicLevel<string, Uint8Array>;

export async function createEmbeddedBackend(opts: EmbeddedBackendOptions): Promise<KvBackend> {
  const historyLimit = opts.historyLimit ?? 10_000;
  if (!Number.isSafeInteger(historyLimit) || historyLimit < 1)
    throw new StoreArgumentError('historyLimit must be a positive integer');
  const db: Db = new ClassicLevel<string, Uint8Array>(opts.dir, { keyEncoding: 'utf8', valueEncoding: 'view' });
  await db.open(); // fails with LEVEL_LOCKED when another process holds the store
  let revision = await readNumber(db, META_REV);
  let compacted = await readNumber(db, META_COMPACTED);
  let closed = false;
  const serial = createSerialQueue();
  const hub = createEmbeddedWatchHub(db, () => ({ revision, compacted }));

  const assertOpen = (): void => {
    if (closed) throw new StoreClosedError();
  };

  async function readEntry(key: string): Promise<KvEntry | undefined> {
    const raw = await db.get(dataKey(key));
    return raw === undefined ? undefined : decodeEntry(key, raw);
  }

  /**
   * The compare-and-set read of a commit, synchronous: the keys of a config database are in LevelDB's
   * memtable or block cache (microseconds), while an asynchronous get is a thread-pool round trip per key
   * on every write — ~0.1–0.3 ms of a job-record put on a loaded machine (issue 7). The fsync'd batch
   * write stays asynchronous.
   */
  function readEntrySync(key: string): KvEntry | undefined {
    const raw = db.getSync(dataKey(key));
    return raw === undefined ? undefined : decodeEntry(key, raw);
  }

  function commit(ops: KvOp[]): Promise<CommitResult> {
    assertOpen();
    checkOps(ops);
    return serial(async () => {
      assertOpen();
      const current = ops.map((op) => readEntrySync(op.key));
      ops.forEach((op, i) => {
        const actual = current[i]?.modRevision ?? 0;
        if (op.expectedRevision !== undefined && op.expectedRevision !== actual) {
          throw new CasConflictError(op.key, op.expectedRevision, actual);
        }
      });
      const next = revision + 1;
      const batch: Array<{ type: 'put'; key: string; value: Uint8Array } | { type: 'del'; key: string }> = [];
      const events: KvEvent[] = [];
      const results: CommitResult['results'] = ops.map((op, i) => {
        const prev = current[i];
        if (op.type === 'put') {
          const entry: KvEntry = {
            key: op.key,
            value: Buffer.from(op.value),
            modRevision: next,
            createRevision: prev?.createRevision ?? next,
            version: (prev?.version ?? 0) + 1,
          };
          batch.push({ type: 'put', key: dataKey(op.key), value: encodeEntry(entry) });
          events.push({
            type: 'put',
            key: op.key,
            value: entry.value,
            modRevision: next,
            createRevision: entry.createRevision,
            version: entry.version,
          });
          return { type: 'put' as const, entry };
        }
        if (!prev) return { type: 'delete' as const, deleted: false };
        batch.push({ type: 'del', key: dataKey(op.key) });
        events.push({
          type: 'delete',
          key: op.key,
          modRevision: next,
          createRevision: prev.createRevision,
          version: prev.version,
        });
        return { type: 'delete' as const, deleted: true };
      });
      if (events.length === 0) return { revision, results }; // nothing changed: no new revision
      batch.push({ type: 'put', key: META_REV, value: Buffer.from(String(next)) });
      batch.push({ type: 'put', key: historyKey(next), value: encodeEvents(events) });
      // Each revision has exactly one history record, so dropping the one `historyLimit` back keeps it bounded.
      const drop = next - historyLimit;
      if (drop > 0) {
        batch.push({ type: 'del', key: historyKey(drop) });
        batch.push({ type: 'put', key: META_COMPACTED, value: Buffer.from(String(drop)) });
      }
      await db.batch(batch, { sync: true });
      revision = next;
      if (drop > 0) compacted = drop;
      hub.publish(events, next);
      return { revision: next, results };
    });
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
    const at = revision;
    const lower = o.after !== undefined && o.after >= prefix ? { gt: dataKey(o.after) } : { gte: dataKey(prefix) };
    const entries: KvEntry[] = [];
    let more = false;
    // Reads go through a LevelDB snapshot taken when the iterator opens, so a page is consistent.
    for await (const [k, v] of db.iterator({ ...lower, lt: dataKey(prefix) + '\u{10FFFF}', limit: limit + 1 })) {
      const key = k.slice(DATA.length);
      if (!key.startsWith(prefix)) break;
      if (entries.length === limit) {
        more = true;
        break;
      }
      const entry = decodeEntry(key, v);
      entries.push(o.keysOnly ? { ...entry, value: Buffer.alloc(0) } : entry);
    }
    const last = entries[entries.length - 1];
    return { entries, revision: at, ...(more && last ? { next: last.key } : {}) };
  }

  return {
    kind: 'embedded',
    async get(key) {
      assertOpen();
      checkKey(key);
      const at = revision;
      const entry = await readEntry(key);
      return entry ? { entry, revision: Math.max(at, entry.modRevision) } : { revision: at };
    },
    put,
    delete: del,
    commit,
    list,
    watch(prefix, fromRevision, listener) {
      assertOpen();
      return hub.add(prefix, fromRevision, listener);
    },
    async revision() {
      assertOpen();
      return revision;
    },
    async close() {
      if (closed) return;
      closed = true;
      await serial(async () => undefined); // let the commit in flight finish and be acknowledged
      hub.closeAll();
      await db.close();
    },
  };
}

async function readNumber(db: Db, key: string): Promise<number> {
  const raw = await db.get(key);
  return raw === undefined ? 0 : Number(Buffer.from(raw).toString('utf8'));
}
