// The summary `flowmesh run` prints when a job ends: counts, time, throughput and how the batches were
// spread over the executors (the point of a distributed run, so it is shown as a table).
import { JobState, type Job } from '@flowmesh/contracts';
import { renderTable, formatCount } from './table.js';
import { formatDuration, formatRate } from './progress-format.js';

export function jobStateName(state: JobState): string {
  return JobState[state]?.replace(/^JOB_STATE_/, '').toLowerCase() ?? 'unknown';
}

export function jobElapsedMs(job: Job): number {
  if (job.progress?.elapsedMs) return job.progress.elapsedMs;
  const start = job.startedAt ?? job.createdAt;
  return start && job.finishedAt ? job.finishedAt.getTime() - start.getTime() : 0;
}

export interface SummaryExtras {
  /** Where the records went (`--out FILE`), or a file sink's location. */
  output?: string;
  /** Wall time seen by the client, when the job record has none. */
  wallMs?: number;
}

export function renderJobSummary(job: Job, extras: SummaryExtras = {}): string {
  const c = job.progress?.counts;
  const ms = jobElapsedMs(job) || extras.wallMs || 0;
  const seconds = ms / 1000;
  const recordsIn = c?.recordsIn ?? 0;
  const lines = [
    `Job ${job.id} (${job.flow} r${job.flowRevision}) ${jobStateName(job.state)}`,
    `  records in:       ${formatCount(recordsIn)}`,
    `  records out:      ${formatCount(c?.recordsOut ?? 0)}`,
    `  records rejected: ${formatCount(c?.recordsRejected ?? 0)}`,
  ];
  if (c?.recordsFiltered) lines.push(`  records filtered: ${formatCount(c.recordsFiltered)}`);
  lines.push(
    `  time:             ${seconds < 10 ? `${seconds.toFixed(2)}s` : formatDuration(seconds)}` +
      (seconds > 0 ? ` (${formatRate(recordsIn / seconds)})` : ''),
    `  batches:          ${formatCount(job.progress?.batchesDone ?? 0)}` +
      (job.progress?.batchesRetried ? ` (${job.progress.batchesRetried} retried)` : ''),
  );
  if (job.error) lines.push(`  error:            ${job.error}`);
  for (const f of job.failures)
    lines.push(`  failed batch ${f.batchIndex} @${f.offset}+${f.length}: ${f.errors.join('; ')}`);
  const output = extras.output ?? (job.output?.path ? `${job.output.root}:${job.output.path}` : undefined);
  if (output) lines.push(`  output:           ${output}`);
  if (job.rejectsOutput?.path) lines.push(`  rejects:          ${job.rejectsOutput.root}:${job.rejectsOutput.path}`);
  let text = lines.join('\n') + '\n';
  if (job.executors.length > 0) {
    const total = job.executors.reduce((n, e) => n + e.batches, 0) || 1;
    const rows = [...job.executors].sort((a, b) => a.executorId.localeCompare(b.executorId));
    text +=
      '\nBatches per executor:\n' +
      renderTable(
        [
          { header: 'executor', value: (e: (typeof rows)[number]) => e.executorId },
          { header: 'batches', value: (e) => e.batches, align: 'right' },
          { header: 'records', value: (e) => e.records, align: 'right' },
          { header: 'share', value: (e) => `${Math.round((100 * e.batches) / total)}%`, align: 'right' },
        ],
        rows,
      );
  }
  return text;
}
