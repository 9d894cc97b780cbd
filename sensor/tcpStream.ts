// One direction of a TCP connection turned back into an ordered byte stream.
//
// Policy: the first copy of a byte that reaches us wins ("first" policy, as in most IDS): data
// already delivered is never rewritten, and a later segment overlapping a buffered one only adds
// the bytes that were not buffered yet. Out-of-order segments are buffered up to a per-direction
// byte/segment bound and a global budget; when a bound is hit, or the stream ends with a hole, the
// missing range is reported as a gap and the buffered bytes after it are delivered — never papered over.

export interface StreamLimits {
  /** out-of-order bytes buffered per direction */
  maxBytes: number;
  /** out-of-order segments buffered per direction */
  maxSegments: number;
  /** segments further ahead than this are implausible and ignored */
  maxAhead: number;
}

export const DEFAULT_STREAM_LIMITS: StreamLimits = { maxBytes: 1 << 20, maxSegments: 1024, maxAhead: 1 << 30 };

/** Shared budget of buffered out-of-order bytes across all flows. */
export class StreamBudget {
  used = 0;
  constructor(readonly max: number) {}
}

export interface StreamOut {
  data(buf: Buffer, ts: number): void;
  gap(length: number, ts: number): void;
}

interface Seg {
  seq: number;
  data: Buffer;
}

const NO_SEGS: Seg[] = [];

export class TcpStream {
  /** next expected sequence number (unsigned 32-bit) */
  next = 0;
  started = false;
  /** sequence number just past the FIN, -1 until seen */
  finSeq = -1;
  /** out-of-order segments, by sequence; the shared empty list until one arrives (most streams never) */
  private segs: Seg[] = NO_SEGS;
  private queued = 0;

  constructor(private readonly limits: StreamLimits, private readonly budget: StreamBudget) {}

  /** Start at a known sequence number (the byte after the SYN). */
  startAt(seq: number): void {
    this.next = seq >>> 0;
    this.started = true;
  }

  /** A segment carrying `buf[off, off+len)` at sequence number `seq`. */
  segment(seq: number, buf: Buffer, off: number, len: number, ts: number, out: StreamOut): void {
    if (!this.started) this.startAt(seq); // mid-stream pickup: start where we came in
    if (len <= 0) return;
    const rel = (seq - this.next) | 0;
    if (rel + len <= 0) return; // retransmission of delivered bytes
    if (rel <= 0) {
      const skip = -rel;
      if (this.segs.length) {
        // buffered bytes ahead may overlap this segment: they were first, so merge through the queue
        this.insert(0, buf, off + skip, len - skip);
        this.drain(ts, out);
        return;
      }
      this.next = (this.next + len - skip) >>> 0;
      out.data(buf.subarray(off + skip, off + len), ts);
      return;
    }
    if (rel > this.limits.maxAhead) return;
    this.insert(rel, buf, off, len);
    if (this.queued > this.limits.maxBytes || this.segs.length > this.limits.maxSegments || this.budget.used > this.budget.max) {
      this.flush(ts, out);
    }
  }

  /** Bytes announced but never seen (`length` bytes at `seq`, e.g. cut by the snaplen). */
  missing(seq: number, length: number, ts: number, out: StreamOut): void {
    if (!this.started) this.startAt(seq);
    const rel = (seq - this.next) | 0;
    if (rel !== 0 || length <= 0) return; // out of order: the hole is reported when the stream moves past it
    this.next = (this.next + length) >>> 0;
    out.gap(length, ts);
    if (this.segs.length) this.drain(ts, out);
  }

  /** Delivers everything buffered, reporting each hole before it as a gap. */
  flush(ts: number, out: StreamOut): void {
    while (this.segs.length) {
      const rel = (this.segs[0].seq - this.next) | 0;
      if (rel > 0) {
        out.gap(rel, ts);
        this.next = (this.next + rel) >>> 0;
      }
      this.drain(ts, out);
    }
  }

  /** End of the flow: buffered data and any hole before the FIN come out. */
  end(ts: number, out: StreamOut): void {
    this.flush(ts, out);
    if (this.finSeq >= 0 && this.started) {
      const rel = (this.finSeq - this.next) | 0;
      if (rel > 0 && rel <= this.limits.maxAhead) {
        out.gap(rel, ts);
        this.next = this.finSeq >>> 0;
      }
    }
  }

  /** Drops all buffered data (the consumer wants no more). */
  discard(): void {
    this.budget.used -= this.queued;
    this.queued = 0;
    this.segs = NO_SEGS;
  }

  get bufferedBytes(): number {
    return this.queued;
  }

  private drain(ts: number, out: StreamOut): void {
    const segs = this.segs;
    while (segs.length) {
      const s = segs[0];
      const rel = (s.seq - this.next) | 0;
      if (rel > 0) break;
      segs.shift();
      this.queued -= s.data.length;
      this.budget.used -= s.data.length;
      const end = rel + s.data.length;
      if (end > 0) {
        this.next = (this.next + end) >>> 0;
        out.data(rel === 0 ? s.data : s.data.subarray(-rel), ts);
      }
    }
  }

  /** Buffers the parts of [rel, rel+len) not already buffered (first copy wins). */
  private insert(rel: number, buf: Buffer, off: number, len: number): void {
    const segs = this.segs;
    const a = rel, b = rel + len;
    let pos = a;
    let at = 0; // insertion index, keeps segs sorted by sequence
    for (let i = 0; i < segs.length && pos < b; i++) {
      const x = (segs[i].seq - this.next) | 0;
      const y = x + segs[i].data.length;
      if (y <= pos) {
        at = i + 1;
        continue;
      }
      if (x >= b) break;
      if (x > pos) {
        this.put(i, pos, buf, off + (pos - a), x - pos);
        i++;
      }
      pos = Math.max(pos, y);
      at = i + 1;
    }
    if (pos < b) this.put(at, pos, buf, off + (pos - a), b - pos);
  }

  private put(i: number, rel: number, buf: Buffer, off: number, len: number): void {
    const data = Buffer.from(buf.subarray(off, off + len));
    if (this.segs === NO_SEGS) this.segs = [];
    this.segs.splice(i, 0, { seq: (this.next + rel) >>> 0, data });
    this.queued += len;
    this.budget.used += len;
  }
}
