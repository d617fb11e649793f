// Small batches of bounded flows run on the main thread, without a hop to a batch thread (issue 7, target 4).
// A hop costs two thread wake-ups and the messages around them, which is most of the executor's CPU for a
// batch of 10 records; the transform itself is a few µs per record. The threads exist so that user code and
// heavy transforms cannot stall the main thread (heartbeats, other calls: issue 6), so a batch runs inline
// only when its work is bounded and small: at most INLINE_MAX_BYTES of input, and a flow whose steps are
// all declarative — no plugin (user code), no call (network), no regular expression or padding function
// (whose cost a pattern or an argument can make unbounded). Everything else goes to a thread as before.
import { parseFlow, type FlowSpec, type StepType } from '@flowmesh/flow';

/** Input bytes up to which a bounded flow's batch runs inline: ~100 orders records, well under a millisecond. */
export const INLINE_MAX_BYTES = 16 * 1024;

const BOUNDED_STEPS: ReadonlySet<StepType> = new Set<StepType>([
  'filter',
  'validate',
  'set',
  'select',
  'rename',
  'drop',
  'count',
  'lookup',
]);
/** Expression functions whose cost does not follow from the record's size. */
const UNBOUNDED_FUNCTIONS = /\b(matches|replaceRegex|padStart)\s*\(/;
const MAX_VERDICTS = 16;
/** By flow source: every batch carries it, and the verdict of one source never changes. */
const verdicts = new Map<string, boolean>();

/** True when this batch may run on the main thread. */
export function runsInline(job: { flowSource: string; input: { bytes: Uint8Array } }): boolean {
  if (job.input.bytes.byteLength > INLINE_MAX_BYTES) return false;
  let verdict = verdicts.get(job.flowSource);
  if (verdict === undefined) {
    try {
      verdict = isBounded(parseFlow(job.flowSource));
    } catch {
      verdict = false; // an invalid flow fails on a thread, with the usual error
    }
    verdicts.set(job.flowSource, verdict);
    while (verdicts.size > MAX_VERDICTS) verdicts.delete(verdicts.keys().next().value as string);
  }
  return verdict;
}

export function isBounded(spec: FlowSpec): boolean {
  return (
    spec.steps.every((s) => BOUNDED_STEPS.has(s.type) && !UNBOUNDED_FUNCTIONS.test(JSON.stringify(s))) &&
    !UNBOUNDED_FUNCTIONS.test(JSON.stringify(spec.aggregate ?? null))
  );
}
