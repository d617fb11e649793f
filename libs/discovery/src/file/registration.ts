// A node's entry in the file registry, refreshed (rewritten) every TTL/3 as its heartbeat.
import { rm } from 'node:fs/promises';
import { DiscoveryClosedError, DiscoveryUnavailableError } from '../errors.js';
import { RegistrationBase, type NodePatch } from '../registration-base.js';
import type { NodeInfo } from '../types.js';
import { entryPath, writeEntry } from './entry.js';

export class FileRegistration extends RegistrationBase {
  constructor(
    node: NodeInfo,
    private readonly dir: string,
    private readonly ttlSeconds: number,
    onClosed: () => void,
  ) {
    super(node, onClosed);
  }

  async start(): Promise<void> {
    await this.write();
    if (this.innerState !== 'registered') {
      throw new DiscoveryUnavailableError(`cannot write the registry entry in ${this.dir}`, { cause: this.error });
    }
    this.timer = setInterval(() => void this.write(), (this.ttlSeconds * 1000) / 3);
    this.timer.unref();
  }

  /** One heartbeat/update write; failures mark the registration lost until a later write succeeds. */
  private write(): Promise<void> {
    return this.serialised(async () => {
      if (this.closed) return;
      try {
        await writeEntry(this.dir, { ttlSeconds: this.ttlSeconds, node: this.current });
        if (!this.closed) this.setState('registered');
      } catch (err) {
        this.recordError(err);
        if (!this.closed) this.setState('lost');
      }
    });
  }

  async update(patch: NodePatch): Promise<void> {
    if (this.closed) throw new DiscoveryClosedError(`${this.current.kind}/${this.current.id} is deregistered`);
    this.current = this.patched(patch);
    await this.write();
    if (this.innerState !== 'registered') {
      throw new DiscoveryUnavailableError('cannot write the registry entry', { cause: this.error });
    }
  }

  protected removal(): () => Promise<void> {
    return () => rm(entryPath(this.dir, this.current.kind, this.current.id), { force: true });
  }
}
