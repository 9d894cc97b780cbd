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

export class MemoryGuard {
  collections = 0;
  private readonly limit: number;
  constructor(limitMB: number) {
    this.limit = limitMB * (1 << 20);
  }
  /** Call at a quiet point (between read chunks). */
  check(): void {
    const m = process.memoryUsage();
    if (m.heapUsed + m.arrayBuffers < this.limit) return;
    const f = gc();
    if (!f) return;
    f();
    this.collections++;
  }
}
