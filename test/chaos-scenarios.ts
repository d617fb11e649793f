// One chaos scenario = one job run while one kind of fault is injected on a seeded schedule, then the
// output checked against the input (issue 6, item 5; docs/guarantees.md). Shared by the short form in
// `npm test` (test/chaos.test.ts) and the long form (`npm run chaos`, scripts/chaos.ts).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { JobState, type Job, type JobProgress } from '@flowmesh/contracts';
import { decodeRecords, readPartsDirectory } from '@flowmesh/flow';
import {
  checkOutput,
  createPrng,
  describeCheck,
  poisonFaultSpec,
  rejectIds,
  startFaults,
  waitFor,
  type FaultEvent,
  type FaultName,
  type FaultPlan,
  type OutputCheck,
} from '@flowmesh/testing';
import { failureDiagnostics } from './chaos-diagnostics.js';
import { progressFraction, type ChaosMesh, type ChaosJobRun } from './chaos-mesh.js';

/** Records per batch of every chaos job: batch b holds records b·N+1 … (b+1)·N, so ids map to batches. */
export const BATCH_RECORDS = 1000;
/** coordinator-kill: jobs run until one is killed before it ends (see runScenario). */
const KILL_TRIES = 3;
/** coordinator-kill: a job killed this long after it started must resume from a checkpoint, not restart. */
const RESUME_EXPECTED_AFTER_MS = 1500;

export interface ScenarioOptions {
  fault: FaultName;
  seed: number;
  /** coordinator-kill: progress at which the coordinator dies. */
  progressAt?: number;
  /**
   * coordinator-kill: a file-sink job (SubmitJob) writing one file or a directory of parts (`layout: parts`), or
   * a streamed result (RunJob through the gateway). @default 'file'
   */
  sink?: 'file' | 'parts' | 'stream';
  /** Overrides of the fault plan (count, timing). */
  plan?: Partial<FaultPlan>;
  /** coordinator-kill: how long another coordinator gets to finish the job. @default 45000 */
  takeoverTimeoutMs?: number;
}

export interface ScenarioOutcome {
  name: string;
  jobId: string;
  ordered: boolean;
  events: FaultEvent[];
  check?: OutputCheck;
  state?: string;
  error?: string;
  /** What breaks the guarantee (or the poison expectations); empty when the scenario passed. */
  problems: string[];
  /**
   * Only when there are problems: every attempt the coordinators counted as failed (batch, attempt,
   * executor, error) and the fault's victims' last log lines (chaos-diagnostics.ts).
   */
  diagnostics?: string[];
  elapsedMs: number;
  retried: number;
  /** coordinator-kill: batches the coordinator that finished the job ran itself, of all planned. */
  rerun?: { ran: number; planned: number; by: string };
  /** coordinator-kill: jobs it took until the kill landed before the job's end (at most KILL_TRIES). */
  killTries?: number;
  /**
   * coordinator-kill: the SIGKILL landed after the victim had already finished the job (recorded it, or sent
   * the summary) — a correct outcome that tests no takeover, so the scenario runs again.
   */
  endedBeforeKill?: string;
}

export function scenarioName(o: Pick<ScenarioOptions, 'fault' | 'seed' | 'progressAt' | 'sink'>): string {
  const sink = o.sink === 'stream' || o.sink === 'parts' ? ` ${o.sink}` : o.fault === 'coordinator-kill' ? ' file' : '';
  return `${o.fault}${o.progressAt !== undefined ? `@${Math.round(o.progressAt * 100)}%` : ''}${sink} seed ${o.seed}`;
}

/** The poison batch of a seed: job id and batch index. Executors must be started with its fault spec. */
export function poisonPlan(seed: number, batches: number): { jobId: string; batch: number; spec: string } {
  const batch = createPrng(seed ^ 0x5eed).int(2, Math.max(2, batches - 3));
  const jobId = `chaos-poison-s${seed}`;
  return { jobId, batch, spec: poisonFaultSpec(jobId, batch) };
}

