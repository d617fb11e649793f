// The gateway's composition root: discovery view, config-store client, access control, coordinator
// routing and the three public services on one service host; registered in discovery as a gateway.
import { resolve } from 'node:path';
import { Metadata, status } from '@grpc/grpc-js';
import { ClusterServiceService, ConfigStoreClient, FlowServiceService } from '@flowmesh/contracts';
import {
  createClient,
  createLogger,
  createMeshMetrics,
  createServiceHost,
  hostOptionsOf,
  serviceMeter,
  UnavailableError,
  type Logger,
  type ServiceHost,
} from '@flowmesh/runtime';
import { CONFIG_REVISION_HEADER } from '@flowmesh/config';
import { discoveryFromFlags, newNodeInfo, type Registration } from '@flowmesh/discovery';
import { createAuditLog } from './access/audit-log.js';
import { createAuthenticator } from './access/authenticator.js';
import { createGuard } from './access/guard.js';
import { watchKeyChanges } from './access/key-watch.js';
import { bootstrapAdmin } from './bootstrap/admin-bootstrap.js';
import { createClusterService } from './cluster/cluster-service.js';
import { createCoordinatorDirectory } from './downstream/coordinator-directory.js';
import { createStore, type Store } from './downstream/store.js';
import { jobServiceDefinition } from './downstream/relay-codec.js';
import { grpcCode } from './downstream/unary-call.js';
import { createFlowService } from './flows/flow-service.js';
import type { GatewayConfig } from './gateway-options.js';
import { createJobService } from './jobs/job-service.js';
import { unanchoredProbe } from './jobs/unanchored-probe.js';
import { createJobLimiter } from './limits/job-limiter.js';
import { createCoordinatorPicker } from './routing/coordinator-picker.js';
import { trackConfigRevision } from './routing/config-revision.js';
import { openResultSpool, type ResultSpool } from './spool/result-spool.js';

export interface Gateway {
  readonly address: string;
  readonly logger: Logger;
  readonly host: ServiceHost;
  stop(reason?: string): Promise<void>;
}

/** Statuses of VerifyApiKey that mean "this key is not valid" (as opposed to "could not check"). */
const KEY_REFUSED = new Set<status>([
  status.UNAUTHENTICATED,
  status.NOT_FOUND,
  status.PERMISSION_DENIED,
  status.INVALID_ARGUMENT,
]);

