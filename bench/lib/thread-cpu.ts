// CPU time of each thread of a process, from /proc/<pid>/task/<tid>/stat (Linux). Threads have no names there
// (all "node"), so the main thread is keyed `main` (its id is the pid) and the others by thread id. Shared by
// the bench stages that split a process's CPU into its main thread, its busiest other thread (an executor's
// batch thread, a pool worker) and the rest.

import { readdirSync, readFileSync } from 'node:fs';

/** CLK_TCK is 100 on Linux x86-64: utime and stime count 10 ms ticks. */
export const TICK_US = 10_000;

/** CPU µs (user + system) of every thread of `pid`, `main` for the main thread. */
export function threadCpu(pid: number): Map<string, number> {
  const threads = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      // Fields after the ")" of the command name: utime is field 14, stime 15.
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      threads.set(tid === String(pid) ? 'main' : tid, (Number(f[11]) + Number(f[12])) * TICK_US);
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return threads;
}
