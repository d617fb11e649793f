// The docker-compose topology as local processes (issue 8, item 4): reads deploy/docker-compose.yml and
// starts every flowmesh service with the command and environment the file gives it, and the etcd
// members as a real local etcd cluster of the same size. What cannot be the same on one machine is
// rewritten, and only that: container addresses become loopback ports (`--bind 127.0.0.1:0`, the bound
// address is advertised; metrics on a free loopback port), `FLOWMESH_ETCD` points at the local members,
// container paths (/data, /plugins) at local directories. Collector and trace viewer are third-party images with no local binary; the
// OTLP exporter is switched off unless the caller sets OTEL_TRACES_EXPORTER.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { startEtcd, type EtcdCluster } from './etcd.js';
import { REPO_ROOT, startService, type RunningService, type ServiceKind } from './services.js';

interface ComposeService {
  image?: string;
  command?: string[] | string;
  environment?: Record<string, string | number | null> | string[];
  ports?: string[];
}

export interface ComposeTopology {
  etcd: EtcdCluster;
  services: Map<string, RunningService>;
  /** Address of the service that publishes a port (the gateway). */
  gateway: string;
  env: Record<string, Record<string, string>>;
  stop(): Promise<void>;
}

export interface ComposeOptions {
  composeFile?: string;
  /** Local directory standing for the `/data` volume. */
  dataDir: string;
  /** Local directory standing for `/plugins`. @default examples/orders/plugins */
  pluginDir?: string;
  /** Values for `${VAR:-default}` substitutions (e.g. FLOWMESH_ADMIN_KEY). */
  vars?: Record<string, string>;
}

const SERVICE_KINDS = new Set<ServiceKind>(['gateway', 'coordinator', 'executor', 'config-store']);
/** Start order: the database first, the front door last (what depends_on plus health checks give in compose). */
const ORDER: ServiceKind[] = ['config-store', 'coordinator', 'executor', 'gateway'];

/** `${NAME:-default}` and `${NAME}` substitution as docker-compose does it. */
function substitute(value: string, vars: Record<string, string>): string {
  return value.replace(/\$\{([A-Z0-9_]+)(?::-([^}]*))?\}/g, (_, name: string, dflt?: string) => vars[name] || dflt || '');
}

function environmentOf(svc: ComposeService, vars: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  if (Array.isArray(svc.environment)) {
    for (const kv of svc.environment) {
      const i = kv.indexOf('=');
      if (i > 0) env[kv.slice(0, i)] = substitute(kv.slice(i + 1), vars);
    }
  } else {
    for (const [k, v] of Object.entries(svc.environment ?? {})) env[k] = v === null ? '' : substitute(String(v), vars);
  }
  return env;
}

/** The service's command with container-only details rewritten for a local process. */
function localArgs(command: string[], dirs: { dataDir: string; pluginDir: string }): { kind: ServiceKind; args: string[] } {
  const [kind, ...rest] = command;
  if (!kind || !SERVICE_KINDS.has(kind as ServiceKind)) throw new Error(`compose command does not start a flowmesh service: ${command.join(' ')}`);
  const args: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    // The bound loopback address is what a local process advertises.
    if (a === '--bind' || a === '--advertise') {
      i++;
      continue;
    }
    args.push(a.replace(/^\/plugins$/, dirs.pluginDir).replace(/^\/data(?=\/|$)/, dirs.dataDir));
  }
  return { kind: kind as ServiceKind, args };
}

export function readCompose(file: string): Record<string, ComposeService> {
  const doc = parse(readFileSync(file, 'utf8'), { merge: true }) as { services?: Record<string, ComposeService> };
  if (!doc.services) throw new Error(`${file} has no services`);
  return doc.services;
}

export async function startComposeTopology(opts: ComposeOptions): Promise<ComposeTopology> {
  const composeFile = opts.composeFile ?? join(REPO_ROOT, 'deploy/docker-compose.yml');
  const services = readCompose(composeFile);
  const vars = { ...opts.vars };
  const pluginDir = opts.pluginDir ?? join(REPO_ROOT, 'examples/orders/plugins');
  const etcdMembers = Object.entries(services).filter(([, s]) => {
    const cmd = Array.isArray(s.command) ? s.command : [];
    return cmd[0] === 'etcd';
  }).length;
  if (etcdMembers !== 1 && etcdMembers !== 3) throw new Error(`expected 1 or 3 etcd members in ${composeFile}, found ${etcdMembers}`);
  const etcd = await startEtcd({ members: etcdMembers });
  const running = new Map<string, RunningService>();
  const envs: Record<string, Record<string, string>> = {};
  const stop = async (): Promise<void> => {
    for (const [, svc] of [...running].reverse()) await svc.stop('SIGTERM', { timeoutMs: 15_000 });
    await etcd.stop();
  };
  try {
    const flowmesh = Object.entries(services)
      .filter(([, s]) => Array.isArray(s.command) && SERVICE_KINDS.has(s.command[0] as ServiceKind))
      .map(([name, s]) => ({ name, s, ...localArgs(s.command as string[], { dataDir: opts.dataDir, pluginDir }) }))
      .sort((a, b) => ORDER.indexOf(a.kind) - ORDER.indexOf(b.kind));
    for (const kind of ORDER) {
      // Services of one kind start together, as compose starts them.
      await Promise.all(
        flowmesh
          .filter((f) => f.kind === kind)
          .map(async (f) => {
            const env = environmentOf(f.s, vars);
            if (env.FLOWMESH_ETCD !== undefined) env.FLOWMESH_ETCD = etcd.endpoints.join(',');
            // Every container has its own 9464; local processes share one loopback, so each takes a free port.
            if (env.FLOWMESH_METRICS_BIND !== undefined) env.FLOWMESH_METRICS_BIND = '127.0.0.1:0';
            if (!process.env.OTEL_TRACES_EXPORTER) env.OTEL_TRACES_EXPORTER = 'none';
            envs[f.name] = env;
            running.set(f.name, await startService(f.kind, { args: f.args, env, timeoutMs: 30_000 }));
          }),
      );
    }
    const published = flowmesh.find((f) => (f.s.ports ?? []).length > 0);
    if (!published) throw new Error(`${composeFile}: no flowmesh service publishes a port`);
    const gateway = running.get(published.name)!.address;
    return { etcd, services: running, gateway, env: envs, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
