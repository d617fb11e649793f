// Validation on write. Every refusal is an InvalidArgumentError naming the field the caller must fix.
import { posix } from 'node:path';
import { InvalidArgumentError } from '@flowmesh/runtime';
import { ResourceKind, Role, type FileRoot, type ReferenceTable, type Resource } from '@flowmesh/contracts';

/** Names of flows, roots, tables, users, jobs: safe in keys, paths and URLs. */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
export const LIMITS = {
  /** Rows of one reference table. */
  referenceTableRows: 50_000,
  referenceTableColumns: 256,
  /** Encoded size of one resource (etcd refuses requests above 1.5 MiB by default). */
  resourceBytes: 1024 * 1024,
  flowSourceBytes: 256 * 1024,
  pathBytes: 4096,
  textBytes: 4096,
} as const;

const SPEC_OF_KIND: ReadonlyMap<ResourceKind, NonNullable<Resource['spec']>['$case']> = new Map([
  [ResourceKind.RESOURCE_KIND_FLOW, 'flow'],
  [ResourceKind.RESOURCE_KIND_FILE_ROOT, 'fileRoot'],
  [ResourceKind.RESOURCE_KIND_REFERENCE_TABLE, 'referenceTable'],
  [ResourceKind.RESOURCE_KIND_USER, 'user'],
  [ResourceKind.RESOURCE_KIND_API_KEY, 'apiKey'],
  [ResourceKind.RESOURCE_KIND_JOB, 'job'],
  [ResourceKind.RESOURCE_KIND_AUDIT, 'audit'],
  [ResourceKind.RESOURCE_KIND_CHECKPOINT, 'checkpoint'],
]);

export function validateKind(kind: ResourceKind, field = 'kind'): void {
  if (!SPEC_OF_KIND.has(kind)) throw new InvalidArgumentError(field, 'must name a resource kind');
}

export function validateName(name: string, field = 'name'): void {
  if (!NAME_PATTERN.test(name)) {
    throw new InvalidArgumentError(
      field,
      `"${name.slice(0, 64)}" is not a valid name (letters, digits, '.', '_', '-'; starting with a letter or digit; at most 128)`,
    );
  }
}

/** A name prefix for List/Watch: empty, or the start of a valid name. */
export function validatePrefix(prefix: string, field = 'prefix'): void {
  if (prefix !== '' && !/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(prefix))
    throw new InvalidArgumentError(field, 'must be the start of a valid name');
}

export function validateRole(role: Role, field: string): void {
  if (role !== Role.ROLE_VIEWER && role !== Role.ROLE_OPERATOR && role !== Role.ROLE_ADMIN) {
    throw new InvalidArgumentError(field, 'must be ROLE_VIEWER, ROLE_OPERATOR or ROLE_ADMIN');
  }
}

function validateText(text: string, field: string, max: number = LIMITS.textBytes): void {
  if (Buffer.byteLength(text) > max) throw new InvalidArgumentError(field, `longer than ${max} bytes`);
}

/** Shape checks shared by every kind: kind set and matching the spec, name valid. */
export function validateEnvelope(
  resource: Resource | undefined,
): asserts resource is Resource & { spec: NonNullable<Resource['spec']> } {
  if (!resource) throw new InvalidArgumentError('resource', 'is required');
  validateKind(resource.kind, 'resource.kind');
  validateName(resource.name, 'resource.name');
  const expected = SPEC_OF_KIND.get(resource.kind);
  if (!resource.spec) throw new InvalidArgumentError(`resource.${snake(expected!)}`, 'is required for this kind');
  if (resource.spec.$case !== expected) {
    throw new InvalidArgumentError(
      'resource.spec',
      `holds ${snake(resource.spec.$case)} but the kind asks for ${snake(expected!)}`,
    );
  }
}

