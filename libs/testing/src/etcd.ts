// Real etcd for tests: 1 or 3 members on free loopback ports in a temp dir, healthy when a real client
// read through quorum succeeds. Timings behind the choices are in /work/shared/TOOLCHAIN.md (etcd section).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { noop } from 'cockatiel';
import { trackChild, untrackChild } from './child-reaper.js';
import { freePort, tempDir } from './ports.js';
import { waitFor } from './wait.js';

export interface EtcdMember {
  readonly name: string;
  /** PID of the current process (changes on restart). */
  readonly pid: number;
  readonly clientUrl: string;
  readonly peerUrl: string;
  readonly dataDir: string;
  /** True while the process exists (a SIGSTOPped member is still running). */
  readonly running: boolean;
  /** Sends `signal` (default SIGTERM) and waits for exit; SIGSTOP/SIGCONT return once sent. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts the member again on its data dir and ports; resolves when it answers a quorum read. */
  restart(): Promise<void>;
}

export interface EtcdCluster {
  readonly endpoints: string[];
  readonly members: EtcdMember[];
  /** The member that currently leads (waits through an election). */
  leader(): Promise<EtcdMember>;
  /** Stops the members one at a time and removes the temp dir. Idempotent. */
  stop(): Promise<void>;
}

export interface StartEtcdOptions {
  /** @default 1 */
  members?: 1 | 3;
  /** Give up when not healthy after this long. @default 20000 */
  timeoutMs?: number;
  /**
   * Member i runs inside network namespace `hosts[i].netns` and listens on `hosts[i].ip` (tests across
   * hosts, netns.ts). @default every member on loopback in the test's own namespace
   */
  hosts?: Array<{ netns: string; ip: string }>;
  /**
   * How this process reaches a member it cannot reach directly (one in a namespace): returns an address
   * for the etcd client, e.g. a `unix:` forwarder from NetTopology.expose. Used for the health and
   * leader probes only; `endpoints` stay the members' real URLs. @default the client URL itself
   */
  reach?: (clientUrl: string) => Promise<string>;
}

export class EtcdStartError extends Error {
  constructor(
    message: string,
    readonly stderrTail: string,
  ) {
    super(`${message}\n--- etcd stderr (tail) ---\n${stderrTail}`);
    this.name = 'EtcdStartError';
  }
}

const ETCD_BIN = process.env.FLOWMESH_ETCD_BIN ?? 'etcd';
const STDERR_LIMIT = 16 * 1024;
const START_ATTEMPTS = 3;

// setpriv --pdeathsig makes the kernel SIGKILL etcd when the test process dies, even by SIGKILL.
const hasSetpriv = spawnSync('setpriv', ['--help'], { stdio: 'ignore' }).status === 0;

interface MemberSpec {
  name: string;
  /** @default "127.0.0.1" */
  ip?: string;
  netns?: string;
  clientPort: number;
  peerPort: number;
  dataDir: string;
}

class Member implements EtcdMember {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private stderr = '';
  readonly name: string;
  readonly clientUrl: string;
  readonly peerUrl: string;
  readonly dataDir: string;
  private readonly netns: string | undefined;
  /** Where this process's probes reach the member (clientUrl unless it runs in a namespace). */
  probeUrl: string;

  constructor(
    spec: MemberSpec,
    private readonly args: string[],
    private readonly timeoutMs: number,
  ) {
    this.name = spec.name;
    this.clientUrl = `http://${spec.ip ?? '127.0.0.1'}:${spec.clientPort}`;
    this.peerUrl = `http://${spec.ip ?? '127.0.0.1'}:${spec.peerPort}`;
    this.dataDir = spec.dataDir;
    this.netns = spec.netns;
    this.probeUrl = this.clientUrl;
  }

  get pid(): number {
    return this.child?.pid ?? -1;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  get stderrTail(): string {
    return this.stderr;
  }

  spawn(): void {
    if (this.running) throw new Error(`etcd member ${this.name} is already running`);
    // `ip netns exec` execs etcd in place: same pid, and the parent-death signal still applies.
    const inNs = this.netns ? ['ip', 'netns', 'exec', this.netns, ETCD_BIN, ...this.args] : [ETCD_BIN, ...this.args];
    const [cmd, argv] = hasSetpriv ? ['setpriv', ['--pdeathsig', 'SIGKILL', '--', ...inNs]] : [inNs[0]!, inNs.slice(1)];
    const child = spawn(cmd, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    this.stderr = '';
    // Always drain stderr (a full pipe would block etcd); keep only a bounded tail for error messages.
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      this.stderr = (this.stderr + chunk).slice(-STDERR_LIMIT);
    });
    const pid = child.pid;
    if (pid !== undefined) trackChild(pid);
    this.exited = new Promise<void>((resolve) => {
      child.once('exit', () => {
        if (pid !== undefined) untrackChild(pid);
        resolve();
      });
      child.once('error', () => {
        if (pid !== undefined) untrackChild(pid);
        resolve();
      });
    });
  }

  async kill(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    child.kill(signal);
    if (signal === 'SIGSTOP' || signal === 'SIGCONT') return;
    await this.exited;
  }

  async restart(): Promise<void> {
    if (this.running) await this.kill('SIGTERM');
    this.spawn();
    await waitHealthy([this], [this.probeUrl], this.timeoutMs);
  }
}

function etcdClient(endpoints: string[], deadlineMs: number): Etcd3 {
  // No retries or circuit breaker: a probe should fail fast and be polled again by waitFor.
  return new Etcd3({
    hosts: endpoints,
    dialTimeout: deadlineMs,
    faultHandling: { host: () => noop, global: noop },
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + deadlineMs }),
  });
}

