// The etcd3 client as the config database uses it: a deadline on every unary call, a circuit breaker per
// member that half-opens quickly (the library default blocks every call for 5 s after three failures,
// long after a new leader is elected), no hidden retries (retries live in etcd-retry.ts, where an
// ambiguous write is resolved instead of blindly replayed), and a short watch reconnect backoff.
import { Etcd3, isRecoverableError } from 'etcd3';
import { ConsecutiveBreaker, ExponentialBackoff, circuitBreaker, handleWhen, noop, type IBackoff } from 'cockatiel';

export interface EtcdClientOptions {
  endpoints: string[];
  /** Deadline of each unary call attempt. @default 2000 */
  callTimeoutMs?: number;
  /** Time a member's breaker stays open before one trial call. @default 250 */
  halfOpenAfterMs?: number;
  /** Upper bound of the watch reconnect backoff. @default 1000 */
  watchBackoffMaxMs?: number;
  /** Time to connect to a member. @default 2000 */
  dialTimeoutMs?: number;
}

export function createEtcdClient(opts: EtcdClientOptions): Etcd3 {
  const callTimeoutMs = opts.callTimeoutMs ?? 2000;
  const halfOpenAfter = opts.halfOpenAfterMs ?? 250;
  return new Etcd3({
    hosts: opts.endpoints,
    dialTimeout: opts.dialTimeoutMs ?? 2000,
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + callTimeoutMs }),
    faultHandling: {
      host: () => circuitBreaker(handleWhen(isRecoverableError), { halfOpenAfter, breaker: new ConsecutiveBreaker(3) }),
      global: noop,
      // etcd3 calls `.next()` on this itself (its default is a factory too); its typing asks for a started backoff.
      watchBackoff: new ExponentialBackoff({
        initialDelay: 50,
        maxDelay: opts.watchBackoffMaxMs ?? 1000,
      }) as unknown as IBackoff<unknown>,
    },
  });
}
