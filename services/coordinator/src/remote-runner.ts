// Attempts on remote executors: one ExecuteBatch call per attempt, with the cluster token, a deadline,
// and cancellation from the job's signal. Clients are cached per address and closed with the coordinator;
// their records chunks keep the received bytes, so the coordinator forwards them without re-encoding.
import type { ExecuteBatchRequest, ExecuteBatchResponse, ExecutorServiceClient } from '@flowmesh/contracts';
import { callOptions, createClient } from '@flowmesh/runtime';
import type { ClientDuplexStream } from '@grpc/grpc-js';
import type { AttemptRunner } from './attempt-runner.js';
import { RelayingExecutorClient } from './relay-codec.js';

/** Inline bytes travel in messages of this size (below the 16 MiB message limit, cheap to copy). */
const INLINE_CHUNK_BYTES = 1024 * 1024;

export interface RemoteRunner {
  run: AttemptRunner;
  close(): void;
}

export function createRemoteRunner(opts: { clusterToken?: string; attemptTimeoutMs: number }): RemoteRunner {
  const clients = new Map<string, ExecutorServiceClient>();
  const clientFor = (address: string): ExecutorServiceClient => {
    let c = clients.get(address);
    if (!c) {
      c = createClient(RelayingExecutorClient, address, { clusterToken: opts.clusterToken });
      clients.set(address, c);
    }
    return c;
  };

  async function* run(
    request: Parameters<AttemptRunner>[0],
    signal: AbortSignal,
  ): AsyncGenerator<ExecuteBatchResponse, void, undefined> {
    const client = clientFor(request.executor.address);
    const call: ClientDuplexStream<ExecuteBatchRequest, ExecuteBatchResponse> = client.executeBatch(
      callOptions({
        timeoutMs: opts.attemptTimeoutMs,
        signal,
        ...(request.deadline ? { parent: { deadline: request.deadline, signal } } : {}),
      }),
    );
    // The call is an event stream; a pending write or read must not outlive an abandoned attempt.
    call.on('error', () => undefined);
    try {
      await send(call, { msg: { $case: 'assign', assign: request.assignment } });
      const inline = request.inline;
      if (inline) {
        for (let at = 0; at < inline.length; at += INLINE_CHUNK_BYTES) {
          await send(call, { msg: { $case: 'data', data: { data: inline.subarray(at, at + INLINE_CHUNK_BYTES) } } });
        }
      }
      call.end();
      for await (const msg of call as AsyncIterable<ExecuteBatchResponse>) yield msg;
    } finally {
      // Leaving early (trailer mismatch, heartbeat timeout, job cancel): stop the executor's work too.
      call.cancel();
    }
  }

  return {
    run,
    close() {
      for (const c of clients.values()) c.close();
      clients.clear();
    },
  };
}

function send(
  call: ClientDuplexStream<ExecuteBatchRequest, ExecuteBatchResponse>,
  msg: ExecuteBatchRequest,
): Promise<void> {
  if (call.write(msg)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      call.off('drain', onDrain);
      call.off('error', onError);
      call.off('close', onError);
    };
    const onDrain = (): void => {
      cleanup();
      resolve();
    };
    const onError = (err?: unknown): void => {
      cleanup();
      reject(err instanceof Error ? err : new Error('executor call closed while sending'));
    };
    call.on('drain', onDrain);
    call.once('error', onError);
    call.once('close', onError);
  });
}
