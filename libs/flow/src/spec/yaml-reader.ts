// Reads the YAML node tree (not plain JS) so that every value keeps its source position: an issue about
// a value points at the value, an issue about an unknown field points at its key.
import { isMap, isScalar, isSeq, type LineCounter, type Node, type Pair, type YAMLMap, type YAMLSeq } from 'yaml';
import { formatPath, type FlowIssue, type PathPart } from './issues.js';

export class IssueSink {
  readonly issues: FlowIssue[] = [];
  constructor(private readonly lines: LineCounter) {}

  at(node: { range?: readonly number[] | null } | null | undefined, path: readonly PathPart[], message: string): void {
    const offset = node?.range?.[0] ?? 0;
    const pos = this.lines.linePos(offset);
    this.issues.push({ line: pos.line, column: pos.col, path: formatPath(path), message });
  }

  /** Position of `node` as line/column, for callers that report later (e.g. async checks). */
  pos(node: { range?: readonly number[] | null } | null | undefined): { line: number; column: number } {
    const p = this.lines.linePos(node?.range?.[0] ?? 0);
    return { line: p.line, column: p.col };
  }
}

export function describe(node: unknown): string {
  if (node === null || node === undefined) return 'nothing';
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) return node.value === null ? 'null' : typeof node.value;
  return 'an unsupported value';
}

/** A mapping being read field by field; `done()` reports every field nobody asked for. */
export class MapReader {
  private readonly seen = new Set<string>();
  constructor(
    readonly node: YAMLMap,
    readonly path: PathPart[],
    private readonly sink: IssueSink,
  ) {}

  has(key: string): boolean {
    return this.pair(key) !== undefined;
  }

  pair(key: string): Pair | undefined {
    for (const item of this.node.items) {
      if (isScalar(item.key) && String(item.key.value) === key) return item as Pair;
    }
    return undefined;
  }

  get(key: string): Node | undefined {
    this.seen.add(key);
    const value = this.pair(key)?.value;
    return (value ?? undefined) as Node | undefined;
  }

  keyNode(key: string): Node | undefined {
    return this.pair(key)?.key as Node | undefined;
  }

  sub(key: string): PathPart[] {
    return [...this.path, key];
  }

  issue(key: string, message: string): void {
    const pair = this.pair(key);
    this.sink.at((pair?.value ?? pair?.key ?? this.node) as Node, this.sub(key), message);
  }

  string(key: string, opts: { required: true; allowed?: readonly string[] }): string | undefined;
  string(key: string, opts?: { required?: boolean; allowed?: readonly string[] }): string | undefined;
  string(key: string, opts: { required?: boolean; allowed?: readonly string[] } = {}): string | undefined {
    const node = this.get(key);
    if (node === undefined || (isScalar(node) && node.value === null)) {
      if (opts.required) this.sink.at(this.node, this.sub(key), 'is required');
      return undefined;
    }
    if (!isScalar(node) || typeof node.value !== 'string') {
      this.sink.at(node, this.sub(key), `must be a string, got ${describe(node)}`);
      return undefined;
    }
    if (opts.allowed && !opts.allowed.includes(node.value)) {
      this.sink.at(node, this.sub(key), `must be one of ${opts.allowed.join(', ')}, got "${node.value}"`);
      return undefined;
    }
    return node.value;
  }

  /** A scalar that becomes a string (numbers and booleans are accepted and stringified). */
  text(key: string): string | undefined {
    const node = this.get(key);
    if (node === undefined) return undefined;
    if (!isScalar(node) || node.value === null || typeof node.value === 'object') {
      this.sink.at(node, this.sub(key), `must be a string, number or boolean, got ${describe(node)}`);
      return undefined;
    }
    return String(node.value);
  }

  int(key: string, opts: { min?: number; max?: number } = {}): number | undefined {
    const node = this.get(key);
    if (node === undefined) return undefined;
    const v = isScalar(node) ? node.value : undefined;
    if (typeof v !== 'number' || !Number.isInteger(v)) {
      this.sink.at(node, this.sub(key), `must be an integer, got ${describe(node)}`);
      return undefined;
    }
    if (opts.min !== undefined && v < opts.min) {
      this.sink.at(node, this.sub(key), `must be at least ${opts.min}, got ${v}`);
      return undefined;
    }
    if (opts.max !== undefined && v > opts.max) {
      this.sink.at(node, this.sub(key), `must be at most ${opts.max}, got ${v}`);
      return undefined;
    }
    return v;
  }

  bool(key: string): boolean | undefined {
    const node = this.get(key);
    if (node === undefined) return undefined;
    if (!isScalar(node) || typeof node.value !== 'boolean') {
      this.sink.at(node, this.sub(key), `must be true or false, got ${describe(node)}`);
      return undefined;
    }
    return node.value;
  }

  map(key: string, required = false): MapReader | undefined {
    const node = this.get(key);
    if (node === undefined || (isScalar(node) && node.value === null)) {
      if (required) this.sink.at(this.node, this.sub(key), 'is required');
      return undefined;
    }
    if (!isMap(node)) {
      this.sink.at(node, this.sub(key), `must be a mapping, got ${describe(node)}`);
      return undefined;
    }
    return new MapReader(node, this.sub(key), this.sink);
  }

  seq(key: string): YAMLSeq | undefined {
    const node = this.get(key);
    if (node === undefined || (isScalar(node) && node.value === null)) return undefined;
    if (!isSeq(node)) {
      this.sink.at(node, this.sub(key), `must be a list, got ${describe(node)}`);
      return undefined;
    }
    return node;
  }

  /** Reports fields that are not part of the schema, at their key. */
  done(): void {
    for (const item of this.node.items) {
      const key = isScalar(item.key) ? String(item.key.value) : undefined;
      if (key === undefined) {
        this.sink.at(item.key as Node, this.path, 'field names must be plain strings');
      } else if (!this.seen.has(key)) {
        this.sink.at(item.key as Node, this.sub(key), `unknown field "${key}"`);
      }
    }
  }
}

export function asMap(node: Node | undefined | null, path: PathPart[], sink: IssueSink): MapReader | undefined {
  if (!isMap(node)) {
    sink.at(node ?? undefined, path, `must be a mapping, got ${describe(node)}`);
    return undefined;
  }
  return new MapReader(node, path, sink);
}
