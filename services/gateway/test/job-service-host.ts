// A gateway JobService alone on a real port for tests against fake coordinators and stores. Access is not
// what these tests are about: `allowAll` admits every caller as an admin, so the client's API key is any
// non-empty value (the client must send one).
import { JobServiceService, Role, type JobServiceServer } from '@flowmesh/contracts';
import { createClient, type FlowmeshClient } from '@flowmesh/client';
import { createLogger, createServiceHost, type ServiceHost } from '@flowmesh/runtime';
import type { Guard } from '../src/access/guard.js';

export const allowAll: Guard = {
  check: async () => ({ keyId: 'k1', user: 'tester', role: Role.ROLE_ADMIN }),
  recordChange: () => {},
};

/** Any key passes `allowAll`; this one names why it works. */
const ADMITTED_BY_ALLOW_ALL = 'admitted-by-allowAll';

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
  return { host, client: createClient(address, { apiKey: ADMITTED_BY_ALLOW_ALL }) };
}
