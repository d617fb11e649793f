// What a handler knows about its call, without touching grpc-js types: an AbortSignal that fires when the
// client cancels, the deadline passes or the server is force-stopped; the deadline (to pass downstream);
// the request metadata; the peer; a logger tagged with the method.
import type { EventEmitter } from 'node:events';
import type { Deadline, Metadata } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { getRootLogger } from './root-logger.js';

export interface CallContext {
  /** Aborted on client cancel, deadline, or forced shutdown. Pass it to everything that can wait. */
  signal: AbortSignal;
  /** The client's deadline, if it set one. */
  deadline?: Date;
  metadata: Metadata;
  peer: string;
  /** e.g. "/flowmesh.v1.JobService/RunJob" */
  method: string;
  logger: Logger;
}

export interface ContextHandle {
  ctx: CallContext;
  /** Stop the deadline timer; call when the handler has finished. */
  dispose(): void;
}

// setTimeout takes a 32-bit delay; longer deadlines need no local timer (the call will end before).
const MAX_TIMER_MS = 2_147_483_647;

/** Any server call: all share the surface of a unary call (metadata, peer, deadline, path, events). */
interface ServerSurfaceCall extends Pick<EventEmitter, 'once' | 'removeListener'> {
  readonly metadata: Metadata;
  getPeer(): string;
  getDeadline(): Deadline;
  getPath(): string;
}

export function createCallContext(call: ServerSurfaceCall): ContextHandle {
  const controller = new AbortController();
  const method = call.getPath();
  const rawDeadline = call.getDeadline();
  const deadlineMs = rawDeadline instanceof Date ? rawDeadline.getTime() : rawDeadline;
  const deadline = Number.isFinite(deadlineMs) ? new Date(deadlineMs) : undefined;

  const onCancelled = (): void => controller.abort(new Error(`call ${method} cancelled`));
  call.once('cancelled', onCancelled);
  let timer: NodeJS.Timeout | undefined;
  if (deadline) {
    const delay = deadline.getTime() - Date.now();
    const onDeadline = (): void => controller.abort(new Error(`call ${method} deadline exceeded`));
    if (delay <= 0) onDeadline();
    else if (delay < MAX_TIMER_MS) {
      timer = setTimeout(onDeadline, delay);
      timer.unref();
    }
  }
  const ctx: CallContext = {
    signal: controller.signal,
    deadline,
    metadata: call.metadata,
    peer: call.getPeer(),
    method,
    logger: getRootLogger().child({ method }),
  };
  return {
    ctx,
    dispose() {
      if (timer) clearTimeout(timer);
      call.removeListener('cancelled', onCancelled);
    },
  };
}
