// One framer for Yahoo's two magic-headed formats, YMSG ("YMSG", 20-byte header) and YCHT ("YCHT",
// 16): bytes → packets across segments; garbage (a stream picked up mid-packet, bytes no source
// writes) is skipped to the next magic and counted once per run; a gap drops what was held.
import { ByteQueue } from '../text';

export interface MagicFormat<T> {
  /** the 4-byte magic every header starts with */
  magic: Buffer;
  /** the malformed reason for bytes between packets */
  garbage: string;
  /** is a header at `pos` one to take: true, false, or 'more' (fewer than a header's bytes, and those agree) */
  header(b: Buffer, pos: number): boolean | 'more';
  /** the header's size and where its u16 BE body length is */
  headerSize: number;
  lengthAt: number;
  /** the packet; `body` and anything made from it point into `b`, so it is handled before push returns */
  packet(b: Buffer, pos: number, body: Buffer, malformed: (reason: string) => void): T;
}

export class MagicFramer<T> {
  /**
   * bytes of a packet not complete yet (or of a magic cut by a segment), in one growable buffer: a
   * 64 KiB packet in 1-byte segments costs about its size (a Buffer per segment cost ~110 bytes a byte)
   */
  private q = new ByteQueue(0);
  private synced: boolean;

  /** `synced` false: the stream may start mid-packet, so skip to the first header */
  constructor(
    private readonly fmt: MagicFormat<T>,
    private readonly onPacket: (p: T) => void,
    private readonly onMalformed: (reason: string) => void,
    synced = true,
  ) {
    this.synced = synced;
  }

  push(data: Buffer): void {
    const f = this.fmt;
    const b = this.q.feed(data);
    let pos = 0;
    while (b.length - pos >= 4) {
      const h = f.header(b, pos);
      if (h === 'more') break;
      if (!h) {
        if (this.synced) this.onMalformed(f.garbage);
        this.synced = false;
        const next = b.indexOf(f.magic, pos + 1);
        if (next < 0) {
          // keep the last 3 bytes: they may be the start of the next magic
          pos = Math.max(pos + 1, b.length - 3);
          break;
        }
        pos = next;
        continue;
      }
      const len = b.readUInt16BE(pos + f.lengthAt);
      if (b.length - pos < f.headerSize + len) break;
      this.onPacket(f.packet(b, pos, b.subarray(pos + f.headerSize, pos + f.headerSize + len), this.onMalformed));
      pos += f.headerSize + len;
      this.synced = true;
    }
    this.q.keepFrom(b, pos);
  }

  /** bytes held for a packet that has not completed */
  get buffered(): number {
    return this.q.length;
  }

  /** lost bytes: the next packet boundary is unknown */
  resync(): void {
    this.q.clear();
    this.synced = false;
  }
}
