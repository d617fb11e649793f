// A node's entry in etcd, kept alive by a lease. etcd3's Lease emits `lost` and stops for good when keepalives
// fail past its TTL (or etcd says the lease expired); we then grant a new lease and write the entry again,
// with bounded backoff, until deregistered. A watchdog declares the lease lost after one TTL without a
// successful keepalive instead of etcd3's 2 × TTL, so a node comes back sooner after an outage.
import { EventEmitter } from 'node:events';
import type { Etcd3, Lease } from 'etcd3';
import { backoffDelay, pause } from '../backoff.js';
import { DiscoveryClosedError, DiscoveryUnavailableError } from '../errors.js';
import { encodeNodeInfo, validateNodeInfo } from '../node-info.js';
import type { NodeInfo, Registration, RegistrationState } from '../types.js';
import { nodeKey } from './keys.js';

export interface EtcdRegistrationOptions {
  client: Etcd3;
  namespace: string;
  ttlSeconds: number;
  onClosed: (r: EtcdRegistration) => void;
}

export class EtcdRegistration extends EventEmitter implements Registration {
  private current: NodeInfo;
  private lease: Lease | undefined;
  private lastKeepalive = 0;
  private innerState: RegistrationState = 'lost';
  private error: Error | undefined;
  private readonly stopping = new AbortController();
  private watchdog: NodeJS.Timeout | undefined;
  private recovering: Promise<void> | undefined;
  /** Serialises writes so an older update never lands after a newer one. */
  private writes: Promise<unknown> = Promise.resolve();

  constructor(
    node: NodeInfo,
    private readonly opts: EtcdRegistrationOptions,
  ) {
    super();
    this.current = validateNodeInfo(node);
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
  private get key(): string {
    return nodeKey(this.opts.namespace, this.current);
  }

  /** First registration: fails with DiscoveryUnavailableError when etcd does not answer in time. */
  async start(): Promise<void> {
    try {
      await this.attach();
    } catch (err) {
      this.stopping.abort();
      throw new DiscoveryUnavailableError(`cannot register ${this.key} in etcd`, { cause: err });
    }
    this.setState('registered');
    const ttlMs = this.opts.ttlSeconds * 1000;
    this.watchdog = setInterval(() => {
      if (this.innerState === 'registered' && Date.now() - this.lastKeepalive > ttlMs) {
        this.onLost(this.lease, new DiscoveryUnavailableError(`no keepalive for ${ttlMs} ms`));
      }
    }, ttlMs / 4);
    this.watchdog.unref();
  }

  /** Grants a fresh lease and writes the current entry under it. */
  private async attach(): Promise<void> {
    const lease = this.opts.client.lease(this.opts.ttlSeconds);
    this.lease = lease;
    lease.on('lost', (err: Error) => this.onLost(lease, err));
    lease.on('keepaliveSucceeded', () => (this.lastKeepalive = Date.now()));
    try {
      await lease.grant();
      this.lastKeepalive = Date.now();
      await lease.put(this.key).value(encodeNodeInfo(this.current)).exec();
    } catch (err) {
      lease.release();
      throw err;
    }
  }

  private onLost(lease: Lease | undefined, err: Error): void {
    if (lease !== this.lease || this.innerState !== 'registered') return;
    this.error = err;
    lease?.release();
    this.setState('lost');
    this.recovering ??= this.recover().finally(() => (this.recovering = undefined));
  }

  private async recover(): Promise<void> {
    for (let attempt = 0; !this.stopping.signal.aborted; attempt++) {
      if (attempt > 0) await pause(backoffDelay(attempt - 1), this.stopping.signal);
      if (this.stopping.signal.aborted) return;
      try {
        await this.attach();
        if (this.stopping.signal.aborted) {
          await this.lease?.revoke().catch(() => undefined);
          return;
        }
        this.setState('registered');
        return;
      } catch (err) {
        this.error = err instanceof Error ? err : new Error(String(err));
      }
    }
  }

  update(patch: Partial<Omit<NodeInfo, 'id' | 'kind'>>): Promise<void> {
    if (this.stopping.signal.aborted) return Promise.reject(new DiscoveryClosedError(`${this.key} is deregistered`));
    this.current = validateNodeInfo({ ...this.current, ...patch, id: this.current.id, kind: this.current.kind });
    const write = this.writes.then(async () => {
      // While lost, the re-registration writes the newest entry; nothing to do here.
      if (this.innerState !== 'registered' || !this.lease) return;
      try {
        await this.lease.put(this.key).value(encodeNodeInfo(this.current)).exec();
      } catch (err) {
        throw new DiscoveryUnavailableError(`cannot update ${this.key} in etcd`, { cause: err });
      }
    });
    this.writes = write.catch(() => undefined);
    return write;
  }

  async deregister(): Promise<void> {
    if (this.stopping.signal.aborted) return;
    this.stopping.abort();
    clearInterval(this.watchdog);
    const lease = this.lease;
    this.setState('deregistered');
    this.opts.onClosed(this);
    await this.writes;
    // Revoking deletes the key at once; if etcd is unreachable the key expires with the lease's TTL.
    await lease?.revoke().catch((err: unknown) => {
      this.error = err instanceof Error ? err : new Error(String(err));
      lease.release();
    });
  }

  private setState(state: RegistrationState): void {
    if (this.innerState === state) return;
    this.innerState = state;
    this.emit('state', state);
  }
}
