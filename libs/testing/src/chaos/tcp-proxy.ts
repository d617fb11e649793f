// A TCP proxy on 127.0.0.1 that a test can cut and heal: the network fault of the chaos suite. A cut is a
// black hole, not a refusal — bytes stop flowing both ways on open connections (the sockets are paused,
// so TCP windows fill and senders block) and new connections are accepted but not forwarded — as when a
// cable is pulled. Healing resumes everything that was held, so a late executor's stream does arrive
// afterwards: what fencing must refuse.
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  /** "127.0.0.1:PORT" to hand out instead of the target. */
  readonly address: string;
  readonly port: number;
  readonly isCut: boolean;
  /** Connections opened through the proxy so far. */
  readonly connections: number;
  cut(): void;
  heal(): void;
  /** Closes the listener and destroys every connection. Idempotent. */
  close(): Promise<void>;
}

interface Pair {
  client: Socket;
  upstream?: Socket;
}

/**
 * Forwards 127.0.0.1:<free port> to `target` ("host:port"), or to what `target()` returns when a
 * connection arrives (so the proxy can exist before the process it fronts has a port).
 */
export async function startTcpProxy(target: string | (() => string | undefined)): Promise<TcpProxy> {
  const pairs = new Set<Pair>();
  let cut = false;
  let opened = 0;

  const forward = (from: Socket, to: Socket): void => {
    from.on('data', (chunk: Buffer) => {
      if (!to.write(chunk)) from.pause();
    });
    to.on('drain', () => {
      if (!cut) from.resume();
    });
    from.on('end', () => to.end());
  };

  const link = (pair: Pair): void => {
    const to = typeof target === 'string' ? target : target();
    if (!to) {
      pair.client.destroy();
      pairs.delete(pair);
      return;
    }
    const at = to.lastIndexOf(':');
    const upstream = connect(Number(to.slice(at + 1)), to.slice(0, at));
    pair.upstream = upstream;
    forward(pair.client, upstream);
    forward(upstream, pair.client);
    const drop = (): void => {
      pair.client.destroy();
      upstream.destroy();
      pairs.delete(pair);
    };
    upstream.on('error', drop);
    upstream.on('close', drop);
    pair.client.on('close', drop);
    if (cut) upstream.pause();
  };

  const server: Server = createServer((client) => {
    opened++;
    const pair: Pair = { client };
    pairs.add(pair);
    client.on('error', () => {
      client.destroy();
      pair.upstream?.destroy();
      pairs.delete(pair);
    });
    // While cut, a new connection is held unforwarded (the SYN got through, nothing else does).
    client.pause();
    if (!cut) {
      link(pair);
      client.resume();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  let closing: Promise<void> | undefined;

  return {
    address: `127.0.0.1:${port}`,
    port,
    get isCut() {
      return cut;
    },
    get connections() {
      return opened;
    },
    cut() {
      cut = true;
      for (const p of pairs) {
        p.client.pause();
        p.upstream?.pause();
      }
    },
    heal() {
      cut = false;
      for (const p of pairs) {
        if (!p.upstream) link(p);
        p.client.resume();
        p.upstream?.resume();
      }
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        for (const p of pairs) {
          p.client.destroy();
          p.upstream?.destroy();
        }
        pairs.clear();
        server.close(() => resolve());
      });
      return closing;
    },
  };
}
