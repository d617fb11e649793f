// The name of batch `index`'s file in a `parts` layout file sink (spec/types.ts FlowSink): zero-padded so that
// a plain sort of the directory lists the parts in input order up to a million batches.
export function partFileName(index: number): string {
  return `part-${String(index).padStart(6, '0')}.jsonl`;
}

/** The batch index of a part file's name, undefined for any other name. */
export function partIndexOf(name: string): number | undefined {
  const m = /^part-(\d{6,})\.jsonl$/.exec(name);
  return m ? Number(m[1]) : undefined;
}
