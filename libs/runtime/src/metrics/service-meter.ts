// The process's Meter. Metrics are off unless the service was started with --metrics-bind: then
// startMetricsServer installs an SDK MeterProvider here. Off, every instrument is the API's no-op, so
// composition roots and handlers record unconditionally at no cost. (A module-level provider instead of
// the API's global one: the tracing preload's NodeSDK may claim the global slot, and tests create meters
// of their own.)
import { createNoopMeter, type Meter, type MeterProvider } from '@opentelemetry/api';

const noop = createNoopMeter();
let provider: MeterProvider | undefined;

/** Installed by startMetricsServer; `undefined` turns metrics off again (after its shutdown). */
export function setServiceMeterProvider(p: MeterProvider | undefined): void {
  provider = p;
}

/** The meter composition roots hand to handlers; a no-op meter when metrics are off. */
export function serviceMeter(scope = 'flowmesh'): Meter {
  return provider?.getMeter(scope) ?? noop;
}

export function metricsEnabled(): boolean {
  return provider !== undefined;
}