/** Fault timing per kind for the short form: faults start early in the job and hold past the timeouts. */
export function defaultPlan(fault: FaultName, seed: number, heartbeatTimeoutMs: number): FaultPlan {
  const base: FaultPlan = { fault, seed, maxFaults: 3, maxDurationMs: 25_000, everyMs: [200, 1000], holdMs: 3000 };
  switch (fault) {
    case 'executor-sigstop':
      // Longer than the coordinator's heartbeat timeout, then SIGCONT: the late stream must be refused.
      return { ...base, maxFaults: 2, holdMs: 2 * heartbeatTimeoutMs + 500 };
    case 'executor-partition':
      // Cut for twice the heartbeat timeout, then healed: held bytes arrive late and must be refused.
      return { ...base, maxFaults: 2, holdMs: 2 * heartbeatTimeoutMs };
    case 'etcd-member':
      // The job keeps writing its record, executors their leases and the coordinator watches discovery.
      // Early in the job: on quiet cores the whole 40k-record job takes ~1.5 s.
      return { ...base, maxFaults: 1, everyMs: [100, 300], holdMs: 2000 };
    default:
      return base;
  }
}

const stateName = (s: number | undefined): string => (s === undefined ? 'none' : (JobState[s] ?? String(s)));

export async function runScenario(
  mesh: ChaosMesh,
  opts: ScenarioOptions,
  heartbeatTimeoutMs: number,
): Promise<ScenarioOutcome> {
  const o = await runOnce(mesh, opts, heartbeatTimeoutMs);
  if (o.problems.length > 0) o.diagnostics = failureDiagnostics(mesh, o.jobId, o.events);
  return o;
}

