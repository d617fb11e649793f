// A whole local mesh as separate child processes (issue 5, `flowmesh up`): config-store (embedded store
// under the data dir, or etcd), a gateway, a coordinator and N executors, found through the file
// registry (or etcd). Each child is started with `--bind 127.0.0.1:0` and known by its "listening"
// line; stop() sends SIGTERM in reverse order of start (executors first, config-store last).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const FLOWMESH_BIN = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../bin/flowmesh.js');

export type ChildKind = 'config-store' | 'gateway' | 'coordinator' | 'executor';

/**
 * Node flags of the processes that relay records (coordinator, gateway). Their JS heap is small (~25 MB)
 * while tens of MB/s of payload pass through them in ArrayBuffers, and V8's limits for a heap that small
 * start a major GC every ~0.5 s: ~40 per 1M-record job and most of their CPU (bench/README.md, "Relay
 * without re-encoding"). A 128 MB initial old-space limit leaves ~4, with the same peak memory. A process
 * flag only: NODE_OPTIONS refuses it. Executors take it too: their main thread receives every output chunk
 * from the worker threads and sends it on, and its major GCs were ~24% of its busy time in a 1M-record
 * profile (~13% with the flag); their workers are started without it (Worker refuses heap flags).
 */
export const RELAY_NODE_FLAGS: readonly string[] = ['--initial-old-space-size=128'];

export interface MeshOptions {
  dataDir: string;
  executors: number;
  /** etcd URLs: config-store on etcd and discovery through etcd; else embedded store + file registry. */
  etcd?: string;
  /** Slots per executor. @default 2 */
  slots?: number;
  /** Named file roots the executors read directly (name → absolute path). */
  fileRoots?: Record<string, string>;
  pluginDir?: string;
  /** Admin key to bootstrap (FLOWMESH_ADMIN_KEY); generated when absent. */
  adminKey?: string;
  /** Where children's logs go: a file per child under <dataDir>/logs. */
  onLine?: (kind: ChildKind, line: string) => void;
  timeoutMs?: number;
}

export interface MeshChild {
  kind: ChildKind;
  name: string;
  pid: number;
  address: string;
  process: ChildProcess;
  exited: Promise<number | null>;
}

export interface Mesh {
  gateway: string;
  adminKey: string;
  children: MeshChild[];
  stop(): Promise<void>;
}

export function generateAdminKey(): string {
  return `fm-admin-${randomBytes(24).toString('base64url')}`;
}

export async function startMesh(opts: MeshOptions): Promise<Mesh> {
  const dataDir = resolve(opts.dataDir);
  mkdirSync(join(dataDir, 'logs'), { recursive: true });
  const adminKey = opts.adminKey ?? generateAdminKey();
  const clusterToken = randomBytes(18).toString('base64url');
  const discoveryArgs = opts.etcd
    ? ['--etcd', opts.etcd]
    : ['--discovery', 'file', '--registry-dir', join(dataDir, 'registry')];
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    FLOWMESH_CLUSTER_TOKEN: clusterToken,
    FLOWMESH_ADMIN_KEY: adminKey,
    // The launcher learns each address from the info-level "listening" line: never run them quieter.
    FLOWMESH_LOG_LEVEL: 'info',
  };
  const children: MeshChild[] = [];
  const stop = async (): Promise<void> => {
    for (const child of [...children].reverse()) {
      if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGTERM');
      const timer = setTimeout(() => child.process.kill('SIGKILL'), 15_000);
      await child.exited;
      clearTimeout(timer);
    }
  };
  const launch = (kind: ChildKind, name: string, args: string[]) =>
    startChild(kind, name, [...args, ...discoveryArgs], env, opts).then((c) => {
      children.push(c);
      return c;
    });
  try {
    const storeArgs = opts.etcd ? [] : ['--data-dir', join(dataDir, 'store')];
    if (opts.pluginDir) storeArgs.push('--plugin-dir', opts.pluginDir);
    const store = await launch('config-store', 'config-store', storeArgs);
    const common = ['--config-store', store.address];
    const roots = Object.entries(opts.fileRoots ?? {}).flatMap(([n, p]) => ['--file-root', `${n}=${p}`]);
    const plugin = opts.pluginDir ? ['--plugin-dir', opts.pluginDir] : [];
    await Promise.all([
      launch('coordinator', 'coordinator-1', [...common, '--node-id', 'coordinator-1']),
      ...Array.from({ length: opts.executors }, (_, i) =>
        launch('executor', `executor-${i + 1}`, [
          ...common,
          '--node-id',
          `executor-${i + 1}`,
          '--slots',
          String(opts.slots ?? 2),
          ...roots,
          ...plugin,
        ]),
      ),
    ]);
    const gateway = await launch('gateway', 'gateway', [...common, '--node-id', 'gateway-1']);
    return { gateway: gateway.address, adminKey, children, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

function startChild(
  kind: ChildKind,
  name: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  opts: MeshOptions,
): Promise<MeshChild> {
  const flags = kind === 'coordinator' || kind === 'gateway' || kind === 'executor' ? RELAY_NODE_FLAGS : [];
  const child = spawn(process.execPath, [...flags, FLOWMESH_BIN, kind, '--bind', '127.0.0.1:0', ...args], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  // Every child's output goes to <data-dir>/logs/<name>.log; the terminal stays for the summary.
  const log = createWriteStream(join(resolve(opts.dataDir), 'logs', `${name}.log`), { flags: 'a' });
  void exited.then(() => log.end());
  let tail = '';
  return new Promise<MeshChild>((resolveChild, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} did not start within ${opts.timeoutMs ?? 30_000} ms:\n${tail}`));
    }, opts.timeoutMs ?? 30_000);
    let pending = '';
    const onLine = (line: string): void => {
      tail = (tail + line + '\n').slice(-4000);
      log.write(line + '\n');
      opts.onLine?.(kind, line);
      if (!line.includes('"listening"')) return;
      try {
        const parsed = JSON.parse(line) as { msg?: string; address?: string };
        if (parsed.msg === 'listening' && parsed.address) {
          clearTimeout(timer);
          resolveChild({ kind, name, pid: child.pid ?? -1, address: parsed.address, process: child, exited });
        }
      } catch {
        // not JSON: a plain message
      }
    };
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      pending += chunk;
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        onLine(pending.slice(0, nl));
        pending = pending.slice(nl + 1);
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      for (const line of chunk.split('\n')) if (line) onLine(line);
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with code ${code} before listening:\n${tail}`));
    });
  });
}
