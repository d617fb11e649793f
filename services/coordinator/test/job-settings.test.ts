import assert from 'node:assert/strict';
import { parseFlow } from '@flowmesh/flow';
import { resolveJobSettings } from '../src/job-settings.js';

const flow = (distribute: string, source = 'type: file\n  root: data\n  path: in.csv\n  format: csv') =>
  parseFlow(`name: t\nsource:\n  ${source}\ndistribute:\n${distribute}\nsteps: []\nsink:\n  type: stream\n`);
const none = { maxInstances: 0, batchRecords: 0, batchBytes: 0, order: '', mode: '' };

describe('job settings', () => {
  it("takes the flow's distribute section", () => {
    const s = resolveJobSettings(
      flow('  mode: distributed\n  batch: { records: 500 }\n  maxInstances: 3\n  order: arrival\n  retries: 2'),
      undefined,
    );
    assert.deepEqual(s, {
      mode: 'distributed',
      batchRecords: 500,
      batchBytes: undefined,
      maxInstances: 3,
      order: 'arrival',
      retries: 2,
      remoteBias: 0,
    });
  });

  it("applies the run's overrides", () => {
    const s = resolveJobSettings(flow('  batch: { records: 500 }'), {
      ...none,
      maxInstances: 5,
      batchBytes: 1024,
      order: 'arrival',
      mode: 'local',
    });
    assert.equal(s.maxInstances, 5);
    assert.equal(s.batchBytes, 1024);
    assert.equal(s.batchRecords, undefined);
    assert.equal(s.order, 'arrival');
    assert.equal(s.mode, 'local');
  });

  it('refuses unknown override values, naming the field', () => {
    assert.throws(
      () => resolveJobSettings(flow('  maxInstances: 2'), { ...none, order: 'random' }),
      /distribute\.order/,
    );
    assert.throws(() => resolveJobSettings(flow('  maxInstances: 2'), { ...none, mode: 'cloud' }), /distribute\.mode/);
  });
});
