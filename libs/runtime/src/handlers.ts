// Adapters from plain async functions to grpc-js handlers. Every adapter gives the function a CallContext,
// maps thrown errors through toServiceError, and never lets a rejection escape unhandled.
import type {
  handleBidiStreamingCall,
  handleClientStreamingCall,
  handleServerStreamingCall,
  handleUnaryCall,
  sendUnaryData,
  ServerDuplexStream,
  ServerReadableStream,
  ServerWritableStream,
} from '@grpc/grpc-js';
import { createCallContext, type CallContext } from './call-context.js';
import { CancelledError } from './errors.js';
import { reportBackpressureWait } from './metrics/backpressure-observer.js';
import { toServiceError } from './to-service-error.js';

type Writable<T> = ServerWritableStream<unknown, T> | ServerDuplexStream<unknown, T>;

/**
 * Writes one message and waits for `drain` when the stream's buffer is full (backpressure): a producer that
 * awaits every write never holds more than the stream's high-water mark in memory. Rejects when the call
 * is cancelled while waiting.
 */
export function write<T>(call: Writable<T>, message: T): Promise<void> {
  if (call.cancelled) return Promise.reject(new CancelledError('call was cancelled'));
  if (call.write(message)) return Promise.resolve();
  const waitStart = performance.now();
  return new Promise<void>((resolve, reject) => {
    const cleanup = (): void => {
      reportBackpressureWait(performance.now() - waitStart);
      call.removeListener('drain', onDrain);
      call.removeListener('cancelled', onCancel);
      call.removeListener('close', onCancel);
    };
    const onDrain = (): void => {
      cleanup();
      resolve();
    };
    const onCancel = (): void => {
      cleanup();
      reject(new CancelledError('call was cancelled'));
    };
    call.on('drain', onDrain);
    call.once('cancelled', onCancel);
    call.once('close', onCancel);
  });
}

function isAsyncIterable<T>(value: unknown): value is AsyncIterable<T> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}

/** Runs a streaming handler's result: an async iterable is written with backpressure; a promise is awaited. */
async function drive<T>(call: Writable<T>, result: Promise<void> | AsyncIterable<T>): Promise<void> {
  if (isAsyncIterable<T>(result)) {
    for await (const message of result) await write(call, message);
  } else {
    await result;
  }
}

function failStream(call: Writable<unknown>, err: unknown, ctx: CallContext): void {
  // After a cancel there is nobody to tell; grpc-js already ended the call.
  if (call.cancelled) return;
  call.emit('error', toServiceError(err, ctx.logger));
}

/** Runs a handler with one response (unary, client-streaming) and answers through `callback`. */
function respond<Res>(
  call: Parameters<typeof createCallContext>[0],
  callback: sendUnaryData<Res>,
  run: (ctx: CallContext) => Promise<Res>,
): void {
  const { ctx, dispose } = createCallContext(call);
  run(ctx).then(
    (res) => {
      dispose();
      callback(null, res);
    },
    (err: unknown) => {
      dispose();
      callback(toServiceError(err, ctx.logger));
    },
  );
}

/** Runs a handler that streams responses (server-streaming, bidi) and ends the call, OK or with its error. */
function respondStream<T>(call: Writable<T>, run: (ctx: CallContext) => Promise<void> | AsyncIterable<T>): void {
  const { ctx, dispose } = createCallContext(call);
  drive(call, run(ctx)).then(
    () => {
      dispose();
      if (!call.cancelled) call.end();
    },
    (err: unknown) => {
      dispose();
      failStream(call, err, ctx);
    },
  );
}

/** `(request, ctx) => Promise<response>` as a unary handler. */
export function unary<Req, Res>(fn: (request: Req, ctx: CallContext) => Promise<Res>): handleUnaryCall<Req, Res> {
  return (call, callback) => respond(call, callback, (ctx) => fn(call.request, ctx));
}

/**
 * A server-streaming handler. The function either returns an async iterable of responses (written with
 * backpressure) or writes itself with `write(call, msg)` and resolves when done.
 */
export function serverStream<Req, Res>(
  fn: (request: Req, ctx: CallContext, call: ServerWritableStream<Req, Res>) => Promise<void> | AsyncIterable<Res>,
): handleServerStreamingCall<Req, Res> {
  return (call) => respondStream(call, (ctx) => fn(call.request, ctx, call));
}

/** A client-streaming handler: read requests with `for await (const msg of call)`, return the response. */
export function clientStream<Req, Res>(
  fn: (call: ServerReadableStream<Req, Res>, ctx: CallContext) => Promise<Res>,
): handleClientStreamingCall<Req, Res> {
  return (call, callback) => respond(call, callback, (ctx) => fn(call, ctx));
}

/**
 * A bidirectional handler: read with `for await`, write with `write(call, msg)` (or return an async
 * iterable of responses). The call ends with OK when the function resolves.
 */
export function bidi<Req, Res>(
  fn: (call: ServerDuplexStream<Req, Res>, ctx: CallContext) => Promise<void> | AsyncIterable<Res>,
): handleBidiStreamingCall<Req, Res> {
  return (call) => respondStream(call, (ctx) => fn(call, ctx));
}
