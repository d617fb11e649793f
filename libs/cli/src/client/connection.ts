// Where the gateway is and which key to use: flags, then FLOWMESH_GATEWAY / FLOWMESH_API_KEY, then the
// state file `flowmesh up` writes (<data-dir>/mesh.json, default .flowmesh). The key never goes on
// stdout; the state file is written with mode 0600.
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { createClient, type FlowmeshClient } from '@flowmesh/client';

export const DEFAULT_DATA_DIR = '.flowmesh';
export const STATE_FILE = 'mesh.json';

export interface MeshState {
  gateway: string;
  apiKey: string;
  dataDir: string;
  pids: Record<string, number>;
  startedAt: string;
}

export interface ConnectionFlags {
  gateway?: string;
  apiKey?: string;
  dataDir?: string;
  timeoutMs?: string;
}

export function statePath(dataDir?: string): string {
  return resolve(dataDir || process.env.FLOWMESH_DATA_DIR || DEFAULT_DATA_DIR, STATE_FILE);
}

export function readState(dataDir?: string): MeshState | undefined {
  const path = statePath(dataDir);
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as MeshState;
  } catch {
    return undefined;
  }
}

export class UsageError extends Error {
  readonly exitCode = 2;
}

export function resolveConnection(
  flags: ConnectionFlags,
  env: NodeJS.ProcessEnv = process.env,
): { address: string; apiKey?: string } {
  const state = readState(flags.dataDir);
  // Empty variables count as unset (`FLOWMESH_GATEWAY= flowmesh …` is how people clear them).
  const address = flags.gateway || env.FLOWMESH_GATEWAY || state?.gateway;
  if (!address) {
    throw new UsageError(
      'no gateway address: pass --gateway HOST:PORT, set FLOWMESH_GATEWAY, or start a local mesh with `flowmesh up`',
    );
  }
  const apiKey =
    flags.apiKey || env.FLOWMESH_API_KEY || (state && state.gateway === address ? state.apiKey : undefined);
  return { address, apiKey };
}

/** Adds --gateway, --api-key, --data-dir, --timeout-ms to a command (and its subcommands). */
export function withConnectionOptions(cmd: Command): Command {
  return cmd
    .option('--gateway <host:port>', 'gateway address (FLOWMESH_GATEWAY; default: the mesh started by `flowmesh up`)')
    .option('--api-key <key>', 'API key (FLOWMESH_API_KEY; default: the admin key of `flowmesh up`)')
    .option('--data-dir <dir>', 'where `flowmesh up` keeps its state (FLOWMESH_DATA_DIR)', undefined)
    .option('--timeout-ms <ms>', 'deadline of each call', '10000');
}

export function connect(flags: ConnectionFlags): FlowmeshClient {
  const { address, apiKey } = resolveConnection(flags);
  const timeoutMs = Number(flags.timeoutMs ?? 10_000);
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0)
    throw new UsageError('--timeout-ms: a positive number of milliseconds');
  return createClient(address, { apiKey, timeoutMs });
}
