// Internal services accept calls only from the mesh: the caller must present the cluster token in metadata.
// Checked in a server interceptor so no handler can forget it; health and reflection stay open so probes
// and `buf curl` work without secrets.
import { createHash, timingSafeEqual } from 'node:crypto';
import { Metadata, ServerInterceptingCall, ServerListenerBuilder, status, type ServerInterceptor } from '@grpc/grpc-js';

export const CLUSTER_TOKEN_METADATA_KEY = 'x-flowmesh-cluster-token';

/** Constant-time comparison; hashing first makes the lengths equal so the length does not leak either. */
export function tokensEqual(given: string, expected: string): boolean {
  return matchesDigest(given, sha256(expected));
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

function matchesDigest(given: string, expectedDigest: Buffer): boolean {
  return timingSafeEqual(sha256(given), expectedDigest);
}

/** "/flowmesh.v1.ExecutorService/ExecuteBatch" → "flowmesh.v1.ExecutorService" */
export function serviceOfPath(path: string): string {
  const end = path.lastIndexOf('/');
  return path.slice(1, end > 0 ? end : undefined);
}

/** Refuses calls to `protectedServices` whose metadata lacks the right token, with UNAUTHENTICATED. */
export function clusterTokenInterceptor(token: string, protectedServices: ReadonlySet<string>): ServerInterceptor {
  // The expected token's digest once, not per call: one SHA-256 per incoming call instead of two (issue 7).
  const expected = sha256(token);
  return (method, call) => {
    if (!protectedServices.has(serviceOfPath(method.path))) return new ServerInterceptingCall(call);
    return new ServerInterceptingCall(call, {
      start(next) {
        const listener = new ServerListenerBuilder()
          .withOnReceiveMetadata((metadata, mdNext) => {
            const given = metadata.get(CLUSTER_TOKEN_METADATA_KEY)[0];
            if (typeof given === 'string' && matchesDigest(given, expected)) {
              mdNext(metadata);
            } else {
              call.sendStatus({
                code: status.UNAUTHENTICATED,
                details: 'missing or wrong cluster token',
                metadata: new Metadata(),
              });
            }
          })
          .build();
        next(listener);
      },
    });
  };
}
