// A local mesh as the benchmark runs it (issue 7). Backpressure end to end (target 5): a client that stops
// reading must stop the mesh, not fill its memory. The measure is the job's own progress: output bytes the coordinator has accepted from
// executors minus the bytes the client has read is everything buffered between them (reorder buffer,
// gateway relay, HTTP/2 windows). It must stay a small bound while the job's output is several times it.
// The scale-out path (target 6): with a JSONL file sink, executors that see the sink's root write output
// parts and the coordinator appends them; the file must equal what the same flow streams back.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createClient, type FlowmeshClient, type RunJobEvent } from '@flowmesh/client';
import { startMesh, type Mesh } from '@flowmesh/cli';
import { RecordEncoding, ResourceKind, type JobProgress } from '@flowmesh/contracts';
import { generateOrders, readPartsDirectory } from '@flowmesh/flow';
import { REPO_ROOT, tempDir, waitFor } from '@flowmesh/testing';

const MiB = 1024 * 1024;
const RECORDS = 600_000; // ~54 MB of CSV in, ~147 MB of JSONL out
/**
 * What may sit between executors and a stalled client: the reorder window (2 × maxInstances = 4 batches of
 * ~2.7 MB output at 1 MiB input, ~11 MB), and on each of the two hops (coordinator→gateway, gateway→client)
 * the receiver's HTTP/2 window (8 MiB) plus grpc-js's stream buffers (16 messages of 256 KiB each side):
 * ~43 MB by design, ~39 MiB measured. A mesh that buffered the whole output (~147 MB) would pass it.
 */
const BUFFER_BOUND = 56 * MiB;

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

