// FLAP framing over one direction of a reassembled TCP stream. Buffers at most one PDU (header +
// 0xffff bytes) plus the chunk being read; after garbage or a gap it resynchronises on the next
// plausible FLAP header instead of giving up.
import { FLAP_HEADER, FLAP_START } from './parser';

export type FlapHandler = (channel: number, seq: number, payload: Buffer) => void;

export class FlapReader {
  private pending: Buffer = EMPTY;
  private resync = false;

  constructor(private readonly onPdu: FlapHandler, private readonly onBad: (reason: string) => void) {}

  push(data: Buffer): void {
    let b = this.pending.length ? Buffer.concat([this.pending, data]) : data;
    this.pending = EMPTY;
    let o = 0;
    while (o < b.length) {
      if (this.resync) {
        const i = findHeader(b, o);
        if (i < 0) {
          // keep a possible header start at the very end
          o = Math.max(o, b.length - (FLAP_HEADER - 1));
          break;
        }
        o = i;
        this.resync = false;
      }
      if (b.length - o < FLAP_HEADER) break;
      if (b[o] !== FLAP_START || b[o + 1] < 1 || b[o + 1] > 5) {
        this.onBad('FLAP: bad start byte or channel');
        this.resync = true;
        o++;
        continue;
      }
      const len = b.readUInt16BE(o + 4);
      if (b.length - o < FLAP_HEADER + len) break;
      this.onPdu(b[o + 1], b.readUInt16BE(o + 2), b.subarray(o + FLAP_HEADER, o + FLAP_HEADER + len));
      o += FLAP_HEADER + len;
    }
    if (o < b.length) this.pending = Buffer.from(b.subarray(o)); // copy: the caller's buffer is reused
    b = EMPTY;
  }

  /** bytes were lost: drop the partial PDU and look for the next header */
  gap(): void {
    this.pending = EMPTY;
    this.resync = true;
  }
}

/** next offset where a FLAP header plausibly starts: 0x2a, channel 1–5 */
function findHeader(b: Buffer, from: number): number {
  for (let i = b.indexOf(FLAP_START, from); i >= 0 && i + 1 < b.length; i = b.indexOf(FLAP_START, i + 1)) {
    if (b[i + 1] >= 1 && b[i + 1] <= 5) return i;
  }
  return -1;
}

const EMPTY = Buffer.alloc(0);
