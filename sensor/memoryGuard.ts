// Keeps the process's resident memory under a ceiling on long captures. Live data on the packet path
// is bounded (fixed flow table, bounded buffers), but V8 collects garbage lazily and, at a high
// allocation rate, lets the heap and Buffer memory grow far past what is alive. When the JS heap plus
// Buffer memory crosses the ceiling, a full collection brings it back to what is alive; below it,
// nothing is done (a full GC costs ~0.1–0.2 s, so it must stay rare).

import v8 from 'node:v8';
import vm from 'node:vm';

let gcFn: (() => void) | undefined;

function gc(): (() => void) | undefined {
  if (gcFn) return gcFn;
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) return (gcFn = g);
  try {
    v8.setFlagsFromString('--expose-gc');
    gcFn = vm.runInNewContext('gc') as () => void;
  } catch {
    gcFn = undefined;
  }
  return gcFn;
}

/**
 * How often the heap is measured: process.memoryUsage() reads /proc and walks the heap's spaces (~4 µs);
 * once per read chunk it was 35 ms of a 1.25 s benchmark run. At the fastest allocation rate measured
 * (~0.5 GB/s) 20 ms add at most ~10 MB past the ceiling.
 */
export const CHECK_EVERY_MS = 20;

export class MemoryGuard {
  collections = 0;
  /** heap measurements taken */
  readings = 0;
  private readonly limit: number;
  private next = -Infinity;
  /** `clock`: milliseconds (tests pass their own) */
  constructor(limitMB: number, private readonly clock: () => number = performance.now.bind(performance)) {
    this.limit = limitMB * (1 << 20);
  }
  /** Call at a quiet point (between read chunks). Measures at most every CHECK_EVERY_MS. */
  check(): void {
    const now = this.clock();
    if (now < this.next) return;
    this.next = now + CHECK_EVERY_MS;
    this.readings++;
    const m = process.memoryUsage();
    if (m.heapUsed + m.arrayBuffers < this.limit) return;
    const f = gc();
    if (!f) return;
    f();
    this.collections++;
  }
}
