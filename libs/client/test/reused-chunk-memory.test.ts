// The memory of a call whose caller borrows buffers (issue 7 target 1): every part's chunks are views of one
// area, laid out in order, grown only for a part larger than any before.
import assert from 'node:assert/strict';
import { createReusedChunkMemory } from '../src/reused-chunk-memory.js';

describe('createReusedChunkMemory()', () => {
  it("lays a part's chunks out in one area, in order, empty chunks included", () => {
    const memory = createReusedChunkMemory();
    const views = memory([3, 0, 5, 2]);
    assert.deepEqual(
      views.map((v) => [v.byteOffset - views[0]!.byteOffset, v.length]),
      [
        [0, 3],
        [3, 0],
        [3, 5],
        [8, 2],
      ],
    );
    assert.ok(views.every((v) => v.buffer === views[0]!.buffer));
  });

  it('reuses the area for the next part, and grows it for a larger one only', () => {
    const memory = createReusedChunkMemory();
    const first = memory([100, 50])[0]!.buffer;
    assert.equal(memory([10, 140])[0]!.buffer, first, 'same size: same memory');
    assert.equal(memory([20])[0]!.buffer, first, 'smaller: same memory');
    const grown = memory([100, 51]);
    assert.notEqual(grown[0]!.buffer, first, 'larger: a new area');
    assert.equal(grown[1]!.length, 51);
    assert.equal(memory([150])[0]!.buffer, grown[0]!.buffer, 'and that one is kept');
  });
});
