// `flowmesh up [--executors N] [--etcd URLS] [--data-dir DIR]`: a whole local mesh as child processes.
// Prints the gateway address and the admin key, writes them to <data-dir>/mesh.json (mode 0600) for the
// other commands, and stops everything cleanly on Ctrl-C.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { ResourceKind } from '@flowmesh/contracts';
import { createClient } from '@flowmesh/client';
import { newResource } from '@flowmesh/config/new-resource';
import { DEFAULT_DATA_DIR, readState, statePath, UsageError, type MeshState } from './connection.js';
import { fail } from './fail.js';
import { startMesh, type Mesh } from './mesh-launcher.js';

interface UpFlags {
  executors: string;
  slots: string;
  etcd?: string;
  dataDir: string;
  fileRoot: string[];
  pluginDir?: string;
}

export function parseFileRoots(pairs: readonly string[]): Record<string, string> {
  const roots: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--file-root ${pair}: expected name=path`);
    roots[pair.slice(0, eq)] = resolve(pair.slice(eq + 1));
  }
  return roots;
}

/** Registers the file roots in config-store (flows name roots, not paths); idempotent. */
export async function registerFileRoots(gateway: string, apiKey: string, roots: Record<string, string>): Promise<void> {
  const client = createClient(gateway, { apiKey, timeoutMs: 10_000 });
  try {
    for (const [name, path] of Object.entries(roots)) {
      await client.putResource(
        newResource({
          kind: ResourceKind.RESOURCE_KIND_FILE_ROOT,
          name,
          spec: { $case: 'fileRoot', fileRoot: { path, writable: true, description: 'registered by flowmesh up' } },
        }),
      );
    }
  } finally {
    client.close();
  }
}

export interface UpOptions {
  executors: number;
  slots?: number;
  etcd?: string;
  dataDir: string;
  fileRoots?: Record<string, string>;
  pluginDir?: string;
}

/** Starts the mesh, registers file roots, writes the state file. Used by `up` and by the demo. */
export async function bringUp(o: UpOptions): Promise<{ mesh: Mesh; state: MeshState; roots: Record<string, string> }> {
  const dataDir = resolve(o.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const roots = { data: join(dataDir, 'data'), ...o.fileRoots };
  for (const p of Object.values(roots)) mkdirSync(p, { recursive: true });
  // Reuse the key of an earlier `up` on this data dir: its store already knows it.
  const previous = readState(dataDir);
  const mesh = await startMesh({
    dataDir,
    executors: o.executors,
    slots: o.slots,
    etcd: o.etcd,
    fileRoots: roots,
    pluginDir: o.pluginDir,
    adminKey: previous?.apiKey,
  });
  try {
    await waitForGateway(mesh.gateway, mesh.adminKey);
    await registerFileRoots(mesh.gateway, mesh.adminKey, roots);
  } catch (err) {
    await mesh.stop();
    throw err;
  }
  const state: MeshState = {
    gateway: mesh.gateway,
    apiKey: mesh.adminKey,
    dataDir,
    pids: Object.fromEntries(mesh.children.map((c) => [c.name, c.pid])),
    startedAt: new Date().toISOString(),
  };
  writeFileSync(statePath(dataDir), JSON.stringify(state, null, 2) + '\n', { mode: 0o600 });
  return { mesh, state, roots };
}

/** The gateway listens before the admin key is bootstrapped: wait until the key works. */
async function waitForGateway(gateway: string, apiKey: string, timeoutMs = 30_000): Promise<void> {
  const client = createClient(gateway, { apiKey, timeoutMs: 2000 });
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      try {
        await client.whoAmI();
        return;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  } finally {
    client.close();
  }
}

export function upCommand(): Command {
  return new Command('up')
    .description('start a whole local mesh (config-store, gateway, coordinator, executors) until Ctrl-C')
    .option('--executors <n>', 'number of executors', '2')
    .option('--slots <n>', 'batch slots per executor', '2')
    .option('--etcd <urls>', 'use etcd (config database and discovery) instead of the embedded store')
    .option('--data-dir <dir>', 'store, registry, logs and state of this mesh', DEFAULT_DATA_DIR)
    .option(
      '--file-root <name=path>',
      'a file root for flows (repeatable; default data=<data-dir>/data)',
      (v: string, all: string[]) => [...all, v],
      [] as string[],
    )
    .option('--plugin-dir <dir>', 'plugin modules for `plugin` steps')
    .action(async (f: UpFlags) => {
      let mesh: Mesh | undefined;
      try {
        const executors = Number(f.executors);
        if (!Number.isInteger(executors) || executors < 1) throw new UsageError('--executors: a positive integer');
        const up = await bringUp({
          executors,
          slots: Number(f.slots) || 2,
          etcd: f.etcd,
          dataDir: f.dataDir,
          fileRoots: parseFileRoots(f.fileRoot),
          pluginDir: f.pluginDir ? resolve(f.pluginDir) : undefined,
        });
        mesh = up.mesh;
        process.stdout.write(
          [
            `flowmesh is up: ${mesh.children.map((c) => c.name).join(', ')}`,
            `  gateway:   ${mesh.gateway}`,
            `  admin key: ${mesh.adminKey}`,
            `  file roots: ${Object.entries(up.roots)
              .map(([n, p]) => `${n}=${p}`)
              .join(', ')}`,
            `  logs:      ${join(up.state.dataDir, 'logs')}`,
            `Other commands find the gateway through ${statePath(up.state.dataDir)}; or export`,
            `  FLOWMESH_GATEWAY=${mesh.gateway} FLOWMESH_API_KEY=<the admin key>`,
            'Press Ctrl-C to stop.',
            '',
          ].join('\n'),
        );
      } catch (err) {
        fail('up', err);
      }
      const running = mesh;
      let stopping = false;
      const shutdown = async (): Promise<void> => {
        if (stopping) process.exit(1); // a second Ctrl-C means now
        stopping = true;
        process.stdout.write('\nstopping the mesh…\n');
        await running.stop();
        rmSync(statePath(f.dataDir), { force: true });
        process.stdout.write('stopped.\n');
        process.exit(0);
      };
      process.on('SIGINT', () => void shutdown());
      process.on('SIGTERM', () => void shutdown());
      // A child that dies on its own is reported; the rest keep running.
      for (const c of running.children)
        void c.exited.then(
          (code) => !stopping && process.stderr.write(`${c.name} exited (code ${code}); see its log\n`),
        );
    });
}
