// The stored form of a resource: its proto3 JSON (readable with etcdctl) without the store-assigned
// revision fields, which come from the entry itself, plus internal fields never sent to clients.
import { Resource } from '@flowmesh/contracts';
import type { KvEntry } from '@flowmesh/store';

export interface KeyHash {
  alg: 'sha256';
  digest: string;
}

interface StoredRecord {
  resource: unknown;
  /** API keys only: hash of the full key. */
  keyHash?: KeyHash;
}

export function encodeRecord(resource: Resource, keyHash?: KeyHash): Buffer {
  const bare: Resource = { ...resource, revision: 0, createRevision: 0, version: 0 };
  const rec: StoredRecord = { resource: Resource.toJSON(bare), ...(keyHash ? { keyHash } : {}) };
  return Buffer.from(JSON.stringify(rec));
}

export function decodeRecord(entry: KvEntry): { resource: Resource; keyHash?: KeyHash } {
  const rec = JSON.parse(entry.value.toString('utf8')) as StoredRecord;
  const resource = Resource.fromJSON(rec.resource);
  resource.revision = entry.modRevision;
  resource.createRevision = entry.createRevision;
  resource.version = entry.version;
  return { resource, ...(rec.keyHash ? { keyHash: rec.keyHash } : {}) };
}
