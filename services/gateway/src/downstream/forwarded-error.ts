// A status that came from a coordinator, re-sent to the caller with the job id added to its message, so a
// failed stream always says which job it was about (issue 5: "UNAVAILABLE with the job id").
import type { status } from '@grpc/grpc-js';
import { FlowmeshError } from '@flowmesh/runtime';

export class ForwardedError extends FlowmeshError {
  constructor(
    readonly code: status,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
