// Test harness for the executor: an orders file in a temp file root, the test plugins, an in-process
// executor on port 0, and a client that runs one ExecuteBatch attempt and collects what comes back.
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { credentials, type ServiceError } from '@grpc/grpc-js';
import { DataFormat, ExecutorServiceClient, RecordEncoding } from '@flowmesh/contracts';
import type { BatchAssignment, ExecuteBatchResponse, RecordChunk, Reject } from '@flowmesh/contracts';
import { generateOrders, planBatches, readHeader } from '@flowmesh/flow';
import type { BatchRange } from '@flowmesh/flow';
import { createLogger, createServiceHost } from '@flowmesh/runtime';
import type { ServiceHost } from '@flowmesh/runtime';
import { createExecutor } from '../src/create-executor.js';
import type { Executor, ExecutorParts } from '../src/create-executor.js';
import { staticFileRoots } from '../src/file-roots.js';

export const pluginDir = fileURLToPath(new URL('./fixtures/plugins/', import.meta.url));

export const FLOW = `
name: executor-test
vars:
  busy_ms: "0"
source:
  type: file
  root: data
  path: orders.csv
  format: csv
steps:
  - type: validate
    name: email-has-at
    expr: 'record.email.contains("@")'
    message: email has no @
  - type: plugin
    module: busy.mjs
  - type: plugin
    name: orders
    module: orders.mjs
  - type: count
    counter: rows
sink:
  type: stream
`;

export interface OrdersFixture {
  dir: string;
  root: string;
  file: string;
  header: Buffer;
  batches: BatchRange[];
  cleanup(): Promise<void>;
}

/** Writes a deterministic orders CSV (quoted newlines, invalid rows) and plans it into batches. */
export async function ordersFixture(records: number, batchBytes: number): Promise<OrdersFixture> {
  const dir = await mkdtemp(path.join(tmpdir(), 'executor-test-'));
  const root = path.join(dir, 'data');
  const file = path.join(root, 'orders.csv');
  await import('node:fs/promises').then((fs) => fs.mkdir(root));
  await writeFile(file, Buffer.concat([...generateOrders({ records, seed: 7, newlineRate: 0.02, invalidRate: 0.05 })]));
  const fh = await open(file, 'r');
  try {
    const info = await readHeader(fh, 'csv');
    const batches: BatchRange[] = [];
    for await (const b of planBatches(fh, { format: 'csv', dataOffset: info.dataOffset, firstLine: info.firstLine, batchBytes })) {
      batches.push(b);
    }
    return { dir, root, file, header: info.header, batches, cleanup: () => rm(dir, { recursive: true, force: true }) };
  } finally {
    await fh.close();
  }
}

export interface InProcessExecutor {
  executor: Executor;
  host: ServiceHost;
  address: string;
  client: ExecutorServiceClient;
  stop(): Promise<void>;
}

export async function startInProcess(
  fixture: OrdersFixture,
  parts: Partial<ExecutorParts> = {},
): Promise<InProcessExecutor> {
  const executor = createExecutor({
    id: 'exec-test',
    slots: 2,
    fileRoots: staticFileRoots({ data: fixture.root }),
    fileRootNames: () => ['data'],
    pluginDir,
    heartbeatMs: 100,
    ...parts,
  });
  const host = createServiceHost({
    name: 'executor',
    bind: '127.0.0.1:0',
    services: [executor.service],
    logger: createLogger('executor', { level: 'warn' }),
    graceMs: 2000,
  });
  const { address } = await host.start();
  const client = new ExecutorServiceClient(address, credentials.createInsecure(), {
    // The receiving side's window bounds server→client stream speed (issue 7).
    'grpc-node.flow_control_window': 8 * 1024 * 1024,
  });
  return {
    executor,
    host,
    address,
    client,
    async stop() {
      client.close();
      await host.stop('test over');
      await executor.close();
    },
  };
}

export function assignment(fixture: OrdersFixture, batch: BatchRange, patch: Partial<BatchAssignment> = {}): BatchAssignment {
  return {
    jobId: 'job-1',
    batchIndex: batch.index,
    attempt: 1,
    epoch: 1,
    file: { root: 'data', path: 'orders.csv' },
    offset: batch.offset,
    length: batch.length,
    firstLine: batch.firstLine,
    firstRecord: 0,
    flow: 'executor-test',
    flowRevision: 1,
    flowSource: FLOW,
    vars: { busy_ms: '0' },
    format: DataFormat.DATA_FORMAT_CSV,
    header: fixture.header,
    inline: false,
    globals: {},
    outputPart: undefined,
    encoding: RecordEncoding.RECORD_ENCODING_JSONL,
    includeRejects: true,
    chunkBytes: 0,
    mayWait: false,
    contextFromCall: false,
    ...patch,
  };
}

export interface AttemptResult {
  messages: ExecuteBatchResponse[];
  chunks: RecordChunk[];
  rejects: Reject[];
  error?: ServiceError;
  /** Concatenated record payloads. */
  output: Buffer;
}

export interface AttemptControls {
  inline?: Buffer;
  /** Call deadline. @default 30000 */
  deadlineMs?: number;
  /** Sees every message as it arrives; return 'cancel' to cancel the call. */
  onMessage?(msg: ExecuteBatchResponse): void | 'cancel';
}

/** One ExecuteBatch attempt: sends assign (and data), reads until the call ends. Never throws. */
export async function execute(client: ExecutorServiceClient, assign: BatchAssignment, controls: AttemptControls = {}): Promise<AttemptResult> {
  const call = client.executeBatch({ deadline: Date.now() + (controls.deadlineMs ?? 30_000) });
  const result: AttemptResult = { messages: [], chunks: [], rejects: [], output: Buffer.alloc(0) };
  call.write({ msg: { $case: 'assign', assign } });
  if (controls.inline) {
    for (let at = 0; at < controls.inline.length; at += 64 * 1024) {
      call.write({ msg: { $case: 'data', data: { data: controls.inline.subarray(at, at + 64 * 1024) } } });
    }
  }
  call.end();
  try {
    for await (const msg of call as AsyncIterable<ExecuteBatchResponse>) {
      result.messages.push(msg);
      if (msg.msg?.$case === 'records') result.chunks.push(msg.msg.records);
      if (msg.msg?.$case === 'rejects') result.rejects.push(...msg.msg.rejects.rejects);
      if (controls.onMessage?.(msg) === 'cancel') call.cancel();
    }
  } catch (err) {
    result.error = err as ServiceError;
  }
  result.output = Buffer.concat(result.chunks.map((c) => c.data));
  return result;
}

export function trailerOf(result: AttemptResult) {
  const last = result.messages.at(-1)?.msg;
  return last?.$case === 'trailer' ? last.trailer : undefined;
}
