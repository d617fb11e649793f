// The fault scheduler of the chaos suite (issue 6, item 5): injects one kind of fault into a running mesh
// on a schedule drawn from a seeded PRNG. Every loop is bounded in count and in time, stops by itself,
// and undoes what it did (SIGCONT, heal, restart) before `stop()` resolves — a run never leaves a paused
// process, a cut link or a dead etcd member behind. Replacing killed executors is the mesh's job
// (test/chaos-mesh.ts), so a job can always finish.
import type { EtcdCluster, EtcdMember } from '../etcd.js';
import { createPrng, type Prng } from './prng.js';

export const FAULTS = [
  'executor-sigkill',
  'executor-sigterm',
  'executor-sigstop',
  'executor-partition',
  'etcd-member',
  'coordinator-kill',
  'poison',
] as const;
export type FaultName = (typeof FAULTS)[number];

/** An executor the scheduler may hit. */
export interface ChaosExecutor {
  readonly id: string;
  readonly pid: number;
  alive(): boolean;
  /** True while it runs a batch (asked over its real address, not through the proxy). */
  busy(): Promise<boolean>;
  signal(sig: NodeJS.Signals): void;
  /** Cuts / heals every link of this executor (its gRPC port and its etcd connection). */
  cut(): void;
  heal(): void;
}

export interface ChaosCoordinator {
  readonly id: string;
  alive(): boolean;
  signal(sig: NodeJS.Signals): void;
}

export interface ChaosTargets {
  executors(): ChaosExecutor[];
  etcd?: EtcdCluster;
  /** The coordinator that runs the job under test. */
  coordinator?(): ChaosCoordinator | undefined;
  /** The job's progress, 0..1 (batches or bytes done). */
  progress(): number;
}

export interface FaultPlan {
  fault: FaultName;
  seed: number;
  /** Faults injected at most. @default 3 */
  maxFaults?: number;
  /** The schedule ends after this long even if faults are left. @default 30000 */
  maxDurationMs?: number;
  /** Delay before each fault, drawn uniformly from [min, max]. @default [1000, 3000] */
  everyMs?: [number, number];
  /** How long a SIGSTOP, a cut or a dead etcd member lasts. @default 3000 */
  holdMs?: number;
  /** coordinator-kill: the progress (0..1) at which the coordinator is SIGKILLed. @default 0.5 */
  progressAt?: number;
  /** etcd-member: which member dies. @default the leader on even seeds, a follower on odd ones */
  etcdTarget?: 'leader' | 'follower';
}

export interface FaultEvent {
  atMs: number;
  fault: FaultName;
  target: string;
  action: string;
  /** On the event that undoes a held fault: how long it was in force. */
  heldMs?: number;
}

export interface FaultRun {
  readonly events: FaultEvent[];
  /** Resolves when the schedule has ended by itself (count, time) or by stop(). */
  readonly done: Promise<void>;
  /** Ends the schedule early and undoes any fault in force. Idempotent. */
  stop(): Promise<void>;
}

/** FLOWMESH_FAULTS rule that makes every executor crash on one batch of one job (a poison batch). */
export function poisonFaultSpec(jobId: string, batch: number): string {
  return `crash:job=${jobId};batch=${batch}`;
}

const POLL_MS = 50;

