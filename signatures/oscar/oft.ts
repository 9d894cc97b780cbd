// OFT2 (OSCAR File Transfer) on the direct or proxied connection a rendezvous proposal announced.
// Header (libpurple peer/oft.c, all big-endian): "OFT2" | hdrlen u16 | type u16 | cookie[8] |
// encrypt u16 | compress u16 | total files u16 | files left u16 | total parts u16 | parts left u16 |
// total size u32 @0x1c | size u32 @0x20 | mod time @0x24 | checksum @0x28 | … | id string[32] @0x44 |
// … | name encoding u16 @0xbc | language @0xbe | file name @0xc0 (NUL-padded to hdrlen).
// The side that sends a 0x0101 prompt sends the file's bytes next, exactly `size` of them.
import type { Dir } from '../../sensor/types';
import type { FileWriter, SessionContext, StreamDecoder } from '../types';
import { asciiOrUtf8, printable, utf16be } from './parser';
import { ByteQueue, cp1252 } from '../text';
import { readRendezvousHeader, type RendezvousFormat, type RendezvousSide } from './rendezvous';

export const OFT_MIN_HEADER = 0xc0;
export const OFT_MAX_HEADER = 0x2000;
export const OFT_PROMPT = 0x0101;
export const OFT_RESUME_ACK = 0x0106;
/** header types seen in OFT2 exchanges (prompt, ack, done, resume and their answers) */
export const OFT_TYPES = new Set([0x0101, 0x0106, 0x0202, 0x0204, 0x0205, 0x0207]);

export interface OftHeader {
  magic: string;
  hdrLen: number;
  type: number;
  cookie: Buffer;
  totalFiles: number;
  filesLeft: number;
  totalSize: number;
  size: number;
  checksum: number;
  /** bytes the receiver already has (resume) */
  received: number;
  filename: string;
}

export function parseOftHeader(h: Buffer): OftHeader | null {
  if (h.length < OFT_MIN_HEADER) return null;
  const magic = h.toString('latin1', 0, 4);
  if (magic !== 'OFT2' && magic !== 'OFT3') return null;
  const hdrLen = h.readUInt16BE(4);
  if (hdrLen < OFT_MIN_HEADER || hdrLen > h.length) return null;
  const enc = h.length >= 0xbe ? h.readUInt16BE(0xbc) : 0;
  let raw = h.subarray(0xc0, hdrLen);
  let name: string;
  if (enc === 2) {
    let end = raw.length & ~1;
    for (let i = 0; i + 1 < raw.length; i += 2) if (raw[i] === 0 && raw[i + 1] === 0) { end = i; break; }
    name = utf16be(raw.subarray(0, end)).text;
  } else {
    const z = raw.indexOf(0);
    if (z >= 0) raw = raw.subarray(0, z);
    name = enc === 3 ? cp1252(raw) : asciiOrUtf8(raw).text;
  }
  return {
    magic, hdrLen,
    type: h.readUInt16BE(6),
    cookie: h.subarray(8, 16),
    totalFiles: h.readUInt16BE(0x14),
    filesLeft: h.readUInt16BE(0x16),
    totalSize: h.readUInt32BE(0x1c),
    size: h.readUInt32BE(0x20),
    checksum: h.readUInt32BE(0x28),
    received: h.readUInt32BE(0x3c),
    filename: printable(name).trim().slice(0, 1024),
  };
}

/** Cheap check for detection: the first bytes of a direction look like an OFT2 header. */
export function looksLikeOft(b: Buffer): boolean | 'more' {
  if (b.length < 8) {
    const m = b.toString('latin1', 0, Math.min(4, b.length));
    return 'OFT2'.startsWith(m) || 'OFT3'.startsWith(m) ? 'more' : false;
  }
  const magic = b.toString('latin1', 0, 4);
  if (magic !== 'OFT2' && magic !== 'OFT3') return false;
  const len = b.readUInt16BE(4);
  if (len < OFT_MIN_HEADER || len > OFT_MAX_HEADER || !OFT_TYPES.has(b.readUInt16BE(6))) return false;
  // nDPI's check: the first segment is exactly one header; allow a header followed by file bytes too
  if (b.length < len) return 'more';
  return true;
}

export interface TransferMeta {
  from: string;
  to: string;
  filename?: string;
  size?: number;
  transfer_id?: string;
}

const OFT_FORMAT: RendezvousFormat<OftHeader> = {
  magics: ['OFT2', 'OFT3'],
  minHeader: OFT_MIN_HEADER,
  maxHeader: OFT_MAX_HEADER,
  minProxyFrame: 4,
  parse: parseOftHeader,
  notHeader: 'OFT: neither an OFT2 header nor a proxy frame',
  badLength: 'OFT: header length out of range',
  unreadable: 'OFT: unreadable header',
};

interface Side extends RendezvousSide {
  mode: 'header' | 'data' | 'dead';
  remaining: number;
  /** file bytes written since the prompt */
  written: number;
  writer?: FileWriter;
}

/** Decodes one OFT connection: headers in both directions, file bytes carved to ctx.openFile. */
export class OftDecoder implements StreamDecoder {
  private sides: [Side, Side] = [newSide(), newSide()];
  private files = 0;

  constructor(private readonly ctx: SessionContext, private readonly meta?: TransferMeta) {
    ctx.setService('file-transfer');
  }