async function runOnce(mesh: ChaosMesh, opts: ScenarioOptions, heartbeatTimeoutMs: number): Promise<ScenarioOutcome> {
  const t0 = Date.now();
  const name = scenarioName(opts);
  // Odd seeds ask for input order, even ones for arrival order: both are covered by two seeds.
  const ordered = opts.fault === 'poison' || opts.seed % 2 === 1;
  const batches = Math.ceil(mesh.input.ids.length / BATCH_RECORDS);
  const outcome: ScenarioOutcome = { name, jobId: '', ordered, events: [], problems: [], elapsedMs: 0, retried: 0 };
  // A coordinator-kill scenario before this one leaves its victim dead: every scenario starts with all of them.
  await mesh.ensureCoordinators();
  await mesh.settle();
  if (opts.fault === 'coordinator-kill') {
    // A job can pass the kill point between two progress events (the last 10 % of a 40-batch job is a few
    // batches, done in one burst on a loaded machine): then nothing was tested, so the scenario runs again
    // with a new job, at most KILL_TRIES times, and reports the tries it took.
    for (let attempt = 1; ; attempt++) {
      const o: ScenarioOutcome = { ...outcome, events: [], problems: [] };
      const r =
        opts.sink === 'stream'
          ? await coordinatorKillStream(mesh, opts, o, t0, attempt)
          : await coordinatorKill(mesh, opts, o, t0, attempt);
      const tested = r.events.length > 0 && !r.endedBeforeKill;
      if (tested || attempt >= KILL_TRIES) {
        if (r.endedBeforeKill) r.problems.push(r.endedBeforeKill);
        return { ...r, killTries: attempt };
      }
      await mesh.ensureCoordinators();
      await mesh.settle();
    }
  }

  const poison = opts.fault === 'poison' ? poisonPlan(opts.seed, batches) : undefined;
  const jobId = poison?.jobId ?? `chaos-${opts.fault}-s${opts.seed}`;
  outcome.jobId = jobId;
  let progress: JobProgress | undefined;
  const faults = startFaults(
    { ...defaultPlan(opts.fault, opts.seed, heartbeatTimeoutMs), ...opts.plan },
    { executors: () => mesh.executors(), etcd: mesh.etcd, progress: () => progressFraction(progress) },
  );
  let run: ChaosJobRun;
  try {
    run = await mesh.runJob(
      { jobId, batchRecords: BATCH_RECORDS, order: ordered ? 'input' : 'arrival' },
      (p) => (progress = p),
    );
  } finally {
    await faults.stop();
  }
  await faults.done.catch((err: unknown) => outcome.problems.push(`fault schedule failed: ${String(err)}`));
  outcome.events = faults.events;
  outcome.state = stateName(run.summary?.state);
  outcome.error = run.error?.message;
  outcome.retried = run.summary?.progress?.batchesRetried ?? run.lastProgress?.batchesRetried ?? 0;
  const rejected = rejectIds(
    run.rejects.map((r) => r.line),
    mesh.input.lineIds,
  );

  if (poison) {
    await checkPoison(mesh, run, poison, rejected, outcome);
  } else {
    if (faults.events.length === 0)
      outcome.problems.push('no fault was injected before the job ended (the scenario proved nothing)');
    // A held fault is undone early when the job ends first; at least one must have outlasted what it
    // tests (the heartbeat timeout; several etcd election timeouts), or the scenario proved less than it claims.
    const minHeld = opts.fault === 'etcd-member' ? 500 : heartbeatTimeoutMs;
    const held = faults.events.filter((x) => x.heldMs !== undefined);
    if (held.length > 0 && !held.some((e) => e.heldMs! >= minHeld))
      outcome.problems.push(
        `the job ended before any fault had lasted the ${minHeld} ms it must outlast (${held.map((e) => `${e.heldMs} ms`).join(', ')})`,
      );
    // A pause or cut longer than the heartbeat timeout must cost the attempt it hit (or the next one sent there).
    // A graceful stop drains: the executor finishes its batch and deregisters, so no attempt fails.
    if (opts.fault === 'executor-sigterm' && outcome.retried > 0)
      outcome.problems.push(
        `${outcome.retried} batches were retried: a SIGTERMed executor must finish its batch (graceful drain)`,
      );
    if (
      (opts.fault === 'executor-sigstop' || opts.fault === 'executor-partition') &&
      outcome.retried === 0 &&
      !run.error
    )
      outcome.problems.push('the coordinator retried no batch: the fault was not noticed');
    if (run.error) outcome.problems.push(`the job failed: ${run.error.message}`);
    if (run.summary?.state !== JobState.JOB_STATE_SUCCEEDED)
      outcome.problems.push(`job state ${outcome.state}, expected SUCCEEDED`);
    outcome.check = checkOutput({ inputIds: mesh.input.ids, output: run.output, rejectIds: rejected, ordered });
    if (!outcome.check.ok) outcome.problems.push(describeCheck(outcome.check));
  }
  outcome.elapsedMs = Date.now() - t0;
  return outcome;
}

/**
 * A poison batch: the job must FAIL after the retry budget with a report naming the batch, its byte range
 * (which must hold exactly that batch's records) and every attempt's error; every other batch's output
 * must be intact — each batch wholly present or wholly absent, in input order a prefix of the batches,
 * nothing duplicated or unexpected, and nothing of the poison batch.
 */
