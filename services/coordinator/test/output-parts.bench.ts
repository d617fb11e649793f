// Coordinator CPU for appending executor-written output parts to a JSONL file sink (issue 7, target 6):
//   node --import tsx services/coordinator/test/output-parts.bench.ts [partBytes] [parts]
// Writes `parts` part files of `partBytes` each (as executors would), then times only the appends.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openFileSink } from '../src/file-sink.js';

const partBytes = Number(process.argv[2] ?? 11_500_000);
const count = Number(process.argv[3] ?? 20);
const root = await mkdtemp(join(tmpdir(), 'parts-bench-'));
try {
  const sink = await openFileSink({
    rootName: 'r',
    rootPath: root,
    writable: true,
    path: 'o.jsonl',
    format: 'jsonl',
    jobId: 'j',
  });
  const parts = sink.parts!;
  const data = Buffer.alloc(partBytes, 0x61);
  const refs = Array.from({ length: count }, (_, index) => parts.partFor({ index, attempt: 1, epoch: 1 }));
  await mkdir(join(root, '.o.jsonl.j.parts'), { recursive: true });
  for (const ref of refs) await writeFile(join(root, ref.path), data);
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (const ref of refs) await parts.append(ref, partBytes, (b) => sink.writeRecords(b, 0));
  const cpu = process.cpuUsage(cpu0);
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  await sink.abort();
  console.log(
    JSON.stringify({
      partBytes,
      parts: count,
      cpuUsPerPart: Math.round((cpu.user + cpu.system) / count),
      userUsPerPart: Math.round(cpu.user / count),
      systemUsPerPart: Math.round(cpu.system / count),
      wallMsPerPart: Math.round((wallMs / count) * 100) / 100,
    }),
  );
} finally {
  await rm(root, { recursive: true, force: true });
}
