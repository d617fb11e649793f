// `--metrics-bind host:port`: an HTTP server answering GET /metrics in the Prometheus text format from an
// OpenTelemetry MeterProvider. The SDK is imported only here, so a service without the flag loads none of
// it. Port 0 picks a free port; the bound address is logged as {"msg":"metrics listening","address":…}.
import { createServer, type Server } from 'node:http';
import type { Logger } from 'pino';
import { setBackpressureObserver } from './backpressure-observer.js';
import { setServiceMeterProvider } from './service-meter.js';

export interface MetricsServer {
  /** "host:port" actually bound. */
  readonly address: string;
  /** Stops serving and the provider (idempotent). */
  shutdown(): Promise<void>;
}

export interface MetricsServerOptions {
  bind: string;
  /** Service kind: the resource's service.name is flowmesh-<service> (target_info). */
  service: string;
  logger: Logger;
}

function splitBind(bind: string): { host: string; port: number } {
  const at = bind.lastIndexOf(':');
  const port = Number(bind.slice(at + 1));
  if (at <= 0 || !Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`--metrics-bind: "${bind}" is not host:port`);
  return { host: bind.slice(0, at).replace(/^\[(.*)\]$/, '$1'), port };
}

export async function startMetricsServer(opts: MetricsServerOptions): Promise<MetricsServer> {
  const { host, port } = splitBind(opts.bind);
  const [{ MeterProvider }, { PrometheusExporter }, { resourceFromAttributes }] = await Promise.all([
    import('@opentelemetry/sdk-metrics'),
    import('@opentelemetry/exporter-prometheus'),
    import('@opentelemetry/resources'),
  ]);
  // Our own HTTP server instead of the exporter's: it binds host:port as given, port 0 included, and
  // reports the address it got.
  const exporter = new PrometheusExporter({ preventServerStart: true });
  const provider = new MeterProvider({
    resource: resourceFromAttributes({ 'service.name': `flowmesh-${opts.service}` }),
    readers: [exporter],
  });
  const server: Server = createServer((req, res) => {
    if (req.method === 'GET' && (req.url ?? '').split('?')[0] === '/metrics') {
      exporter.getMetricsRequestHandler(req, res);
      return;
    }
    res.statusCode = 404;
    res.end('not found: metrics are at /metrics\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) =>
      reject(new Error(`--metrics-bind: cannot listen on ${opts.bind}: ${err.message}`, { cause: err })),
    );
    server.listen(port, host, () => resolve());
  });
  const bound = server.address();
  const address =
    bound && typeof bound === 'object' ? `${host.includes(':') ? `[${host}]` : host}:${bound.port}` : opts.bind;

  setServiceMeterProvider(provider);
  const meter = provider.getMeter('flowmesh');
  const waits = meter.createCounter('flowmesh_stream_backpressure_waits', {
    description: 'stream writes that waited for drain',
  });
  const waited = meter.createCounter('flowmesh_stream_backpressure_wait_seconds', {
    description: 'time stream writers spent waiting for drain',
  });
  setBackpressureObserver((ms) => {
    waits.add(1);
    waited.add(ms / 1000);
  });
  opts.logger.info({ address, path: '/metrics' }, 'metrics listening');

  let stopping: Promise<void> | undefined;
  return {
    address,
    shutdown() {
      stopping ??= (async () => {
        setBackpressureObserver(undefined);
        setServiceMeterProvider(undefined);
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await provider.shutdown().catch(() => undefined);
      })();
      return stopping;
    },
  };
}
