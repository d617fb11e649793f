// What the live progress bar of `flowmesh run` shows, computed from JobProgress events: pure, so the
// numbers (rate, ETA, percentage) are tested without a terminal.
import type { JobProgress } from '@flowmesh/contracts';
import { formatCount } from './table.js';

export interface ProgressView {
  /** 0..1 of the work, by bytes when the source size is known, else by batches once planning is done. */
  fraction: number | undefined;
  records: number;
  batchesDone: number;
  /** "12/30" or "12/30+" while planning still runs. */
  batches: string;
  /** Input records per second since the job started. */
  rate: number;
  etaSeconds: number | undefined;
  rejected: number;
}

export function progressView(p: JobProgress, elapsedMs = p.elapsedMs): ProgressView {
  const records = p.counts?.recordsIn ?? 0;
  let fraction: number | undefined;
  if (p.bytesTotal > 0) fraction = Math.min(1, p.bytesDone / p.bytesTotal);
  else if (p.planningDone && p.batchesPlanned > 0) fraction = Math.min(1, p.batchesDone / p.batchesPlanned);
  const seconds = elapsedMs / 1000;
  const rate = seconds > 0 ? records / seconds : 0;
  // ETA from the fraction done so far (bytes track work better than records when rows vary in size).
  let etaSeconds: number | undefined;
  if (fraction !== undefined && fraction > 0 && seconds > 0)
    etaSeconds = Math.max(0, (seconds * (1 - fraction)) / fraction);
  return {
    fraction,
    records,
    batchesDone: p.batchesDone,
    batches: `${p.batchesDone}/${p.batchesPlanned}${p.planningDone ? '' : '+'}`,
    rate,
    etaSeconds,
    rejected: p.counts?.recordsRejected ?? 0,
  };
}

export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return '--';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export function formatRate(perSecond: number): string {
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toFixed(2)}M/s`;
  if (perSecond >= 1e4) return `${(perSecond / 1e3).toFixed(1)}k/s`;
  return `${Math.round(perSecond)}/s`;
}

const BAR_WIDTH = 30;

/** One line: `[#########.....]  45% | 450,000 records | batches 12/30 | 85.0k/s | ETA 7s`. */
export function formatProgressLine(v: ProgressView, width = BAR_WIDTH): string {
  const filled = v.fraction === undefined ? 0 : Math.round(v.fraction * width);
  const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
  const pct = v.fraction === undefined ? '  ?%' : `${String(Math.floor(v.fraction * 100)).padStart(3)}%`;
  const rejected = v.rejected > 0 ? ` | ${formatCount(v.rejected)} rejected` : '';
  return `[${bar}] ${pct} | ${formatCount(v.records)} records | batches ${v.batches} | ${formatRate(v.rate)} | ETA ${formatDuration(v.etaSeconds)}${rejected}`;
}
