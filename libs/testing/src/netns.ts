// Hosts as network namespaces for tests across machines (issue 8, item 5). Every host is a namespace
// with its own address on a bridge; the bridge lives in a "switch" namespace of its own, so nothing is
// added to the root namespace: no interface, no route, no address. Veth pairs are created directly
// in the switch and host namespaces. Partitioning a host sets its switch-side port down: its packets
// are silently dropped (TCP retransmits, nothing is refused), as when a cable is pulled.
// The test process stays in the root namespace and reaches a service through `expose`: a forwarder
// inside a host namespace listens on a unix socket (the filesystem is shared) and connects to the
// service over the bridge, so the call crosses the simulated network like any other.
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { trackChild, untrackChild } from './child-reaper.js';
import { tempDir } from './ports.js';
import { waitFor } from './wait.js';

export interface NetHost {
  /** The name the test gave the host. */
  readonly name: string;
  /** Its network namespace (for `ip netns exec`, startService({ netns }), startEtcd({ hosts })). */
  readonly netns: string;
  /** Its address on the bridge. */
  readonly ip: string;
}

export interface NetTopology {
  readonly switchNetns: string;
  readonly hosts: readonly NetHost[];
  host(name: string): NetHost;
  /** Cuts `host` off the bridge (its packets are dropped, not refused). */
  partition(host: string): Promise<void>;
  /** Connects `host` to the bridge again. */
  heal(host: string): Promise<void>;
  isPartitioned(host: string): boolean;
  /** Spawns `argv` inside the host's namespace (killed with the test process, tracked until exit). */
  runIn(host: string, argv: string[], opts?: SpawnOptions): ChildProcess;
  /**
   * A gRPC address in the root namespace (`unix:/…`) that reaches `target` ("ip:port") from inside
   * `fromHost`: what a client on that host would see.
   */
  expose(fromHost: string, target: string): Promise<string>;
  /** Kills the forwarders and deletes every namespace (with its veths and bridge). Idempotent. */
  stop(): Promise<void>;
}

export interface NetTopologyOptions {
  /** First three octets of the hosts' /24, used only inside these namespaces. @default "10.213.<random>" */
  subnet?: string;
}

const hasSetpriv = spawnSync('setpriv', ['--help'], { stdio: 'ignore' }).status === 0;
const PREFIX = 'fmnet';
let counter = 0;

