// What every provider's Registration shares: the validated node, its state events, the last error, writes
// serialised so an older write never lands after a newer one, and the ordered deregister (stop the
// heartbeat → `deregistered` → let the provider forget it → wait for writes in flight → remove the entry).
// A provider adds how it writes the entry, keeps it alive and removes it.
import { EventEmitter } from 'node:events';
import { validateNodeInfo } from './node-info.js';
import type { NodeInfo, Registration, RegistrationState } from './types.js';

export type NodePatch = Partial<Omit<NodeInfo, 'id' | 'kind'>>;

export abstract class RegistrationBase extends EventEmitter implements Registration {
  protected current: NodeInfo;
  protected innerState: RegistrationState = 'lost';
  protected error: Error | undefined;
  /** Aborted by deregister: stops heartbeats, retries and re-registration. */
  protected readonly stopping = new AbortController();
  /** The heartbeat (or watchdog) interval; cleared by deregister. */
  protected timer: NodeJS.Timeout | undefined;
  /** Serialises writes so an older update or heartbeat never lands after a newer one. */
  protected writes: Promise<unknown> = Promise.resolve();

  constructor(
    node: NodeInfo,
    private readonly onClosed: () => void,
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
  protected get closed(): boolean {
    return this.stopping.signal.aborted;
  }

  /** First registration; throws DiscoveryUnavailableError when the backend does not take it. */
  abstract start(): Promise<void>;
  abstract update(patch: NodePatch): Promise<void>;
  /**
   * Called as deregistration begins, before writes in flight have finished: captures what to remove
   * (e.g. the lease of the moment) and returns the removal, run once they have.
   */
  protected abstract removal(): () => Promise<void>;

  /** The current node with `patch` applied; `id` and `kind` cannot change. */
  protected patched(patch: NodePatch): NodeInfo {
    return validateNodeInfo({ ...this.current, ...patch, id: this.current.id, kind: this.current.kind });
  }

  /** Queues `write` after the writes before it; a failure is the caller's, not the next write's. */
  protected serialised(write: () => Promise<void>): Promise<void> {
    const next = this.writes.then(write);
    this.writes = next.catch(() => undefined);
    return next;
  }

  protected recordError(err: unknown): void {
    this.error = err instanceof Error ? err : new Error(String(err));
  }

  async deregister(): Promise<void> {
    if (this.closed) return;
    this.stopping.abort();
    clearInterval(this.timer);
    const remove = this.removal();
    this.setState('deregistered');
    this.onClosed();
    await this.writes;
    await remove();
  }

  protected setState(state: RegistrationState): void {
    if (this.innerState === state) return;
    this.innerState = state;
    this.emit('state', state);
  }
}
