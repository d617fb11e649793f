// `flowmesh run FLOW [--var k=v]… [--input FILE] [--out FILE]`: runs a job through the gateway with a live
// progress bar and prints the summary. Records are written to --out as they arrive, each chunk before the
// next is pulled (the job runs as fast as the disk takes them); Ctrl-C cancels the job in the mesh.
import { closeSync, createReadStream, createWriteStream, openSync, writeSync, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { Command } from 'commander';
import { JobState, RecordEncoding, type Job } from '@flowmesh/contracts';
import { inSpan } from '@flowmesh/runtime';
import { connect, UsageError, withConnectionOptions, type ConnectionFlags } from './connection.js';
import { runAction } from './fail.js';
import { createProgressBar } from './progress-bar.js';
import { renderJobSummary } from '../output/job-summary.js';
import { renderJson } from '../output/table.js';

interface RunFlags extends ConnectionFlags {
  var: string[];
  input?: string;
  out?: string;
  rejects?: string;
  json?: boolean;
  progress: boolean;
  jobId?: string;
  maxInstances?: string;
  batchRecords?: string;
  order?: string;
  mode?: string;
}

export function parseVars(pairs: readonly string[]): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--var ${pair}: expected name=value`);
    vars[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return vars;
}

function positiveInt(flag: string, raw: string | undefined): number {
  if (raw === undefined) return 0;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`${flag}: a positive integer`);
  return n;
}

async function writeWithBackpressure(out: WriteStream, data: Uint8Array): Promise<void> {
  if (!out.write(data)) await once(out, 'drain');
}

/** All of `data` at the file's position, before returning (the next event may reuse its memory). */
function writeAll(fd: number, data: Uint8Array): void {
  for (let at = 0; at < data.length;) at += writeSync(fd, data, at);
}

export function runCommand(): Command {
  const cmd = new Command('run')
    .description('run a flow through the gateway, with a progress bar and a summary')
    .argument('<flow>', 'name of a stored flow')
    .option(
      '--var <name=value>',
      'override a flow variable (repeatable)',
      (v: string, all: string[]) => [...all, v],
      [] as string[],
    )
    .option('--input <file>', 'stream this file as the input of a flow whose source is `stream`')
    .option('--out <file>', 'write the output records (JSONL) here')
    .option('--rejects <file>', 'also write rejected records (JSONL) here')
    .option('--job-id <id>', 'choose the job id (idempotent submission)')
    .option('--max-instances <n>', 'override distribute.maxInstances for this run')
    .option('--batch-records <n>', 'override the batch size in records for this run')
    .option('--order <order>', 'input | arrival')
    .option('--mode <mode>', 'local | distributed')
    .option('--json', 'print the finished job as JSON instead of the summary')
    .option('--no-progress', 'no progress bar');
  withConnectionOptions(cmd);
  // A span around the whole run (tracing on through OTEL_TRACES_EXPORTER): the root of the job's trace. It
  // ends before runAction flushes, unlike the gRPC client span, whose status may arrive after the summary.
  cmd.action((flow: string, flags: RunFlags) =>
    runAction('run', () => inSpan('flowmesh.cli.run', { 'flowmesh.flow': flow }, () => run(flow, flags))),
  );
  return cmd;
}

async function run(flow: string, flags: RunFlags): Promise<void> {
  const vars = parseVars(flags.var);
  const distribute = {
    maxInstances: positiveInt('--max-instances', flags.maxInstances),
    batchRecords: positiveInt('--batch-records', flags.batchRecords),
    batchBytes: 0,
    order: flags.order ?? '',
    mode: flags.mode ?? '',
  };
  const client = connect(flags);
  // The records are written synchronously, each chunk before the next event is pulled, so the job can
  // borrow the client's buffers (borrowBuffers: no fresh memory per part, ~0.25 µs/record less CPU of
  // garbage collection, bench/README.md "The client's GC"); a chunk is ~256 KiB, and the write stream's
  // backpressure waited for the same disk.
  const out = flags.out ? openSync(flags.out, 'w') : undefined;
  const rejectsOut = flags.rejects ? createWriteStream(flags.rejects) : undefined;
  const controller = new AbortController();
  let jobId = '';
  const onSigint = (): void => {
    process.stderr.write(`\ncancelling job ${jobId || '(starting)'}…\n`);
    controller.abort();
  };
  process.once('SIGINT', onSigint);
  const bar = flags.progress && !flags.json ? createProgressBar() : undefined;
  const started = Date.now();
  let job: Job | undefined;
  try {
    const events = client.runJob(
      {
        flow,
        vars,
        jobId: flags.jobId,
        encoding: RecordEncoding.RECORD_ENCODING_JSONL,
        includeRejects: !!rejectsOut,
        distribute,
      },
      {
        input: flags.input ? createReadStream(flags.input) : undefined,
        signal: controller.signal,
        onProgress: (p) => bar?.update(p),
        borrowBuffers: true,
      },
    );
    for await (const ev of events) {
      if (ev.$case === 'accepted') jobId = ev.accepted.jobId;
      else if (ev.$case === 'records' && out !== undefined) {
        const data =
          ev.records.data.length > 0 ? ev.records.data : Buffer.from(ev.records.records.map((r) => r + '\n').join(''));
        writeAll(out, data);
      } else if (ev.$case === 'rejects' && rejectsOut) {
        await writeWithBackpressure(
          rejectsOut,
          Buffer.from(ev.rejects.rejects.map((r) => JSON.stringify(r) + '\n').join('')),
        );
      } else if (ev.$case === 'summary') job = ev.summary.job;
    }
  } finally {
    bar?.stop();
    process.off('SIGINT', onSigint);
    if (out !== undefined) closeSync(out);
    if (rejectsOut) await new Promise((r) => rejectsOut.end(r));
    client.close();
  }
  if (!job) throw new Error('the job ended without a summary');
  if (flags.json) process.stdout.write(renderJson(job));
  else {
    process.stdout.write('\n' + renderJobSummary(job, { output: flags.out, wallMs: Date.now() - started }));
    if (!flags.out) process.stdout.write('  (records were not saved: pass --out FILE to keep them)\n');
  }
  if (job.state !== JobState.JOB_STATE_SUCCEEDED) process.exitCode = 1;
}
