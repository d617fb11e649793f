// The Consul client and how NodeInfo maps onto a Consul service: name `<namespace>-<kind>`, id
// `<namespace>-<kind>-<id>`, NodeInfo fields in service meta (values are limited to 512 characters).
import Consul from 'consul';
import { DiscoveryConfigError, InvalidNodeInfoError } from '../errors.js';
import { decodeNodeInfo } from '../node-info.js';
import type { NodeInfo, NodeKindName } from '../types.js';

export type ConsulClient = InstanceType<typeof Consul>;

/** Accepts `host:port`, `http://host:port` or `https://host:port` (the forms CONSUL_HTTP_ADDR takes). */
export function createConsulClient(address: string): ConsulClient {
  const match = /^(?:(https?):\/\/)?([^:/\s]+|\[[^\]]+\]):(\d{1,5})\/?$/.exec(address.trim());
  if (!match?.[2] || !match[3])
    throw new DiscoveryConfigError(`address: "${address}" is not host:port or http://host:port`);
  return new Consul({ host: match[2], port: Number(match[3]), secure: match[1] === 'https' });
}

export function serviceName(namespace: string, kind: NodeKindName): string {
  return `${namespace}-${kind}`;
}

export function serviceId(namespace: string, node: Pick<NodeInfo, 'kind' | 'id'>): string {
  return `${namespace}-${node.kind}-${node.id}`;
}

const META_LIMIT = 512;

export function toMeta(node: NodeInfo): Record<string, string> {
  const meta: Record<string, string> = {
    id: node.id,
    kind: node.kind,
    address: node.address,
    slots: String(node.slots),
    slotsBusy: String(node.slotsBusy),
    load: String(node.load),
    version: node.version,
    startedAt: node.startedAt,
    fileRoots: JSON.stringify(node.fileRoots),
    labels: JSON.stringify(node.labels),
  };
  for (const [field, value] of Object.entries(meta)) {
    if (value.length > META_LIMIT)
      throw new InvalidNodeInfoError(field, `longer than Consul's ${META_LIMIT}-character meta limit`);
  }
  return meta;
}

export function fromMeta(meta: Record<string, string> | undefined): NodeInfo | undefined {
  if (!meta) return undefined;
  try {
    return decodeNodeInfo(
      JSON.stringify({
        id: meta.id,
        kind: meta.kind,
        address: meta.address,
        slots: Number(meta.slots),
        slotsBusy: Number(meta.slotsBusy),
        load: Number(meta.load),
        version: meta.version,
        startedAt: meta.startedAt,
        fileRoots: JSON.parse(meta.fileRoots ?? 'null') as unknown,
        labels: JSON.parse(meta.labels ?? 'null') as unknown,
      }),
    );
  } catch {
    return undefined;
  }
}

/** `host` and `port` of a `host:port` address (Consul stores them apart). */
export function splitAddress(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  return { host: address.slice(0, i), port: Number(address.slice(i + 1)) };
}
