// The key-value contract both backends implement (etcd and embedded). Revisions are store-wide and
// strictly increasing; every change carries the revision of the commit that made it.

export interface KvEntry {
  key: string;
  value: Buffer;
  /** Revision of the last write to this key. */
  modRevision: number;
  /** Revision of the write that created this key (since its last delete). */
  createRevision: number;
  /** Writes since creation, from 1. */
  version: number;
}

/**
 * Compare-and-set on a key's mod revision: `undefined` = unconditional, `0` = the key must not exist,
 * `N` = the key's mod revision must equal N.
 */
export interface CasOptions {
  expectedRevision?: number;
}

export type KvOp =
  | { type: 'put'; key: string; value: Buffer; expectedRevision?: number }
  | { type: 'delete'; key: string; expectedRevision?: number };

export interface CommitResult {
  /** Store revision after the commit (unchanged when nothing changed, e.g. deleting an absent key). */
  revision: number;
  /** Per op, in order: the written entry for puts, whether a key was removed for deletes. */
  results: Array<{ type: 'put'; entry: KvEntry } | { type: 'delete'; deleted: boolean }>;
}

export interface ListOptions {
  /** At most this many entries. @default 100 */
  limit?: number;
  /** Continue after this key (exclusive): the `next` of the previous page. */
  after?: string;
  /** Entries come with empty values (names of large records without reading them). */
  keysOnly?: boolean;
}

export interface ListPage {
  entries: KvEntry[];
  /** Key to pass as `after` for the next page; absent on the last page. */
  next?: string;
  /** Store revision the page was read at. */
  revision: number;
}

export interface KvEvent {
  type: 'put' | 'delete';
  key: string;
  /** Absent for deletes. */
  value?: Buffer;
  /** Revision of the change (for deletes: the delete's revision). */
  modRevision: number;
  createRevision: number;
  version: number;
}

export interface WatchListener {
  /** Events of one or more commits, in revision order; `revision` is the newest revision known. */
  onEvents(events: KvEvent[], revision: number): void;
  /**
   * The watch ended and will not resume by itself (e.g. RevisionCompactedError: re-list and watch again
   * from the list's revision). Transient disconnects are not errors: the backend resumes on its own.
   */
  onError(err: Error): void;
}

export interface WatchHandle {
  /** Resolves once the watch is established (replay may still be under way). */
  ready: Promise<void>;
  close(): Promise<void>;
}

export interface KvBackend {
  readonly kind: 'etcd' | 'embedded';
  get(key: string): Promise<{ entry?: KvEntry; revision: number }>;
  /** Throws CasConflictError when `expectedRevision` does not hold. */
  put(key: string, value: Buffer, opts?: CasOptions): Promise<KvEntry>;
  /** Throws CasConflictError when `expectedRevision` does not hold. */
  delete(key: string, opts?: CasOptions): Promise<{ revision: number; deleted: boolean }>;
  /** All ops or none, at one revision; every op's CAS condition must hold. At most 64 ops. */
  commit(ops: KvOp[]): Promise<CommitResult>;
  /** Keys starting with `prefix`, in byte order, paged. */
  list(prefix: string, opts?: ListOptions): Promise<ListPage>;
  /**
   * Every change under `prefix` with a revision greater than `fromRevision` (0 = from now on), in
   * revision order, then live changes; resumes by itself after a disconnect without gaps or repeats.
   */
  watch(prefix: string, fromRevision: number, listener: WatchListener): WatchHandle;
  /** Current store revision. */
  revision(): Promise<number>;
  /** Idempotent. */
  close(): Promise<void>;
}

/** Most ops one commit may hold (etcd's default --max-txn-ops is 128). */
export const MAX_COMMIT_OPS = 64;
