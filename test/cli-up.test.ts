// `flowmesh up` and the client commands as a user runs them (issue 5): the mesh comes up as child
// processes and prints the gateway address and admin key; `cluster`, `flows`, `tables`, `run` and `jobs`
// work through the state file, with tables or --json and clear exit codes; Ctrl-C stops every child.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateOrders } from '@flowmesh/flow';
import { deferred, FLOWMESH_BIN, REPO_ROOT, runFlowmesh, tempDir, waitFor } from '@flowmesh/testing';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('cli: flowmesh up and the client commands', function () {
  this.timeout(180_000);
  let dataDir: string;
  let up: ChildProcess | undefined;
  let upOutput = '';
  const upExit = deferred<number | null>();
  let state: { gateway: string; apiKey: string; pids: Record<string, number> };
  const env = () => ({ FLOWMESH_DATA_DIR: dataDir, FLOWMESH_GATEWAY: '', FLOWMESH_API_KEY: '' });
  const cli = (...args: string[]) => runFlowmesh(args, { env: env(), timeoutMs: 60_000 });

  before(async () => {
    dataDir = await tempDir('cli-up');
    up = spawn(process.execPath, [FLOWMESH_BIN, 'up', '--executors', '2', '--slots', '1', '--data-dir', dataDir], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    up.once('exit', (code) => upExit.resolve(code));
    up.stdout!.setEncoding('utf8').on('data', (c: string) => (upOutput += c));
    up.stderr!.setEncoding('utf8').on('data', (c: string) => (upOutput += c));
    await waitFor(() => upOutput.includes('Press Ctrl-C') || up!.exitCode !== null, {
      timeoutMs: 120_000,
      what: 'flowmesh up',
    });
    assert.ok(upOutput.includes('Press Ctrl-C'), upOutput);
    state = JSON.parse(readFileSync(join(dataDir, 'mesh.json'), 'utf8')) as typeof state;
  });

  after(async () => {
    if (up && up.exitCode === null) {
      up.kill('SIGKILL');
      for (const pid of Object.values(state?.pids ?? {})) if (alive(pid)) process.kill(pid, 'SIGKILL');
    }
  });

  it('prints the gateway address and the admin key, and writes them to a private state file', () => {
    assert.match(upOutput, new RegExp(`gateway: +${state.gateway.replace(/\./g, '\\.')}`));
    assert.ok(upOutput.includes(`admin key: ${state.apiKey}`));
    assert.equal(Object.keys(state.pids).length, 5, 'config-store, gateway, coordinator, 2 executors');
  });

  it('lists the cluster as a table and as JSON', async () => {
    const table = await cli('cluster');
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /KIND +ID +ADDRESS/);
    assert.match(table.stdout, /executor +executor-2/);
    const json = await cli('cluster', '--json');
    assert.equal(json.code, 0, json.stderr);
    const parsed = JSON.parse(json.stdout) as { nodes: { kind: number }[] };
    assert.equal(parsed.nodes.filter((n) => n.kind === 3).length, 2);
  });

  it('stores a table and a flow, runs it with a summary of batches per executor, and lists the job', async () => {
    await writeFile(
      join(dataDir, 'data', 'orders.csv'),
      Buffer.concat([...generateOrders({ records: 20_000, seed: 9 })]),
    );
    const t = await cli('tables', 'put', join(REPO_ROOT, 'examples/orders/tax-rates.json'), '--name', 'tax-rates');
    assert.equal(t.code, 0, t.stderr);
    const f = await cli('flows', 'put', join(REPO_ROOT, 'examples/orders/orders.flow.yaml'), '--name', 'orders');
    assert.equal(f.code, 0, f.stderr);
    assert.match(f.stdout, /stored flow orders version 1/);
    const out = join(dataDir, 'out.jsonl');
    const r = await cli('run', 'orders', '--var', 'input=orders.csv', '--out', out, '--batch-records', '2500');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /succeeded/);
    assert.match(r.stdout, /records in: +20,000/);
    assert.match(r.stdout, /Batches per executor:/);
    const outLines = readFileSync(out, 'utf8').trim().split('\n').length;
    assert.match(r.stdout, new RegExp(`records out: +${outLines.toLocaleString('en-US')}`));
    const jobs = await cli('jobs', 'list', '--json');
    assert.equal(jobs.code, 0, jobs.stderr);
    assert.equal((JSON.parse(jobs.stdout) as { flow: string }[]).filter((j) => j.flow === 'orders').length, 1);
  });

  it('streams a local file with --input to a flow whose source is the call itself', async () => {
    const source = readFileSync(join(REPO_ROOT, 'examples/orders/orders.flow.yaml'), 'utf8')
      .replace(/source:\n(  .*\n)+/, 'source:\n  type: stream\n  format: csv\n')
      .replace(/batch: \{ bytes: \d+ \}/, 'batch: { records: 2500 }');
    const flowFile = join(dataDir, 'orders-stream.yaml');
    await writeFile(flowFile, source);
    const local = join(dataDir, 'local-orders.csv');
    await writeFile(local, Buffer.concat([...generateOrders({ records: 6_000, seed: 4 })]));
    assert.equal((await cli('flows', 'put', flowFile, '--name', 'orders-stream')).code, 0);
    const out = join(dataDir, 'stream-out.jsonl');
    const r = await cli('run', 'orders-stream', '--input', local, '--out', out, '--json');
    assert.equal(r.code, 0, r.stderr);
    const job = JSON.parse(r.stdout) as { progress: { counts: { recordsIn: number; recordsOut: number } } };
    assert.equal(job.progress.counts.recordsIn, 6_000);
    assert.equal(readFileSync(out, 'utf8').trim().split('\n').length, job.progress.counts.recordsOut);
  });

  it('fails with clear messages and distinct exit codes', async () => {
    const missing = await cli('flows', 'get', 'no-such-flow');
    assert.equal(missing.code, 5);
    assert.match(missing.stderr, /NOT_FOUND/);
    const badKey = await cli('flows', 'list', '--api-key', 'definitely-not-a-key-0123456789abcdefgh');
    assert.equal(badKey.code, 4);
    assert.match(badKey.stderr, /UNAUTHENTICATED/);
    const noGateway = await runFlowmesh(['cluster'], {
      env: { FLOWMESH_DATA_DIR: join(dataDir, 'nowhere'), FLOWMESH_GATEWAY: '', FLOWMESH_API_KEY: '' },
    });
    assert.equal(noGateway.code, 2);
    assert.match(noGateway.stderr, /no gateway address/);
    const badVar = await cli('run', 'orders', '--var', 'novalue');
    assert.equal(badVar.code, 2);
  });

  it('stops every child and removes the state file on Ctrl-C', async () => {
    up!.kill('SIGINT');
    assert.equal(await upExit.promise, 0);
    for (const [name, pid] of Object.entries(state.pids))
      assert.equal(alive(pid), false, `${name} (${pid}) still runs`);
    assert.equal(existsSync(join(dataDir, 'mesh.json')), false);
  });
});