async function checkPoison(
  mesh: ChaosMesh,
  run: ChaosJobRun,
  poison: { jobId: string; batch: number },
  rejected: string[],
  outcome: ScenarioOutcome,
): Promise<void> {
  const p = outcome.problems;
  const k = poison.batch;
  const m = run.error
    ? /batch (\d+) \(bytes (\d+)\.\.(\d+)\) failed after (\d+) attempts: (.+)/s.exec(run.error.message)
    : null;
  if (!run.error) p.push(`the poison job did not fail (state ${outcome.state})`);
  else if (!m) p.push(`the error does not name batch, byte range and attempts: ${run.error.message}`);
  else {
    if (Number(m[1]) !== k) p.push(`the report names batch ${m[1]}, the poison batch is ${k}`);
    const [from, to] = [Number(m[2]), Number(m[3])];
    const inRange = decodeRecords('csv', mesh.input.bytes.subarray(from, to), {
      fields: decodeRecords('csv', mesh.input.bytes.subarray(0, mesh.input.bytes.indexOf('\n') + 1)).fields,
    });
    const ids = [
      ...inRange.records.map((r) => String(r.order_id)),
      ...inRange.errors.map((e) => /O-\d{9}/.exec(e.raw)?.[0]),
    ].sort();
    const expected = mesh.input.ids.slice(k * BATCH_RECORDS, (k + 1) * BATCH_RECORDS).sort();
    if (ids.join() !== expected.join())
      p.push(`bytes ${from}..${to} hold ${ids.length} records, not exactly batch ${k}'s ${expected.length}`);
    if (Number(m[4]) !== 4) p.push(`failed after ${m[4]} attempts, the flow's budget is 4 (retries: 3)`);
    if ((m[5]!.match(/;/g)?.length ?? 0) < 3) p.push(`the report does not list every attempt's error: ${m[5]}`);
  }
  const job = await waitFor(
    async () => {
      const j = await mesh.getJob(poison.jobId);
      return j && j.state !== JobState.JOB_STATE_RUNNING ? j : undefined;
    },
    { timeoutMs: 10_000, what: `job ${poison.jobId} recorded as finished` },
  ).catch(() => undefined);
  outcome.state = stateName(job?.state);
  if (job?.state !== JobState.JOB_STATE_FAILED) p.push(`recorded state ${outcome.state}, expected JOB_STATE_FAILED`);
  const f = job?.failures[0];
  if (
    !f ||
    job.failures.length !== 1 ||
    f.batchIndex !== k ||
    f.attempts !== 4 ||
    f.errors.length !== 4 ||
    !(f.length > 0)
  )
    p.push(`recorded failures ${JSON.stringify(job?.failures)} do not name batch ${k} with its range and 4 errors`);

  const poisonIds = new Set(mesh.input.ids.slice(k * BATCH_RECORDS, (k + 1) * BATCH_RECORDS));
  const check = checkOutput({ inputIds: mesh.input.ids, output: run.output, rejectIds: rejected, ordered: true });
  outcome.check = check;
  if (check.duplicated || check.unexpected || check.outOfOrder) p.push(describeCheck(check));
  const seen = new Set([...rejected, ...parseIds(run.output)]);
  const leaked = [...poisonIds].filter((id) => seen.has(id));
  if (leaked.length) p.push(`${leaked.length} records of the poison batch reached the caller`);
  const batches = Math.ceil(mesh.input.ids.length / BATCH_RECORDS);
  const complete: number[] = [];
  for (let b = 0; b < batches; b++) {
    if (b === k) continue;
    const ids = mesh.input.ids.slice(b * BATCH_RECORDS, (b + 1) * BATCH_RECORDS);
    const present = ids.filter((id) => seen.has(id)).length;
    if (present === ids.length) complete.push(b);
    else if (present > 0) p.push(`batch ${b} is partial: ${present} of ${ids.length} records`);
  }
  // Input order: what was emitted is exactly batches 0..n-1 for some n ≤ k.
  if (complete.some((b, i) => b !== i) || complete.length > k)
    p.push(`emitted batches ${complete.join(',')} are not a prefix before poison batch ${k}`);
}

