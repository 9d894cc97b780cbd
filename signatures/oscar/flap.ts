// FLAP framing over one direction of a reassembled TCP stream. Buffers at most one PDU (header +
// 0xffff bytes) plus the chunk being read; after garbage or a gap it resynchronises on the next
// plausible FLAP header instead of giving up.
import { FLAP_HEADER, FLAP_START, knownFamily } from './parser';
import { ByteQueue } from '../text';

/** `payload` is valid during the call only (it points into the caller's buffer or the reader's queue) */
export type FlapHandler = (channel: number, seq: number, payload: Buffer) => void;

export class FlapReader {
  private q = new ByteQueue();
  private resync: boolean;

  /** `seek`: the stream may start inside a PDU (picked up mid-connection): find the first header */
  constructor(private readonly onPdu: FlapHandler, private readonly onBad: (reason: string) => void, seek = false) {
    this.resync = seek;
  }

  push(data: Buffer): void {
    const b = this.q.feed(data);
    let o = 0;
    while (o < b.length) {
      if (this.resync) {
        const r = findHeader(b, o);
        if (r.at < 0) {
          // keep what may still prove to be a header (bounded: at most one PDU)
          o = r.waitFrom >= 0 ? r.waitFrom : Math.max(o, b.length - (FLAP_HEADER - 1));
          break;
        }
        o = r.at;
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
    this.q.keepFrom(b, o);
  }

  /** bytes were lost: drop the partial PDU and look for the next header */
  gap(): void {
    this.q.clear();
    this.resync = true;
  }
}

/**
 * Next offset where a FLAP plausibly starts: 0x2a, channel 1–5, content that fits the channel, and
 * right after it another FLAP header whose sequence number is the next one (each side numbers its
 * FLAPs one by one), or the end of the data. When a candidate cannot be verified until more bytes
 * arrive, `waitFrom` says where to keep the data from — but later candidates are still tried: random
 * bytes (the tail of a PDU a capture started inside) can look like a header claiming kilobytes, and
 * must not hold the real FLAPs after them back until the connection ends.
 */
function findHeader(b: Buffer, from: number): { at: number; waitFrom: number } {
  let waitFrom = -1;
  for (let i = b.indexOf(FLAP_START, from); i >= 0; i = b.indexOf(FLAP_START, i + 1)) {
    if (b.length - i < FLAP_HEADER + 4) return { at: -1, waitFrom: waitFrom >= 0 ? waitFrom : i };
    const ch = b[i + 1];
    if (ch < 1 || ch > 5) continue;
    const p = i + FLAP_HEADER;
    if (ch === 1 && b.readUInt32BE(p) !== 1) continue;
    if (ch === 2 && !knownFamily(b.readUInt16BE(p))) continue;
    const end = p + b.readUInt16BE(i + 4);
    if (end === b.length) return { at: i, waitFrom: -1 };
    if (end + 4 > b.length) {
      if (waitFrom < 0) waitFrom = i;
      continue;
    }
    if (b[end] === FLAP_START && b[end + 1] >= 1 && b[end + 1] <= 5 && b.readUInt16BE(end + 2) === ((b.readUInt16BE(i + 2) + 1) & 0xffff)) return { at: i, waitFrom: -1 };
  }
  return { at: -1, waitFrom };
}
