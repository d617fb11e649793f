// Attempts on remote executors: one long-lived ExecuteBatches call per executor carries all of them
// (executor-stream.ts), with the cluster token, per-attempt deadlines, and cancellation from the job's
// signal. Clients and calls are cached per address and closed with the coordinator; records chunks keep
// the received bytes, so the coordinator forwards them without re-encoding.
import type { ExecutorServiceClient } from '@flowmesh/contracts';
import { createClient } from '@flowmesh/runtime';
import type { CancelSource } from './attempt-cancel.js';
import type { AttemptRequest, AttemptRunner, AttemptSink } from './attempt-runner.js';
import { createExecutorStream, type ExecutorStream } from './executor-stream.js';
import { RelayingExecutorClient } from './relay-codec.js';

export interface RemoteRunner {
  run: AttemptRunner;
  /** Attempts per slot the executor at `address` holds when sent ahead (0: none, or not known yet). */
  heldPerSlot(address: string): number;
  close(): void;
}

export function createRemoteRunner(opts: { clusterToken?: string; attemptTimeoutMs: number }): RemoteRunner {
  const executors = new Map<string, { client: ExecutorServiceClient; stream: ExecutorStream }>();
  const streamFor = (address: string): ExecutorStream => {
    let e = executors.get(address);
    if (!e) {
      const client = createClient(RelayingExecutorClient, address, { clusterToken: opts.clusterToken });
      e = { client, stream: createExecutorStream(client, { attemptTimeoutMs: opts.attemptTimeoutMs }) };
      executors.set(address, e);
    }
    return e.stream;
  };

  const run: AttemptRunner = Object.assign(
    (request: AttemptRequest, signal: AbortSignal) => streamFor(request.executor.address).run(request, signal),
    {
      start: (request: AttemptRequest, signal: CancelSource, sink: AttemptSink) =>
        streamFor(request.executor.address).start(request, signal, sink),
    },
  );
  return {
    run,
    heldPerSlot: (address) => executors.get(address)?.stream.heldPerSlot() ?? 0,
    close() {
      for (const e of executors.values()) {
        e.stream.close();
        e.client.close();
      }
      executors.clear();
    },
  };
}
