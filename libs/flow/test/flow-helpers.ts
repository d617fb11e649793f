// Helpers for the flow engine tests: compile a flow from YAML and run one batch, collecting its output.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  compileFlow, parseFlow, runBatch, type BatchInput, type BatchResult, type CompileFlowOptions, type CompiledFlow,
} from '../src/index.js';

export interface RunOutput {
  result: BatchResult;
  records: Array<Record<string, unknown>>;
  chunks: Buffer[];
}

export async function compile(yaml: string, opts: CompileFlowOptions = {}): Promise<CompiledFlow> {
  return compileFlow(parseFlow(yaml), opts);
}

export async function run(compiled: CompiledFlow, input: Omit<Partial<BatchInput>, 'bytes'> & { bytes: Buffer | string }, chunkBytes?: number): Promise<RunOutput> {
  const chunks: Buffer[] = [];
  const result = await runBatch(compiled, {
    format: compiled.spec.source.format, firstLine: 1, firstRecord: 0, batchIndex: 0, vars: { ...compiled.spec.vars }, globals: {},
    ...input,
    bytes: Buffer.isBuffer(input.bytes) ? input.bytes : Buffer.from(input.bytes),
  }, { onChunk: (c) => { chunks.push(c); }, ...(chunkBytes ? { chunkBytes } : {}) });
  const text = Buffer.concat(chunks).toString('utf8');
  const records = text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
  return { result, records, chunks };
}

/** A stream flow over JSONL with the given steps (YAML text indented as a list). */
export function jsonlFlow(steps: string, extra = ''): string {
  return `name: t\nsource:\n  type: stream\n  format: jsonl\nsteps:\n${steps}${extra}`;
}

export function jsonl(records: unknown[]): string {
  return records.map((r) => JSON.stringify(r)).join('\n') + '\n';
}

export function tempDir(prefix: string): { dir: string; file(name: string, content: string): string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return {
    dir,
    file(name, content) {
      const p = join(dir, name);
      writeFileSync(p, content);
      return p;
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
