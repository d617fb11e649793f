// Real services as child processes: `node bin/flowmesh.js <kind> --bind 127.0.0.1:0 …`, resolved when the
// service logs its "listening" line. Every child is SIGKILLed by the kernel if the test process dies
// (setpriv --pdeathsig) and by child-reaper on a normal exit, so none outlives a run.
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  credentials,
  makeClientConstructor,
  type Client,
  type ClientDuplexStream,
  type ClientReadableStream,
  type ServiceError,
  type status,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { service as healthService } from 'grpc-health-check';
import { trackChild, untrackChild } from './child-reaper.js';

export type ServiceKind = 'gateway' | 'coordinator' | 'executor' | 'config-store';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..');
export const FLOWMESH_BIN = join(REPO_ROOT, 'bin/flowmesh.js');
const BUF_BIN = join(REPO_ROOT, 'node_modules/.bin/buf');
/** Bound on the output kept per child (both streams together); older output is dropped. */
const LOG_LIMIT = 1024 * 1024;
const hasSetpriv = spawnSync('setpriv', ['--help'], { stdio: 'ignore' }).status === 0;

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface StartServiceOptions {
  /** Extra arguments after `<kind> --bind 127.0.0.1:0`. */
  args?: string[];
  /** Merged over process.env. */
  env?: NodeJS.ProcessEnv;
  /** @default the repository root */
  cwd?: string;
  /** @default "127.0.0.1:0" */
  bind?: string;
  /** How long to wait for the "listening" line. @default 30000 */
  timeoutMs?: number;
  /**
   * Network namespace to run in (`ip netns exec NS …`, see netns.ts); pair it with `bind` on the
   * namespace's address. @default the test's own namespace
   */
  netns?: string;
}

export interface RunningService {
  kind: ServiceKind;
  pid: number;
  /** "127.0.0.1:PORT" from the listening line. */
  address: string;
  port: number;
  /** stdout and stderr so far, interleaved as received (bounded). */
  logs(): string;
  /** Parsed JSON log lines of stdout so far. */
  logLines(): Array<Record<string, unknown>>;
  /** Resolves when the process has exited. */
  exited: Promise<ExitInfo>;
  /** Sends `signal` and waits for the exit; SIGKILLs after `timeoutMs`. Safe to call twice. */
  stop(signal?: NodeJS.Signals, opts?: { timeoutMs?: number }): Promise<ExitInfo>;
  /** Sends a signal without waiting. */
  kill(signal?: NodeJS.Signals): void;
}

const running = new Set<RunningService>();

function spawnFlowmesh(argv: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; netns?: string }): ChildProcess {
  // `ip netns exec` execs node in place: same pid, and the parent-death signal still applies.
  const nodeArgv = [...(opts.netns ? ['netns', 'exec', opts.netns, process.execPath] : []), FLOWMESH_BIN, ...argv];
  const node = opts.netns ? 'ip' : process.execPath;
  const [cmd, args] = hasSetpriv ? ['setpriv', ['--pdeathsig', 'SIGKILL', '--', node, ...nodeArgv]] : [node, nodeArgv];
  const child = spawn(cmd, args, {
    cwd: opts.cwd ?? REPO_ROOT,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid !== undefined) trackChild(child.pid);
  return child;
}

function exitPromise(child: ChildProcess): Promise<ExitInfo> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve({ code: child.exitCode, signal: child.signalCode });
      return;
    }
    child.once('exit', (code, signal) => {
      if (child.pid !== undefined) untrackChild(child.pid);
      resolve({ code, signal });
    });
  });
}

/** Starts `flowmesh <kind>` and resolves once it listens; rejects with its output if it exits or times out. */
export async function startService(kind: ServiceKind, opts: StartServiceOptions = {}): Promise<RunningService> {
  const child = spawnFlowmesh([kind, '--bind', opts.bind ?? '127.0.0.1:0', ...(opts.args ?? [])], opts);
  const exited = exitPromise(child);
  let output = '';
  let pending = '';
  const lines: Array<Record<string, unknown>> = [];
  const keep = (chunk: string): void => {
    output = (output + chunk).slice(-LOG_LIMIT);
  };
  let onListening: ((address: string) => void) | undefined;
  child.stdout?.setEncoding('utf8');
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', keep);
  child.stdout?.on('data', (chunk: string) => {
    keep(chunk);
    pending += chunk;
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue;
      }
      if (lines.length < 10_000) lines.push(parsed);
      if (parsed.msg === 'listening' && typeof parsed.address === 'string') onListening?.(parsed.address);
    }
    if (pending.length > LOG_LIMIT) pending = '';
  });

  const timeoutMs = opts.timeoutMs ?? 30_000;
  let timer: NodeJS.Timeout | undefined;
  let address: string;
  try {
    address = await new Promise<string>((resolve, reject) => {
      onListening = resolve;
      timer = setTimeout(
        () => reject(new Error(`flowmesh ${kind} did not listen within ${timeoutMs} ms; output:\n${output}`)),
        timeoutMs,
      );
      void exited.then((info) =>
        reject(
          new Error(
            `flowmesh ${kind} exited before listening (code ${info.code}, signal ${info.signal}); output:\n${output}`,
          ),
        ),
      );
    });
  } catch (err) {
    child.kill('SIGKILL');
    await exited;
    throw err;
  } finally {
    clearTimeout(timer);
  }

  const port = Number(address.slice(address.lastIndexOf(':') + 1));
  const svc: RunningService = {
    kind,
    pid: child.pid ?? -1,
    address,
    port,
    logs: () => output,
    logLines: () => lines.slice(),
    exited,
    kill(signal = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
    async stop(signal = 'SIGTERM', { timeoutMs: stopTimeout = 30_000 } = {}) {
      svc.kill(signal);
      const timer = setTimeout(() => svc.kill('SIGKILL'), stopTimeout);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
        running.delete(svc);
      }
    },
  };
  running.add(svc);
  return svc;
}

