// A view over Consul: one blocking-query watch (`health.service`, passing only) per node kind. A node whose
// TTL check went critical is not passing and leaves the view. The consul client retries failed queries itself
// with capped backoff.
import { NODE_KINDS, type NodeInfo, type NodeKindName } from '../types.js';
import { LocalView } from '../view.js';
import { fromMeta, serviceName, type ConsulClient } from './client.js';

interface HealthEntry {
  Service?: { Meta?: Record<string, string> };
}

export function watchConsul(
  consul: ConsulClient,
  namespace: string,
  kind: NodeKindName | undefined,
  callTimeoutMs: number,
  onClose: (v: LocalView) => void,
): LocalView {
  const kinds = kind ? [kind] : [...NODE_KINDS];
  const perKind = new Map<NodeKindName, NodeInfo[]>();
  const watches = kinds.map((k) => {
    const w = consul.watch({
      method: consul.health.service,
      // `wait` bounds each blocking query; the client adds a margin to it for the HTTP timeout.
      options: { service: serviceName(namespace, k), passing: true, wait: '5s' } as never,
      backoffMax: Math.max(1000, callTimeoutMs),
    });
    w.on('change', (data: HealthEntry[]) => {
      const nodes: NodeInfo[] = [];
      for (const entry of Array.isArray(data) ? data : []) {
        const node = fromMeta(entry.Service?.Meta);
        if (node && node.kind === k) nodes.push(node);
      }
      perKind.set(k, nodes);
      // Ready once every kind has answered once; then every answer replaces that kind's part of the view.
      if (perKind.size === kinds.length) view.replaceAll([...perKind.values()].flat());
    });
    w.on('error', () => {
      // Retried by the watch with backoff; the view keeps its last known state meanwhile.
    });
    return w;
  });
  const view: LocalView = new LocalView(kind, () => {
    for (const w of watches) w.end();
    onClose(view);
  });
  return view;
}
