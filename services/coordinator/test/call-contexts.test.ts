// Job contexts on an ExecuteBatches call: what the coordinator leaves out, the executor always holds — with
// both sides' eviction and a coordinator that learns of the feature only after some assigns went out.
import assert from 'node:assert/strict';
import { DataFormat, RecordEncoding, type BatchAssignment } from '@flowmesh/contracts';
import { createJobContexts } from '@flowmesh/executor';
import { createCallContexts, type CallContexts } from '../src/call-contexts.js';

const jobs = Array.from({ length: 9 }, (_, i) => ({
  jobId: `job-${i}`,
  flowSource: `name: f${i}\nsteps: []\n`,
  header: Buffer.from(`a,b,c${i}\n`),
  vars: { n: String(i) },
}));

function assign(j: (typeof jobs)[number], batchIndex: number): BatchAssignment {
  return {
    jobId: j.jobId, batchIndex, attempt: 1, epoch: 1, file: { root: 'data', path: 'in.csv' }, offset: 0, length: 10,
    firstLine: 2, firstRecord: 0, flow: 'f', flowRevision: 1, flowSource: j.flowSource, vars: j.vars,
    format: DataFormat.DATA_FORMAT_CSV, header: j.header, inline: false, globals: {}, outputPart: undefined,
    encoding: RecordEncoding.RECORD_ENCODING_JSONL, includeRejects: false, chunkBytes: 0, mayWait: false, contextFromCall: false,
  };
}

describe('job contexts on a batch call', () => {
  it('leaves a context out only while the executor still holds it, whatever the order of jobs', () => {
    let seed = 7;
    const rand = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    for (const learnAfter of [0, 3, 20]) {
      const executor = createJobContexts(4);
      let coordinator: CallContexts | undefined;
      let slim = 0;
      for (let i = 0; i < 400; i++) {
        if (i === learnAfter) coordinator = createCallContexts(4);
        // Mostly a few hot jobs, sometimes others (evictions on both sides).
        const j = jobs[rand(10) < 7 ? rand(3) : rand(jobs.length)]!;
        const sent = coordinator ? coordinator.slim(assign(j, i)) : assign(j, i);
        if (sent.contextFromCall) slim++;
        // Over the wire: a decoded copy.
        const received = { ...sent, header: Buffer.from(sent.header) };
        assert.equal(executor.apply(received), true, `assign ${i} (${j.jobId}) relied on a dropped context`);
        assert.equal(received.flowSource, j.flowSource);
        assert.deepEqual(received.vars, j.vars);
        assert.ok(Buffer.from(received.header).equals(j.header));
      }
      assert.ok(slim > 200, `most assigns leave the context out (${slim} of 400)`);
    }
  });

  it('refuses an assign that relies on a context the call does not hold', () => {
    const executor = createJobContexts(4);
    assert.equal(executor.apply({ ...assign(jobs[0]!, 0), flowSource: '', contextFromCall: true }), false);
  });
});