  onData(dir: Dir, data: Buffer, ts: number): void {
    const s = this.sides[dir];
    let o = 0;
    while (o < data.length && s.mode !== 'dead') {
      if (s.mode === 'data') {
        if (s.written === 0 && s.remaining > 0 && (s.buf.length > 0 || (data.length - o < 8 && mayStartResumeAck(data, o)))) {
          // a 0x0106 resume answer cut inside its first 8 bytes: hold them (in the header queue, empty
          // in data mode) until they tell a header from file data
          const take = Math.min(8 - s.buf.length, data.length - o);
          s.buf.push(data.subarray(o, o + take));
          o += take;
          if (s.buf.length < 8 && mayStartResumeAck(s.buf.view(), 0)) continue;
          const held = Buffer.from(s.buf.view());
          s.buf.clear();
          if (isResumeAck(held, 0)) {
            s.mode = 'header';
            this.onData(dir, held, ts); // gathered again, as a header
          } else {
            const n = this.fileBytes(s, held, 0, ts);
            if (n < held.length) this.onData(dir, held.subarray(n), ts); // what follows a tiny file's end
          }
          continue;
        }
        if (s.written === 0 && isResumeAck(data, o)) {
          // resume: the sender answers the receiver's 0x0205 with a 0x0106 header before any file byte
          s.mode = 'header';
          continue;
        }
        o += this.fileBytes(s, data, o, ts);
        continue;
      }
      const r = readRendezvousHeader(s, OFT_FORMAT, data, o);
      o = r.o;
      if (r.bad) this.bad(s, r.bad);
      else if (r.header) {
        // h.cookie points into the queue: the header is used up before the queue is cleared
        this.onHeader(dir, s, r.header, ts);
        s.buf.clear();
      }
    }
  }

  private onHeader(dir: Dir, s: Side, h: OftHeader, ts: number): void {
    if (h.type === OFT_RESUME_ACK && s.writer) {
      // bytes before the resume offset went over an earlier connection: this one cannot be complete
      const skip = Math.min(h.received, s.remaining);
      s.writer.gap(skip);
      s.remaining -= skip;
      s.mode = 'data';
      if (s.remaining === 0) this.finish(s, ts);
      return;
    }
    if (h.type !== OFT_PROMPT) return; // acks, done, other resume steps: nothing to carve
    const m = this.meta;
    const cookieHex = h.cookie.readBigUInt64BE(0) !== 0n ? h.cookie.toString('hex') : undefined;
    const filename = h.filename || m?.filename || '(unnamed)';
    if (this.files++ >= 1000) return;
    const w = this.ctx.openFile(ts, dir, {
      filename,
      from: m?.from ?? '',
      to: m?.to ?? '',
      size: h.size,
      ...((m?.transfer_id ?? cookieHex) ? { transfer_id: m?.transfer_id ?? cookieHex } : {}),
    });
    s.writer = w;
    s.written = 0;
    s.remaining = h.size;
    s.mode = 'data';
    if (h.size === 0) this.finish(s, ts);
  }

  /** File bytes from `b` at `o`, at most what the file still needs; returns how many were taken. */
  private fileBytes(s: Side, b: Buffer, o: number, ts: number): number {
    const n = Math.min(s.remaining, b.length - o);
    s.written += n;
    s.writer!.write(b.subarray(o, o + n), ts);
    s.remaining -= n;
    if (s.remaining === 0) this.finish(s, ts);
    return n;
  }

  /** Bytes held in data mode (they might have begun a resume answer) are file data after all; false when they ended the file. */
  private flushHeld(s: Side, ts: number): boolean {
    if (!s.buf.length) return true;
    const held = Buffer.from(s.buf.view());
    s.buf.clear();
    this.fileBytes(s, held, 0, ts);
    return s.mode === 'data';
  }

  private finish(s: Side, ts: number): void {
    s.writer?.end(ts);
    s.writer = undefined;
    s.mode = 'header';
    s.buf.clear();
  }

  private bad(s: Side, reason: string): void {
    this.ctx.malformed(reason);
    s.mode = 'dead';
    s.buf.clear();
  }

  onGap(dir: Dir, length: number, ts: number): void {
    const s = this.sides[dir];
    if (s.mode === 'data' && !this.flushHeld(s, ts)) {
      s.mode = 'dead'; // the gap lies past the file's end
      return;
    }
    if (s.mode === 'data') {
      const n = Math.min(length, s.remaining);
      s.writer!.gap(n);
      s.remaining -= n;
      if (s.remaining === 0) this.finish(s, ts);
      else return;
      if (length > n) s.mode = 'dead'; // lost bytes past the file: the next header cannot be found
    } else if (s.mode === 'header') {
      s.mode = 'dead';
      s.buf.clear();
    }
  }

  onEnd(ts: number): void {
    for (const s of this.sides) {
      if (s.mode === 'data') this.flushHeld(s, ts);
      if (s.writer) s.writer.end(ts);
      s.writer = undefined;
    }
  }
}

function isResumeAck(b: Buffer, o: number): boolean {
  return b.length - o >= 8 && b.toString('latin1', o, o + 4) === 'OFT2' && b.readUInt16BE(o + 6) === OFT_RESUME_ACK;
}

/** Whether the bytes from `o` (fewer than 8 are fine) could begin a 0x0106 header: "OFT2", length, 01 06. */
function mayStartResumeAck(b: Buffer, o: number): boolean {
  const n = Math.min(8, b.length - o);
  for (let i = 0; i < n; i++) {
    const want = i < 4 ? 'OFT2'.charCodeAt(i) : i === 6 ? OFT_RESUME_ACK >> 8 : i === 7 ? OFT_RESUME_ACK & 255 : -1;
    if (want >= 0 && b[o + i] !== want) return false;
  }
  return true;
}

function newSide(): Side {
  return { mode: 'header', buf: new ByteQueue(), remaining: 0, proxySkip: 0, want: 0, written: 0 };
}
