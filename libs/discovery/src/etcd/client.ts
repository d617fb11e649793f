// The etcd3 client as discovery uses it. Defaults are unsafe for a registry (TOOLCHAIN.md): the stock circuit
// breaker refuses every call for 5 s after 3 failures, even once etcd is back, and unary calls have no deadline
// (a put stalled 7 s when the leader was killed). So: short half-open, a small retry that moves to another
// member, a deadline on every unary call, and fast watch reconnects.
import { ConsecutiveBreaker, ExponentialBackoff, circuitBreaker, handleWhen, retry, type IBackoff } from 'cockatiel';
import { Etcd3, isRecoverableError } from 'etcd3';

export interface EtcdClientOptions {
  endpoints: string[];
  /** Deadline of each unary call. */
  callTimeoutMs: number;
}

export function createEtcdClient(opts: EtcdClientOptions): Etcd3 {
  const recoverable = handleWhen(isRecoverableError);
  return new Etcd3({
    hosts: opts.endpoints,
    dialTimeout: opts.callTimeoutMs,
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + opts.callTimeoutMs }),
    faultHandling: {
      host: () => circuitBreaker(recoverable, { halfOpenAfter: 300, breaker: new ConsecutiveBreaker(3) }),
      global: retry(recoverable, {
        maxAttempts: 2,
        backoff: new ExponentialBackoff({ initialDelay: 50, maxDelay: 300 }),
      }),
      // etcd3 types this as an IBackoff but calls `.next()` on it first, i.e. uses it as a factory.
      watchBackoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 1000 }) as unknown as IBackoff<unknown>,
    },
  });
}
