// The discovery contract shared by every provider (docs/interfaces.md, "@flowmesh/discovery").
import type { EventEmitter } from 'node:events';

export const NODE_KINDS = ['gateway', 'coordinator', 'executor', 'config-store'] as const;
export type NodeKindName = (typeof NODE_KINDS)[number];

/** What a node publishes about itself. `address` is `host:port` of its gRPC server. */
export interface NodeInfo {
  id: string;
  kind: NodeKindName;
  address: string;
  slots: number;
  slotsBusy: number;
  load: number;
  version: string;
  fileRoots: string[];
  labels: Record<string, string>;
  /** ISO 8601 time the process started. */
  startedAt: string;
}

/** Lifecycle of one registration, observable through its `state` event. */
export type RegistrationState = 'registered' | 'lost' | 'deregistered';

/**
 * A node's live entry. Providers keep it alive (lease keepalive, TTL check, heartbeat file) and register again
 * after losing it. Events: `state` (RegistrationState), `error` is never emitted (failures are retried;
 * the last one is kept in `lastError`).
 */
export interface Registration extends EventEmitter {
  readonly node: NodeInfo;
  readonly state: RegistrationState;
  readonly lastError: Error | undefined;
  /** Rewrites the entry with `patch` applied (same lease / check / file). `id` and `kind` cannot change. */
  update(patch: Partial<Omit<NodeInfo, 'id' | 'kind'>>): Promise<void>;
  /** Removes the entry now (idempotent). Best effort when the backend is down: it then expires by TTL. */
  deregister(): Promise<void>;
}

/**
 * A local view of the registered nodes, kept current by a watch. Events: `add`, `update`, `remove`, each with the
 * NodeInfo (for `remove`, the last known one). Events are emitted only for real changes.
 */
export interface DiscoveryView extends EventEmitter {
  nodes(kind?: NodeKindName): NodeInfo[];
  get(id: string): NodeInfo | undefined;
  /** Resolves once the initial listing has been applied. */
  readonly ready: Promise<void>;
  close(): void;
}

export interface Discovery {
  readonly provider: DiscoveryProviderName;
  register(node: NodeInfo): Promise<Registration>;
  watch(kind?: NodeKindName): DiscoveryView;
  /** Deregisters what this instance registered (best effort), closes its views and clients. Idempotent. */
  close(): Promise<void>;
}

export type DiscoveryProviderName = 'etcd' | 'consul' | 'file';

interface CommonOptions {
  /** Lifetime of an entry without a heartbeat. @default 5 */
  ttlSeconds?: number;
}

export interface EtcdDiscoveryOptions extends CommonOptions {
  provider: 'etcd';
  endpoints: string[];
  /** Key prefix: keys are `/<namespace>/nodes/<kind>/<id>`. @default "flowmesh" */
  namespace?: string;
  /** Deadline of each unary etcd call. @default 2000 */
  callTimeoutMs?: number;
}

export interface ConsulDiscoveryOptions extends CommonOptions {
  provider: 'consul';
  /** `host:port` or `http://host:port` of a Consul agent. */
  address: string;
  /** Service names are `<namespace>-<kind>`. @default "flowmesh" */
  namespace?: string;
  /** Deadline of each Consul HTTP call (blocking queries add their wait). @default 2000 */
  callTimeoutMs?: number;
}

export interface FileDiscoveryOptions extends CommonOptions {
  provider: 'file';
  /** Registry directory; entries are `<dir>/<kind>/<id>.json`. */
  dir: string;
  /**
   * How often watchers rescan the whole directory. Changes arrive sooner through fs.watch and entries expire at
   * their TTL by a timer; the rescan is the safety net for filesystems whose watch misses events. @default 2000
   */
  pollMs?: number;
}

export type DiscoveryOptions = EtcdDiscoveryOptions | ConsulDiscoveryOptions | FileDiscoveryOptions;
