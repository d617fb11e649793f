#!/usr/bin/env node
// The `flowmesh` launcher. Plain JavaScript so it runs without a build step: it starts tracing first when
// OTEL_TRACES_EXPORTER names an exporter (the SDK must patch grpc-js before anything loads it), then
// registers tsx for the TypeScript sources and hands over to the CLI.
import { register } from 'tsx/esm/api';

register();
const tracing = process.env.OTEL_TRACES_EXPORTER && process.env.OTEL_TRACES_EXPORTER !== 'none';
if (tracing) {
  process.env.OTEL_SERVICE_NAME ??= `flowmesh-${process.argv[2] ?? 'cli'}`;
  await import('@flowmesh/runtime/telemetry/register');
}
const { runCli } = await import('@flowmesh/cli');
await runCli(process.argv.slice(2));
