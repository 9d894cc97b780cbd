// The stream of captured frames from `shadowim sensor`'s capture process to its analysis process (a
// pipe), so that capture and analysis run on two cores and an analysis pause never stalls the capture.
//
// Format (little-endian): an 8-byte header "SHIMFRS1", then records, each a 20-byte header and a body:
//   u8 type (1 = frame, 2 = counters, 3 = clock) | u8 flags (frame: bit 0 = cut by the snaplen) | u16 link type
//   u32 body length (frame: captured length) | u32 original length | f64 capture time, µs since the epoch
// A counters record (the capture's totals, sent last before a clean end) has a body of f64 values in
// COUNTER_FIELDS order; a reader takes the fields it knows and ignores any further ones. A clock record
// (no body) says that capture time has reached its time with no frame since: on a quiet link the packet
// path still ends flows that went idle, and their sessions are printed then, not at the next packet.
//
// Capture side: FrameQueue packs frames into large batches and hands them to a writer thread
// (WorkerWriter) that blocks on the pipe, so the capture thread never waits. Batches not yet written
// are the sensor's user-space queue; it is bounded, and a frame that does not fit is dropped and
// counted (the only drop counter the sensor has: the cap binding exposes no libpcap statistics).
//
// Analysis side: FrameStreamReader decodes chunks as they arrive, records split across chunks
// included. The stream comes from our own child, but a lying length must still not crash the analysis
// or make it allocate: the reader stops at the first impossible record and says where.

import type { FrameSink } from './captureFile';

export const STREAM_MAGIC = Buffer.from('SHIMFRS1', 'latin1');
export const REC_HEADER = 20;
export const REC_FRAME = 1;
export const REC_COUNTERS = 2;
export const REC_CLOCK = 3;
export const FLAG_TRUNCATED = 1;
/** the longest frame cap delivers (its snaplen is fixed at 65535) */
export const MAX_CAPLEN = 65535;
const MAX_COUNTERS_BODY = 256;

/** what the capture process knows and the analysis cannot see for itself */
export interface CaptureCounters {
  /** frames libpcap handed to the capture process */
  received: number;
  /** their captured bytes */
  bytes: number;
  /** frames cut by --snaplen */
  truncated: number;
  /** frames dropped because the queue was full (the analysis was too far behind) */
  queueDropped: number;
  queueDroppedBytes: number;
  /** bytes waiting in the queue now, at most, and the bound */
  queued: number;
  queuePeak: number;
  queueLimit: number;
}

export const COUNTER_FIELDS: (keyof CaptureCounters)[] = ['received', 'bytes', 'truncated', 'queueDropped', 'queueDroppedBytes', 'queued', 'queuePeak', 'queueLimit'];

export function emptyCounters(): CaptureCounters {
  return { received: 0, bytes: 0, truncated: 0, queueDropped: 0, queueDroppedBytes: 0, queued: 0, queuePeak: 0, queueLimit: 0 };
}

/** Writes one record header at `b[o]`. */
function putHeader(b: Buffer, o: number, type: number, flags: number, lt: number, len: number, orig: number, ts: number): void {
  b[o] = type;
  b[o + 1] = flags;
  b.writeUInt16LE(lt & 0xffff, o + 2);
  b.writeUInt32LE(len, o + 4);
  b.writeUInt32LE(orig > 0xffffffff ? 0xffffffff : orig, o + 8);
  b.writeDoubleLE(ts, o + 12);
}

/** A counters record (header and body), as the capture process sends it last. */
export function countersRecord(c: CaptureCounters, ts: number): Buffer {
  const body = COUNTER_FIELDS.length * 8;
  const b = Buffer.alloc(REC_HEADER + body);
  putHeader(b, 0, REC_COUNTERS, 0, 0, body, 0, ts);
  COUNTER_FIELDS.forEach((k, i) => b.writeDoubleLE(c[k], REC_HEADER + i * 8));
  return b;
}

/** One frame record (for tests and tools; the capture path packs in place with FrameQueue). */
export function frameRecord(lt: number, ts: number, data: Buffer, origLen = data.length, truncated = false): Buffer {
  const b = Buffer.alloc(REC_HEADER + data.length);
  putHeader(b, 0, REC_FRAME, truncated ? FLAG_TRUNCATED : 0, lt, data.length, origLen, ts);
  data.copy(b, REC_HEADER);
  return b;
}

