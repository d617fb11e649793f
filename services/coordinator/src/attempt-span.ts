// The driver's batch attempt inside a `flowmesh.batch.attempt` span — only when tracing is on. The executor's
// span for the work is that span's child (its context travels with the assign). With tracing off the span
// would be the API's no-op, yet `inSpan` still costs a context switch, three async frames and an attributes
// object per attempt: ~5% of the coordinator's CPU per tiny batch (issue 7, target 4), so it is skipped.
import { batchAttemptAttributes, batchCountsAttributes, inSpan, tracingActive, type Span } from '@flowmesh/runtime';
import type { VerifiedAttempt } from './attempt-collector.js';
import type { AttemptRequest, AttemptRunner } from './attempt-runner.js';
import { runAttempt, type AttemptOptions } from './run-attempt.js';

export function runAttemptInSpan(
  runner: AttemptRunner,
  request: AttemptRequest,
  opts: AttemptOptions,
): Promise<VerifiedAttempt> {
  if (!tracingActive()) return runAttempt(runner, request, opts);
  return inSpan('flowmesh.batch.attempt', batchAttemptAttributes(request.assignment, request.executor.id), (span) =>
    spanned(span, runner, request, opts),
  );
}

async function spanned(
  span: Span,
  runner: AttemptRunner,
  request: AttemptRequest,
  opts: AttemptOptions,
): Promise<VerifiedAttempt> {
  const r = await runAttempt(runner, request, opts);
  span.setAttributes(batchCountsAttributes(r.trailer.counts));
  return r;
}
