// The local view every provider's watcher maintains: a map of nodes plus add/update/remove events that are
// emitted only for real changes, so providers can re-apply a full listing after a reconnect safely.
import { EventEmitter } from 'node:events';
import { sameNodeInfo } from './node-info.js';
import type { DiscoveryView, NodeInfo, NodeKindName } from './types.js';

export class LocalView extends EventEmitter implements DiscoveryView {
  private readonly byId = new Map<string, NodeInfo>();
  private closed = false;
  private resolveReady!: () => void;
  readonly ready: Promise<void>;

  constructor(
    private readonly kind: NodeKindName | undefined,
    private readonly onClose: () => void,
  ) {
    super();
    this.ready = new Promise<void>((resolve) => (this.resolveReady = resolve));
  }

  get isClosed(): boolean {
    return this.closed;
  }

  nodes(kind?: NodeKindName): NodeInfo[] {
    const all = [...this.byId.values()];
    return (kind ? all.filter((n) => n.kind === kind) : all).sort((a, b) => a.id.localeCompare(b.id));
  }

  get(id: string): NodeInfo | undefined {
    return this.byId.get(id);
  }

  /** Adds or replaces one node; emits `add` or `update` when it changed. */
  upsert(node: NodeInfo): void {
    if (this.closed || (this.kind && node.kind !== this.kind)) return;
    const previous = this.byId.get(node.id);
    if (previous && sameNodeInfo(previous, node)) return;
    this.byId.set(node.id, node);
    this.emit(previous ? 'update' : 'add', node);
  }

  /** Drops one node; emits `remove` with its last known info. */
  remove(id: string): void {
    if (this.closed) return;
    const previous = this.byId.get(id);
    if (!previous) return;
    this.byId.delete(id);
    this.emit('remove', previous);
  }

  /** Replaces the whole view by a fresh listing (initial list, resync after a lost watch). */
  replaceAll(nodes: Iterable<NodeInfo>): void {
    if (this.closed) return;
    const seen = new Set<string>();
    for (const node of nodes) {
      seen.add(node.id);
      this.upsert(node);
    }
    for (const id of [...this.byId.keys()]) if (!seen.has(id)) this.remove(id);
    this.resolveReady();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.resolveReady();
    this.onClose();
    this.removeAllListeners();
  }
}
