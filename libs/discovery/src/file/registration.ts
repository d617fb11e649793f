// A node's entry in the file registry, refreshed (rewritten) every TTL/3 as its heartbeat.
import { EventEmitter } from 'node:events';
import { rm } from 'node:fs/promises';
import { DiscoveryClosedError, DiscoveryUnavailableError } from '../errors.js';
import { validateNodeInfo } from '../node-info.js';
import type { NodeInfo, Registration, RegistrationState } from '../types.js';
import { entryPath, writeEntry } from './entry.js';

export class FileRegistration extends EventEmitter implements Registration {
  private current: NodeInfo;
  private innerState: RegistrationState = 'lost';
  private error: Error | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Serialises writes: a heartbeat never overwrites a newer update. */
  private writes: Promise<unknown> = Promise.resolve();

  constructor(
    node: NodeInfo,
    private readonly dir: string,
    private readonly ttlSeconds: number,
    private readonly onClosed: (r: FileRegistration) => void,
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
    const next = this.writes.then(async () => {
      if (this.closed) return;
      try {
        await writeEntry(this.dir, { ttlSeconds: this.ttlSeconds, node: this.current });
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
    if (this.closed) throw new DiscoveryClosedError(`${this.current.kind}/${this.current.id} is deregistered`);
    this.current = validateNodeInfo({ ...this.current, ...patch, id: this.current.id, kind: this.current.kind });
    await this.write();
    if (this.innerState !== 'registered') {
      throw new DiscoveryUnavailableError('cannot write the registry entry', { cause: this.error });
    }
  }

  async deregister(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.setState('deregistered');
    this.onClosed(this);
    await this.writes;
    await rm(entryPath(this.dir, this.current.kind, this.current.id), { force: true });
  }

  private setState(state: RegistrationState): void {
    if (this.innerState === state) return;
    this.innerState = state;
    this.emit('state', state);
  }
}
