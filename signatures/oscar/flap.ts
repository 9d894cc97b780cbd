// FLAP framing over one direction of a reassembled TCP stream. Buffers at most one PDU (header +
// 0xffff bytes) plus the chunk being read; after garbage or a gap it resynchronises on the next
// plausible FLAP header instead of giving up.
import { FLAP_HEADER, FLAP_START, knownFamily } from './parser';
import { ByteQueue } from '../text';

/** `payload` is valid during the call only (it points into the caller's buffer or the reader's queue) */
export type FlapHandler = (channel: number, seq: number, payload: Buffer) => void;

/**
 * Most candidate headers held while they wait for the bytes that confirm them; more push out the
 * oldest. Random bytes make a few per 64 KiB; only bytes made to look like headers make more.
 */
export const MAX_WAITING = 64;

const enum C { Rejected, Waiting, Confirmed }

export class FlapReader {
  private q = new ByteQueue();
  private resync: boolean;
  /** resynchronising: the held bytes were searched for headers up to here (an offset into the queue) */
  private scanned = 0;
  /** resynchronising: offsets into the queue of the candidate headers still waiting for bytes, in stream order */
  private waiting: number[] = [];
  /** for each waiting candidate: the held length at which it can be told (its end, then 4 bytes past it) */
  private until: number[] = [];
  /** candidate headers looked at while resynchronising (each once, or again when its bytes arrive): a work count for tests */
  examined = 0;
  /** the end of the candidate check() looked at last */
  private end = 0;

  /** `seek`: the stream may start inside a PDU (picked up mid-connection): find the first header */
  constructor(private readonly onPdu: FlapHandler, private readonly onBad: (reason: string) => void, seek = false) {
    this.resync = seek;
  }

  push(data: Buffer): void {
    const b = this.q.feed(data);
    let o = 0;
    while (o < b.length) {
      if (this.resync) {
        const at = this.findHeader(b, o);
        if (at < 0) {
          // keep what may still prove to be a header (bounded: at most one PDU)
          o = this.keepFrom(b, o);
          break;
        }
        o = at;
        this.resync = false;
      }
      if (b.length - o < FLAP_HEADER) break;
      if (b[o] !== FLAP_START || b[o + 1] < 1 || b[o + 1] > 5) {
        this.onBad('FLAP: bad start byte or channel');
        this.startResync();
        o++;
        continue;
      }
      const len = b.readUInt16BE(o + 4);
      if (b.length - o < FLAP_HEADER + len) break;
      this.onPdu(b[o + 1], b.readUInt16BE(o + 2), b.subarray(o + FLAP_HEADER, o + FLAP_HEADER + len));
      o += FLAP_HEADER + len;
    }
    this.q.keepFrom(b, o);
  }

  /** bytes were lost: drop the partial PDU and look for the next header */
  gap(): void {
    this.q.clear();
    this.startResync();
  }

  private startResync(): void {
    this.resync = true;
    this.scanned = 0;
    this.waiting = [];
    this.until = [];
  }

  /**
   * The first offset from `from` where a FLAP plausibly starts (see check), or -1. Each push looks
   * only at the bytes that arrived since the last one and at the candidates that were waiting for
   * them: searching the held bytes again on every segment cost 8,000 candidates a byte when they
   * were full of headers claiming 64 KiB (1 MB in 1-byte segments: minutes).
   */
  private findHeader(b: Buffer, from: number): number {
    const w = this.waiting, u = this.until;
    // waiting candidates first: they come before anything not searched yet
    for (let k = 0; k < w.length; k++) {
      if (b.length < u[k]) continue;
      const r = this.check(b, w[k]);
      if (r === C.Confirmed) return this.found(w[k]);
      if (r === C.Rejected) {
        w.splice(k, 1);
        u.splice(k--, 1);
      } else u[k] = this.end + 4;
    }
    for (let i = b.indexOf(FLAP_START, Math.max(from, this.scanned)); i >= 0; i = b.indexOf(FLAP_START, i + 1)) {
      if (b.length - i < FLAP_HEADER + 4) {
        // too few bytes to judge: looked at again when more arrive
        this.scanned = i;
        return -1;
      }
      const r = this.check(b, i);
      if (r === C.Confirmed) return this.found(i);
      if (r === C.Waiting) {
        w.push(i);
        u.push(this.end < b.length ? this.end + 4 : this.end);
        if (w.length > MAX_WAITING) {
          w.shift();
          u.shift();
        }
      }
    }
    this.scanned = b.length;
    return -1;
  }

  private found(at: number): number {
    this.scanned = 0;
    this.waiting = [];
    this.until = [];
    return at;
  }

  /** No header confirmed in `b` (searched from `from`): where to keep it from; the offsets held become the kept bytes'. */
  private keepFrom(b: Buffer, from: number): number {
    let keep = Math.min(this.waiting.length ? this.waiting[0] : b.length, this.scanned);
    if (keep >= b.length) keep = Math.max(from, b.length - (FLAP_HEADER - 1));
    this.scanned -= keep;
    for (let k = 0; k < this.waiting.length; k++) {
      this.waiting[k] -= keep;
      this.until[k] -= keep;
    }
    return keep;
  }

  /**
   * Whether a FLAP starts at `i` (at least FLAP_HEADER + 4 bytes on): 0x2a, channel 1–5, content that
   * fits the channel, and right after it another FLAP header whose sequence number is the next one
   * (each side numbers its FLAPs one by one), or the end of the data. Waiting when that cannot be told
   * until more bytes arrive: random bytes (the tail of a PDU a capture started inside) can look like a
   * header claiming kilobytes, and must not hold the real FLAPs after them back until the connection ends.
   */
  private check(b: Buffer, i: number): C {
    this.examined++;
    const ch = b[i + 1];
    if (ch < 1 || ch > 5) return C.Rejected;
    const p = i + FLAP_HEADER;
    if (ch === 1 && b.readUInt32BE(p) !== 1) return C.Rejected;
    if (ch === 2 && !knownFamily(b.readUInt16BE(p))) return C.Rejected;
    const end = (this.end = p + b.readUInt16BE(i + 4));
    if (end === b.length) return C.Confirmed;
    if (end + 4 > b.length) return C.Waiting;
    return b[end] === FLAP_START && b[end + 1] >= 1 && b[end + 1] <= 5 && b.readUInt16BE(end + 2) === ((b.readUInt16BE(i + 2) + 1) & 0xffff) ? C.Confirmed : C.Rejected;
  }
}
