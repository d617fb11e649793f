// `call`: HTTP enrichment. Runs over the records of a batch with at most `concurrency` requests in flight,
// a bounded LRU cache of responses shared by all batches of this compiled flow on this node (identical
// requests are also coalesced while in flight), and a timeout per request.
import { compileExpression, toJsonValue, type Evaluator } from '../expr/compile-expression.js';
import type { FlowRecord } from '../io/types.js';
import type { CallStep } from '../spec/types.js';
import { LruCache } from './lru-cache.js';
import { errorMessage, REJECT, type AsyncStep, type BatchState, type StepOutcome } from './step-runtime.js';

type UrlPart = string | Evaluator;

function compileTemplate(url: string): UrlPart[] {
  const parts: UrlPart[] = [];
  let last = 0;
  for (const m of url.matchAll(/\{\{(.*?)\}\}/g)) {
    parts.push(url.slice(last, m.index));
    parts.push(compileExpression((m[1] ?? '').trim(), 'record'));
    last = (m.index ?? 0) + m[0].length;
  }
  parts.push(url.slice(last));
  return parts;
}

export function callStep(step: CallStep): AsyncStep {
  const url = compileTemplate(step.url);
  const body = step.body === undefined ? undefined : compileExpression(step.body, 'record');
  const cache = new LruCache<Record<string, unknown>>(step.cacheSize);
  const inFlight = new Map<string, Promise<Record<string, unknown>>>();

  async function request(target: string, payload: string | undefined, signal?: AbortSignal): Promise<Record<string, unknown>> {
    const timeout = AbortSignal.timeout(step.timeoutMs);
    const res = await fetch(target, {
      method: step.method,
      ...(payload !== undefined ? { body: payload, headers: { 'content-type': 'application/json' } } : {}),
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
    if (!res.ok) throw new Error(`HTTP ${res.status} from ${step.method} ${target}`);
    const json: unknown = await res.json();
    if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error(`response of ${target} is not a JSON object`);
    return json as Record<string, unknown>;
  }

  function fetchCached(target: string, payload: string | undefined, signal?: AbortSignal): Promise<Record<string, unknown>> {
    const key = `${step.method} ${target}\n${payload ?? ''}`;
    const hit = cache.get(key);
    if (hit) return Promise.resolve(hit);
    let p = inFlight.get(key);
    if (!p) {
      p = request(target, payload, signal).then(
        (v) => { cache.set(key, v); inFlight.delete(key); return v; },
        (err: unknown) => { inFlight.delete(key); throw err; },
      );
      inFlight.set(key, p);
    }
    return p;
  }

  function merge(record: FlowRecord, response: Record<string, unknown>): void {
    if (step.fields.length === 0) Object.assign(record, response);
    else for (const f of step.fields) record[f.to] = response[f.from] ?? null;
  }

  return {
    kind: 'async', name: step.name,
    async runMany(records, state: BatchState, signal) {
      const outcomes: StepOutcome[] = new Array(records.length);
      const reasons: string[] = new Array(records.length);
      let next = 0;
      const worker = async (): Promise<void> => {
        // A per-worker context: the batch context's `record` is swapped per record and workers interleave.
        const ctx = { ...state.ctx };
        while (next < records.length) {
          const i = next++;
          const record = records[i]!;
          ctx.record = record;
          try {
            let target = '';
            for (const part of url) target += typeof part === 'string' ? part : encodeURIComponent(String(toJsonValue(part(ctx))));
            const payload = body ? JSON.stringify(toJsonValue(body(ctx))) : undefined;
            merge(record, await fetchCached(target, payload, signal));
            outcomes[i] = record;
          } catch (err) {
            if (signal?.aborted) throw signal.reason;
            if (step.onError === 'keep') outcomes[i] = record;
            else { outcomes[i] = REJECT; reasons[i] = errorMessage(err); }
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(step.concurrency, records.length) }, worker));
      return { outcomes, reasons };
    },
  };
}
