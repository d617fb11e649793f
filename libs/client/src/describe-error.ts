// Errors as people and scripts need them: the status name with the server's message, and a stable
// process exit code per kind of failure (used by the CLI).
import { status } from '@grpc/grpc-js';

export function describeError(err: unknown): string {
  const e = err as { code?: number; details?: string; message?: string };
  if (typeof e?.code === 'number' && typeof e.details === 'string') {
    const hint =
      e.code === status.UNAVAILABLE && /No connection established|ECONNREFUSED|connect/i.test(e.details)
        ? ' (is the mesh running? start one with `flowmesh up`)'
        : e.code === status.UNAUTHENTICATED
          ? ' (pass --api-key or set FLOWMESH_API_KEY)'
          : '';
    return `${status[e.code] ?? e.code}: ${e.details}${hint}`;
  }
  return e?.message ?? String(err);
}

/** 1 for a failed job or generic error, 2 usage, 3 unreachable, 4 auth, 5 not found, 6 limit, 7 cancelled. */
export function exitCodeOf(err: unknown): number {
  const code = (err as { code?: unknown })?.code;
  switch (code) {
    case status.INVALID_ARGUMENT:
    case status.FAILED_PRECONDITION:
      return 2;
    case status.UNAVAILABLE:
    case status.DEADLINE_EXCEEDED:
      return 3;
    case status.UNAUTHENTICATED:
    case status.PERMISSION_DENIED:
      return 4;
    case status.NOT_FOUND:
      return 5;
    case status.RESOURCE_EXHAUSTED:
      return 6;
    case status.CANCELLED:
      return 7;
    default:
      return 1;
  }
}
