// The coordinator's load (running jobs) as published in its discovery record, for the gateways' choice.
// Publishing on every job start and end cost a registry write each (a file write with the file registry, an
// etcd put and a watch event to every node with etcd) — two per job, on the latency path's CPU (issue 7).
// Changes are coalesced instead: the latest value is published at most once per `delayMs`, and a job that
// starts and ends within that time publishes nothing. Gateways also count the jobs they started
// themselves, so a load that is up to `delayMs` old only matters across gateways.

export interface LoadPublisher {
  set(load: number): void;
  close(): void;
}

export interface LoadPublisherOptions {
  publish: (load: number) => Promise<void>;
  onError: (err: unknown) => void;
  /** @default 250 */
  delayMs?: number;
  /** The value discovery holds already (the registration's). @default 0 */
  initial?: number;
  /** Injectable timer (tests). @default setTimeout, unref'd */
  schedule?: (fn: () => void, ms: number) => () => void;
}

const defaultSchedule = (fn: () => void, ms: number): (() => void) => {
  const t = setTimeout(fn, ms);
  t.unref();
  return () => clearTimeout(t);
};

export function createLoadPublisher(opts: LoadPublisherOptions): LoadPublisher {
  const delayMs = opts.delayMs ?? 250;
  const schedule = opts.schedule ?? defaultSchedule;
  let published = opts.initial ?? 0;
  let latest = published;
  let cancel: (() => void) | undefined;
  let publishing = false;
  let closed = false;

  const arm = (): void => {
    if (!cancel && !publishing && !closed && latest !== published) cancel = schedule(flush, delayMs);
  };

  function flush(): void {
    cancel = undefined;
    if (closed || latest === published) return;
    const value = latest;
    publishing = true;
    opts
      .publish(value)
      .then(
        () => {
          published = value;
        },
        (err: unknown) => opts.onError(err),
      )
      .finally(() => {
        publishing = false;
        // Changed meanwhile, or the write failed: try again after the delay (never more often).
        arm();
      });
  }

  return {
    set(load) {
      latest = load;
      arm();
    },
    close() {
      closed = true;
      cancel?.();
      cancel = undefined;
    },
  };
}
