import assert from 'node:assert/strict';
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import {
  AbortedError,
  AlreadyExistsError,
  CancelledError,
  DeadlineExceededError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  PermissionDeniedError,
  ResourceExhaustedError,
  UnauthenticatedError,
  UnavailableError,
  UnimplementedError,
  ERROR_REF_METADATA_KEY,
  FIELD_METADATA_KEY,
  toServiceError,
} from '@flowmesh/runtime';

function captureLogger() {
  const calls: Array<{ obj: Record<string, unknown>; msg: string }> = [];
  return { calls, error: ((obj: Record<string, unknown>, msg: string) => calls.push({ obj, msg })) as never };
}

describe('toServiceError', () => {
  const cases: Array<[Error, status]> = [
    [new InvalidArgumentError('flow.name', 'must not be empty'), status.INVALID_ARGUMENT],
    [new NotFoundError('flow "x" not found'), status.NOT_FOUND],
    [new AlreadyExistsError('key exists'), status.ALREADY_EXISTS],
    [new FailedPreconditionError('revision 3 expected, found 4'), status.FAILED_PRECONDITION],
    [new AbortedError('attempt superseded'), status.ABORTED],
    [new PermissionDeniedError('viewer may not run jobs'), status.PERMISSION_DENIED],
    [new UnauthenticatedError('unknown API key'), status.UNAUTHENTICATED],
    [new ResourceExhaustedError('too many jobs for this key'), status.RESOURCE_EXHAUSTED],
    [new UnavailableError('no executor'), status.UNAVAILABLE],
    [new DeadlineExceededError('batch took too long'), status.DEADLINE_EXCEEDED],
    [new CancelledError('job cancelled'), status.CANCELLED],
    [new UnimplementedError('not yet'), status.UNIMPLEMENTED],
  ];
  for (const [err, code] of cases) {
    it(`maps ${err.name} to ${status[code]} and keeps its message`, () => {
      const log = captureLogger();
      const se = toServiceError(err, log);
      assert.equal(se.code, code);
      assert.equal(se.details, err.message);
      assert.equal(log.calls.length, 0, 'typed errors are not logged as internal errors');
    });
  }

  it('names the invalid field in the message and in metadata', () => {
    const se = toServiceError(new InvalidArgumentError('steps[2].expr', 'unknown function "foo"'));
    assert.equal(se.details, 'steps[2].expr: unknown function "foo"');
    assert.deepEqual(se.metadata.get(FIELD_METADATA_KEY), ['steps[2].expr']);
  });

  it('turns an unknown error into INTERNAL with a reference id, logged but not echoed', () => {
    const log = captureLogger();
    const secret = new Error('password=hunter2 at /srv/secret/path');
    const se = toServiceError(secret, log);
    assert.equal(se.code, status.INTERNAL);
    assert.doesNotMatch(se.details, /hunter2|secret|at \//);
    const ref = se.metadata.get(ERROR_REF_METADATA_KEY)[0];
    assert.equal(typeof ref, 'string');
    assert.match(se.details, new RegExp(`ref ${String(ref)}`));
    assert.equal(log.calls.length, 1);
    assert.equal(log.calls[0]?.obj.ref, ref);
    assert.equal(log.calls[0]?.obj.err, secret);
  });

  it('maps thrown non-errors (strings, undefined) to INTERNAL too', () => {
    assert.equal(toServiceError('boom').code, status.INTERNAL);
    assert.equal(toServiceError(undefined).code, status.INTERNAL);
  });

  it('passes a downstream status through, but not a downstream INTERNAL message', () => {
    const downstream = Object.assign(new Error('5 NOT_FOUND: job j1'), {
      code: status.NOT_FOUND,
      details: 'job j1',
      metadata: new Metadata(),
    }) as ServiceError;
    const se = toServiceError(downstream);
    assert.equal(se.code, status.NOT_FOUND);
    assert.equal(se.details, 'job j1');

    const internal = Object.assign(new Error('13 INTERNAL: stack here'), {
      code: status.INTERNAL,
      details: 'stack here',
      metadata: new Metadata(),
    }) as ServiceError;
    const se2 = toServiceError(internal);
    assert.equal(se2.code, status.INTERNAL);
    assert.doesNotMatch(se2.details, /stack here/);
  });

  it('keeps the cause on typed errors', () => {
    const cause = new Error('etcd timeout');
    assert.equal(new UnavailableError('store unreachable', { cause }).cause, cause);
  });
});