/** Where FrameQueue's batches go. */
export interface BatchWriter {
  /** takes the batch over; `owned`: its whole ArrayBuffer is the queue's, so it may be moved to another thread */
  write(batch: Buffer, owned?: boolean): void;
  /** bytes of the batches given to write() that have left the queue (are in the pipe) */
  written(): number;
  /** a written batch buffer of this size to fill again, if one came back (saves allocating and faulting in fresh memory) */
  spare?(size: number): Buffer | undefined;
}

export interface FrameQueueOptions {
  /** most bytes (records) waiting at once, the current batch included */
  limit: number;
  /** batch buffer size; at least one whole record (default 256 KiB) */
  batchSize?: number;
  /** a batch is handed on once its first frame is this old (µs; default 5 ms), checked at each frame and by flushIfDue() */
  maxDelayUs?: number;
  /** called when a frame starts a new batch (to arrange a flushIfDue() when the capture callback returns) */
  onBatchStart?: () => void;
}

export const DEFAULT_BATCH = 256 << 10;

/**
 * The capture process's queue: frames packed into batches, tail-dropped (and counted) when the bytes
 * waiting would pass the limit. Costs per frame one bounds check and one copy; no allocation.
 */
export class FrameQueue implements FrameSink {
  readonly counters: CaptureCounters = emptyCounters();
  private batch: Buffer;
  private fill = 0;
  private posted = 0;
  private done = 0;
  private batchTs = 0;
  private readonly batchSize: number;
  private readonly maxDelay: number;

  constructor(private readonly writer: BatchWriter, private readonly opts: FrameQueueOptions) {
    this.batchSize = Math.max(REC_HEADER + MAX_CAPLEN, opts.batchSize ?? DEFAULT_BATCH);
    this.batch = this.newBatch();
    this.maxDelay = opts.maxDelayUs ?? 5_000;
    this.counters.queueLimit = opts.limit;
    this.posted = STREAM_MAGIC.length;
    this.writer.write(Buffer.from(STREAM_MAGIC));
  }

  frame(lt: number, ts: number, buf: Buffer, off: number, len: number, origLen: number): void {
    const c = this.counters;
    c.received++;
    c.bytes += len;
    if (len > MAX_CAPLEN) len = MAX_CAPLEN; // cannot happen with cap (snaplen 65535); the format needs it
    const need = REC_HEADER + len;
    if (this.fill + need > this.batch.length) this.flush();
    let waiting = this.posted - this.done + this.fill + need;
    if (waiting > this.opts.limit) {
      this.done = this.writer.written(); // the writer thread may have moved on since we last looked
      waiting = this.posted - this.done + this.fill + need;
      if (waiting > this.opts.limit) {
        c.queueDropped++;
        c.queueDroppedBytes += len;
        return;
      }
    }
    const b = this.batch, o = this.fill;
    putHeader(b, o, REC_FRAME, origLen > len ? FLAG_TRUNCATED : 0, lt, len, origLen, ts);
    buf.copy(b, o + REC_HEADER, off, off + len);
    this.fill = o + need;
    if (waiting > c.queuePeak) c.queuePeak = waiting;
    if (o === 0) {
      this.batchTs = ts;
      this.opts.onBatchStart?.();
    } else if (ts - this.batchTs > this.maxDelay) this.flush();
  }

  /** Hands the current batch to the writer (a small one as an exact-size copy; the buffer is reused). */
  flush(): void {
    const n = this.fill;
    if (!n) return;
    this.fill = 0;
    this.posted += n;
    if (n * 4 >= this.batch.length * 3) {
      const full = this.batch.subarray(0, n);
      this.batch = this.newBatch();
      this.writer.write(full, true);
    } else {
      const part = newBatch(n);
      this.batch.copy(part, 0, 0, n);
      this.writer.write(part, true);
    }
    this.done = this.writer.written();
  }

  /** Hands the current batch on if it is big enough to be worth a write, or old enough to be due. */
  flushIfDue(nowUs: number, minBytes = 64 << 10): void {
    if (this.fill && (this.fill >= minBytes || nowUs - this.batchTs >= this.maxDelay)) this.flush();
  }

  private newBatch(): Buffer {
    return this.writer.spare?.(this.batchSize) ?? newBatch(this.batchSize);
  }

  /** Bytes waiting: in batches not yet written, and in the current batch. */
  get queued(): number {
    this.done = this.writer.written();
    return this.posted - this.done + this.fill;
  }

  /** The counters now (queued refreshed). */
  snapshot(): CaptureCounters {
    return { ...this.counters, queued: this.queued };
  }

  /** The capture clock while no frames come (never dropped; after the frames queued before it). */
  clock(ts: number): void {
    const rec = Buffer.alloc(REC_HEADER);
    putHeader(rec, 0, REC_CLOCK, 0, 0, 0, 0, ts);
    this.control(rec);
  }

