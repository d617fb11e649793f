// Metrics: the process's Meter, the flowmesh instruments, and the Prometheus endpoint.
export { serviceMeter, metricsEnabled, setServiceMeterProvider } from './service-meter.js';
export { createMeshMetrics, type MeshMetrics, type JobOutcome, type BatchEvent, type SlotUse } from './mesh-metrics.js';
export { startMetricsServer, type MetricsServer, type MetricsServerOptions } from './metrics-server.js';
export { reportBackpressureWait } from './backpressure-observer.js';
