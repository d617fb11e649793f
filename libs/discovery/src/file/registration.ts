// A node's entry in the file registry, refreshed every TTL/3 as its heartbeat: the file's mtime is set to now
// when the entry is unchanged (one utimes, and watchers only stat it: watch.ts), and the entry is rewritten
// (temp file + rename) when it changed or its file is gone. Rewriting every heartbeat cost each writer five
// file operations and each watcher a read and decode of every entry every 1.7 s (issue 7).
import { rm, utimes } from 'node:fs/promises';
import { DiscoveryClosedError, DiscoveryUnavailableError } from '../errors.js';
import { RegistrationBase, type NodePatch } from '../registration-base.js';
import type { NodeInfo } from '../types.js';
import { entryPath, writeEntry } from './entry.js';

export class FileRegistration extends RegistrationBase {
  /** The node as its file holds it (the last full write that succeeded). */
  private written: NodeInfo | undefined;

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
        const node = this.current;
        if (node !== this.written || !(await this.touch())) {
          await writeEntry(this.dir, { ttlSeconds: this.ttlSeconds, node });
          this.written = node;
        }
        if (!this.closed) this.setState('registered');
      } catch (err) {
        this.recordError(err);
        if (!this.closed) this.setState('lost');
      }
    });
  }

  /** Sets the entry's mtime to now; false when its file is gone (removed as stale: written again). */
  private async touch(): Promise<boolean> {
    const now = new Date();
    try {
      await utimes(entryPath(this.dir, this.current.kind, this.current.id), now, now);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
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
