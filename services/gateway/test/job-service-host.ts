// A gateway JobService alone on a real port for tests against fake coordinators and stores: every caller is
// admitted (a stub guard), so the client's API key is only what any caller must send.
import { JobServiceService, Role, type JobServiceServer } from '@flowmesh/contracts';
import { createClient, type FlowmeshClient } from '@flowmesh/client';
import { createLogger, createServiceHost, type ServiceHost } from '@flowmesh/runtime';
import type { Guard } from '../src/access/guard.js';

export const allowAll: Guard = {
  check: async () => ({ keyId: 'k1', user: 'tester', role: Role.ROLE_ADMIN }),
  recordChange: () => {},
};

export async function startJobServiceHost(
  implementation: JobServiceServer,
): Promise<{ host: ServiceHost; client: FlowmeshClient }> {
  const host = createServiceHost({
    name: 'gateway-test',
    bind: '127.0.0.1:0',
    services: [{ definition: JobServiceService, implementation }],
    graceMs: 100,
    logger: createLogger('gateway-test', { level: 'silent' }),
  });
  const { address } = await host.start();
  return { host, client: createClient(address, { apiKey: 'any-key-the-stub-guard-admits' }) };
}
