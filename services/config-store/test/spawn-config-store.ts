// Starts a real config-store process through the `flowmesh` launcher and reads its bound address from
// the "listening" log line. (Until @flowmesh/testing has startService.)
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { deferred } from '@flowmesh/testing';

const LAUNCHER = fileURLToPath(new URL('../../../bin/flowmesh.js', import.meta.url));

export interface ConfigStoreProcess {
  readonly address: string;
  readonly pid: number;
  /** Sends the signal and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export async function spawnConfigStore(args: string[], timeoutMs = 20_000): Promise<ConfigStoreProcess> {
  const child: ChildProcess = spawn(process.execPath, [LAUNCHER, 'config-store', '--log-level', 'info', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const listening = deferred<string>();
  const exited = deferred<void>();
  const timer = setTimeout(
    () => listening.reject(new Error(`config-store did not listen within ${timeoutMs} ms:\n${output}`)),
    timeoutMs,
  );
  const keep = (line: string): void => {
    output = (output + line + '\n').slice(-8000);
  };
  createInterface({ input: child.stdout! }).on('line', (line) => {
    keep(line);
    try {
      const rec = JSON.parse(line) as { msg?: string; address?: string };
      if (rec.msg === 'listening' && rec.address) listening.resolve(rec.address);
    } catch {
      // not a log record
    }
  });
  createInterface({ input: child.stderr! }).on('line', keep);
  child.on('exit', (code, signal) => {
    exited.resolve();
    listening.reject(new Error(`config-store exited (${code ?? signal}) before listening:\n${output}`));
  });
  const address = await listening.promise.finally(() => clearTimeout(timer));
  return {
    address,
    pid: child.pid!,
    async kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited.promise;
    },
  };
}
