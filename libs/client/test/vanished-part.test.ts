// A local part that is gone when the client reads it (issue 7 local hand-off): while its call is failing
// (the gateway removes a failed call's directory as it ends the call — a coordinator killed mid-job) the
// caller gets the call's status, UNAVAILABLE, which re-attaches, and not DATA_LOSS; on a call that goes on
// to succeed, a missing part is DATA_LOSS. A fake gateway over a real grpc-js server plays both.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Metadata, Server, ServerCredentials, status, type ServerDuplexStream } from '@grpc/grpc-js';
import { JobServiceService, type RunJobRequest, type RunJobResponse } from '@flowmesh/contracts';
import { SPOOL_DIR_METADATA_KEY, spoolIdentity } from '@flowmesh/runtime';
import { createClient, type FlowmeshClient } from '../src/index.js';

type Ending = 'unavailable' | 'summary';

describe('client: a local part that vanished (issue 7 local hand-off)', () => {
  let spool: string;
  let server: Server;
  let client: FlowmeshClient;
  let ending: Ending = 'unavailable';

  before(async () => {
    spool = await mkdtemp(join(tmpdir(), 'vanished-part-'));
    await spoolIdentity(spool); // the client asks for parts only where a spool id exists
    server = new Server();
    server.addService(JobServiceService, {
      runJob(call: ServerDuplexStream<RunJobRequest, RunJobResponse>) {
        call.once('data', () => {
          const header = new Metadata();
          header.set(SPOOL_DIR_METADATA_KEY, 'g-host-1/call');
          call.sendMetadata(header);
          call.write({ msg: { $case: 'accepted', accepted: { jobId: 'j1', flow: 'f', flowRevision: 1, coordinatorId: 'c1', planSlots: 0 } } });
          // The part the call's directory no longer holds.
          call.write({
            msg: {
              $case: 'localPart',
              localPart: { jobId: 'j1', batchIndex: 0, path: 'p-0', bytes: 8, records: 1, checksum: '00000000', chunkBytes: [8], chunkRecords: [1] },
            },
          });
          if (ending === 'unavailable') {
            call.emit('error', { code: status.UNAVAILABLE, details: 'job j1: its coordinator is gone' });
          } else {
            call.write({ msg: { $case: 'summary', summary: { job: undefined } } });
            call.end();
          }
        });
        call.on('error', () => {});
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    client = createClient(`127.0.0.1:${port}`, { apiKey: 'test-key', spoolDir: spool });
  });

  after(async () => {
    client?.close();
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    await rm(spool, { recursive: true, force: true });
  });

  async function drain(): Promise<void> {
    for await (const ev of client.runJob({ flow: 'f' }, { reattachTimeoutMs: 0 })) void ev;
  }

  it("a failing call's missing part surfaces the call's status (UNAVAILABLE), not DATA_LOSS", async () => {
    ending = 'unavailable';
    await assert.rejects(drain(), (err: { code?: number; details?: string }) => {
      assert.equal(err.code, status.UNAVAILABLE);
      assert.match(err.details ?? '', /coordinator is gone/);
      return true;
    });
  });

  it("a part missing from a call that goes on is DATA_LOSS", async () => {
    ending = 'summary';
    await assert.rejects(drain(), (err: { code?: number; details?: string }) => {
      assert.equal(err.code, status.DATA_LOSS);
      assert.match(err.details ?? '', /p-0/);
      return true;
    });
  });
});