  /** Last record of a clean end: flushes, then queues the counters (never dropped). */
  end(ts: number): void {
    this.flush();
    this.control(countersRecord(this.snapshot(), ts));
  }

  /** A record of our own after the frames queued so far: never dropped, never batched. */
  private control(rec: Buffer): void {
    this.flush();
    this.posted += rec.length;
    this.writer.write(rec);
  }
}

/** A batch that owns its memory outright, so it can be moved to the writer thread without a copy. */
function newBatch(size: number): Buffer {
  return Buffer.allocUnsafeSlow(size);
}

/**
 * The writer thread of the capture process: blocking writes of whole batches to the pipe, so the
 * capture thread (stuck in cap's packet loop while packets keep coming) never waits and never polls.
 * Progress is shared through one atomic counter that the queue reads when it is near its bound.
 */
export class WorkerWriter implements BatchWriter {
  private readonly worker: import('node:worker_threads').Worker;
  private readonly done: BigInt64Array;
  private closed: Promise<void>;
  private readonly spares: ArrayBuffer[] = [];
  /** set when a write failed (the analysis process is gone: EPIPE) */
  error: string | undefined;

  constructor(fd: number, onError?: (msg: string) => void) {
    const { Worker } = require('node:worker_threads') as typeof import('node:worker_threads');
    const shared = new SharedArrayBuffer(8);
    this.done = new BigInt64Array(shared);
    this.worker = new Worker(WRITER_SRC, { eval: true, workerData: { fd, shared }, trackUnmanagedFds: false, execArgv: [] });
    this.closed = new Promise((resolve) => {
      this.worker.on('message', (m: { error?: string; closed?: boolean; ab?: ArrayBuffer }) => {
        if (m.ab) {
          if (this.spares.length < MAX_SPARES) this.spares.push(m.ab);
          return;
        }
        if (m.error && !this.error) {
          this.error = m.error;
          onError?.(m.error);
        }
        if (m.closed) resolve();
      });
      this.worker.on('error', (e) => {
        if (!this.error) {
          this.error = e.message;
          onError?.(e.message);
        }
        resolve();
      });
      this.worker.on('exit', () => resolve());
    });
  }

  write(batch: Buffer, owned = false): void {
    if (owned && batch.byteOffset === 0) {
      const ab = batch.buffer as ArrayBuffer;
      this.worker.postMessage({ ab, len: batch.length, back: ab.byteLength >= DEFAULT_BATCH }, [ab]);
    } else {
      const copy = Buffer.from(new ArrayBuffer(batch.length));
      batch.copy(copy);
      this.worker.postMessage({ ab: copy.buffer, len: batch.length }, [copy.buffer as ArrayBuffer]);
    }
  }

  written(): number {
    return Number(Atomics.load(this.done, 0));
  }

  spare(size: number): Buffer | undefined {
    while (this.spares.length) {
      const ab = this.spares.pop()!;
      if (ab.byteLength === size) return Buffer.from(ab);
    }
    return undefined;
  }

  /** Writes what is queued, closes the pipe (the reader sees its end) and stops the thread. */
  async close(): Promise<void> {
    this.worker.postMessage({ end: true });
    await this.closed;
    await this.worker.terminate();
  }
}

/** written batch buffers kept for reuse */
const MAX_SPARES = 8;

