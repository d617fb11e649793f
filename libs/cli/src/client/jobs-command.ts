// `flowmesh jobs list|get|watch|cancel`.
import { Command } from 'commander';
import { JobState, type Job } from '@flowmesh/contracts';
import { connect, UsageError, withConnectionOptions, type ConnectionFlags } from './connection.js';
import { runAction } from './fail.js';
import { createProgressBar } from './progress-bar.js';
import { jobElapsedMs, jobStateName, renderJobSummary } from '../output/job-summary.js';
import { renderJson, renderTable } from '../output/table.js';
import { formatDuration } from '../output/progress-format.js';

type Flags = ConnectionFlags & { json?: boolean };

const columns = [
  { header: 'id', value: (j: Job) => j.id },
  { header: 'flow', value: (j: Job) => `${j.flow} r${j.flowRevision}` },
  { header: 'state', value: (j: Job) => jobStateName(j.state) },
  { header: 'records in', value: (j: Job) => j.progress?.counts?.recordsIn ?? 0, align: 'right' as const },
  { header: 'out', value: (j: Job) => j.progress?.counts?.recordsOut ?? 0, align: 'right' as const },
  { header: 'rejected', value: (j: Job) => j.progress?.counts?.recordsRejected ?? 0, align: 'right' as const },
  { header: 'time', value: (j: Job) => formatDuration(jobElapsedMs(j) / 1000) },
  { header: 'by', value: (j: Job) => j.submittedBy },
  { header: 'created', value: (j: Job) => j.createdAt?.toISOString() },
];

function parseState(s: string | undefined): JobState {
  if (!s) return JobState.JOB_STATE_UNSPECIFIED;
  const v = JobState[`JOB_STATE_${s.toUpperCase()}` as keyof typeof JobState];
  if (typeof v !== 'number')
    throw new UsageError(`--state ${s}: one of pending, running, succeeded, failed, cancelled`);
  return v;
}

export function jobsCommand(): Command {
  const jobs = new Command('jobs').description('list, inspect, watch and cancel jobs');
  const sub = (name: string, description: string) =>
    withConnectionOptions(jobs.command(name).description(description)).option('--json', 'JSON output');

  sub('list', 'list jobs')
    .option('--state <state>', 'only jobs in this state')
    .option('--flow <flow>', 'only jobs of this flow')
    .option('--limit <n>', 'at most this many', '50')
    .action((f: Flags & { state?: string; flow?: string; limit: string }) =>
      runAction('jobs list', async () => {
        const res = await connect(f).listJobs({
          state: parseState(f.state),
          flow: f.flow ?? '',
          pageSize: Math.min(1000, Number(f.limit) || 50),
        });
        process.stdout.write(f.json ? renderJson(res.jobs) : renderTable(columns, res.jobs));
      }),
    );

  sub('get', 'show one job')
    .argument('<job-id>')
    .action((id: string, f: Flags) =>
      runAction('jobs get', async () => {
        const job = await connect(f).getJob(id);
        process.stdout.write(f.json ? renderJson(job) : renderJobSummary(job));
      }),
    );

  sub('watch', "follow a job's progress until it ends")
    .argument('<job-id>')
    .action((id: string, f: Flags) =>
      runAction('jobs watch', async () => {
        const controller = new AbortController();
        process.once('SIGINT', () => controller.abort());
        const bar = f.json ? undefined : createProgressBar();
        let last: Job | undefined;
        try {
          for await (const ev of connect(f).watchJob(id, { signal: controller.signal })) {
            if (ev.$case === 'progress') {
              if (f.json) process.stdout.write(JSON.stringify(ev.progress) + '\n');
              bar?.update(ev.progress);
            } else if (ev.$case === 'summary') last = ev.summary.job;
          }
        } finally {
          bar?.stop();
        }
        if (last) process.stdout.write(f.json ? renderJson(last) : '\n' + renderJobSummary(last));
        if (last && last.state !== JobState.JOB_STATE_SUCCEEDED) process.exitCode = 1;
      }),
    );

  sub('cancel', 'stop every batch of a job on every executor')
    .argument('<job-id>')
    .option('--reason <text>', 'recorded with the job')
    .action((id: string, f: Flags & { reason?: string }) =>
      runAction('jobs cancel', async () => {
        const job = await connect(f).cancelJob(id, f.reason ?? '');
        process.stdout.write(
          f.json ? renderJson(job ?? { id }) : `job ${id}: ${job ? jobStateName(job.state) : 'cancel requested'}\n`,
        );
      }),
    );
  return jobs;
}
