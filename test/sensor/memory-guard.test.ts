// sensor/memoryGuard.ts: the ceiling on heap + Buffer memory that analyze checks between read chunks.
// A reading costs microseconds, so it is taken at most every CHECK_EVERY_MS, whatever the call rate;
// over the ceiling a full collection runs.
import assert from 'node:assert/strict';
import { CHECK_EVERY_MS, MemoryGuard } from '../../sensor/memoryGuard';

describe('sensor: memory guard', () => {
  it('measures at most once per interval however often it is called', () => {
    let now = 1000;
    const g = new MemoryGuard(1 << 20, () => now); // a ceiling nothing reaches
    for (let i = 0; i < 10_000; i++) g.check();
    assert.equal(g.readings, 1);
    now += CHECK_EVERY_MS - 1;
    g.check();
    assert.equal(g.readings, 1);
    now += 1;
    g.check();
    assert.equal(g.readings, 2);
    assert.equal(g.collections, 0);
  });

  it('collects when heap and Buffer memory are over the ceiling, once per interval', () => {
    let now = 0;
    const g = new MemoryGuard(0, () => now); // everything is over a ceiling of 0
    g.check();
    g.check();
    assert.equal(g.collections, 1);
    now += CHECK_EVERY_MS;
    g.check();
    assert.equal(g.collections, 2);
  });
});