// Plain JavaScript (the thread does not load tsx). EAGAIN only if the pipe was made non-blocking.
const WRITER_SRC = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const done = new BigInt64Array(workerData.shared);
const nap = new Int32Array(new SharedArrayBuffer(4));
let failed = false;
parentPort.on('message', (m) => {
  if (m.end) {
    try { fs.closeSync(workerData.fd); } catch {}
    parentPort.postMessage({ closed: true });
    parentPort.close();
    return;
  }
  const b = Buffer.from(m.ab, 0, m.len);
  let off = 0;
  while (!failed && off < b.length) {
    try {
      off += fs.writeSync(workerData.fd, b, off, b.length - off);
    } catch (e) {
      if (e.code === 'EAGAIN') { Atomics.wait(nap, 0, 0, 1); continue; }
      failed = true;
      parentPort.postMessage({ error: e.code || e.message });
    }
  }
  Atomics.add(done, 0, BigInt(b.length));
  if (m.back) parentPort.postMessage({ ab: m.ab }, [m.ab]);
});
`;

/**
 * Decodes the frame stream chunk by chunk into a FrameSink. Memory: one buffer the size of the
 * largest record, for records split across chunks. After an impossible record nothing more is
 * delivered and `error` says what was wrong.
 */
export class FrameStreamReader {
  /** frames delivered, and their captured bytes */
  frames = 0;
  bytes = 0;
  /** the counters record, once it arrived (a clean end) */
  counters: CaptureCounters | undefined;
  error: string | undefined;
  private magic = 0;
  private offset = 0;
  private readonly pend = Buffer.alloc(REC_HEADER + MAX_CAPLEN);
  private pendLen = 0;
  private need = 0;

  constructor(private readonly sink: FrameSink) {}

  /** Decodes a chunk; false once the stream is known to be corrupt. */
  push(chunk: Buffer): boolean {
    if (this.error) return false;
    let p = 0;
    const n = chunk.length;
    while (this.magic < STREAM_MAGIC.length && p < n) {
      if (chunk[p] !== STREAM_MAGIC[this.magic]) return this.fail('it does not start with the frame stream header');
      this.magic++;
      p++;
      this.offset++;
    }
    while (p < n) {
      if (this.pendLen) {
        // a record split across chunks: its header first, then its body
        if (this.pendLen < REC_HEADER) {
          const take = Math.min(REC_HEADER - this.pendLen, n - p);
          chunk.copy(this.pend, this.pendLen, p, p + take);
          this.pendLen += take;
          p += take;
          if (this.pendLen < REC_HEADER) return true;
          const body = this.check(this.pend, 0);
          if (body < 0) return false;
          this.need = REC_HEADER + body;
        }
        const take = Math.min(this.need - this.pendLen, n - p);
        chunk.copy(this.pend, this.pendLen, p, p + take);
        this.pendLen += take;
        p += take;
        if (this.pendLen < this.need) return true;
        this.deliver(this.pend, 0);
        this.pendLen = 0;
        continue;
      }
      if (n - p < REC_HEADER) {
        chunk.copy(this.pend, 0, p, n);
        this.pendLen = n - p;
        return true;
      }
      const body = this.check(chunk, p);
      if (body < 0) return false;
      if (n - p < REC_HEADER + body) {
        this.need = REC_HEADER + body;
        chunk.copy(this.pend, 0, p, n);
        this.pendLen = n - p;
        return true;
      }
      this.deliver(chunk, p);
      p += REC_HEADER + body;
    }
    return true;
  }

  /** Bytes of a record left incomplete at the end of the stream (the capture process died mid-write). */
  get partial(): number {
    return this.magic < STREAM_MAGIC.length ? this.magic : this.pendLen;
  }

  /** the record header at b[o]: its body length, or -1 (and `error`) when it cannot be a record */
  private check(b: Buffer, o: number): number {
    const type = b[o];
    const len = b.readUInt32LE(o + 4);
    if (type === REC_FRAME) {
      if (len > MAX_CAPLEN) return this.bad(`a frame of ${len} bytes (at most ${MAX_CAPLEN})`);
      const orig = b.readUInt32LE(o + 8);
      if (orig < len) return this.bad(`a frame of ${len} bytes longer than its original length ${orig}`);
      return len;
    }
    if (type === REC_COUNTERS) {
      if (len === 0 || len > MAX_COUNTERS_BODY || len % 8) return this.bad(`a counters record of ${len} bytes`);
      return len;
    }
    if (type === REC_CLOCK) return len === 0 ? 0 : this.bad(`a clock record of ${len} bytes`);
    return this.bad(`a record of unknown type ${type}`);
  }

  private deliver(b: Buffer, o: number): void {
    const len = b.readUInt32LE(o + 4);
    this.offset += REC_HEADER + len;
    if (b[o] === REC_CLOCK) {
      this.sink.advance?.(b.readDoubleLE(o + 12));
      return;
    }
    if (b[o] === REC_COUNTERS) {
      const c = emptyCounters();
      const fields = Math.min(len / 8, COUNTER_FIELDS.length);
      for (let i = 0; i < fields; i++) {
        const v = b.readDoubleLE(o + REC_HEADER + i * 8);
        c[COUNTER_FIELDS[i]] = Number.isFinite(v) && v >= 0 ? v : 0;
      }
      this.counters = c;
      return;
    }
    this.frames++;
    this.bytes += len;
    this.sink.frame(b.readUInt16LE(o + 2), b.readDoubleLE(o + 12), b, o + REC_HEADER, len, b.readUInt32LE(o + 8));
  }

  private bad(what: string): number {
    this.fail(`${what} at byte ${this.offset}`);
    return -1;
  }

  private fail(msg: string): false {
    this.error ??= msg;
    return false;
  }
}