/** Stops every service started by startService that still runs (for after-hooks). */
export async function stopAllServices(): Promise<void> {
  await Promise.all([...running].map((s) => s.stop('SIGKILL')));
}

export interface CliResult extends ExitInfo {
  stdout: string;
  stderr: string;
}

/** Runs `flowmesh …args` to completion (e.g. a start-up that must fail); SIGKILLed after `timeoutMs`. */
export async function runFlowmesh(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<CliResult> {
  const child = spawnFlowmesh(args, opts);
  const exited = exitPromise(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (c: string) => (stdout = (stdout + c).slice(-LOG_LIMIT)));
  child.stderr?.setEncoding('utf8').on('data', (c: string) => (stderr = (stderr + c).slice(-LOG_LIMIT)));
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20_000);
  const info = await exited;
  clearTimeout(timer);
  return { ...info, stdout, stderr };
}

export type ServingStatus = 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';

interface HealthClient extends Client {
  check(
    req: { service: string },
    opts: { deadline: Date },
    cb: (err: ServiceError | null, res?: { status: ServingStatus }) => void,
  ): void;
  watch(req: { service: string }): ClientReadableStream<{ status: ServingStatus }>;
}
const HealthClientCtor = makeClientConstructor(healthService, 'grpc.health.v1.Health') as unknown as new (
  address: string,
  creds: ReturnType<typeof credentials.createInsecure>,
) => HealthClient;

/** `grpc.health.v1.Health/Check` for `service` ("" = the whole server). Rejects with the gRPC error. */
export async function healthCheck(address: string, service = '', timeoutMs = 5000): Promise<ServingStatus> {
  const client = new HealthClientCtor(address, credentials.createInsecure());
  try {
    return await new Promise<ServingStatus>((resolve, reject) => {
      client.check({ service }, { deadline: new Date(Date.now() + timeoutMs) }, (err, res) =>
        err ? reject(err) : resolve(res?.status ?? 'UNKNOWN'),
      );
    });
  } finally {
    client.close();
  }
}

export interface HealthWatch {
  /** Every status received, in order. */
  statuses: ServingStatus[];
  /** Resolves with the stream's final status code (OK when the server ended it). */
  ended: Promise<status>;
  close(): void;
}

/** Opens `Health/Watch` for `service`; received statuses collect in `statuses`. */
export function watchHealth(address: string, service = ''): HealthWatch {
  const client = new HealthClientCtor(address, credentials.createInsecure());
  const call = client.watch({ service });
  const statuses: ServingStatus[] = [];
  call.on('data', (msg: { status: ServingStatus }) => statuses.push(msg.status));
  const ended = new Promise<status>((resolve) => {
    call.on('error', (err: ServiceError) => resolve(err.code));
    call.on('status', (st: { code: status }) => resolve(st.code));
  });
  void ended.then(() => client.close());
  return {
    statuses,
    ended,
    close() {
      call.cancel();
      client.close();
    },
  };
}

/** Service names from server reflection, via `buf curl --list-services` (what an operator would run). */
export function listServices(address: string, timeoutMs = 15_000): Promise<string[]> {
  return new Promise((resolve, reject) => {
    execFile(
      BUF_BIN,
      ['curl', '--protocol', 'grpc', '--http2-prior-knowledge', '--list-services', `http://${address}`],
      { timeout: timeoutMs },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`buf curl --list-services failed: ${err.message}\n${stderr}`));
        else
          resolve(
            stdout
              .split('\n')
              .map((s) => s.trim())
              .filter(Boolean),
          );
      },
    );
  });
}

export interface HeldCall {
  /** Half-closes the call, letting the server finish it. */
  release(): void;
  /** Resolves with the call's final status code. */
  ended: Promise<status>;
  /** Resolves when the server has answered once, i.e. the call is in flight on the server. */
  opened: Promise<void>;
}

/**
 * Opens a server-reflection stream and keeps it open: an in-flight call any flowmesh service has, for
 * tests of draining (a graceful stop waits for it until it is released or the grace is over).
 */
export function holdInFlightCall(address: string): HeldCall {
  const def = loadSync('grpc/reflection/v1/reflection.proto', {
    includeDirs: [join(REPO_ROOT, 'node_modules/@grpc/reflection/build/proto')],
  });
  const Ctor = makeClientConstructor(
    def['grpc.reflection.v1.ServerReflection'] as Parameters<typeof makeClientConstructor>[0],
    'ServerReflection',
  ) as unknown as new (
    a: string,
    c: ReturnType<typeof credentials.createInsecure>,
  ) => Client & {
    ServerReflectionInfo(): ClientDuplexStream<unknown, unknown>;
  };
  const client = new Ctor(address, credentials.createInsecure());
  const call = client.ServerReflectionInfo();
  const opened = new Promise<void>((resolve) => call.once('data', () => resolve()));
  call.on('data', () => undefined);
  const ended = new Promise<status>((resolve) => {
    call.on('error', (err: ServiceError) => resolve(err.code));
    call.on('status', (st: { code: status }) => resolve(st.code));
  });
  void ended.then(() => client.close());
  // One request so the stream is really open on the server before the test goes on.
  call.write({ listServices: '' });
  return { release: () => call.end(), ended, opened };
}
