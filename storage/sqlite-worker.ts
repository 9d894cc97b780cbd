// Worker side of ThreadedSqliteSink: a SqliteSink fed with batches; each batch is committed, then its
// sequence number is published in shared memory (the main thread waits on it for alerts).
import { parentPort, workerData } from 'node:worker_threads';
import { openStore } from './store';
import { SqliteSink } from './sqlite-sink';

const o = workerData;
const shared = new Int32Array(o.shared);
try {
  const db = openStore(o.file, { synchronous: o.synchronous });
  // batching happens in the main thread; here every batch is one transaction
  const sink = new SqliteSink(db, { sensor: o.sensor, archive: o.archive, retentionDays: o.retentionDays, ownDb: true, batch: 1 << 30, flushMs: 1 << 30 });
  parentPort!.on('message', async (m: any) => {
    try {
      if (m.events) {
        for (const ev of m.events) sink.write(ev);
        sink.flush();
        Atomics.store(shared, 0, m.seq);
        Atomics.notify(shared, 0);
      } else if (m.counters) sink.addSensorCounters(m.counters.name, m.counters.c);
      else if (m.close) {
        await sink.close();
        parentPort!.postMessage({ closed: true });
      }
    } catch (e: any) {
      Atomics.store(shared, 1, 1);
      Atomics.notify(shared, 0);
      parentPort!.postMessage({ error: String(e?.message ?? e).split('\n')[0] });
    }
  });
} catch (e: any) {
  Atomics.store(shared, 1, 1);
  Atomics.notify(shared, 0);
  parentPort!.postMessage({ error: String(e?.message ?? e).split('\n')[0] });
}
