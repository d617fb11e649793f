// Where coordinators are: discovery's live view plus one gRPC client per address (channels are reused
// across jobs and closed when a coordinator leaves discovery or the gateway stops). Their records chunks
// keep the received bytes, so results are relayed to callers without re-encoding (relay-codec.ts).
import { Metadata } from '@grpc/grpc-js';
import { createClient } from '@flowmesh/runtime';
import type { CoordinatorServiceClient } from '@flowmesh/contracts';
import type { CoordinatorCandidate } from '../routing/coordinator-picker.js';
import { RelayingCoordinatorClient } from './relay-codec.js';

export interface CoordinatorDirectory {
  candidates(): CoordinatorCandidate[];
  byId(id: string): CoordinatorCandidate | undefined;
  client(address: string): CoordinatorServiceClient;
  /** Metadata for calls into the mesh (the cluster token). */
  metadata(): Metadata;
  close(): void;
}

export interface CoordinatorSource {
  /** Coordinators as discovery lists them now. */
  list(): CoordinatorCandidate[];
}

export interface DirectoryOptions {
  source: CoordinatorSource;
  clusterToken?: string;
  /** @default 16 MiB, the services' own limit */
  maxMessageBytes?: number;
}

export function createCoordinatorDirectory(opts: DirectoryOptions): CoordinatorDirectory {
  const clients = new Map<string, CoordinatorServiceClient>();
  const maxBytes = opts.maxMessageBytes ?? 16 * 1024 * 1024;
  return {
    candidates: () => opts.source.list(),
    byId: (id) => opts.source.list().find((c) => c.id === id),
    client(address) {
      let c = clients.get(address);
      if (!c) {
        // Drop channels to addresses discovery no longer lists, so a churning cluster does not leak them.
        const live = new Set(opts.source.list().map((n) => n.address));
        for (const [addr, old] of clients) {
          if (!live.has(addr)) {
            old.close();
            clients.delete(addr);
          }
        }
        c = createClient(RelayingCoordinatorClient, address, {
          clusterToken: opts.clusterToken,
          channelOptions: { 'grpc.max_receive_message_length': maxBytes, 'grpc.max_send_message_length': maxBytes },
        });
        clients.set(address, c);
      }
      return c;
    },
    metadata() {
      const md = new Metadata();
      if (opts.clusterToken) md.set('x-flowmesh-cluster-token', opts.clusterToken);
      return md;
    },
    close() {
      for (const c of clients.values()) c.close();
      clients.clear();
    },
  };
}
