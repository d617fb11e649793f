// The flowmesh instruments, named once for every service (docs/observability.md lists them with their
// Prometheus names). Each service records the ones it knows: the coordinator jobs, batches, records, slot
// use and queue depth as it sees them; an executor its batches, records and slots; every node discovery
// membership; config-store watch lag. Over a no-op meter (metrics off) all of this is free.
import type { Attributes, Counter, Histogram, Meter, UpDownCounter } from '@opentelemetry/api';

export type JobOutcome = 'started' | 'succeeded' | 'failed' | 'cancelled';
export type BatchEvent = 'queued' | 'started' | 'done' | 'retried' | 'speculative' | 'failed';
export type RecordKind = 'in' | 'out' | 'rejected';

export interface SlotUse {
  executor: string;
  slots: number;
  busy: number;
}

export interface MeshMetrics {
  readonly meter: Meter;
  job(outcome: JobOutcome): void;
  batch(event: BatchEvent, n?: number): void;
  /** Batches running now (+1 at start, −1 at the end of an attempt). */
  running(delta: number): void;
  records(counts: { in?: number; out?: number; rejected?: number }): void;
  /** Called at every scrape: per-executor slots as this node sees them. */
  observeSlots(read: () => readonly SlotUse[]): void;
  /** Called at every scrape: batches waiting for a slot. */
  observeQueueDepth(read: () => number): void;
  /** Called at every scrape: nodes by kind in this node's discovery view. */
  observeMembership(read: () => Readonly<Record<string, number>>): void;
  /** A watch response went out `lagMs` after its write (NaN: unknown), `revisionGap` − 1 revisions behind the newest. */
  watchLag(lagMs: number, revisionGap?: number): void;
}

export function createMeshMetrics(meter: Meter, base: Attributes = {}): MeshMetrics {
  const jobs: Counter = meter.createCounter('flowmesh_jobs', {
    description: 'jobs by outcome (started, succeeded, failed, cancelled)',
  });
  const batches: Counter = meter.createCounter('flowmesh_batches', {
    description:
      'batch events: queued, started (an attempt began), done (accepted), retried, speculative, failed (an attempt failed)',
  });
  const running: UpDownCounter = meter.createUpDownCounter('flowmesh_batches_running', {
    description: 'batch attempts running now',
  });
  const records: Counter = meter.createCounter('flowmesh_records', {
    description: 'records of accepted batches by kind: in, out, rejected',
  });
  const lag: Histogram = meter.createHistogram('flowmesh_config_watch_lag_seconds', {
    description: 'time from a config write to its watch event reaching this node',
    advice: { explicitBucketBoundaries: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30] },
  });
  const gap: Histogram = meter.createHistogram('flowmesh_config_watch_revision_gap', {
    description:
      'revision gap of a watch response when sent: 1 + revisions already queued behind it (1: the watcher is up to date)',
    advice: { explicitBucketBoundaries: [1, 2, 5, 10, 100, 1000] },
  });
  const slots = meter.createObservableGauge('flowmesh_executor_slots', { description: 'slots per executor' });
  const slotsBusy = meter.createObservableGauge('flowmesh_executor_slots_busy', {
    description: 'busy slots per executor',
  });
  const queue = meter.createObservableGauge('flowmesh_batch_queue_depth', {
    description: 'batches waiting for a slot',
  });
  const nodes = meter.createObservableGauge('flowmesh_discovery_nodes', {
    description: 'nodes by kind as seen by this node',
  });

  const attrs = (a: Attributes): Attributes => ({ ...base, ...a });
  const at = {
    started: attrs({ outcome: 'started' }),
    succeeded: attrs({ outcome: 'succeeded' }),
    failed: attrs({ outcome: 'failed' }),
    cancelled: attrs({ outcome: 'cancelled' }),
  } satisfies Record<JobOutcome, Attributes>;
  const ev = Object.fromEntries(
    (['queued', 'started', 'done', 'retried', 'speculative', 'failed'] as const).map((e) => [e, attrs({ event: e })]),
  ) as Record<BatchEvent, Attributes>;
  const kind = { in: attrs({ kind: 'in' }), out: attrs({ kind: 'out' }), rejected: attrs({ kind: 'rejected' }) };

  return {
    meter,
    job: (outcome) => jobs.add(1, at[outcome]),
    batch: (event, n = 1) => batches.add(n, ev[event]),
    running: (delta) => running.add(delta, base),
    records(c) {
      if (c.in) records.add(c.in, kind.in);
      if (c.out) records.add(c.out, kind.out);
      if (c.rejected) records.add(c.rejected, kind.rejected);
    },
    observeSlots(read) {
      slots.addCallback((r) => {
        for (const s of read()) r.observe(s.slots, attrs({ executor: s.executor }));
      });
      slotsBusy.addCallback((r) => {
        for (const s of read()) r.observe(s.busy, attrs({ executor: s.executor }));
      });
    },
    observeQueueDepth(read) {
      queue.addCallback((r) => r.observe(read(), base));
    },
    observeMembership(read) {
      nodes.addCallback((r) => {
        for (const [k, n] of Object.entries(read())) r.observe(n, attrs({ kind: k }));
      });
    },
    watchLag(lagMs, revisionGap) {
      if (Number.isFinite(lagMs)) lag.record(Math.max(0, lagMs) / 1000, base);
      if (revisionGap !== undefined && revisionGap > 0) gap.record(revisionGap, base);
    },
  };
}
