// The memory of a call whose caller borrows buffers (issue 7 target 1): every part's chunks are views of one
// area, laid out in order, grown only for a part larger than any before; a client keeps one area between
// calls that ended after their summary.
import assert from 'node:assert/strict';
import { createChunkAreas, createReusedChunkMemory } from '../src/reused-chunk-memory.js';

describe('createReusedChunkMemory()', () => {
  it("lays a part's chunks out in one area, in order, empty chunks included", () => {
    const { memory } = createReusedChunkMemory();
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

  it('reuses the area for the next part, and grows it (with an eighth more) for a larger one only', () => {
    const reused = createReusedChunkMemory();
    const first = reused.memory([100, 60])[0]!.buffer;
    assert.equal(reused.area()!.length, 180, '160 and an eighth');
    assert.equal(reused.memory([10, 150])[0]!.buffer, first, 'same size: same memory');
    assert.equal(reused.memory([20])[0]!.buffer, first, 'smaller: same memory');
    assert.equal(reused.memory([100, 80])[0]!.buffer, first, 'a little larger: within the eighth');
    const grown = reused.memory([100, 81]);
    assert.notEqual(grown[0]!.buffer, first, 'larger than the area: a new one');
    assert.equal(grown[1]!.length, 81);
    assert.equal(reused.memory([181])[0]!.buffer, grown[0]!.buffer, 'and that one is kept');
  });

  it('starts from an area it is given', () => {
    const area = Buffer.alloc(64);
    const reused = createReusedChunkMemory(area);
    assert.equal(reused.memory([10, 20])[1]!.buffer, area.buffer);
    assert.equal(reused.area(), area);
  });
});

describe('createChunkAreas()', () => {
  it('keeps the largest area given back, hands it to one taker, and lets it go on clear', () => {
    const areas = createChunkAreas();
    assert.equal(areas.take(), undefined);
    const small = Buffer.alloc(10);
    const large = Buffer.alloc(20);
    areas.give(large);
    areas.give(small);
    assert.equal(areas.take(), large);
    assert.equal(areas.take(), undefined, 'a concurrent call gets none: it makes its own');
    areas.give(small);
    areas.clear();
    assert.equal(areas.take(), undefined);
  });
});
