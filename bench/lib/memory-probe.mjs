// Preloaded into every mesh process by the memory scenarios (NODE_OPTIONS=--import=<this file>): appends
// process.memoryUsage() every FLOWMESH_BENCH_MEMORY_MS to <FLOWMESH_BENCH_MEMORY_DIR>/<pid>.jsonl, so a
// growing RSS can be told apart as JS heap, external/array buffers (gRPC, Buffers) or native memory.
// Plain JavaScript: it runs before tsx is registered. Worker threads (executor pool) count in their
// process's RSS but are not sampled here (their heaps are small and short-lived).
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMainThread } from 'node:worker_threads';

const dir = process.env.FLOWMESH_BENCH_MEMORY_DIR;
if (dir && isMainThread) {
  const file = join(dir, `${process.pid}.jsonl`);
  const every = Number(process.env.FLOWMESH_BENCH_MEMORY_MS) || 250;
  const sample = () => {
    const m = process.memoryUsage();
    appendFileSync(file, `${JSON.stringify({ t: Date.now(), rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers })}\n`);
  };
  setInterval(sample, every).unref();
}
