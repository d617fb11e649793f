// A node's entry in etcd, kept alive by a lease. etcd3's Lease emits `lost` and stops for good when keepalives
// fail past its TTL (or etcd says the lease expired); we then grant a new lease and write the entry again,
// with bounded backoff, until deregistered. A watchdog declares the lease lost after one TTL without a
// successful keepalive instead of etcd3's 2 × TTL, so a node comes back sooner after an outage.
import type { Etcd3, Lease } from 'etcd3';
import { backoffDelay, pause } from '../backoff.js';
import { DiscoveryClosedError, DiscoveryUnavailableError } from '../errors.js';
import { encodeNodeInfo } from '../node-info.js';
import { RegistrationBase, type NodePatch } from '../registration-base.js';
import type { NodeInfo } from '../types.js';
import { nodeKey } from './keys.js';

export interface EtcdRegistrationOptions {
  client: Etcd3;
  namespace: string;
  ttlSeconds: number;
  onClosed: () => void;
}

export class EtcdRegistration extends RegistrationBase {
  private lease: Lease | undefined;
  private lastKeepalive = 0;
  private recovering: Promise<void> | undefined;

  constructor(
    node: NodeInfo,
    private readonly opts: EtcdRegistrationOptions,
  ) {
    super(node, opts.onClosed);
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
    // The timer is the watchdog here: the lease's own keepalives are the heartbeat.
    this.timer = setInterval(() => {
      if (this.innerState === 'registered' && Date.now() - this.lastKeepalive > ttlMs) {
        this.onLost(this.lease, new DiscoveryUnavailableError(`no keepalive for ${ttlMs} ms`));
      }
    }, ttlMs / 4);
    this.timer.unref();
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
        this.recordError(err);
      }
    }
  }

  update(patch: NodePatch): Promise<void> {
    if (this.closed) return Promise.reject(new DiscoveryClosedError(`${this.key} is deregistered`));
    this.current = this.patched(patch);
    return this.serialised(async () => {
      // While lost, the re-registration writes the newest entry; nothing to do here.
      if (this.innerState !== 'registered' || !this.lease) return;
      try {
        await this.lease.put(this.key).value(encodeNodeInfo(this.current)).exec();
      } catch (err) {
        throw new DiscoveryUnavailableError(`cannot update ${this.key} in etcd`, { cause: err });
      }
    });
  }

  protected removal(): () => Promise<void> {
    // The lease of the moment deregister begins (a recovery that attaches later revokes its own).
    const lease = this.lease;
    // Revoking deletes the key at once; if etcd is unreachable the key expires with the lease's TTL.
    return async () => {
      await lease?.revoke().catch((err: unknown) => {
        this.recordError(err);
        lease.release();
      });
    };
  }
}
