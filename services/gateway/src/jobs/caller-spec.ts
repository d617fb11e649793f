// A caller's JobSpec as the gateway passes it on (RunJob's `start`, SubmitJob's `spec`): the flow is named,
// and the fields the gateway owns are its own — submitted_by from the caller's key (a client cannot run a
// job in someone else's name), plan_slots cleared (set only when the relay runs a job again after a lost
// coordinator, run-job.ts).
import type { JobSpec } from '@flowmesh/contracts';
import { InvalidArgumentError } from '@flowmesh/runtime';
import type { Identity } from '../access/authenticator.js';

/** `field` names the spec in the caller's request, for the INVALID_ARGUMENT message. */
export function callerSpec(spec: JobSpec | undefined, identity: Identity, field: 'start' | 'spec'): JobSpec {
  if (!spec?.flow) throw new InvalidArgumentError(`${field}.flow`, 'name the flow to run');
  return { ...spec, submittedBy: identity.user, planSlots: 0 };
}
