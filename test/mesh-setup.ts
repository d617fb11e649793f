// Setup shared by the whole-mesh tests: the orders example and its reference run, starting services so
// that each one is tracked for teardown the moment it is up, executor flags, and the file-registry mesh
// with its config-store. Only setup lives here; every test keeps its own assertions.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ResourceKind } from '@flowmesh/contracts';
import { newResource } from '@flowmesh/config/new-resource';
import { runFlowLocal, type LocalRunResult, type ReferenceTableData } from '@flowmesh/flow';
import { REPO_ROOT, startService, stopAllServices, type RunningService } from '@flowmesh/testing';

export const EXAMPLES = join(REPO_ROOT, 'examples/orders');
export const PLUGINS = join(EXAMPLES, 'plugins');

export interface OrdersExample {
  flow: string;
  table: ReferenceTableData;
}

/** The orders flow and its tax-rates reference table, as examples/orders holds them. */
export async function loadOrdersExample(): Promise<OrdersExample> {
  const flow = await readFile(join(EXAMPLES, 'orders.flow.yaml'), 'utf8');
  const table = JSON.parse(await readFile(join(EXAMPLES, 'tax-rates.json'), 'utf8')) as ReferenceTableData;
  return { flow, table };
}

/** The single-process reference run of `flow` over `input` in `dataDir` (root `data`, the example's table). */
export function referenceRun(
  flow: string,
  table: ReferenceTableData,
  dataDir: string,
  input: string,
): Promise<LocalRunResult> {
  return runFlowLocal(flow, {
    fileRoots: { data: dataDir },
    vars: { input },
    referenceTables: { 'tax-rates': table },
    pluginDir: PLUGINS,
  });
}

/** Flags of a one-slot executor with the example plugins and `dataDir` as its `data` root. */
export function executorArgs(nodeId: string, dataDir: string): string[] {
  return [
    '--node-id',
    nodeId,
    '--slots',
    '1',
    '--heartbeat-ms',
    '200',
    '--plugin-dir',
    PLUGINS,
    '--file-root',
    `data=${dataDir}`,
  ];
}

/**
 * Starts every service of `starts` at once and pushes each to `services` as soon as it is up, so a sibling
 * that fails to start leaves nothing running untracked; then rethrows the first failure.
 */
export async function startAllTracked(
  services: RunningService[],
  starts: Array<Promise<RunningService>>,
): Promise<RunningService[]> {
  const started = await Promise.allSettled(starts.map((p) => p.then((s) => (services.push(s), s))));
  for (const s of started) if (s.status === 'rejected') throw s.reason;
  return started.map((s) => (s as PromiseFulfilledResult<RunningService>).value);
}

/** A file-registry mesh under `dir` and its config-store on the embedded store (tracked in `services`). */
export async function startFileMesh(
  dir: string,
  env: Record<string, string>,
  services: RunningService[],
): Promise<{ mesh: string[]; store: RunningService }> {
  const mesh = ['--discovery', 'file', '--registry-dir', join(dir, 'registry')];
  const store = await startService('config-store', {
    args: [...mesh, '--data-dir', join(dir, 'store')],
    env,
    timeoutMs: 60_000,
  });
  services.push(store);
  return { mesh, store };
}

/** The read-only file root `data` at `path`, as a resource to put. */
export const dataRoot = (path: string) =>
  newResource({
    kind: ResourceKind.RESOURCE_KIND_FILE_ROOT,
    name: 'data',
    spec: { $case: 'fileRoot', fileRoot: { path, writable: false, description: '' } },
  });

/** The example's tax-rates reference table, as a resource to put. */
export const taxRatesTable = (table: ReferenceTableData) =>
  newResource({
    kind: ResourceKind.RESOURCE_KIND_REFERENCE_TABLE,
    name: 'tax-rates',
    spec: {
      $case: 'referenceTable',
      referenceTable: { keyColumn: table.keyColumn, columns: table.columns ?? [], rows: table.rows, description: '' },
    },
  });

/** Teardown: services in reverse start order (a coordinator before the executors it calls), strays, etcd. */
export async function stopTracked(services: RunningService[], etcd?: { stop(): Promise<void> }): Promise<void> {
  for (const s of services.reverse()) await s.stop('SIGTERM', { timeoutMs: 5000 });
  await stopAllServices();
  await etcd?.stop();
}
