// Read-your-writes for jobs (issue 7): coordinators serve flows and file roots from a watch-driven copy,
// so a job started right after a change could otherwise run the previous flow. The gateway remembers the
// store revision of the last flow or file-root change it made and sends it with every job
// (CONFIG_REVISION_HEADER); the coordinator waits for its copy to reach it, or asks the store.
// Changes made through another gateway are seen once the coordinator's watch delivers them (milliseconds).
import { ResourceKind } from '@flowmesh/contracts';
import type { Store } from '../downstream/store.js';

/** Kinds a coordinator reads from its copy when it starts a job. */
const JOB_KINDS = new Set<ResourceKind>([ResourceKind.RESOURCE_KIND_FLOW, ResourceKind.RESOURCE_KIND_FILE_ROOT]);

export interface ConfigRevisionTracker {
  /** The same store, remembering the revision of every flow or file-root put and delete that succeeds. */
  readonly store: Store;
  /** Highest such revision (0: none yet). */
  revision(): number;
}

export function trackConfigRevision(store: Store): ConfigRevisionTracker {
  let revision = 0;
  const seen = (kind: ResourceKind | undefined, r: number): void => {
    if (kind !== undefined && JOB_KINDS.has(kind) && r > revision) revision = r;
  };
  return {
    store: {
      ...store,
      async put(req, parent) {
        const res = await store.put(req, parent);
        seen(req.resource?.kind, res.revision);
        return res;
      },
      async delete(req, parent) {
        const res = await store.delete(req, parent);
        seen(req.kind, res.revision);
        return res;
      },
    },
    revision: () => revision,
  };
}
