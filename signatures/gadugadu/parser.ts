// Gadu-Gadu (pre-protobuf, GG ≤ 8.x/10 wire format; libgadu docs, Wireshark packet-gadu-gadu.c):
// every packet is an 8-byte little-endian header { type u32, length u32 } and `length` bytes.
// Pure functions; never throw.

export const GG_WELCOME = 0x01;
export const GG_RECV_MSG = 0x0a;
export const GG_SEND_MSG = 0x0b;
export const GG_LOGIN = 0x0c;
export const GG_LOGIN_EXT = 0x13;
export const GG_LOGIN60 = 0x15;
export const GG_LOGIN70 = 0x19;
export const GG_LOGIN80BETA = 0x29;
export const GG_SEND_MSG80 = 0x2d;
export const GG_RECV_MSG80 = 0x2e;
export const GG_LOGIN80 = 0x31;
/** a message we sent from another session of the same account (multilogon): GG_RECV_MSG80 layout, `sender` = the peer */
export const GG_RECV_OWN_MSG = 0x5a;
export const GG_LOGIN105 = 0x83;

/** smallest body of each client login packet (fields up to and including the local port) */
export const LOGIN_MIN: Record<number, number> = {
  [GG_LOGIN]: 22,
  [GG_LOGIN_EXT]: 28,
  [GG_LOGIN60]: 31,
  [GG_LOGIN70]: 92,
  [GG_LOGIN80BETA]: 90,
  [GG_LOGIN80]: 105,
  [GG_LOGIN105]: 10,
};
const LOGIN_MAX = 4096;

export interface GgPacket {
  type: number;
  body: Buffer;
}

/** `buf` begins with a plausible login packet (complete or not): type known and length in range */
export function isLoginHeader(buf: Buffer): boolean {
  if (buf.length < 8) return false;
  const type = buf.readUInt32LE(0);
  const len = buf.readUInt32LE(4);
  const min = LOGIN_MIN[type];
  return min !== undefined && len >= min && len <= LOGIN_MAX;
}

/** exactly GG_WELCOME { seed u32 } at the start of the server's bytes */
export function isWelcome(buf: Buffer): boolean {
  return buf.length >= 12 && buf.readUInt32LE(0) === GG_WELCOME && buf.readUInt32LE(4) === 4;
}

/** UIN of a login packet; GG 7.x sets flag bits in the top of the UIN word */
export function loginUin(p: GgPacket): number | undefined {
  if (p.body.length < 4 || LOGIN_MIN[p.type] === undefined) return undefined;
  if (p.type === GG_LOGIN105) return undefined; // protobuf body: proto110.ts login105Uin
  const v = p.body.readUInt32LE(0);
  return p.type === GG_LOGIN70 || p.type === GG_LOGIN60 ? v & ~(0x04000000 | 0x40000000) : v;
}

const cp1250 = new TextDecoder('windows-1250');
const utf8 = new TextDecoder('utf-8');

function cstr(b: Buffer, off: number): Buffer {
  if (off < 0 || off >= b.length) return Buffer.alloc(0);
  const nul = b.indexOf(0, off);
  return b.subarray(off, nul < 0 ? b.length : nul);
}

export interface GgMessage {
  /** recipient (send) or sender (receive) */
  peer: number;
  text: string;
  msgClass: number;
}

/** GG_SEND_MSG / GG_RECV_MSG (< 8.0): the text is a NUL-terminated CP1250 string */
export function oldMessage(p: GgPacket): GgMessage | undefined {
  const hdr = p.type === GG_SEND_MSG ? 12 : 16;
  if (p.body.length < hdr) return undefined;
  return { peer: p.body.readUInt32LE(0), msgClass: p.body.readUInt32LE(hdr - 4), text: cp1250.decode(cstr(p.body, hdr)) };
}