describe('bench mesh: a stalled client stops the mesh; a file sink is written from executor parts', function () {
  this.timeout(180_000);
  let mesh: Mesh | undefined;
  let client: FlowmeshClient;
  let data: string;
  let meshDir: string;

  before(async () => {
    const dir = await tempDir('slow-consumer');
    data = join(dir, 'data');
    meshDir = join(dir, 'mesh');
    await mkdir(data);
    await writeFile(join(data, 'orders.csv'), Buffer.concat([...generateOrders({ records: RECORDS, seed: 7 })]));
    await writeFile(join(data, 'orders-20k.csv'), Buffer.concat([...generateOrders({ records: 20_000, seed: 8 })]));
    mesh = await startMesh({
      dataDir: meshDir,
      executors: 2,
      slots: 1,
      fileRoots: { data },
      pluginDir: join(REPO_ROOT, 'examples/orders/plugins'),
      timeoutMs: 120_000,
    });
    client = createClient(mesh.gateway, { apiKey: mesh.adminKey, timeoutMs: 30_000 });
    // The gateway bootstraps the admin key just after it starts listening.
    await waitFor(() => client.whoAmI().then((w) => w.user === 'admin'), { timeoutMs: 30_000, what: 'the admin key' });
    await client.putResource({
      kind: ResourceKind.RESOURCE_KIND_FILE_ROOT,
      name: 'data',
      revision: 0,
      createRevision: 0,
      version: 0,
      updatedAt: undefined,
      updatedBy: '',
      spec: { $case: 'fileRoot', fileRoot: { path: data, writable: true, description: '' } },
    });
    const table = JSON.parse(readFileSync(join(REPO_ROOT, 'examples/orders/tax-rates.json'), 'utf8')) as {
      keyColumn: string;
      columns: string[];
      rows: Record<string, unknown>[];
      description: string;
    };
    await client.putResource({
      kind: ResourceKind.RESOURCE_KIND_REFERENCE_TABLE,
      name: 'tax-rates',
      revision: 0,
      createRevision: 0,
      version: 0,
      updatedAt: undefined,
      updatedBy: '',
      spec: { $case: 'referenceTable', referenceTable: table },
    });
    await client.putFlow('slow', readFileSync(join(REPO_ROOT, 'bench/flows/orders-plugin-only.yaml'), 'utf8'));
    await client.putFlow('to-file', readFileSync(join(REPO_ROOT, 'bench/flows/orders-plugin-file.yaml'), 'utf8'));
    await client.putFlow('to-parts', readFileSync(join(REPO_ROOT, 'bench/flows/orders-plugin-parts.yaml'), 'utf8'));
  });

  after(async () => {
    client?.close();
    await mesh?.stop();
  });

  it('holds accepted-but-unread output under the bound while the client reads nothing, then delivers all of it', async () => {
    const events = client.runJob({
      flow: 'slow',
      vars: { input: 'orders.csv' },
      encoding: RecordEncoding.RECORD_ENCODING_JSONL,
      distribute: { batchBytes: MiB, batchRecords: 0, maxInstances: 2, order: 'input', mode: '' },
    });
    let jobId = '';
    let read = 0;
    let records = 0;
    const take = async (): Promise<RunJobEvent | undefined> => {
      const r = await events.next();
      if (r.done) return undefined;
      if (r.value.$case === 'accepted') jobId = r.value.accepted.jobId;
      if (r.value.$case === 'records') {
        read += r.value.records.data.length;
        records += r.value.records.recordCount;
      }
      return r.value;
    };
    // Read up to the first records, then stop reading.
    for (let ev = await take(); ev && ev.$case !== 'records'; ev = await take());
    assert.ok(jobId, 'the job was accepted');
    const pids = Object.fromEntries(mesh!.children.map((c) => [c.name, c.pid]));
    const rssAtStall = { coordinator: rssMiB(pids['coordinator-1']!), gateway: rssMiB(pids.gateway!) };

    // Watch the job from a second call until it is quiet: the same accepted output for 2 s (every buffer on
    // the way is full and dispatch has stopped), or the job ran to its end (nothing held it back: a failure).
    let last: JobProgress | undefined;
    let quietSince = Date.now();
    let maxBuffered = 0;
    const watcher = new AbortController();
    for await (const ev of client.watchJob(jobId, { signal: watcher.signal })) {
      if (ev.$case === 'summary') break;
      if (ev.$case !== 'progress') continue;
      const p = ev.progress;
      maxBuffered = Math.max(maxBuffered, (p.counts?.bytesOut ?? 0) - read);
      if (p.counts?.bytesOut !== last?.counts?.bytesOut || p.batchesDone !== last?.batchesDone) quietSince = Date.now();
      last = p;
      if (p.planningDone && p.batchesDone === p.batchesPlanned) break;
      if (Date.now() - quietSince >= 2000) break;
    }
    watcher.abort();
    const rssQuiet = { coordinator: rssMiB(pids['coordinator-1']!), gateway: rssMiB(pids.gateway!) };
    assert.ok(last, 'progress was watched');
    assert.ok(
      !(last.planningDone && last.batchesDone === last.batchesPlanned),
      `the job finished while nobody read it (${last.batchesDone} batches, ${last.counts?.bytesOut} bytes): nothing held it back`,
    );
    assert.ok(
      maxBuffered < BUFFER_BOUND,
      `${(maxBuffered / MiB).toFixed(1)} MiB accepted but unread (bound ${BUFFER_BOUND / MiB} MiB, ${last.batchesDone}/${last.batchesPlanned} batches done)`,
    );
    // RSS is the outside view of the same bound (with room for GC timing; the output is ~98 MB).
    for (const k of ['coordinator', 'gateway'] as const)
      assert.ok(
        rssQuiet[k] - rssAtStall[k] < 64,
        `${k} RSS grew ${Math.round(rssQuiet[k] - rssAtStall[k])} MiB during the stall (${(maxBuffered / MiB).toFixed(1)} MiB buffered)`,
      );

    // Reading again drains the job to its end with every record.
    let summary: RunJobEvent | undefined;
    for (let ev = await take(); ev; ev = await take()) if (ev.$case === 'summary') summary = ev;
    assert.equal(summary?.$case, 'summary');
    if (summary?.$case === 'summary') {
      assert.equal(summary.summary.job?.progress?.counts?.recordsOut, records);
      assert.equal(summary.summary.job?.progress?.counts?.bytesOut, read);
    }
  });

  it('writes a JSONL file sink from output parts the executors wrote, one file or a directory of parts, identical to the streamed output', async () => {
    const distribute = { batchBytes: 256 * 1024, batchRecords: 0, maxInstances: 4, order: 'input', mode: '' };
    const vars = { input: 'orders-20k.csv' };
    const streamed: Buffer[] = [];
    for await (const ev of client.runJob({
      flow: 'slow',
      vars,
      encoding: RecordEncoding.RECORD_ENCODING_JSONL,
      distribute,
    }))
      if (ev.$case === 'records') streamed.push(Buffer.from(ev.records.data));
    let summary: RunJobEvent | undefined;
    let recordsStreamed = 0;
    for await (const ev of client.runJob({ flow: 'to-file', vars, distribute })) {
      if (ev.$case === 'records') recordsStreamed += ev.records.recordCount;
      if (ev.$case === 'summary') summary = ev;
    }
    assert.equal(summary?.$case, 'summary');
    if (summary?.$case !== 'summary') return;
    const job = summary.summary.job!;
    assert.equal(recordsStreamed, 0, 'a file sink streams no records');
    assert.deepEqual(job.output, { root: 'data', path: 'bench-out/orders-20k.csv.jsonl' });
    const written = readFileSync(join(data, 'bench-out/orders-20k.csv.jsonl'));
    assert.ok(
      written.equals(Buffer.concat(streamed)),
      `file sink (${written.length} bytes) differs from the streamed output`,
    );
    assert.deepEqual(
      readdirSync(join(data, 'bench-out')).sort(),
      ['orders-20k.csv.jsonl', 'orders-20k.csv.jsonl.rejects.jsonl'],
      'no part or temp file left',
    );
    // Every batch came as a part written by an executor (both see the root), none as records on the call.
    // The coordinator logs 'job ended' after it sent the summary (4ca8cb8): wait for the line.
    const endedLines = (): Array<{ partsAppended: number }> =>
      readFileSync(join(meshDir, 'logs', 'coordinator-1.log'), 'utf8')
        .split('\n')
        .filter((l) => l.includes('"job ended"') && l.includes('partsAppended'))
        .map((l) => JSON.parse(l) as { partsAppended: number });
    await waitFor(() => endedLines().length > 0, { timeoutMs: 10_000, what: "the file-sink job's 'job ended' line" });
    const ended = endedLines();
    assert.equal(ended.length, 1, 'one file-sink job ended');
    assert.ok(job.progress!.batchesDone > 4, `${job.progress!.batchesDone} batches`);
    assert.equal(ended[0]!.partsAppended, job.progress!.batchesDone);

    // The same job into a `parts` layout sink: the executors' parts renamed into a directory, in input order.
    let parts: RunJobEvent | undefined;
    for await (const ev of client.runJob({ flow: 'to-parts', vars, distribute })) if (ev.$case === 'summary') parts = ev;
    assert.equal(parts?.$case, 'summary');
    if (parts?.$case !== 'summary') return;
    assert.deepEqual(parts.summary.job!.output, { root: 'data', path: 'bench-out/orders-20k.csv.parts' });
    const dir = join(data, 'bench-out/orders-20k.csv.parts');
    assert.equal(readdirSync(dir).length, parts.summary.job!.progress!.batchesDone, 'one part per batch');
    assert.ok((await readPartsDirectory(dir)).equals(Buffer.concat(streamed)), 'the parts, in order, are the streamed output');
    await waitFor(() => endedLines().length > 1, { timeoutMs: 10_000, what: "the parts-sink job's 'job ended' line" });
    assert.equal(endedLines()[1]!.partsAppended, parts.summary.job!.progress!.batchesDone, 'every part an executor wrote');
    assert.deepEqual(
      readdirSync(join(data, 'bench-out')).sort(),
      ['orders-20k.csv.jsonl', 'orders-20k.csv.jsonl.rejects.jsonl', 'orders-20k.csv.parts', 'orders-20k.csv.parts.rejects.jsonl'],
      'no part or temp directory left',
    );
  });
});
