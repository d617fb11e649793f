// Preload module: starts the OpenTelemetry Node SDK with the gRPC instrumentation. It must run before
// @grpc/grpc-js is first loaded, or grpc-js is not patched and no spans are recorded (TOOLCHAIN.md);
// bin/flowmesh.js imports it first when tracing is on. Tracing is off unless OTEL_TRACES_EXPORTER names an
// exporter ("otlp", "console", …): then the exporter, endpoint, sampler and resource come from the
// standard OTEL_* variables. When off, this module is never imported, so it costs nothing.
import { register } from 'node:module';
import { createAddHookMessageChannel } from 'import-in-the-middle';

export function tracingEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  const value = env.OTEL_TRACES_EXPORTER?.trim();
  return value !== undefined && value !== '' && value !== 'none';
}

/** Read by runMain to flush spans before the process exits. */
const TELEMETRY_SHUTDOWN = Symbol.for('flowmesh.telemetry.shutdown');

if (tracingEnabled()) {
  // ESM imports of instrumented packages need the import-in-the-middle loader hook as well.
  const { registerOptions, waitForAllMessagesAcknowledged } = createAddHookMessageChannel();
  register('import-in-the-middle/hook.mjs', import.meta.url, registerOptions);

  const { NodeSDK } = await import('@opentelemetry/sdk-node');
  const { GrpcInstrumentation } = await import('@opentelemetry/instrumentation-grpc');
  const sdk = new NodeSDK({
    // Only gRPC: auto-instrumenting everything would cost start-up time and add noise.
    instrumentations: [new GrpcInstrumentation()],
  });
  sdk.start();
  await waitForAllMessagesAcknowledged();
  let stopped: Promise<void> | undefined;
  (globalThis as Record<symbol, unknown>)[TELEMETRY_SHUTDOWN] = () => (stopped ??= sdk.shutdown());
}
