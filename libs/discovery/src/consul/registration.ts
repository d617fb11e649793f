// A node's Consul service with a TTL check that the node passes every TTL/3. If a pass fails (agent restarted,
// service reaped, agent unreachable) the registration is marked lost and the next tick registers it again.
import { DiscoveryClosedError, DiscoveryUnavailableError } from '../errors.js';
import { RegistrationBase, type NodePatch } from '../registration-base.js';
import type { NodeInfo } from '../types.js';
import { serviceId, serviceName, splitAddress, toMeta, type ConsulClient } from './client.js';

export interface ConsulRegistrationOptions {
  consul: ConsulClient;
  namespace: string;
  ttlSeconds: number;
  callTimeoutMs: number;
  onClosed: () => void;
}

export class ConsulRegistration extends RegistrationBase {
  constructor(
    node: NodeInfo,
    private readonly opts: ConsulRegistrationOptions,
  ) {
    super(node, opts.onClosed);
    toMeta(this.current); // fail early on fields Consul cannot hold
  }

  private get id(): string {
    return serviceId(this.opts.namespace, this.current);
  }

  async start(): Promise<void> {
    try {
      await this.registerService();
    } catch (err) {
      throw new DiscoveryUnavailableError(`cannot register ${this.id} in Consul`, { cause: err });
    }
    this.setState('registered');
    this.timer = setInterval(() => void this.tick(), (this.opts.ttlSeconds * 1000) / 3);
    this.timer.unref();
  }

  private async registerService(): Promise<void> {
    const { host, port } = splitAddress(this.current.address);
    await this.opts.consul.agent.service.register({
      name: serviceName(this.opts.namespace, this.current.kind),
      id: this.id,
      address: host,
      port,
      tags: [this.opts.namespace, this.current.kind],
      meta: toMeta(this.current),
      check: {
        name: 'flowmesh ttl',
        ttl: `${this.opts.ttlSeconds}s`,
        status: 'passing',
        // Consul's minimum; a dead node is already hidden by its critical check before that.
        deregistercriticalserviceafter: '1m',
        timeout: `${this.opts.callTimeoutMs}ms`,
      },
      timeout: this.opts.callTimeoutMs,
    } as never); // the client's typings require `timeout` on checks and lack it on calls
  }

  private tick(): Promise<void> {
    return this.serialised(async () => {
      if (this.closed) return;
      try {
        if (this.innerState === 'lost') await this.registerService();
        else
          await this.opts.consul.agent.check.pass({
            id: `service:${this.id}`,
            timeout: this.opts.callTimeoutMs,
          } as never);
        if (!this.closed) this.setState('registered');
      } catch (err) {
        this.recordError(err);
        if (!this.closed) this.setState('lost');
      }
    });
  }

  async update(patch: NodePatch): Promise<void> {
    if (this.closed) throw new DiscoveryClosedError(`${this.id} is deregistered`);
    const next = this.patched(patch);
    toMeta(next);
    this.current = next;
    return this.serialised(async () => {
      if (this.closed) return;
      try {
        // Registering again with the same id replaces the service definition (and its meta) in place.
        await this.registerService();
        this.setState('registered');
      } catch (err) {
        throw new DiscoveryUnavailableError(`cannot update ${this.id} in Consul`, { cause: err });
      }
    });
  }

  protected removal(): () => Promise<void> {
    // If the agent is unreachable the check goes critical after the TTL and watchers drop the node.
    return () =>
      this.opts.consul.agent.service
        .deregister({ id: this.id, timeout: this.opts.callTimeoutMs } as never)
        .catch((err: unknown) => this.recordError(err));
  }
}
