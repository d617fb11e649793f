// Discovery's node entries as the public `Node` message.
import { NodeHealth, NodeKind, type Node } from '@flowmesh/contracts';

/** The fields of a discovery NodeInfo the gateway reads (kept local so this file has no provider dependency). */
export interface NodeInfoLike {
  id: string;
  kind: string;
  address: string;
  slots: number;
  slotsBusy: number;
  load: number;
  version: string;
  fileRoots: string[];
  labels: Record<string, string>;
  startedAt: string;
}

const KINDS: Record<string, NodeKind> = {
  gateway: NodeKind.NODE_KIND_GATEWAY,
  coordinator: NodeKind.NODE_KIND_COORDINATOR,
  executor: NodeKind.NODE_KIND_EXECUTOR,
  'config-store': NodeKind.NODE_KIND_CONFIG_STORE,
};

export function nodeKindName(kind: NodeKind): string | undefined {
  return Object.entries(KINDS).find(([, k]) => k === kind)?.[0];
}

function healthOf(labels: Record<string, string>): NodeHealth {
  switch (labels['health']) {
    case 'draining':
      return NodeHealth.NODE_HEALTH_DRAINING;
    case 'not_serving':
      return NodeHealth.NODE_HEALTH_NOT_SERVING;
    default:
      // Listed in discovery means its lease/heartbeat is alive.
      return NodeHealth.NODE_HEALTH_SERVING;
  }
}

export function toNode(n: NodeInfoLike): Node {
  const started = Date.parse(n.startedAt);
  return {
    id: n.id,
    kind: KINDS[n.kind] ?? NodeKind.NODE_KIND_UNSPECIFIED,
    address: n.address,
    slots: n.slots,
    slotsBusy: n.slotsBusy,
    load: n.load,
    version: n.version,
    health: healthOf(n.labels ?? {}),
    startedAt: Number.isFinite(started) ? new Date(started) : undefined,
    fileRoots: n.fileRoots ?? [],
    labels: n.labels ?? {},
  };
}
