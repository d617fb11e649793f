// Kills the child processes a test started when the test process goes away, so no etcd outlives a run.
// Children are also spawned with a parent-death signal (see etcd.ts), which covers a SIGKILLed test process;
// this covers normal exit and SIGINT/SIGTERM.

const live = new Set<number>();
let installed = false;

function killAll(): void {
  for (const pid of live) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  live.clear();
}

function install(): void {
  if (installed) return;
  installed = true;
  process.once('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      killAll();
      // Keep the default behaviour (terminate) unless someone else handles the signal.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  }
}

/** Remember a child PID; it is SIGKILLed if the test process exits while it still runs. */
export function trackChild(pid: number): void {
  install();
  live.add(pid);
}

/** The child exited (or was stopped on purpose): stop tracking it. */
export function untrackChild(pid: number): void {
  live.delete(pid);
}
