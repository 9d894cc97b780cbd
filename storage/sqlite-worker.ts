// Worker side of ThreadedSqliteSink: a SqliteSink fed with batches. A batch ending in an alert is
// committed at once (the sink commits on an alert) and its sequence number published in shared memory,
// where the main thread waits for it. Other batches are committed once the batches already queued
// behind them have been read: when the writer falls behind, several batches make one transaction, and
// scattered index inserts (sender, recipient, flow) then rewrite far fewer pages per message.
//
// Another connection holding the write lock (SQLITE_BUSY once SQLite's 5 s busy timeout has passed) is
// waited out: the failed transaction rolls back, its events stay in the sink, later batches queue here,
// and the write is tried again every second, for up to `busyLimitMs`. Any other failure, or a lock held
// longer, stops the store for good and is reported (the main thread says so on stderr).
//
// The sink arms no timer of its own here: its rollups (every `rollupMs`) and its purge (at start, then
// hourly) are driven from here through that same path, so a lock met by either is waited out too. (A
// rollup timer's flush() once threw SQLITE_BUSY where nothing caught it: the worker died, silently.)
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { openStore } from './store';
import { SqliteSink } from './sqlite-sink';

/** the most events one coalesced transaction holds */
const MAX_TX_EVENTS = 20_000;
const BUSY_RETRY_MS = 1000;
const PURGE_MS = 3600_000;

const o = workerData;
const shared = new Int32Array(o.shared);
const status: MessagePort = o.status;
const busyLimitMs: number = o.busyLimitMs ?? 60_000;

// never a silent death: anything thrown where nothing catches it is reported as a failure first
process.on('uncaughtException', (e: any) => {
  fail(`${String(e?.message ?? e?.code ?? e).split('\n')[0]}; nothing more is stored in this run: check the disk and the file ('shadowim doctor' checks the store), then run again`);
  process.exit(1);
});

function fail(e: any): void {
  status.postMessage({ error: String(e?.message ?? e).split('\n')[0] });
  Atomics.store(shared, 1, 1);
  Atomics.notify(shared, 0);
}

function publish(seq: number): void {
  Atomics.store(shared, 0, seq);
  Atomics.notify(shared, 0);
}

/** shared[2]: 1 while the store is locked (the main thread then stops waiting for alerts to commit) */
function setBusy(on: boolean): void {
  Atomics.store(shared, 2, on ? 1 : 0);
  Atomics.notify(shared, 0);
}

const isBusy = (e: any) => /^SQLITE_(BUSY|LOCKED)/.test(String(e?.code ?? ''));

try {
  const db = openStore(o.file, { synchronous: o.synchronous });
  // batching happens in the main thread and here; the sink itself commits on alerts and at MAX_TX_EVENTS
  // its rollups and purge are driven from here (tick, purgeDue), through run() like the commits
  const rollupMs: number = o.rollupMs ?? 2000;
  const sink = new SqliteSink(db, { sensor: o.sensor, archive: o.archive, retentionDays: o.retentionDays, ownDb: true, batch: MAX_TX_EVENTS, rollupMs, timers: false });
  let uncommitted = 0; // highest sequence number read but not yet committed
  let scheduled = false;
  /** messages not handled yet: more than one only while the store is locked */
  const queue: any[] = [];
  let busySince = 0;
  let dead = false;
  let closed = false;
  /** the retention purge is to run (at start, then hourly); cleared once it has */
  let purgeDue = true;

  /** commits the events in the sink, and the rollups when due (every rollupMs) or `rollups` is set */
  const commit = (rollups = false) => {
    sink.flush(rollups);
    if (!uncommitted) return;
    publish(uncommitted);
    uncommitted = 0;
  };

  const finish = () => {
    if (closed) return;
    closed = true;
    try {
      if (dead) db.close();
      else void sink.close().catch(() => undefined);
    } catch {
      /* already failed and reported */
    }
    parentPort!.postMessage({ closed: true });
  };

  /** one message; a throw leaves it (what remains of it) at the head of the queue */
  const step = (m: any) => {
    if (m.events) {
      uncommitted = m.seq;
      // m.done: events already handed to the sink (they stay in it when a commit fails)
      for (m.done ??= 0; m.done < m.events.length; ) sink.write(m.events[m.done++]);
      if (m.events[m.events.length - 1]?.type === 'alert') commit(); // the sink committed it in write()
      else if (!scheduled) {
        // after the batches already queued have been read (setImmediate runs after them)
        scheduled = true;
        setImmediate(() => {
          scheduled = false;
          if (!busySince && !dead) run(commit);
        });
      }
      return;
    }
    commit();
    if (m.counters) sink.addSensorCounters(m.counters.name, m.counters.c);
    else if (m.close) {
      sink.flush(true);
      finish();
    }
  };

  const drain = () => {
    if (busySince) commit(); // the transaction that failed, first
    while (queue.length) {
      step(queue[0]);
      queue.shift();
    }
    if (purgeDue && !closed) {
      sink.purge();
      purgeDue = false;
    }
    if (busySince) {
      status.postMessage({ warn: `written again, the lock released; no event was lost` });
      setBusy(false);
    }
    busySince = 0;
  };

  const run = (f: () => void) => {
    try {
      f();
    } catch (e: any) {
      failed(e);
    }
  };

  const failed = (e: any) => {
    const msg = String(e?.message ?? e).split('\n')[0];
    if (isBusy(e)) {
      const now = Date.now();
      if (!busySince) {
        busySince = now;
        setBusy(true);
        status.postMessage({ warn: `${msg}: another connection holds its write lock; events are kept and the write retried every second for up to ${Math.round(busyLimitMs / 1000)} s` });
      }
      if (now - busySince < busyLimitMs) {
        setTimeout(() => run(drain), BUSY_RETRY_MS);
        return;
      }
      e = `${msg} for over ${Math.round(busyLimitMs / 1000)} s: another connection kept its write lock (another program writing this store, or a sqlite3 shell left inside a transaction); nothing more is stored in this run: stop that program, then run again`;
    } else e = `${msg}; nothing more is stored in this run: check the disk and the file ('shadowim doctor' checks the store), then run again`;
    dead = true;
    busySince = 0;
    setBusy(false);
    fail(e);
    if (queue.some((m) => m.close)) finish();
  };

  // rollups written every rollupMs even when no event comes, and the purge hourly; a lock met here is
  // waited out as for a commit (while the store is locked, the retry does both)
  const idle = () => !busySince && !dead && !closed;
  setInterval(() => idle() && run(() => commit(true)), rollupMs).unref();
  setInterval(() => ((purgeDue = true), idle() && run(drain)), PURGE_MS).unref();
  run(drain); // the purge at start

  parentPort!.on('message', (m: any) => {
    if (dead) {
      if (m.close) finish();
      return;
    }
    queue.push(m);
    if (!busySince) run(drain);
  });
} catch (e: any) {
  fail(`${String(e?.message ?? e).split('\n')[0]}; nothing is stored in this run: check the disk and the file ('shadowim doctor' checks the store), then run again`);
}
