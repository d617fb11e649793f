// Every unary call the gateway makes downstream goes through here: a deadline that is the smaller of the
// caller's and our own budget, cancellation when the caller goes away, the cluster token, and one retry
// of idempotent reads when the peer was briefly unavailable.
import { Metadata, status, type CallOptions, type ClientUnaryCall, type ServiceError } from '@grpc/grpc-js';

export type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (error: ServiceError | null, response: Res) => void,
) => ClientUnaryCall;

export interface DownstreamOptions {
  /** Our own budget for this call. */
  timeoutMs: number;
  /** The caller's deadline, inherited when sooner. */
  deadline?: Date;
  /** The caller's cancellation. */
  signal?: AbortSignal;
  metadata?: Metadata;
  /** Safe to send twice (reads): retried once after UNAVAILABLE. @default false */
  idempotent?: boolean;
}

export function deadlineFor(timeoutMs: number, parent?: Date): Date {
  const own = Date.now() + timeoutMs;
  return parent && parent.getTime() < own ? parent : new Date(own);
}

function once<Req, Res>(method: UnaryMethod<Req, Res>, request: Req, opts: DownstreamOptions): Promise<Res> {
  return new Promise<Res>((resolve, reject) => {
    if (opts.signal?.aborted) {
      reject(cancelledError());
      return;
    }
    const md = opts.metadata?.clone() ?? new Metadata();
    const call = method(request, md, { deadline: deadlineFor(opts.timeoutMs, opts.deadline) }, (err, res) => {
      opts.signal?.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve(res);
    });
    const onAbort = (): void => call.cancel();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export async function unaryCall<Req, Res>(
  method: UnaryMethod<Req, Res>,
  request: Req,
  opts: DownstreamOptions,
): Promise<Res> {
  try {
    return await once(method, request, opts);
  } catch (err) {
    if (!opts.idempotent || (err as Partial<ServiceError>).code !== status.UNAVAILABLE || opts.signal?.aborted)
      throw err;
    // One quick retry: a config-store restarting or a channel reconnecting usually answers the second time.
    await new Promise((r) => setTimeout(r, 100));
    return once(method, request, opts);
  }
}

function cancelledError(): ServiceError {
  const err = new Error('call cancelled by the caller') as ServiceError;
  err.code = status.CANCELLED;
  err.details = err.message;
  err.metadata = new Metadata();
  return err;
}

export function grpcCode(err: unknown): status | undefined {
  const code = (err as Partial<ServiceError> | undefined)?.code;
  return typeof code === 'number' ? code : undefined;
}
