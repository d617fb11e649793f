// The live progress bar of `flowmesh run` on a terminal (cli-progress, redrawn in place, on stderr so
// stdout stays clean for records); off a terminal, one progress line every few seconds instead.
import cliProgress from 'cli-progress';
import type { JobProgress } from '@flowmesh/contracts';
import { formatProgressLine, progressView } from '../output/progress-format.js';

export interface ProgressBar {
  update(p: JobProgress): void;
  stop(): void;
}

export function createProgressBar(
  stream: NodeJS.WriteStream = process.stderr,
  opts: { plainEveryMs?: number } = {},
): ProgressBar {
  const started = Date.now();
  if (!stream.isTTY) {
    let last = 0;
    const every = opts.plainEveryMs ?? 2000;
    return {
      update(p) {
        const now = Date.now();
        if (now - last < every) return;
        last = now;
        stream.write(formatProgressLine(progressView(p, p.elapsedMs || now - started), 20) + '\n');
      },
      stop() {},
    };
  }
  const bar = new cliProgress.SingleBar(
    {
      stream,
      hideCursor: true,
      clearOnComplete: false,
      fps: 10,
      format: (_options, _params, payload: { line?: string }) => payload.line ?? 'starting…',
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(1, 0, { line: 'waiting for the first progress…' });
  return {
    update(p) {
      const view = progressView(p, p.elapsedMs || Date.now() - started);
      bar.update(view.fraction ?? 0, { line: formatProgressLine(view) });
    },
    stop() {
      bar.stop();
    },
  };
}
