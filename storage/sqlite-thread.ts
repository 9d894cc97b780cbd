// The store sink the pipeline uses: a SqliteSink running in a worker thread, so SQLite's work (inserts,
// the full-text index, rollups) runs on another core and `analyze` is not slowed by it. Events are sent
// in batches (1000 or every 250 ms). An alert keeps its guarantee: write() sends everything buffered with
// the alert and waits (Atomics.wait on a shared counter) until the worker has committed it, so an alert
// that a later output prints is already in the file — except while another connection holds the store's
// write lock: then the worker keeps the events and retries (sqlite-worker.ts), and write() does not wait.
// A failure the worker gives up on is reported on stderr and thrown by every later write() and close().

import { MessageChannel, receiveMessageOnPort, type MessagePort, type Worker } from 'node:worker_threads';
import { tsWorker } from '../common/tsWorker';
import type { EventSink, ShadowEvent } from '../common/events';
import type { ArchiveConfig } from '../common/config';
import { openStore, StoreError } from './store';
import { stderrLine } from '../common/stderr';

export interface ThreadedSinkOptions {
  file: string;
  sensor: string;
  archive: ArchiveConfig;
  retentionDays: number;
  synchronous: 'normal' | 'full';
  batch?: number;
  flushMs?: number;
  /** how long a locked store is waited out before the store is given up (default 60 s) */
  busyLimitMs?: number;
  /** how often the worker writes the rollups (default 2000 ms) */
  rollupMs?: number;
}

const COMMIT_TIMEOUT_MS = 60_000;

export class ThreadedSqliteSink implements EventSink {
  private worker: Worker;
  private buf: ShadowEvent[] = [];
  private seq = 0;
  /** [0] last committed sequence number, [1] 1 once the writer failed, [2] 1 while the store is locked */
  private readonly shared = new Int32Array(new SharedArrayBuffer(12));
  /** the worker's warnings and failure: read synchronously too, when write() finds the failure flag set */
  private readonly status: MessagePort;
  private timer: NodeJS.Timeout | undefined;
  private failure: string | undefined;
  private closed = false;
  /** the worker answered close(): it stored everything and closed the store */
  private acked = false;
  private exited: Promise<void>;
  private closedAck: Promise<void>;
  private resolveClosed!: () => void;

  constructor(private readonly o: ThreadedSinkOptions) {
    // open and migrate here, so a bad path or a foreign file is reported at once, in this thread
    openStore(o.file, { synchronous: o.synchronous }).close();
    const { port1, port2 } = new MessageChannel();
    this.status = port1;
    this.worker = tsWorker(require.resolve('./sqlite-worker'), { workerData: { ...o, shared: this.shared.buffer, status: port2 }, transferList: [port2], stdout: false, stderr: false });
    this.worker.unref();
    this.status.on('message', (m) => this.onStatus(m));
    this.status.unref();
    this.closedAck = new Promise((r) => (this.resolveClosed = r));
    this.worker.on('message', (m: any) => {
      if (m?.closed) (this.acked = true), this.resolveClosed();
    });
    // an error thrown in the worker arrives cloned: an SQLite error as { code } with no message
    this.worker.on('error', (e: any) => {
      this.stopped(`${String(e?.message ?? e?.code ?? e).split('\n')[0]}; nothing more is stored in this run: check the disk and the file ('shadowim doctor' checks the store), then run again`);
      this.resolveClosed();
    });
    this.exited = new Promise((r) =>
      this.worker.once('exit', (code) => {
        // before close() was answered, any exit is the writer's death (terminate() in close() exits 1 after it)
        if (!this.acked) this.stopped(`the store writer stopped (exit code ${code}); nothing more is stored in this run: check the disk and the file ('shadowim doctor' checks the store), then run again`);
        this.resolveClosed();
        r();
      }),
    );
  }

  /** the worker is gone: its own reason if it posted one, else `why`; every later write() and close() throws */
  private stopped(why: string): void {
    for (let m; (m = receiveMessageOnPort(this.status)); ) this.onStatus(m.message);
    this.onStatus({ error: why });
  }

  write(ev: ShadowEvent): void {
    if (this.closed) return;
    this.check();
    this.buf.push(ev);
    if (ev.type === 'alert') {
      this.send();
      this.waitCommitted(this.seq);
    } else if (this.buf.length >= (this.o.batch ?? 1000)) this.send();
    else if (!this.timer) {
      this.timer = setTimeout(() => this.send(), this.o.flushMs ?? 250);
      this.timer.unref();
    }
  }

  /** Adds sensor counters (see SqliteSink.addSensorCounters). */
  addSensorCounters(name: string, c: Record<string, number>): void {
    if (this.closed) return;
    this.send();
    this.worker.postMessage({ counters: { name, c } });
  }

  private onStatus(m: any): void {
    if (m?.warn) stderrLine(`shadowim: store ${this.o.file}: ${m.warn}`);
    if (m?.error && !this.failure) {
      this.failure = String(m.error);
      // said at once, even when no event follows; every later write() throws it again, unprinted
      stderrLine(`shadowim: store ${this.o.file}: ${this.failure}`);
    }
  }

  private check(): void {
    if (!this.failure && Atomics.load(this.shared, 1)) {
      // the worker posts its reason before it sets the flag
      for (let m; (m = receiveMessageOnPort(this.status)); ) this.onStatus(m.message);
      this.failure ??= 'the store writer failed';
    }
    if (this.failure) throw Object.assign(new StoreError(`store ${this.o.file}: ${this.failure}`), { reported: true });
  }

  private send(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.buf.length) return;
    this.worker.postMessage({ seq: ++this.seq, events: this.buf });
    this.buf = [];
  }

  private waitCommitted(seq: number): void {
    const deadline = Date.now() + COMMIT_TIMEOUT_MS;
    for (;;) {
      const done = Atomics.load(this.shared, 0);
      if (done >= seq) return;
      this.check();
      // locked by another connection: the worker keeps the alert and retries; the outputs go on
      if (Atomics.load(this.shared, 2)) return;
      const left = deadline - Date.now();
      if (left <= 0) throw new StoreError(`store ${this.o.file}: no commit within ${COMMIT_TIMEOUT_MS / 1000} s (disk stalled?)`);
      Atomics.wait(this.shared, 0, done, Math.min(left, 1000));
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.send();
    this.closed = true;
    this.worker.ref();
    this.worker.postMessage({ close: true });
    await this.closedAck;
    await this.worker.terminate();
    await this.exited;
    for (let m; (m = receiveMessageOnPort(this.status)); ) this.onStatus(m.message);
    this.status.close();
    this.check();
  }
}
