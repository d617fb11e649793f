// API keys: created here with a generated (or operator-given) secret that is returned once and stored
// only as a hash; verified in constant time. Reads never carry the hash (the ApiKey message has no field
// for it, and record.ts keeps it outside the Resource).
import { AlreadyExistsError, InvalidArgumentError, NotFoundError, UnauthenticatedError } from '@flowmesh/runtime';
import { ResourceKind, type Resource, type Role } from '@flowmesh/contracts';
import { CasConflictError, type KvBackend } from '@flowmesh/store';
import { checkCustomKey, generateKey, hashKey, hintOf, keyIdOf, keyMatches } from './api-key-secret.js';
import { resourceKey } from './keys.js';
import { newResource } from './new-resource.js';
import { decodeRecord, encodeRecord } from './record.js';
import { storeCall, translateStoreError } from './store-errors.js';
import { validateName, validateRole } from './validate.js';

export interface CreateApiKeyInput {
  user: string;
  role: Role;
  description: string;
  actor: string;
  /** Use this key instead of generating one (bootstrap); empty = generate. */
  secret: string;
}

export interface CreatedApiKey {
  keyId: string;
  secret: string;
  resource: Resource;
  revision: number;
}

export interface VerifiedApiKey {
  keyId: string;
  user: string;
  role: Role;
}

export async function createApiKey(backend: KvBackend, input: CreateApiKeyInput, now: Date): Promise<CreatedApiKey> {
  validateName(input.user, 'user');
  validateRole(input.role, 'role');
  if (Buffer.byteLength(input.description) > 4096)
    throw new InvalidArgumentError('description', 'longer than 4096 bytes');
  const { keyId, key } =
    input.secret !== '' ? { keyId: checkCustomKey(input.secret, 'secret'), key: input.secret } : generateKey();
  const storeKey = resourceKey(ResourceKind.RESOURCE_KIND_API_KEY, keyId);
  const resource: Resource = newResource({
    kind: ResourceKind.RESOURCE_KIND_API_KEY,
    name: keyId,
    updatedAt: now,
    updatedBy: input.actor,
    spec: {
      $case: 'apiKey',
      apiKey: { user: input.user, role: input.role, description: input.description, revoked: false, hint: hintOf(key) },
    },
  });
  try {
    const entry = await backend.put(storeKey, encodeRecord(resource, hashKey(key)), { expectedRevision: 0 });
    return { keyId, secret: key, resource: decodeRecord(entry).resource, revision: entry.modRevision };
  } catch (err) {
    if (!(err instanceof CasConflictError)) throw translateStoreError(err, `api key ${keyId}`);
    // The same operator-given key created again (a gateway restarting with its bootstrap key): answer
    // as the first time did. Anything else with this id is a collision the caller must see.
    const existing = (await storeCall(`api key ${keyId}`, () => backend.get(storeKey))).entry;
    const rec = existing ? decodeRecord(existing) : undefined;
    if (input.secret !== '' && rec && keyMatches(key, rec.keyHash)) {
      return { keyId, secret: key, resource: rec.resource, revision: existing!.modRevision };
    }
    throw new AlreadyExistsError(`api key ${keyId} already exists`);
  }
}

const REFUSED = 'unknown, revoked or disabled API key';

export async function verifyApiKey(backend: KvBackend, key: string): Promise<VerifiedApiKey> {
  const keyId = keyIdOf(key);
  const entry = keyId
    ? (await storeCall('api key', () => backend.get(resourceKey(ResourceKind.RESOURCE_KIND_API_KEY, keyId)))).entry
    : undefined;
  const rec = entry ? decodeRecord(entry) : undefined;
  // Hash and compare even when the id is unknown, so timing does not tell which ids exist.
  const matches = keyMatches(key, rec?.keyHash);
  const spec = rec?.resource.spec;
  if (!matches || spec?.$case !== 'apiKey' || spec.apiKey.revoked) throw new UnauthenticatedError(REFUSED);
  const user = (
    await storeCall('user', () => backend.get(resourceKey(ResourceKind.RESOURCE_KIND_USER, spec.apiKey.user)))
  ).entry;
  const userSpec = user ? decodeRecord(user).resource.spec : undefined;
  // A key acts for its user: a deleted (or never created) user's keys stop working like a disabled one's.
  if (userSpec?.$case !== 'user' || userSpec.user.disabled) throw new UnauthenticatedError(REFUSED);
  return { keyId: keyId!, user: spec.apiKey.user, role: spec.apiKey.role };
}

/**
 * A Put of an existing API key (revoke it, change its role or description) keeps its user, hint and hash;
 * keys are created only through CreateApiKey.
 */
export async function updateApiKey(
  backend: KvBackend,
  resource: Resource & { spec: { $case: 'apiKey' } },
  expectedRevision: number | undefined,
): Promise<{ resource: Resource; revision: number }> {
  const key = resourceKey(ResourceKind.RESOURCE_KIND_API_KEY, resource.name);
  const existing = (await storeCall(`api key ${resource.name}`, () => backend.get(key))).entry;
  if (!existing) throw new NotFoundError(`api key ${resource.name} does not exist; create keys with CreateApiKey`);
  const rec = decodeRecord(existing);
  const old = rec.resource.spec?.$case === 'apiKey' ? rec.resource.spec.apiKey : undefined;
  const merged: Resource = {
    ...resource,
    spec: { $case: 'apiKey', apiKey: { ...resource.spec.apiKey, user: old?.user ?? '', hint: old?.hint ?? '' } },
  };
  const entry = await storeCall(`api key ${resource.name}`, () =>
    backend.put(key, encodeRecord(merged, rec.keyHash), { expectedRevision: expectedRevision ?? existing.modRevision }),
  );
  return { resource: decodeRecord(entry).resource, revision: entry.modRevision };
}
