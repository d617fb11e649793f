// A file sink whose output is a directory of parts (`sink.layout: parts`): one JSONL file per batch, in input
// order (`part-000000.jsonl`, …), the rejects beside the directory as a one-file sink has them.
//
// Why (issue 7 target 6: with a file sink the coordinator should handle only metadata): a one-file sink's
// coordinator copies every executor-written part into its output file and fsyncs it again — 11–25 ms of CPU
// per 4 MiB batch, the limit on how many executors one coordinator feeds. Here an accepted part is renamed
// into the job's temp directory (its executor fsynced it), so no output byte passes through the coordinator;
// a batch whose records came to the coordinator (no executor saw the sink's root) is written as its part here.
//
// Crash safety as for one file (issue 6): the temp directory is named by the ownership epoch; a checkpoint
// records the bytes of output its done batches hold, and a new owner takes over the old directory's parts in
// index order up to exactly that many bytes (`restore`); the directory is renamed into place on commit.
import { renameSync } from 'node:fs';
import { mkdir, open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { listPartFiles, partFileName } from '@flowmesh/flow';
import type { FileSink, FileSinkOptions } from './file-sink.js';
import { createOutputParts } from './output-parts.js';
import { appendRejects, pathExists, restorePrefix, sinkRefs, sinkTempPath, writeAll } from './sink-files.js';

export async function openPartsSink(opts: FileSinkOptions, target: string): Promise<FileSink> {
  const epoch = opts.epoch ?? 1;
  const rejectsTarget = `${target}.rejects.jsonl`;
  const dirOf = (e: number): string => sinkTempPath(target, target, opts.jobId, e);
  const rejectsTmpOf = (e: number): string => sinkTempPath(target, rejectsTarget, opts.jobId, e);
  const dir = dirOf(epoch);
  const rejectsTmp = rejectsTmpOf(epoch);
  // A directory left by this same epoch (a restart before any checkpoint) holds nothing a checkpoint counts.
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir);
  const rej: FileHandle = await open(rejectsTmp, 'w');
  const parts = createOutputParts({ rootName: opts.rootName, target, path: opts.path, jobId: opts.jobId, epoch });
  let outBytes = 0;
  let rejBytes = 0;
  // The part being written here from records (batches whose executor did not see the root).
  let written: { index: number; fh: FileHandle; bytes: number } | undefined;
  let closed = false;

  const finishWritten = async (): Promise<void> => {
    const w = written;
    if (!w) return;
    written = undefined;
    await w.fh.sync();
    await w.fh.close();
  };
  /** fsync of the directory: the renames and new names in it survive a crash of the machine. */
  const syncDir = async (path: string): Promise<void> => {
    const fh = await open(path, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  };
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await Promise.allSettled([written?.fh.close(), rej.close()]);
    written = undefined;
  };

  return {
    parts,
    async acceptPart(index, ref, bytes) {
      await finishWritten();
      // Blocking calls (see OutputParts.take): a rename within one directory's parent is metadata only.
      renameSync(parts.take(ref, bytes), join(dir, partFileName(index)));
      outBytes += bytes;
    },
    async writeRecords(jsonl, index) {
      if (written?.index !== index) {
        await finishWritten();
        written = { index, fh: await open(join(dir, partFileName(index)), 'w'), bytes: 0 };
      }
      await writeAll(written.fh, jsonl, written.bytes);
      written.bytes += jsonl.length;
      outBytes += jsonl.length;
    },
    async writeRejects(rejects) {
      rejBytes = await appendRejects(rej, rejects, rejBytes);
    },
    lengths: () => ({ output: outBytes, rejects: rejBytes }),
    async sync() {
      await Promise.all([written?.fh.sync(), rej.sync(), syncDir(dir)]);
    },
    async restore(fromEpoch, output, rejects) {
      if (fromEpoch !== epoch) {
        // The parts of the checkpointed batches: the first ones in index order holding exactly `output` bytes.
        const from = dirOf(fromEpoch);
        const names = await listPartFiles(from).catch(() => []);
        let taken = 0;
        for (const { name } of names) {
          if (taken >= output) break;
          const { size } = await stat(join(from, name));
          await rename(join(from, name), join(dir, name));
          taken += size;
        }
        if (taken !== output)
          throw new Error(`checkpointed sink directory holds ${taken} bytes of parts, expected ${output}`);
        // The old owner may still write: its later parts stay in a directory nobody reads, removed here.
        await rm(from, { recursive: true, force: true });
        await restorePrefix(rejectsTmpOf(fromEpoch), rej, rejects, true);
      }
      outBytes = output;
      rejBytes = rejects;
    },
    async committedBy(e) {
      return (await pathExists(target)) && !(await pathExists(dirOf(e)));
    },
    async commit() {
      await finishWritten();
      await rej.sync();
      await syncDir(dir);
      await close();
      await rename(rejectsTmp, rejectsTarget);
      // A directory does not replace another by rename: an earlier output (a directory or a file) is moved
      // aside first, then removed.
      const aside = sinkTempPath(target, target, `${opts.jobId}.replaced`, epoch);
      const replaced = await rename(target, aside).then(
        () => true,
        (err: NodeJS.ErrnoException) => {
          if (err.code === 'ENOENT') return false;
          throw err;
        },
      );
      await rename(dir, target);
      if (replaced) await rm(aside, { recursive: true, force: true });
      await parts.removeAll();
      return sinkRefs(opts.rootName, opts.path);
    },
    target: () => sinkRefs(opts.rootName, opts.path),
    async abort() {
      await close();
      await Promise.allSettled([
        rm(dir, { recursive: true, force: true }),
        rm(rejectsTmp, { force: true }),
        parts.removeOwn(),
      ]);
    },
  };
}