export async function startGateway(config: GatewayConfig): Promise<Gateway> {
  const logger = createLogger('gateway', { level: config.logLevel, base: { node: config.nodeId } });
  const discovery = discoveryFromFlags(config);
  const view = discovery.watch();
  await view.ready;

  const storeClients = new Map<string, ConfigStoreClient>();
  const storeClient = (): ConfigStoreClient => {
    const address = config.configStore ?? view.nodes('config-store')[0]?.address;
    if (!address) throw new UnavailableError('no config-store is registered in discovery yet');
    let client = storeClients.get(address);
    if (!client) {
      client = createClient(ConfigStoreClient, address, { clusterToken: config.clusterToken });
      storeClients.set(address, client);
    }
    return client;
  };
  // The cluster token travels through createClient's interceptor; nothing to add per call.
  const configRevision = trackConfigRevision(createStore(storeClient, { metadata: () => new Metadata() }));
  const store = configRevision.store;

  const audit = createAuditLog({
    append: async (entry) => {
      await store.appendAudit({ entry });
    },
    onError: (err, entry) => logger.error({ err, entry }, 'audit append failed'),
    onDrop: (entry) => logger.error({ entry }, 'audit queue full: entry dropped'),
  });
  const auth = createAuthenticator({
    ttlMs: config.keyCacheMs,
    verify: async (secret) => {
      try {
        const r = await store.verifyApiKey({ secret });
        return { keyId: r.keyId, user: r.user, role: r.role };
      } catch (err) {
        const code = grpcCode(err);
        if (code !== undefined && KEY_REFUSED.has(code)) return undefined;
        throw err;
      }
    },
  });
  // Revocations made anywhere reach the key cache through a watch, not only when an entry expires.
  const keyWatch = watchKeyChanges(auth, {
    address: () => config.configStore ?? view.nodes('config-store')[0]?.address,
    clusterToken: config.clusterToken,
  });
  const guard = createGuard(auth, audit);
  const picker = createCoordinatorPicker();
  const coordinators = createCoordinatorDirectory({
    clusterToken: config.clusterToken,
    maxMessageBytes: config.maxMessageBytes,
    source: {
      list: () =>
        view
          .nodes('coordinator')
          .map((n) => ({ id: n.id, address: n.address, load: n.load, health: n.labels?.['health'] })),
    },
  });
  // Every call to a coordinator carries the last flow/root change made here, so the next job sees it.
  const directory = {
    ...coordinators,
    metadata() {
      const md = coordinators.metadata();
      const revision = configRevision.revision();
      if (revision > 0) md.set(CONFIG_REVISION_HEADER, String(revision));
      return md;
    },
  };
  const limiter = createJobLimiter({ perKey: config.maxJobsPerKey, total: config.maxJobs });
  const metrics = createMeshMetrics(serviceMeter('flowmesh-gateway'));
  // Streamed results read from part files when the executors share this spool (issue 7); without one
  // they cross the coordinator as before.
  let spool: ResultSpool | undefined;
  if (config.spoolDir && config.spoolDir !== 'off') {
    spool = await openResultSpool(resolve(config.spoolDir), logger).catch((err: unknown) => {
      logger.warn({ err, spoolDir: config.spoolDir }, 'result spool unusable: streamed results cross the coordinator');
      return undefined;
    });
  }
  metrics.observeMembership(() => countByKind(view.nodes()));

  const host = createServiceHost({
    name: 'gateway',
    ...hostOptionsOf(config),
    logger,
    services: [
      {
        definition: jobServiceDefinition,
        implementation: createJobService({
          store,
          guard,
          directory,
          picker,
          limiter,
          metrics,
          unanchored: unanchoredProbe(store),
          ...(spool ? { spool } : {}),
        }),
      },
      { definition: FlowServiceService, implementation: createFlowService({ store, guard }) },
      {
        definition: ClusterServiceService,
        implementation: createClusterService({ store, guard, auth, nodes: () => view.nodes() }),
      },
    ],
  });
  const { address } = await host.start();
  const advertised = config.advertise ?? address;

  const bootstrapped = bootstrapWhenStoreIsUp(store, config, logger, () => host.state === 'SERVING');
  const registration: Registration = await discovery.register(
    newNodeInfo({ id: config.nodeId, kind: 'gateway', address: advertised, version: '0.1.0' }),
  );
  // Ordered stop: leave discovery first, then (after the drain) flush the audit log and close clients.
  host.onStop(() => registration.deregister());

  let stopping: Promise<void> | undefined;
  return {
    address: advertised,
    logger,
    host,
    stop(reason) {
      stopping ??= (async () => {
        await host.stop(reason);
        await Promise.race([audit.flush(), new Promise((r) => setTimeout(r, 2000).unref())]);
        await bootstrapped.catch(() => {});
        await spool?.close();
        directory.close();
        keyWatch.close();
        for (const c of storeClients.values()) c.close();
        view.close();
        await discovery.close();
      })();
      return stopping;
    },
  };
}

/** Bootstrap retries until config-store answers (it may start after the gateway), bounded by the host's life. */
async function bootstrapWhenStoreIsUp(
  store: Store,
  config: GatewayConfig,
  logger: Logger,
  alive: () => boolean,
): Promise<void> {
  for (let attempt = 0; alive(); attempt++) {
    try {
      const r = await bootstrapAdmin(store, { adminKey: config.adminKey, actor: `gateway:${config.nodeId}` });
      if (r.kind === 'created' && !r.fromEnv) {
        // Shown once: only its hash is stored. Also on stderr so it is seen even when logs go elsewhere.
        logger.warn({ adminKeyId: r.keyId, adminKey: r.secret }, 'admin API key created (shown once; store it now)');
        process.stderr.write(`flowmesh gateway: admin API key (shown once): ${r.secret}\n`);
      } else if (r.kind === 'created') {
        logger.info({ adminKeyId: r.keyId }, 'admin API key from FLOWMESH_ADMIN_KEY is present');
      }
      return;
    } catch (err) {
      const code = grpcCode(err);
      if (!(err instanceof UnavailableError) && code !== status.UNAVAILABLE && code !== status.DEADLINE_EXCEEDED) {
        logger.error({ err }, 'admin bootstrap failed');
        return;
      }
      if (attempt % 20 === 0) logger.info('waiting for config-store to bootstrap the admin key');
      await new Promise((r) => setTimeout(r, 250).unref());
    }
  }
}

function countByKind(nodes: ReadonlyArray<{ kind: string }>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const n of nodes) counts[n.kind] = (counts[n.kind] ?? 0) + 1;
  return counts;
}
