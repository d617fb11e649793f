// Free loopback ports and temp dirs for tests: nothing in the test suite uses a fixed port or path.
import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A loopback port that was free a moment ago (listen on port 0, read it, close). Another process may take it
 * before the caller binds it, so callers that spawn servers on it retry on bind failure.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close((err) => (err ? reject(err) : resolve(port)));
    });
  });
}

/** A new empty directory under the OS temp dir, named `<prefix>-XXXXXX`. The caller removes it. */
export function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `${prefix}-`));
}
