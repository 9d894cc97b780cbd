// Worker side of ThreadedSqliteSink: a SqliteSink fed with batches. A batch ending in an alert is
// committed at once (the sink commits on an alert) and its sequence number published in shared memory,
// where the main thread waits for it. Other batches are committed once the batches already queued
// behind them have been read: when the writer falls behind, several batches make one transaction, and
// scattered index inserts (sender, recipient, flow) then rewrite far fewer pages per message.
import { parentPort, workerData } from 'node:worker_threads';
import { openStore } from './store';
import { SqliteSink } from './sqlite-sink';

/** the most events one coalesced transaction holds */
const MAX_TX_EVENTS = 20_000;

const o = workerData;
const shared = new Int32Array(o.shared);

function fail(e: any): void {
  Atomics.store(shared, 1, 1);
  Atomics.notify(shared, 0);
  parentPort!.postMessage({ error: String(e?.message ?? e).split('\n')[0] });
}

function publish(seq: number): void {
  Atomics.store(shared, 0, seq);
  Atomics.notify(shared, 0);
}

try {
  const db = openStore(o.file, { synchronous: o.synchronous });
  // batching happens in the main thread and here; the sink itself commits on alerts and at MAX_TX_EVENTS
  const sink = new SqliteSink(db, { sensor: o.sensor, archive: o.archive, retentionDays: o.retentionDays, ownDb: true, batch: MAX_TX_EVENTS, flushMs: 1 << 30 });
  let uncommitted = 0; // highest sequence number read but not yet committed
  const commit = () => {
    if (!uncommitted) return;
    sink.flush();
    publish(uncommitted);
    uncommitted = 0;
  };
  parentPort!.on('message', async (m: any) => {
    try {
      if (m.events) {
        for (const ev of m.events) sink.write(ev);
        if (m.events[m.events.length - 1]?.type === 'alert') {
          // the sink committed it (and everything before it) in write()
          uncommitted = 0;
          publish(m.seq);
        } else {
          // after the batches already queued have been read (setImmediate runs after them)
          if (!uncommitted) setImmediate(() => {
            try {
              commit();
            } catch (e) {
              fail(e);
            }
          });
          uncommitted = m.seq;
        }
        return;
      }
      commit();
      if (m.counters) sink.addSensorCounters(m.counters.name, m.counters.c);
      else if (m.close) {
        await sink.close();
        parentPort!.postMessage({ closed: true });
      }
    } catch (e: any) {
      fail(e);
    }
  });
} catch (e: any) {
  fail(e);
}