export function validateFileRoot(root: FileRoot, field = 'resource.file_root'): void {
  const p = root.path;
  if (p === '') throw new InvalidArgumentError(`${field}.path`, 'is required');
  if (Buffer.byteLength(p) > LIMITS.pathBytes)
    throw new InvalidArgumentError(`${field}.path`, `longer than ${LIMITS.pathBytes} bytes`);
  if (p.includes('\0')) throw new InvalidArgumentError(`${field}.path`, 'contains a NUL byte');
  if (!posix.isAbsolute(p))
    throw new InvalidArgumentError(`${field}.path`, `"${p}" is relative; give an absolute path`);
  if (p.split('/').includes('..')) throw new InvalidArgumentError(`${field}.path`, `"${p}" contains ".."`);
  const normal = p.length > 1 ? posix.normalize(p).replace(/\/$/, '') : p;
  if (normal !== p) throw new InvalidArgumentError(`${field}.path`, `"${p}" is not normalized; use "${normal}"`);
  validateText(root.description, `${field}.description`);
}

export function validateReferenceTable(t: ReferenceTable, field = 'resource.reference_table'): void {
  if (t.columns.length === 0) throw new InvalidArgumentError(`${field}.columns`, 'at least one column is required');
  if (t.columns.length > LIMITS.referenceTableColumns)
    throw new InvalidArgumentError(`${field}.columns`, `more than ${LIMITS.referenceTableColumns} columns`);
  const columns = new Set<string>();
  t.columns.forEach((c, i) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,127}$/.test(c))
      throw new InvalidArgumentError(`${field}.columns[${i}]`, `"${c.slice(0, 64)}" is not a valid column name`);
    if (columns.has(c)) throw new InvalidArgumentError(`${field}.columns[${i}]`, `"${c}" appears twice`);
    columns.add(c);
  });
  if (!columns.has(t.keyColumn))
    throw new InvalidArgumentError(`${field}.key_column`, `"${t.keyColumn}" is not one of the columns`);
  if (t.rows.length > LIMITS.referenceTableRows)
    throw new InvalidArgumentError(`${field}.rows`, `${t.rows.length} rows; at most ${LIMITS.referenceTableRows}`);
  const keys = new Set<string>();
  t.rows.forEach((row, i) => {
    for (const col of Object.keys(row ?? {})) {
      if (!columns.has(col)) throw new InvalidArgumentError(`${field}.rows[${i}].${col}`, 'is not one of the columns');
    }
    const key = (row as Record<string, unknown> | undefined)?.[t.keyColumn];
    if (key === undefined || key === null)
      throw new InvalidArgumentError(`${field}.rows[${i}].${t.keyColumn}`, 'the key column is required');
    const k = JSON.stringify(key);
    if (keys.has(k))
      throw new InvalidArgumentError(`${field}.rows[${i}].${t.keyColumn}`, `duplicate key ${k.slice(0, 64)}`);
    keys.add(k);
  });
  validateText(t.description, `${field}.description`);
}

/** Kind-specific checks that need nothing but the resource (flows are checked in flow-check.ts). */
export function validateSpec(resource: Resource & { spec: NonNullable<Resource['spec']> }): void {
  const spec = resource.spec;
  switch (spec.$case) {
    case 'fileRoot':
      return validateFileRoot(spec.fileRoot);
    case 'referenceTable':
      return validateReferenceTable(spec.referenceTable);
    case 'user':
      validateRole(spec.user.role, 'resource.user.role');
      return validateText(spec.user.description, 'resource.user.description');
    case 'apiKey':
      validateRole(spec.apiKey.role, 'resource.api_key.role');
      return validateText(spec.apiKey.description, 'resource.api_key.description');
    case 'job':
      if (spec.job.id !== '' && spec.job.id !== resource.name)
        throw new InvalidArgumentError('resource.job.id', 'must equal resource.name');
      if (spec.job.flow !== '') validateName(spec.job.flow, 'resource.job.flow');
      return;
    case 'checkpoint':
      if (spec.checkpoint.jobId !== '' && spec.checkpoint.jobId !== resource.name)
        throw new InvalidArgumentError('resource.checkpoint.job_id', 'must equal resource.name');
      return;
    case 'flow':
      if (spec.flow.source.trim() === '') throw new InvalidArgumentError('resource.flow.source', 'is required');
      if (Buffer.byteLength(spec.flow.source) > LIMITS.flowSourceBytes)
        throw new InvalidArgumentError('resource.flow.source', `longer than ${LIMITS.flowSourceBytes} bytes`);
      return validateText(spec.flow.description, 'resource.flow.description');
    case 'audit':
      return;
  }
}

function snake(s: string): string {
  return s.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase());
}
