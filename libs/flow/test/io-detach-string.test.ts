// detachString: the same text in memory of its own (decode errors keep it; a slice would keep its whole
// ~32 KiB window alive until the batch ends: detach-string.ts).
import assert from 'node:assert/strict';
import { decodeRecords } from '../src/io/decode-records.js';
import { detachString } from '../src/io/detach-string.js';

describe('flow io: detachString', function () {
  it('returns the same text, lone surrogates and all', function () {
    const window = `${'x'.repeat(100)}é€😀\ud800 lone, then\u0000nul${'y'.repeat(100)}`;
    for (const s of [window, window.slice(90, 130), '', 'a', window.slice(101, 102)]) assert.equal(detachString(s), s);
  });

  it("gives decode errors their record's raw text, as before", function () {
    const csv = 'a,b\n1,2\n3\n"x,4\n';
    const { errors } = decodeRecords('csv', Buffer.from(csv));
    assert.deepEqual(
      errors.map((e) => e.raw),
      ['3', '"x,4'],
    );
  });
});