/** Resolves when a linearizable read through `endpoints` succeeds (it needs a leader and quorum). */
async function waitHealthy(members: Member[], endpoints: string[], timeoutMs: number): Promise<void> {
  const client = etcdClient(endpoints, 1000);
  try {
    await waitFor(
      async () => {
        const dead = members.find((m) => !m.running);
        if (dead) throw new EtcdStartError(`etcd member ${dead.name} exited during start`, dead.stderrTail);
        await client.get('/__flowmesh_health').string();
        return true;
      },
      { timeoutMs, intervalMs: 50, what: `etcd ${endpoints.join(',')} healthy` },
    ).catch((err: unknown) => {
      const dead = members.find((m) => !m.running);
      if (dead) throw new EtcdStartError(`etcd member ${dead.name} exited during start`, dead.stderrTail);
      throw err;
    });
  } finally {
    client.close();
  }
}

async function tryStart(
  root: string,
  count: number,
  timeoutMs: number,
  attempt: number,
  opts: StartEtcdOptions,
): Promise<Member[]> {
  const specs: MemberSpec[] = [];
  for (let i = 1; i <= count; i++) {
    const dataDir = join(root, `attempt${attempt}-m${i}`);
    await mkdir(dataDir, { recursive: true });
    const host = opts.hosts?.[i - 1];
    specs.push({
      name: `m${i}`,
      clientPort: await freePort(),
      peerPort: await freePort(),
      dataDir,
      ip: host?.ip,
      netns: host?.netns,
    });
  }
  const initialCluster = specs.map((s) => `${s.name}=http://${s.ip ?? '127.0.0.1'}:${s.peerPort}`).join(',');
  const token = `flowmesh-test-${process.pid}-${Date.now()}-${attempt}`;
  const members = specs.map((s) => {
    const client = `http://${s.ip ?? '127.0.0.1'}:${s.clientPort}`;
    const peer = `http://${s.ip ?? '127.0.0.1'}:${s.peerPort}`;
    const args = [
      '--name',
      s.name,
      '--data-dir',
      s.dataDir,
      '--listen-client-urls',
      client,
      '--advertise-client-urls',
      client,
      '--listen-peer-urls',
      peer,
      '--initial-advertise-peer-urls',
      peer,
      '--initial-cluster',
      initialCluster,
      '--initial-cluster-state',
      'new',
      '--initial-cluster-token',
      token,
      // Fast elections: a killed leader is replaced in well under a second instead of ~1 s+.
      '--heartbeat-interval',
      '10',
      '--election-timeout',
      '100',
      '--logger',
      'zap',
      '--log-outputs',
      'stderr',
      '--log-level',
      'warn',
    ];
    return new Member(s, args, timeoutMs);
  });
  for (const m of members) m.spawn();
  try {
    if (opts.reach) for (const m of members) m.probeUrl = await opts.reach(m.clientUrl);
    await waitHealthy(
      members,
      members.map((m) => m.probeUrl),
      timeoutMs,
    );
    return members;
  } catch (err) {
    await stopMembers(members);
    throw err;
  }
}

async function stopMembers(members: Member[]): Promise<void> {
  // One at a time: SIGTERM to all members at once makes each wait for a lost quorum (~7 s). The last one
  // alone can still take ~5 s on SIGTERM waiting for its peers; its data is deleted anyway, so it gets SIGKILL.
  const running = members.filter((m) => m.running);
  for (const [i, m] of running.entries()) {
    await m.kill('SIGCONT'); // a paused member cannot handle SIGTERM
    await m.kill(i === running.length - 1 ? 'SIGKILL' : 'SIGTERM');
  }
}

/** Starts a real etcd (1 or 3 members) on free loopback ports in a temp dir; retries on a port race. */
export async function startEtcd(opts: StartEtcdOptions = {}): Promise<EtcdCluster> {
  const count = opts.members ?? 1;
  if (opts.hosts && opts.hosts.length !== count)
    throw new Error(`startEtcd: ${opts.hosts.length} hosts for ${count} members`);
  const timeoutMs = opts.timeoutMs ?? 20_000;
  const root = await tempDir('flowmesh-etcd');
  let members: Member[] | undefined;
  let lastError: unknown;
  for (let attempt = 1; attempt <= START_ATTEMPTS && !members; attempt++) {
    try {
      members = await tryStart(root, count, timeoutMs, attempt, opts);
    } catch (err) {
      lastError = err;
      // Only a lost port race is worth another try; anything else (no binary, bad flag) fails now.
      if (!(err instanceof EtcdStartError && /address already in use/i.test(err.stderrTail))) break;
    }
  }
  if (!members) {
    await rm(root, { recursive: true, force: true });
    throw lastError;
  }
  const started = members;
  let stopping: Promise<void> | undefined;
  return {
    endpoints: started.map((m) => m.clientUrl),
    members: started,
    leader: () => findLeader(started),
    stop: () =>
      (stopping ??= (async () => {
        await stopMembers(started);
        await rm(root, { recursive: true, force: true });
      })()),
  };
}

async function findLeader(members: Member[]): Promise<EtcdMember> {
  return waitFor(
    async () => {
      for (const m of members) {
        if (!m.running) continue;
        const client = etcdClient([m.probeUrl], 1000);
        try {
          const status = await client.maintenance.status();
          if (status.leader !== '0' && status.leader === status.header.member_id) return m;
        } catch {
          // unreachable or stopped member: ask the next one
        } finally {
          client.close();
        }
      }
      return undefined;
    },
    { timeoutMs: 10_000, intervalMs: 50, what: 'an etcd leader' },
  );
}

// Re-exported so a test can build a client with the same fast-failing settings the helper uses.
export { etcdClient as createTestEtcdClient };
