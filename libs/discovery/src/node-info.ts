// Validation and (de)serialisation of NodeInfo: what one node writes, every watcher must be able to read.
import { InvalidNodeInfoError } from './errors.js';
import { NODE_KINDS, type NodeInfo, type NodeKindName } from './types.js';

const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function isNodeKind(value: unknown): value is NodeKindName {
  return typeof value === 'string' && (NODE_KINDS as readonly string[]).includes(value);
}

/** Throws InvalidNodeInfoError naming the first bad field; returns a normalised copy (stable key order). */
export function validateNodeInfo(node: NodeInfo): NodeInfo {
  // ids become key segments and file names: no slashes, no dot-dot.
  if (typeof node.id !== 'string' || !ID_PATTERN.test(node.id)) {
    throw new InvalidNodeInfoError('id', 'must match [A-Za-z0-9][A-Za-z0-9._-]{0,127}');
  }
  if (!isNodeKind(node.kind)) throw new InvalidNodeInfoError('kind', `must be one of ${NODE_KINDS.join(', ')}`);
  if (typeof node.address !== 'string' || !/^[^\s/]+:\d{1,5}$/.test(node.address)) {
    throw new InvalidNodeInfoError('address', 'must be host:port');
  }
  for (const field of ['slots', 'slotsBusy'] as const) {
    if (!Number.isInteger(node[field]) || node[field] < 0) {
      throw new InvalidNodeInfoError(field, 'must be a non-negative integer');
    }
  }
  if (typeof node.load !== 'number' || !Number.isFinite(node.load) || node.load < 0) {
    throw new InvalidNodeInfoError('load', 'must be a finite number >= 0');
  }
  if (typeof node.version !== 'string') throw new InvalidNodeInfoError('version', 'must be a string');
  if (!Array.isArray(node.fileRoots) || !node.fileRoots.every((r) => typeof r === 'string')) {
    throw new InvalidNodeInfoError('fileRoots', 'must be an array of strings');
  }
  if (
    typeof node.labels !== 'object' ||
    node.labels === null ||
    !Object.values(node.labels).every((v) => typeof v === 'string')
  ) {
    throw new InvalidNodeInfoError('labels', 'must map strings to strings');
  }
  if (typeof node.startedAt !== 'string' || Number.isNaN(Date.parse(node.startedAt))) {
    throw new InvalidNodeInfoError('startedAt', 'must be an ISO 8601 time');
  }
  return {
    id: node.id,
    kind: node.kind,
    address: node.address,
    slots: node.slots,
    slotsBusy: node.slotsBusy,
    load: node.load,
    version: node.version,
    fileRoots: [...node.fileRoots],
    labels: { ...node.labels },
    startedAt: node.startedAt,
  };
}

/** Parses an entry written by `encodeNodeInfo`; undefined when it is not a valid NodeInfo (never throws). */
export function decodeNodeInfo(text: string): NodeInfo | undefined {
  try {
    return validateNodeInfo(JSON.parse(text) as NodeInfo);
  } catch {
    return undefined;
  }
}

export function encodeNodeInfo(node: NodeInfo): string {
  return JSON.stringify(node);
}

/** Structural equality of two normalised NodeInfo values. */
export function sameNodeInfo(a: NodeInfo, b: NodeInfo): boolean {
  return encodeNodeInfo(a) === encodeNodeInfo(b);
}

/** What a service knows about itself when it registers; the rest starts idle. */
export type NewNodeInfo = Pick<NodeInfo, 'id' | 'kind' | 'address' | 'version'> &
  Partial<Pick<NodeInfo, 'slots' | 'fileRoots' | 'labels'>>;

/** The record a service registers at start-up: no busy slots, no load, started now. */
export function newNodeInfo(n: NewNodeInfo): NodeInfo {
  return {
    id: n.id,
    kind: n.kind,
    address: n.address,
    slots: n.slots ?? 0,
    slotsBusy: 0,
    load: 0,
    version: n.version,
    fileRoots: n.fileRoots ?? [],
    labels: n.labels ?? {},
    startedAt: new Date().toISOString(),
  };
}
