// A node's Consul service with a TTL check that the node passes every TTL/3. If a pass fails (agent restarted,
// service reaped, agent unreachable) the registration is marked lost and the next tick registers it again.
import { EventEmitter } from 'node:events';
import { DiscoveryClosedError, DiscoveryUnavailableError } from '../errors.js';
import { validateNodeInfo } from '../node-info.js';
import type { NodeInfo, Registration, RegistrationState } from '../types.js';
import { serviceId, serviceName, splitAddress, toMeta, type ConsulClient } from './client.js';

export interface ConsulRegistrationOptions {
  consul: ConsulClient;
  namespace: string;
  ttlSeconds: number;
  callTimeoutMs: number;
  onClosed: (r: ConsulRegistration) => void;
}

export class ConsulRegistration extends EventEmitter implements Registration {
  private current: NodeInfo;
  private innerState: RegistrationState = 'lost';
  private error: Error | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private writes: Promise<unknown> = Promise.resolve();

  constructor(
    node: NodeInfo,
    private readonly opts: ConsulRegistrationOptions,
  ) {
    super();
    this.current = validateNodeInfo(node);
    toMeta(this.current); // fail early on fields Consul cannot hold
  }

  get node(): NodeInfo {
    return this.current;
  }
  get state(): RegistrationState {
    return this.innerState;
  }
  get lastError(): Error | undefined {
    return this.error;
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
    const next = this.writes.then(async () => {
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
        this.error = err instanceof Error ? err : new Error(String(err));
        if (!this.closed) this.setState('lost');
      }
    });
    this.writes = next;
    return next;
  }

  async update(patch: Partial<Omit<NodeInfo, 'id' | 'kind'>>): Promise<void> {
    if (this.closed) throw new DiscoveryClosedError(`${this.id} is deregistered`);
    const next = validateNodeInfo({ ...this.current, ...patch, id: this.current.id, kind: this.current.kind });
    toMeta(next);
    this.current = next;
    const write = this.writes.then(async () => {
      if (this.closed) return;
      try {
        // Registering again with the same id replaces the service definition (and its meta) in place.
        await this.registerService();
        this.setState('registered');
      } catch (err) {
        throw new DiscoveryUnavailableError(`cannot update ${this.id} in Consul`, { cause: err });
      }
    });
    this.writes = write.catch(() => undefined);
    return write;
  }

  async deregister(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.setState('deregistered');
    this.opts.onClosed(this);
    await this.writes;
    // If the agent is unreachable the check goes critical after the TTL and watchers drop the node.
    await this.opts.consul.agent.service
      .deregister({ id: this.id, timeout: this.opts.callTimeoutMs } as never)
      .catch((err: unknown) => {
        this.error = err instanceof Error ? err : new Error(String(err));
      });
  }

  private setState(state: RegistrationState): void {
    if (this.innerState === state) return;
    this.innerState = state;
    this.emit('state', state);
  }
}
