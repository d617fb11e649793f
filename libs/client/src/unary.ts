// Unary calls with a deadline and the caller's AbortSignal; reads are retried on UNAVAILABLE.
import type { CallOptions, ClientUnaryCall, Metadata, ServiceError } from '@grpc/grpc-js';
import { Metadata as GrpcMetadata } from '@grpc/grpc-js';
import { callOptions, retryIdempotent } from '@flowmesh/runtime';

export type UnaryFn<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (error: ServiceError | null, response: Res) => void,
) => ClientUnaryCall;

export interface CallOpts {
  /** Overrides the client's default timeout for this call. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export function unaryOnce<Req, Res>(
  fn: UnaryFn<Req, Res>,
  request: Req,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<Res> {
  return new Promise<Res>((resolve, reject) => {
    fn(request, new GrpcMetadata(), callOptions({ timeoutMs, signal }), (err, res) =>
      err ? reject(err) : resolve(res),
    );
  });
}

export function unary<Req, Res>(
  fn: UnaryFn<Req, Res>,
  request: Req,
  opts: { timeoutMs: number; signal?: AbortSignal; idempotent: boolean },
): Promise<Res> {
  if (!opts.idempotent) return unaryOnce(fn, request, opts.timeoutMs, opts.signal);
  return retryIdempotent(() => unaryOnce(fn, request, opts.timeoutMs, opts.signal), {
    attempts: 3,
    baseDelayMs: 100,
    signal: opts.signal,
  });
}
