// A `parts` layout file sink's directory (spec/types.ts FlowSink): one JSONL file per batch, named by its
// index, zero-padded so that a plain sort of the directory lists the parts in input order up to a million
// batches.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

export function partFileName(index: number): string {
  return `part-${String(index).padStart(6, '0')}.jsonl`;
}

/** The batch index of a part file's name, undefined for any other name. */
export function partIndexOf(name: string): number | undefined {
  const m = /^part-(\d{6,})\.jsonl$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** A parts directory's part files in index order (other files left out). */
export async function listPartFiles(dir: string): Promise<Array<{ name: string; index: number }>> {
  return (await readdir(dir))
    .map((name) => ({ name, index: partIndexOf(name) }))
    .filter((p): p is { name: string; index: number } => p.index !== undefined)
    .sort((a, b) => a.index - b.index);
}

/** The output a parts directory holds: its part files in index order, concatenated. */
export async function readPartsDirectory(dir: string): Promise<Buffer> {
  const parts = await listPartFiles(dir);
  return Buffer.concat(await Promise.all(parts.map((p) => readFile(join(dir, p.name)))));
}