/** Why namespaces cannot be used here, or undefined when they can (root, iproute2, netns support). */
export function netnsUnavailableReason(): string | undefined {
  if (process.platform !== 'linux') return `network namespaces need Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'creating network namespaces needs root (run as root, as CI does)';
  const probe = `${PREFIX}-probe-${process.pid}`;
  const add = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' });
  if (add.error) return `iproute2 "ip" is not available: ${add.error.message}`;
  if (add.status !== 0) return `ip netns add failed: ${add.stderr.trim()}`;
  const veth = spawnSync('ip', ['-n', probe, 'link', 'add', 'name', 'a', 'type', 'veth', 'peer', 'name', 'b'], {
    encoding: 'utf8',
  });
  spawnSync('ip', ['netns', 'del', probe]);
  if (veth.status !== 0) return `veth pairs cannot be created: ${veth.stderr.trim()}`;
  return undefined;
}

function ip(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`ip ${args.join(' ')} failed (${code}): ${stderr.trim()}`)),
    );
  });
}

/** Namespaces left by an earlier run of this helper whose process is gone (it was SIGKILLed). */
function removeStale(): void {
  const list = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout ?? '';
  for (const line of list.split('\n')) {
    const name = line.split(' ')[0] ?? '';
    const m = new RegExp(`^${PREFIX}-(\\d+)-`).exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || existsSync(`/proc/${pid}`)) continue;
    spawnSync('ip', ['netns', 'del', name]);
  }
}

// Forwards each unix-socket connection to argv[2]:argv[3]; prints "ready" once listening.
const FORWARDER = `
const net = require('node:net');
const [sock, host, port] = process.argv.slice(1);
net.createServer((c) => {
  const u = net.connect(Number(port), host);
  const end = () => { c.destroy(); u.destroy(); };
  c.pipe(u); u.pipe(c);
  for (const s of [c, u]) { s.on('error', end); s.on('close', end); }
}).listen(sock, () => process.stdout.write('ready\\n'));
`;

/** Creates one namespace per host name, all on one bridge in a switch namespace, each with `lo` up. */
export async function createNetTopology(names: string[], opts: NetTopologyOptions = {}): Promise<NetTopology> {
  if (names.length === 0 || names.length > 200) throw new Error(`between 1 and 200 hosts, got ${names.length}`);
  if (new Set(names).size !== names.length) throw new Error(`host names must be distinct: ${names.join(', ')}`);
  removeStale();
  const id = `${PREFIX}-${process.pid}-${counter++}`;
  const subnet = opts.subnet ?? `10.213.${Math.floor(Math.random() * 250)}`;
  const switchNetns = `${id}-sw`;
  const hosts: NetHost[] = names.map((name, i) => ({ name, netns: `${id}-h${i}`, ip: `${subnet}.${i + 10}` }));
  const port = new Map(hosts.map((h, i) => [h.name, `p${i}`]));
  const partitioned = new Set<string>();
  const children = new Set<ChildProcess>();
  const created: string[] = [];
  const dir = await tempDir('flowmesh-netns');
  let forwarders = 0;

  const removeNamespaces = (): void => {
    for (const ns of created.splice(0).reverse()) spawnSync('ip', ['netns', 'del', ns]);
  };
  // A test that dies without its after-hook still leaves no namespace behind.
  process.once('exit', removeNamespaces);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      await Promise.all(
        [...children].map(
          (c) =>
            new Promise<void>((resolve) => {
              if (c.exitCode !== null || c.signalCode !== null) return resolve();
              c.once('exit', () => resolve());
              c.kill('SIGKILL');
            }),
        ),
      );
      removeNamespaces();
      process.removeListener('exit', removeNamespaces);
      await rm(dir, { recursive: true, force: true });
    })());

  const host = (name: string): NetHost => {
    const h = hosts.find((x) => x.name === name);
    if (!h) throw new Error(`no host "${name}" (hosts: ${names.join(', ')})`);
    return h;
  };

  const runIn = (name: string, argv: string[], spawnOpts: SpawnOptions = {}): ChildProcess => {
    const inNs = ['ip', 'netns', 'exec', host(name).netns, ...argv];
    // `ip netns exec` execs the command in place, so the parent-death signal set by setpriv holds.
    const full = hasSetpriv ? ['setpriv', '--pdeathsig', 'SIGKILL', '--', ...inNs] : inNs;
    const child = spawn(full[0]!, full.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], ...spawnOpts });
    const pid = child.pid;
    if (pid !== undefined) trackChild(pid);
    children.add(child);
    child.once('exit', () => {
      if (pid !== undefined) untrackChild(pid);
      children.delete(child);
    });
    child.once('error', () => children.delete(child));
    return child;
  };

  try {
    await ip(['netns', 'add', switchNetns]);
    created.push(switchNetns);
    await ip(['-n', switchNetns, 'link', 'set', 'lo', 'up']);
    await ip(['-n', switchNetns, 'link', 'add', 'name', 'br0', 'type', 'bridge']);
    await ip(['-n', switchNetns, 'link', 'set', 'br0', 'up']);
    for (const h of hosts) {
      await ip(['netns', 'add', h.netns]);
      created.push(h.netns);
      await ip(['-n', h.netns, 'link', 'set', 'lo', 'up']);
      await ip([
        '-n',
        switchNetns,
        'link',
        'add',
        'name',
        port.get(h.name)!,
        'type',
        'veth',
        'peer',
        'name',
        'eth0',
        'netns',
        h.netns,
      ]);
      await ip(['-n', switchNetns, 'link', 'set', port.get(h.name)!, 'master', 'br0', 'up']);
      await ip(['-n', h.netns, 'addr', 'add', `${h.ip}/24`, 'dev', 'eth0']);
      await ip(['-n', h.netns, 'link', 'set', 'eth0', 'up']);
    }
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    switchNetns,
    hosts,
    host,
    runIn,
    isPartitioned: (name) => partitioned.has(host(name).name),
    async partition(name) {
      await ip(['-n', switchNetns, 'link', 'set', port.get(host(name).name)!, 'down']);
      partitioned.add(name);
    },
    async heal(name) {
      await ip(['-n', switchNetns, 'link', 'set', port.get(host(name).name)!, 'up']);
      partitioned.delete(name);
    },
    async expose(fromHost, target) {
      const i = target.lastIndexOf(':');
      if (i <= 0) throw new Error(`expose: target must be "ip:port", got "${target}"`);
      const sock = join(dir, `fwd-${forwarders++}.sock`);
      const child = runIn(fromHost, [process.execPath, '-e', FORWARDER, sock, target.slice(0, i), target.slice(i + 1)]);
      let out = '';
      child.stdout?.setEncoding('utf8').on('data', (c: string) => (out += c));
      child.stderr?.setEncoding('utf8').on('data', (c: string) => (out += c));
      await waitFor(
        () => {
          if (child.exitCode !== null || child.signalCode !== null) throw new Error(`forwarder exited: ${out}`);
          return out.includes('ready');
        },
        { timeoutMs: 10_000, what: `a forwarder on ${fromHost} to ${target}` },
      );
      return `unix:${sock}`;
    },
    stop,
  };
}