function parseIds(output: Buffer): string[] {
  return output
    .toString('utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => String((JSON.parse(l) as { order_id?: unknown }).order_id));
}

/**
 * The coordinator is SIGKILLed at a given progress of a sink-to-file job; the guarantee (issue 6, item 3)
 * says another coordinator takes the job over from its checkpoint and completes it with exactly-once output.
 * A file sink keeps no rejects, so this job reads an input without invalid rows: every record must be in
 * the committed file, once, in input order.
 */
async function coordinatorKill(
  mesh: ChaosMesh,
  opts: ScenarioOptions,
  outcome: ScenarioOutcome,
  t0: number,
  attempt: number,
): Promise<ScenarioOutcome> {
  const at = opts.progressAt ?? 0.5;
  const parts = opts.sink === 'parts';
  const jobId = `chaos-ckill-${Math.round(at * 100)}${parts ? '-parts' : ''}-s${opts.seed}${attempt > 1 ? `-t${attempt}` : ''}`;
  outcome.jobId = jobId;
  outcome.ordered = true;
  let progress: JobProgress | undefined;
  await mesh.ensureCoordinators();
  const faults = startFaults(
    { fault: 'coordinator-kill', seed: opts.seed, progressAt: at, maxDurationMs: 60_000, ...opts.plan },
    {
      executors: () => mesh.executors(),
      coordinator: () => mesh.coordinator(0),
      progress: () => progressFraction(progress),
    },
  );
  const { watched } = await mesh.submitJob(
    {
      jobId,
      flow: parts ? 'orders-to-parts' : 'orders-to-file',
      batchRecords: BATCH_RECORDS,
      order: 'input',
      coordinator: 0,
      input: mesh.cleanInput,
    },
    (p) => (progress = p),
  );
  // The kill, or the job's end without one: then there is nothing left to wait for.
  void watched.then(() => (faults.events.length === 0 ? faults.stop() : undefined));
  await faults.done.catch((err: unknown) => outcome.problems.push(`fault schedule failed: ${String(err)}`));
  await faults.stop();
  outcome.events = faults.events;
  if (faults.events.length === 0) outcome.problems.push('the coordinator was not killed before the job ended');
  const timeoutMs = opts.takeoverTimeoutMs ?? 45_000;
  let last: Job | undefined;
  const finished = await waitFor(
    async () => {
      last = await mesh.getJob(jobId).catch(() => last);
      return last && last.state !== JobState.JOB_STATE_RUNNING && last.state !== JobState.JOB_STATE_PENDING
        ? last
        : undefined;
    },
    { timeoutMs, intervalMs: 250, what: `job ${jobId} finished by another coordinator` },
  ).catch(() => undefined);
  outcome.state = stateName(last?.state);
  if (!finished) {
    outcome.problems.push(
      `job ${jobId} was not completed by another coordinator within ${timeoutMs} ms after ${outcome.events[0]?.action ?? 'the kill'}: ` +
        `recorded state ${outcome.state}, coordinator ${last?.coordinatorId ?? '?'}, ` +
        `${last?.progress?.batchesDone ?? 0} batches done of ${last?.progress?.batchesPlanned ?? '?'}`,
    );
  } else if (finished.state !== JobState.JOB_STATE_SUCCEEDED) {
    outcome.problems.push(`job ${jobId} ended ${outcome.state}: ${finished.error}`);
  } else {
    // Resumed, not restarted: the coordinator that finished the job ran only what the checkpoint lacked.
    const ran = finished.executors.reduce((n, e) => n + e.batches, 0);
    const planned = finished.progress?.batchesPlanned ?? 0;
    outcome.rerun = { ran, planned, by: finished.coordinatorId };
    const killed = mesh.coordinator(0).id;
    if (finished.coordinatorId === killed)
      outcome.endedBeforeKill = `job ${jobId} is recorded as finished by ${killed}, the coordinator that was killed`;
    // Checkpoints are written at most every 500 ms (then the write itself, slower on a loaded machine): a
    // job killed half-way or later, after running long enough for a few of them, must have kept some batches.
    const killedAtMs = outcome.events[0]?.atMs ?? 0;
    if (at >= 0.5 && killedAtMs >= RESUME_EXPECTED_AFTER_MS && !(ran < planned))
      outcome.problems.push(`the job was run again from the start (${ran} of ${planned} batches), not resumed`);
    const target = join(mesh.outDir, 'chaos', `${jobId}.jsonl`);
    const output = await (parts ? readPartsDirectory(target) : readFile(target)).catch(() => undefined);
    if (!output) outcome.problems.push(`job ${jobId} SUCCEEDED but its output ${parts ? 'directory' : 'file'} is missing`);
    else {
      outcome.check = checkOutput({ inputIds: mesh.cleanInput.ids, output, ordered: true });
      if (!outcome.check.ok) outcome.problems.push(describeCheck(outcome.check));
    }
  }
  outcome.elapsedMs = Date.now() - t0;
  return outcome;
}

/**
 * The coordinator running a job whose results stream to the caller (RunJob through the gateway, with
 * @flowmesh/client) is SIGKILLed at a given progress. The client must re-attach by itself (WatchJob
 * resume_results), another coordinator takes the job over, and the caller sees one uninterrupted result:
 * every record once in the output or the rejects, in input order on odd seeds.
 */
async function coordinatorKillStream(
  mesh: ChaosMesh,
  opts: ScenarioOptions,
  outcome: ScenarioOutcome,
  t0: number,
  attempt: number,
): Promise<ScenarioOutcome> {
  const at = opts.progressAt ?? 0.5;
  const jobId = `chaos-ckill-stream-${Math.round(at * 100)}-s${opts.seed}${attempt > 1 ? `-t${attempt}` : ''}`;
  outcome.jobId = jobId;
  let progress: JobProgress | undefined;
  let runningOn: string | undefined;
  await mesh.ensureCoordinators();
  const faults = startFaults(
    { fault: 'coordinator-kill', seed: opts.seed, progressAt: at, maxDurationMs: 60_000, ...opts.plan },
    {
      executors: () => mesh.executors(),
      coordinator: () => (runningOn ? mesh.coordinatorById(runningOn) : undefined),
      progress: () => progressFraction(progress),
    },
  );
  let run: ChaosJobRun;
  try {
    run = await mesh.runJobViaGateway(
      { jobId, batchRecords: BATCH_RECORDS, order: outcome.ordered ? 'input' : 'arrival' },
      (p) => (progress = p),
      (id) => (runningOn = id),
    );
  } finally {
    await faults.stop();
  }
  await faults.done.catch((err: unknown) => outcome.problems.push(`fault schedule failed: ${String(err)}`));
  outcome.events = faults.events;
  outcome.state = stateName(run.summary?.state);
  outcome.error = run.error?.message;
  if (faults.events.length === 0) outcome.problems.push('the coordinator was not killed before the job ended');
  if (run.error) outcome.problems.push(`the job failed: ${run.error.message}`);
  if (run.summary?.state !== JobState.JOB_STATE_SUCCEEDED)
    outcome.problems.push(`job state ${outcome.state}, expected SUCCEEDED`);
  if (run.summary) {
    const ran = run.summary.executors.reduce((n, e) => n + e.batches, 0);
    outcome.rerun = { ran, planned: run.summary.progress?.batchesPlanned ?? 0, by: run.summary.coordinatorId };
    if (faults.events.length > 0 && run.summary.coordinatorId === runningOn)
      outcome.endedBeforeKill = `the summary names ${runningOn}, the coordinator that was killed`;
  }
  const rejected = rejectIds(
    run.rejects.map((r) => r.line),
    mesh.input.lineIds,
  );
  outcome.check = checkOutput({
    inputIds: mesh.input.ids,
    output: run.output,
    rejectIds: rejected,
    ordered: outcome.ordered,
  });
  if (!outcome.check.ok) outcome.problems.push(describeCheck(outcome.check));
  outcome.elapsedMs = Date.now() - t0;
  return outcome;
}
