// A resource as a writer builds it: kind, name, spec and who wrote it. Revisions and versions are the
// store's to assign, so they start at 0 here and every writer fills the envelope the same way.
import type { Resource, ResourceKind } from '@flowmesh/contracts';

export interface NewResource {
  kind: ResourceKind;
  name: string;
  spec: NonNullable<Resource['spec']>;
  /** @default '' */
  updatedBy?: string;
  /** @default undefined (the store stamps the time) */
  updatedAt?: Date;
}

export function newResource(r: NewResource): Resource {
  return {
    kind: r.kind,
    name: r.name,
    revision: 0,
    createRevision: 0,
    version: 0,
    updatedAt: r.updatedAt,
    updatedBy: r.updatedBy ?? '',
    spec: r.spec,
  };
}
