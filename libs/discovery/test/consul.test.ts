import { randomBytes } from 'node:crypto';
import { discoveryContract } from './contract.js';

const address = process.env.CONSUL_HTTP_ADDR;

if (address) {
  describe('discovery on Consul', function () {
    // No outage case: the agent is not ours to stop.
    discoveryContract('consul', { outages: [] }, () => ({
      options: () => ({ provider: 'consul', address, namespace: `t${randomBytes(4).toString('hex')}`, ttlSeconds: 2 }),
    }));
  });
} else {
  describe('discovery contract: consul', function () {
    // Reported as pending (counted as skipped), so a missing agent is visible in the summary, never a pass.
    it('needs a Consul agent: set CONSUL_HTTP_ADDR=host:port to run it (deploy/ has a compose file with one)');
  });
}
