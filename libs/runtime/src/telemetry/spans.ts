// Explicit spans around flowmesh's own units of work (a job, a batch attempt). Through @opentelemetry/api
// only: without the preload (tracing off) the tracer is the API's no-op and a span costs a few calls.
// The gRPC instrumentation carries the context in call metadata, so spans started here become parents
// of the outgoing calls made inside them, and children of the incoming call being served.
import { context, isSpanContextValid, propagation, ROOT_CONTEXT, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Attributes, Context, Span } from '@opentelemetry/api';

export type { Span, Context, Attributes };

const tracer = trace.getTracer('flowmesh');

/** Set by the tracing preload (register.ts) once its SDK started; read by runMain and flushTelemetry. */
const TELEMETRY_SHUTDOWN = Symbol.for('flowmesh.telemetry.shutdown');

/**
 * True when the tracing preload started an SDK in this process. Callers that make a span per tiny unit of
 * work (a batch attempt: thousands a second) skip `inSpan` when it is false: the no-op tracer still costs
 * a context switch and three promises per span (issue 7, target 4).
 */
export function tracingActive(): boolean {
  return (globalThis as Record<symbol, unknown>)[TELEMETRY_SHUTDOWN] !== undefined;
}

/**
 * Runs `fn` inside a new active span (a child of `parent`, or of the active context) and ends it when fn
 * settles; a rejection marks the span as an error and is rethrown.
 */
export async function inSpan<T>(
  name: string,
  attributes: Attributes,
  fn: (span: Span) => Promise<T>,
  parent: Context = context.active(),
): Promise<T> {
  return tracer.startActiveSpan(name, { attributes }, parent, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      span.recordException(err instanceof Error ? err : String(err));
      span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
      throw err;
    } finally {
      span.end();
    }
  });
}

/** The active context, to re-enter later from callbacks that lost it (timers, other jobs' events). */
export function activeContext(): Context {
  return context.active();
}

/** Runs fn with `ctx` active. */
export function withContext<T>(ctx: Context, fn: () => T): T {
  return context.with(ctx, fn);
}

/**
 * The active context as W3C trace-context keys, for a unit of work that travels inside a message rather than
 * as its own call (a batch on a coordinator's ExecuteBatches stream). Empty when tracing is off.
 */
export function injectTraceContext(): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier;
}

/** The context a peer sent with {@link injectTraceContext}; undefined when it sent none. */
export function extractTraceContext(carrier: Record<string, string>): Context | undefined {
  for (const _ in carrier) return propagation.extract(ROOT_CONTEXT, carrier);
  return undefined;
}

/** traceId/spanId of the active span for log lines; empty when tracing is off or nothing is active. */
export function traceFields(): { traceId?: string; spanId?: string } {
  const sc = trace.getActiveSpan()?.spanContext();
  return sc && isSpanContextValid(sc) ? { traceId: sc.traceId, spanId: sc.spanId } : {};
}

/**
 * Flushes and stops the tracing SDK when the preload started one (a no-op otherwise). For processes that
 * end with process.exit() outside runMain, e.g. CLI commands, whose client spans would otherwise be lost.
 */
export async function flushTelemetry(): Promise<void> {
  const fn = (globalThis as Record<symbol, unknown>)[TELEMETRY_SHUTDOWN];
  if (typeof fn === 'function') await (fn as () => Promise<void>)().catch(() => undefined);
}
