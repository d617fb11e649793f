// The Discovery object every provider returns: it tracks what this instance registered and watches, refuses
// both after close, and on close deregisters (best effort) before closing the views and the client.
import { DiscoveryClosedError } from './errors.js';
import type { RegistrationBase } from './registration-base.js';
import type { Discovery, DiscoveryProviderName, NodeInfo, NodeKindName, Registration } from './types.js';
import type { LocalView } from './view.js';

export interface ProviderParts {
  provider: DiscoveryProviderName;
  /** A registration not yet started; it calls `onClosed` when it deregisters. */
  newRegistration(node: NodeInfo, onClosed: () => void): RegistrationBase;
  /** A view of `kind` (all kinds when undefined); it calls `onClosed` when closed. */
  newView(kind: NodeKindName | undefined, onClosed: (view: LocalView) => void): LocalView;
  /** Runs last on close, after every registration and view is gone. */
  closeClient?(): void;
}

export function createProviderDiscovery(parts: ProviderParts): Discovery {
  const registrations = new Set<RegistrationBase>();
  const views = new Set<LocalView>();
  let closing: Promise<void> | undefined;

  return {
    provider: parts.provider,
    async register(node: NodeInfo): Promise<Registration> {
      if (closing) throw new DiscoveryClosedError('discovery is closed');
      const r = parts.newRegistration(node, () => registrations.delete(r));
      await r.start();
      registrations.add(r);
      return r;
    },
    watch(kind?: NodeKindName) {
      if (closing) throw new DiscoveryClosedError('discovery is closed');
      const view = parts.newView(kind, (v) => views.delete(v));
      views.add(view);
      return view;
    },
    close() {
      closing ??= (async () => {
        await Promise.all([...registrations].map((r) => r.deregister()));
        for (const v of [...views]) v.close();
        parts.closeClient?.();
      })();
      return closing;
    },
  };
}