export function startFaults(plan: FaultPlan, targets: ChaosTargets): FaultRun {
  const prng: Prng = createPrng(plan.seed);
  const maxFaults = plan.maxFaults ?? 3;
  const maxDurationMs = plan.maxDurationMs ?? 30_000;
  const [minEvery, maxEvery] = plan.everyMs ?? [1000, 3000];
  const holdMs = plan.holdMs ?? 3000;
  const started = Date.now();
  const deadline = started + maxDurationMs;
  const events: FaultEvent[] = [];
  let stopped = false;
  let wakeUp: (() => void) | undefined;
  const undo = new Set<() => Promise<void> | void>();

  let heldSince = 0;
  const log = (target: string, action: string, undoing = false): void => {
    const now = Date.now();
    events.push({
      atMs: now - started,
      fault: plan.fault,
      target,
      action,
      ...(undoing ? { heldMs: now - heldSince } : {}),
    });
  };
  /** Waits `ms` (a fault's schedule, not synchronisation), cut short by stop(). */
  const pause = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      if (stopped) return resolve();
      const timer = setTimeout(done, Math.max(0, Math.min(ms, deadline - Date.now())));
      function done(): void {
        clearTimeout(timer);
        wakeUp = undefined;
        resolve();
      }
      wakeUp = done;
    });
  const running = (): boolean => !stopped && Date.now() < deadline;

  /** A busy executor if one shows up soon, else any live one. */
  async function pickExecutor(): Promise<ChaosExecutor | undefined> {
    for (let i = 0; i < 40 && running(); i++) {
      const alive = targets.executors().filter((e) => e.alive());
      const busy: ChaosExecutor[] = [];
      for (const e of alive) if (await e.busy().catch(() => false)) busy.push(e);
      if (busy.length > 0) return prng.pick(busy);
      if (i === 39 && alive.length > 0) return prng.pick(alive);
      await pause(POLL_MS);
    }
    return undefined;
  }

  /** Applies a fault, holds it, then undoes it — the undo also runs if stop() comes first. */
  async function hold(
    apply: () => void | Promise<void>,
    restore: (early: boolean) => void | Promise<void>,
  ): Promise<void> {
    await apply();
    heldSince = Date.now();
    const undoEarly = () => restore(true);
    undo.add(undoEarly);
    const until = Date.now() + holdMs;
    await pause(holdMs);
    if (undo.delete(undoEarly)) await restore(Date.now() < until);
  }
  const ended = (early: boolean): string => (early ? ' (early: the schedule was stopped)' : '');

  async function one(): Promise<void> {
    switch (plan.fault) {
      case 'executor-sigkill':
      case 'executor-sigterm': {
        const e = await pickExecutor();
        if (!e) return;
        const sig = plan.fault === 'executor-sigkill' ? 'SIGKILL' : 'SIGTERM';
        e.signal(sig);
        log(e.id, `${sig} pid ${e.pid}`);
        return;
      }
      case 'executor-sigstop': {
        const e = await pickExecutor();
        if (!e) return;
        await hold(
          () => {
            e.signal('SIGSTOP');
            log(e.id, `SIGSTOP pid ${e.pid} for ${holdMs} ms`);
          },
          (early) => {
            if (e.alive()) e.signal('SIGCONT');
            log(e.id, `SIGCONT${ended(early)}`, true);
          },
        );
        return;
      }
      case 'executor-partition': {
        const e = await pickExecutor();
        if (!e) return;
        await hold(
          () => {
            e.cut();
            log(e.id, `cut for ${holdMs} ms`);
          },
          (early) => {
            e.heal();
            log(e.id, `healed${ended(early)}`, true);
          },
        );
        return;
      }
      case 'etcd-member': {
        const etcd = targets.etcd;
        if (!etcd || etcd.members.length < 3) throw new Error('etcd-member needs a 3-member etcd');
        const which = plan.etcdTarget ?? (plan.seed % 2 === 0 ? 'leader' : 'follower');
        const leader = await etcd.leader();
        const victim: EtcdMember =
          which === 'leader' ? leader : prng.pick(etcd.members.filter((m) => m !== leader && m.running));
        await hold(
          async () => {
            await victim.kill('SIGKILL');
            log(victim.name, `SIGKILL (${which})`);
          },
          async (early) => {
            log(victim.name, `restarting${ended(early)}`, true);
            await victim.restart();
            log(victim.name, 'restarted');
          },
        );
        return;
      }
      case 'coordinator-kill': {
        const at = plan.progressAt ?? 0.5;
        while (running() && targets.progress() < at) await pause(POLL_MS);
        const c = targets.coordinator?.();
        if (!running() || !c?.alive()) return;
        c.signal('SIGKILL');
        log(c.id, `SIGKILL at ${Math.round(targets.progress() * 100)}% progress`);
        return;
      }
      case 'poison':
        // Injected by the executors themselves (FLOWMESH_FAULTS, poisonFaultSpec): nothing to schedule.
        return;
    }
  }

  const done = (async () => {
    const count = plan.fault === 'coordinator-kill' || plan.fault === 'poison' ? Math.min(1, maxFaults) : maxFaults;
    for (let i = 0; i < count && running(); i++) {
      if (plan.fault !== 'coordinator-kill') await pause(prng.int(minEvery, maxEvery));
      if (!running()) break;
      await one();
    }
  })();

  let stopping: Promise<void> | undefined;
  return {
    events,
    done,
    stop() {
      stopping ??= (async () => {
        stopped = true;
        wakeUp?.();
        await done.catch(() => undefined);
        for (const restore of [...undo]) {
          undo.delete(restore);
          await restore();
        }
      })();
      return stopping;
    },
  };
}