/**
 * GG_SEND_MSG80 / GG_RECV_MSG80: fixed header, then offset_plain and offset_attributes (from the
 * start of the body), an HTML part (UTF-8) and a plain part (CP1250). The plain part wins; a
 * client that sends only HTML gets its markup stripped.
 */
export function msg80(p: GgPacket): GgMessage | undefined {
  const fixed = p.type === GG_SEND_MSG80 ? 20 : 24; // GG_RECV_MSG80 and GG_RECV_OWN_MSG have a time field
  const b = p.body;
  if (b.length < fixed) return undefined;
  const peer = b.readUInt32LE(0);
  const msgClass = b.readUInt32LE(fixed - 12);
  const offPlain = b.readUInt32LE(fixed - 8);
  const plain = offPlain >= fixed && offPlain < b.length ? cp1250.decode(cstr(b, offPlain)) : '';
  if (plain.trim()) return { peer, msgClass, text: plain };
  const html = utf8.decode(cstr(b, fixed));
  return { peer, msgClass, text: htmlToText(html) };
}

import { ByteQueue, htmlToText } from '../text';

export { htmlToText };

/**
 * Reassembles packets from a byte stream. After lost bytes (a gap), or a length beyond `max` (the
 * stream is not in step), packet boundaries are unknown — GG has no resynchronisation marker. Clients
 * write a packet per send and the reassembler hands each segment on by itself, so the framer takes
 * the next segment that is whole packets: every header in it a type and length `starts` accepts (one
 * that direction sends after the login), the last packet ending where the segment ends. A segment that
 * is not is dropped; nothing is held meanwhile, and a segment costs one pass over its headers. Bytes
 * inside a packet are never searched for a start (a peer writes them). `resynced` tells the decoder
 * that what follows came after such a loss. Without `starts` the direction is abandoned, as before.
 */
export class PacketFramer {
  /**
   * unconsumed bytes, in one growable buffer: a large packet in small segments is copied about once,
   * and costs about its size (a Buffer per segment cost ~110 bytes a byte in 1-byte segments)
   */
  private q = new ByteQueue(0);
  /** boundaries unknown: waiting for a segment of whole packets */
  private lost = false;
  /** in step again after a loss at least once */
  resynced = false;

  constructor(
    private readonly onPacket: (p: GgPacket) => void,
    private readonly onBad: (reason: string) => void,
    private readonly max = 65536,
    private readonly starts?: (type: number, len: number) => boolean,
  ) {}

  /** bytes held of a packet not complete yet */
  get buffered(): number {
    return this.q.length;
  }

  push(data: Buffer): void {
    if (!data.length) return;
    if (this.lost) {
      if (!this.wholePackets(data)) return;
      this.lost = false;
      this.resynced = true;
    }
    const b = this.q.feed(data);
    let pos = 0;
    while (b.length - pos >= 8) {
      const type = b.readUInt32LE(pos);
      const len = b.readUInt32LE(pos + 4);
      if (len > this.max) {
        this.onBad(`packet type 0x${type.toString(16)} claims ${len} bytes`);
        this.gap();
        return;
      }
      if (b.length - pos < 8 + len) break;
      // a view of the caller's buffer or of the queue: valid during the call
      this.onPacket({ type, body: b.subarray(pos + 8, pos + 8 + len) });
      if (this.lost) return;
      pos += 8 + len;
    }
    this.q.keepFrom(b, pos);
  }

  /** bytes lost: packet boundaries are unknown from here on, until a segment of whole packets */
  gap(): void {
    this.lost = true;
    this.q.clear();
  }

  /** whether `d` is whole packets of accepted types, the last ending with it */
  private wholePackets(d: Buffer): boolean {
    if (!this.starts) return false;
    let pos = 0;
    while (d.length - pos >= 8) {
      const len = d.readUInt32LE(pos + 4);
      if (len > this.max || !this.starts(d.readUInt32LE(pos), len)) return false;
      pos += 8 + len;
    }
    return pos === d.length;
  }
}
