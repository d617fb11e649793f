#!/usr/bin/env node
// `npm run demo`: from a fresh clone to a distributed run in one command (issue 5).
//   1. installs dependencies when node_modules is missing;
//   2. starts a local mesh (`flowmesh up`: embedded store, gateway, coordinator, 2 executors);
//   3. generates the sample orders file (default 1,000,000 records; --records N to change);
//   4. stores the tax-rates table and the orders flow through the gateway;
//   5. runs the flow distributed over the executors with a live progress bar (`flowmesh run`);
//   6. prints the summary and where the output is, then stops the mesh.
// Options: --records N, --executors N, --data-dir DIR (default .flowmesh/demo), --keep (leave the mesh up).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '1000000' },
    executors: { type: 'string', default: '2' },
    'data-dir': { type: 'string', default: join(root, '.flowmesh', 'demo') },
    keep: { type: 'boolean', default: false },
  },
});
const records = Number(values.records);
if (!Number.isInteger(records) || records < 1) fatal(`--records: a positive integer, got ${values.records}`);
const dataDir = resolve(values['data-dir']);
const say = (text) => process.stdout.write(`\x1b[1m==> ${text}\x1b[0m\n`);

function fatal(message) {
  process.stderr.write(`demo: ${message}\n`);
  process.exit(1);
}

if (!existsSync(join(root, 'node_modules', 'tsx'))) {
  say('installing dependencies (npm install)');
  const r = spawnSync('npm', ['install', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) fatal('npm install failed');
}

const flowmeshBin = join(root, 'bin', 'flowmesh.js');
const env = { ...process.env, FLOWMESH_DATA_DIR: dataDir };
delete env.FLOWMESH_GATEWAY; // the demo talks to its own mesh, never to one named in the environment
delete env.FLOWMESH_API_KEY;

/** Runs `flowmesh …` (or another node script) to completion with the terminal attached; resolves its exit code. */
function run(args, { node = [] } = {}) {
  return new Promise((res) => {
    const child = spawn(process.execPath, [...node, ...args], { cwd: root, env, stdio: 'inherit' });
    child.once('exit', (code, signal) => res(code ?? (signal ? 130 : 1)));
  });
}

say(`starting a local mesh with ${values.executors} executors (data in ${dataDir})`);
const up = spawn(process.execPath, [flowmeshBin, 'up', '--executors', values.executors, '--data-dir', dataDir], {
  cwd: root,
  env,
  stdio: ['ignore', 'pipe', 'inherit'],
});
const upExited = new Promise((res) => up.once('exit', (code) => res(code)));
let stopping = false;
async function stopMesh() {
  if (stopping) return upExited;
  stopping = true;
  if (up.exitCode === null) {
    say('stopping the mesh');
    up.kill('SIGINT');
  }
  return upExited;
}
process.on('SIGINT', () => {
  // The terminal sent SIGINT to the whole group; make sure the mesh goes down, then leave.
  void stopMesh().then(() => process.exit(130));
});

const ready = await new Promise((res) => {
  let out = '';
  up.stdout.setEncoding('utf8').on('data', (chunk) => {
    process.stdout.write(chunk);
    out += chunk;
    if (out.includes('Press Ctrl-C')) res(true);
  });
  void upExited.then(() => res(false));
});
if (!ready) fatal(`the mesh did not start; logs are in ${join(dataDir, 'logs')}`);

let code = 0;
try {
  const input = join(dataDir, 'data', 'orders.csv');
  const marker = join(dataDir, 'data', 'orders.records');
  if (existsSync(input) && existsSync(marker) && readFileSync(marker, 'utf8').trim() === String(records)) {
    say(`reusing ${input} (${records.toLocaleString('en-US')} records)`);
  } else {
    say(`generating ${records.toLocaleString('en-US')} sample orders`);
    mkdirSync(dirname(input), { recursive: true });
    code = await run([join(root, 'scripts', 'gen-orders.ts'), '--records', String(records), '--out', input], {
      node: ['--import', 'tsx'],
    });
    if (code !== 0) throw new Error('generating the orders failed');
    writeFileSync(marker, `${records}\n`);
  }

  say('storing the tax-rates table and the orders flow');
  code = await run([
    flowmeshBin,
    'tables',
    'put',
    join(root, 'examples', 'orders', 'tax-rates.json'),
    '--name',
    'tax-rates',
  ]);
  if (code !== 0) throw new Error('storing the tax-rates table failed');
  code = await run([
    flowmeshBin,
    'flows',
    'put',
    join(root, 'examples', 'orders', 'orders.flow.yaml'),
    '--name',
    'orders',
  ]);
  if (code !== 0) throw new Error('storing the orders flow failed');

  const output = join(dataDir, 'output', 'orders-enriched.jsonl');
  mkdirSync(dirname(output), { recursive: true });
  say('running the orders flow distributed over the executors');
  code = await run([
    flowmeshBin,
    'run',
    'orders',
    '--var',
    'input=orders.csv',
    '--out',
    output,
    '--rejects',
    join(dataDir, 'output', 'orders-rejects.jsonl'),
  ]);
  if (code !== 0) throw new Error(`the job did not succeed (exit code ${code})`);
  say(`done: enriched orders in ${output}, rejects in ${join(dataDir, 'output', 'orders-rejects.jsonl')}`);
} catch (err) {
  process.stderr.write(`demo: ${err.message}; service logs are in ${join(dataDir, 'logs')}\n`);
  code ||= 1;
}
if (values.keep) {
  say('the mesh keeps running (--keep): use `flowmesh cluster`, `flowmesh jobs list`; Ctrl-C stops it');
  await upExited;
} else {
  await stopMesh();
}
process.exit(code);
