// Flags every service accepts. A service's own schema spreads these and adds its own.
import { hostname } from 'node:os';
import * as option from './option.js';
import type { ConfigOf } from './option.js';
import { LOG_LEVELS } from '../logger.js';

export interface CommonDefaults {
  /** @default "127.0.0.1:0" */
  bind?: string;
}

export function commonOptions(kind: string, defaults: CommonDefaults = {}) {
  return {
    bind: option.address({
      flag: '--bind <host:port>',
      env: 'FLOWMESH_BIND',
      description: 'address to listen on; port 0 picks a free port (logged in the "listening" line)',
      default: defaults.bind ?? '127.0.0.1:0',
    }),
    advertise: option.address({
      flag: '--advertise <host:port>',
      env: 'FLOWMESH_ADVERTISE',
      description: 'address other nodes use to reach this one (default: the bound address)',
    }),
    graceMs: option.integer({
      flag: '--grace-ms <ms>',
      env: 'FLOWMESH_GRACE_MS',
      description: 'on SIGTERM, how long in-flight calls may finish before they are cancelled',
      default: 10_000,
    }),
    logLevel: option.oneOf(LOG_LEVELS, {
      flag: '--log-level <level>',
      env: 'FLOWMESH_LOG_LEVEL',
      description: 'log level',
      default: 'info',
    }),
    nodeId: option.string({
      flag: '--node-id <id>',
      env: 'FLOWMESH_NODE_ID',
      description: "this node's id in discovery and logs",
      default: `${kind}-${hostname()}-${process.pid}`,
    }),
    clusterToken: option.string({
      flag: '--cluster-token <token>',
      env: 'FLOWMESH_CLUSTER_TOKEN',
      description:
        'shared secret between services: internal services require it from callers and every node sends it; ' +
        'unset means internal services accept any caller (single-machine development only)',
    }),
    maxMessageBytes: option.integer({
      flag: '--max-message-bytes <n>',
      env: 'FLOWMESH_MAX_MESSAGE_BYTES',
      description: 'largest gRPC message sent or received',
      default: 16 * 1024 * 1024,
      min: 1024,
    }),
    metricsBind: option.address({
      flag: '--metrics-bind <host:port>',
      env: 'FLOWMESH_METRICS_BIND',
      description: 'serve Prometheus metrics at http://host:port/metrics (off by default; port 0 picks a free port, logged in "metrics listening")',
    }),
  };
}

export type CommonOptions = ReturnType<typeof commonOptions>;
export type CommonConfig = ConfigOf<CommonOptions>;
