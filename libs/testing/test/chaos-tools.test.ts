// The chaos suite's own tools: the output checker counts each kind of problem, the PRNG repeats a
// schedule, and the TCP proxy really holds bytes while cut and delivers them after healing.
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { checkOutput, createPrng, parseJsonl, rejectIds, startTcpProxy } from '@flowmesh/testing';

const jsonl = (ids: string[]) => ids.map((id) => JSON.stringify({ order_id: id })).join('\n') + '\n';

describe('chaos tools', () => {
  describe('checkOutput', () => {
    const input = ['O-1', 'O-2', 'O-3', 'O-4', 'O-5'];

    it('accepts every record exactly once across output and rejects, in order', () => {
      const c = checkOutput({
        inputIds: input,
        output: jsonl(['O-1', 'O-2', 'O-4', 'O-5']),
        rejectIds: ['O-3'],
        ordered: true,
      });
      assert.deepEqual([c.lost, c.duplicated, c.unexpected, c.outOfOrder, c.ok], [0, 0, 0, 0, true]);
    });

    it('counts lost, duplicated, unexpected and out-of-order records', () => {
      const c = checkOutput({
        inputIds: input,
        output: Buffer.from(jsonl(['O-2', 'O-1', 'O-2', 'O-9']) + 'not json\n'),
        rejectIds: ['O-1'],
        ordered: true,
      });
      assert.equal(c.lost, 3, 'O-3, O-4, O-5');
      assert.equal(c.duplicated, 2, 'O-2 twice in the output, O-1 in output and rejects');
      assert.equal(c.unexpected, 2, 'O-9 and a line without id');
      assert.equal(c.outOfOrder, 1, 'O-1 comes after O-2 (the second O-2 is a duplicate, not out of order)');
      assert.equal(c.ok, false);
    });

    it('ignores order when input order was not asked, and allows declared missing ids', () => {
      const c = checkOutput({
        inputIds: input,
        output: jsonl(['O-5', 'O-1', 'O-2']),
        allowMissing: new Set(['O-3', 'O-4']),
      });
      assert.equal(c.ok, true);
    });

    it('maps reject lines to ids; an unknown line is unexpected', () => {
      const ids = rejectIds([2, 7], new Map([[2, 'O-1']]));
      assert.deepEqual(ids, ['O-1', 'line:7']);
      assert.equal(checkOutput({ inputIds: ['O-1'], output: '', rejectIds: ids }).unexpected, 1);
      assert.equal(parseJsonl('{"a":1}\n\n[1]\n').length, 2);
    });
  });

  it('createPrng repeats a sequence for a seed and differs between seeds', () => {
    const seq = (seed: number) =>
      Array.from(
        { length: 5 },
        (
          (p) => () =>
            p.int(0, 1000)
        )(createPrng(seed)),
      );
    assert.deepEqual(seq(7), seq(7));
    assert.notDeepEqual(seq(7), seq(8));
  });

  describe('startTcpProxy', () => {
    let echo: Server;
    let target = '';
    const sockets: Socket[] = [];
    before(async () => {
      echo = createServer((s) => s.pipe(s));
      await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()));
      target = `127.0.0.1:${(echo.address() as { port: number }).port}`;
    });
    after(async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => echo.close(r));
    });

    const open = async (address: string): Promise<{ socket: Socket; received: () => string }> => {
      const [host, port] = [
        address.slice(0, address.lastIndexOf(':')),
        Number(address.slice(address.lastIndexOf(':') + 1)),
      ];
      const socket = connect(port, host);
      sockets.push(socket);
      let data = '';
      socket.setEncoding('utf8').on('data', (d: string) => (data += d));
      await new Promise((r) => socket.once('connect', r));
      return { socket, received: () => data };
    };
    const until = async (probe: () => boolean, what: string) => {
      for (let i = 0; i < 200 && !probe(); i++) await new Promise((r) => setTimeout(r, 10));
      assert.ok(probe(), what);
    };

    it('forwards, holds bytes while cut (open and new connections), and delivers them after healing', async () => {
      const proxy = await startTcpProxy(target);
      try {
        const a = await open(proxy.address);
        a.socket.write('one');
        await until(() => a.received() === 'one', 'echo through the proxy');
        proxy.cut();
        a.socket.write('two');
        const b = await open(proxy.address);
        b.socket.write('three');
        // A cut must hold bytes: nothing may arrive during a while (a bounded observation, not a sync point).
        await new Promise((r) => setTimeout(r, 200));
        assert.equal(a.received(), 'one', 'nothing crosses a cut link');
        assert.equal(b.received(), '', 'a connection opened during the cut is not forwarded');
        proxy.heal();
        await until(() => a.received() === 'onetwo' && b.received() === 'three', 'held bytes arrive after healing');
        assert.equal(proxy.connections, 2);
      } finally {
        await proxy.close();
      }
    });
  });
});
