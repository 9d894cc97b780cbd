// AIM Direct IM (ODC2) on the peer connection a Direct IM rendezvous proposal announced (or found on
// its own by the "ODC2" magic). Frame (libpurple peer.h struct _OdcFrame, odc.c peer_odc_send /
// peer_odc_recv_frame, all big-endian): "ODC2" | header length u16 @4 (76, counts the magic) |
// type u16 @6 (0x0001) | subtype u16 @8 (0x0006) | … | cookie[8] @12 | … | payload length u32 @28 |
// encoding u16 @32 | … | flags u16 @38 | … | screen name[32] @44 (NUL-padded) | payload.
// Flags (peer_odc_recv_frame): 0x0001 auto-reply, 0x0008 typing, 0x0004 typed, 0x0002 typing frame;
// libpurple's cookie frame carries 0x0060. A frame with a payload is an IM: HTML, possibly followed by
// <BINARY><DATA ID=n SIZE=n>bytes</DATA>…</BINARY> image data (peer_odc_handle_payload).
import type { Dir } from '../../sensor/types';
import type { SessionContext, StreamDecoder } from '../types';
import { UNKNOWN_ID } from '../types';
import { ByteQueue } from '../text';
import { MAX_PROXY_FRAME, PROXY_VERSION, readRendezvousHeader, type RendezvousFormat, type RendezvousSide } from './rendezvous';
import { CAP_DIRECT_IM, CAP_SEND_FILE, decodeText, htmlToText, printable, screenNameKey, type Decoded } from './parser';

export const ODC_MAGIC = 'ODC2';
/** peer_odc_send: length = 76 */
export const ODC_MIN_HEADER = 76;
/** libpurple reads any length (u16 - 6); ours is bounded so that garbage cannot look like a header */
export const ODC_MAX_HEADER = 1024;
/** odc.c DIRECTIM_MAX_FILESIZE: libpurple closes the connection on a larger payload */
export const ODC_MAX_PAYLOAD = 52_428_800;
/** payload bytes kept for the text (the rest, image data, is skipped as it streams past) */
export const ODC_KEEP = 64 * 1024;
export { PROXY_VERSION };
const UIN = /^[0-9]{5,10}$/;

export interface OdcHeader {
  hdrLen: number;
  type: number;
  subtype: number;
  cookie: string;
  payloadLen: number;
  encoding: number;
  flags: number;
  sn: string;
}

/** A whole ODC2 header (hdrLen bytes); null when it is not one. */
export function parseOdcHeader(h: Buffer): OdcHeader | null {
  if (h.length < ODC_MIN_HEADER || h.toString('latin1', 0, 4) !== ODC_MAGIC) return null;
  const hdrLen = h.readUInt16BE(4);
  if (hdrLen < ODC_MIN_HEADER || hdrLen > h.length) return null;
  let encoding = h.readUInt16BE(32);
  // libpurple 2.x before the fix wrote the encoding at @34 and left @32 zero (peer_odc_send of that era)
  const alt = h.readUInt16BE(34);
  if (encoding === 0 && (alt === 2 || alt === 3)) encoding = alt;
  let sn = h.subarray(44, 76);
  const z = sn.indexOf(0);
  if (z >= 0) sn = sn.subarray(0, z);
  return {
    hdrLen,
    type: h.readUInt16BE(6),
    subtype: h.readUInt16BE(8),
    cookie: h.toString('hex', 12, 20),
    payloadLen: h.readUInt32BE(28),
    encoding,
    flags: h.readUInt16BE(38),
    sn: printable(sn.toString('latin1')).trim().slice(0, 97),
  };
}

/** Cheap check for detection: "ODC2", a header length in range and type 0x0001 (libfaim aim_rxdispatch_rendezvous). */
export function looksLikeOdc(b: Buffer): boolean | 'more' {
  const n = Math.min(4, b.length);
  if (b.toString('latin1', 0, n) !== ODC_MAGIC.slice(0, n)) return false;
  if (b.length < 8) return 'more';
  const len = b.readUInt16BE(4);
  return len >= ODC_MIN_HEADER && len <= ODC_MAX_HEADER && b.readUInt16BE(6) === 0x0001;
}


/**
 * The first whole ODC2 header of an IM frame (type 0x0001, subtype 0x0006, as libpurple sends) in `b`,
 * looking at "ODC2" magics that begin before `limit` (64 at most): `at` its offset, else -1; `wait` the
 * offset of the first candidate not whole yet, else -1. For streams picked up mid-connection.
 */
export function findOdcHeader(b: Buffer, limit: number): { at: number; wait: number } {
  for (let i = b.indexOf(ODC_MAGIC, 0, 'latin1'), n = 0; i >= 0 && i < limit && n < 64; i = b.indexOf(ODC_MAGIC, i + 1, 'latin1'), n++) {
    if (b.length - i < 8) return { at: -1, wait: i };
    if (looksLikeOdc(b.subarray(i)) !== true) continue;
    const len = b.readUInt16BE(i + 4);
    if (b.length - i < len) return { at: -1, wait: i };
    const h = parseOdcHeader(b.subarray(i, i + len));
    if (h && h.type === 0x0001 && h.subtype === 0x0006) return { at: i, wait: -1 };
  }
  return { at: -1, wait: -1 };
}

/**
 * The first frame a peer sends to the AOL rendezvous proxy (peer_proxy.c): CREATE (0x0002: u8 name
 * length, name, cookie[8], TLV 1 = capability) or JOIN (0x0004: the same with a u16 pin before the
 * cookie). The capability says what follows: 'odc' (Direct IM) or 'oft' (Send File).
 */
export function proxyInit(b: Buffer): 'odc' | 'oft' | 'more' | null {
  if (b.length >= 4 && b.readUInt16BE(2) !== PROXY_VERSION) return null;
  if (b.length < 12) return 'more';
  const len = b.readUInt16BE(0);
  const type = b.readUInt16BE(4);
  if ((type !== 0x0002 && type !== 0x0004) || len < 10 || len > MAX_PROXY_FRAME) return null;
  if (b.length < len + 2) return 'more';
  const p = b.subarray(12, len + 2);
  let o = 1 + (p.length ? p[0] : 0) + (type === 0x0004 ? 2 : 0) + 8;
  if (!p.length || p[0] === 0 || o + 4 + 16 > p.length) return null;
  if (p.readUInt16BE(o) !== 0x0001 || p.readUInt16BE(o + 2) !== 16) return null;
  o += 4;
  const cap = p.subarray(o, o + 16);
  if (cap.equals(CAP_DIRECT_IM)) return 'odc';
  if (cap.equals(CAP_SEND_FILE)) return 'oft';
  return null;
}

/** Text of a Direct IM payload: the HTML before <BINARY>, in the frame's encoding, reduced to plain text. */
export function odcText(payload: Buffer, encoding: number): Decoded {
  let end = findBinary(payload, encoding);
  if (end < 0) end = payload.length;
  const d = decodeText(payload.subarray(0, end), encoding);
  return { text: htmlToText(d.text), invalid: d.invalid };
}

const BINARY = Buffer.from('<binary>', 'latin1');

/** Offset of "<binary>" in any case (also in UTF-16BE when the body is UTF-16), or -1. */
export function findBinary(b: Buffer, encoding: number): number {
  const a = findTag(b, 1);
  if (encoding !== 2) return a;
  const u = findTag(b, 2);
  return a < 0 ? u : u < 0 ? a : Math.min(a, u);
}

/** step 1: ASCII bytes; step 2: UTF-16BE, every character preceded by a 00 byte */
function findTag(b: Buffer, step: number): number {
  for (let i = b.indexOf(0x3c); i >= 0; i = b.indexOf(0x3c, i + 1)) {
    if (i + (BINARY.length - 1) * step >= b.length) return -1;
    if (step === 2 && (i === 0 || b[i - 1] !== 0 || (i & 1) === 0)) continue;
    if (matchAt(b, i, step)) return step === 2 ? i - 1 : i;
  }
  return -1;
}

function matchAt(b: Buffer, i: number, step: number): boolean {
  for (let k = 0; k < BINARY.length; k++) {
    const p = i + k * step;
    if (step === 2 && b[p - 1] !== 0) return false;
    const c = b[p] >= 0x41 && b[p] <= 0x5a ? b[p] | 0x20 : b[p];
    if (c !== BINARY[k]) return false;
  }
  return true;
}

/** What the rendezvous proposal told about the connection (absent when it was found on its own). */
export interface DirectImMeta {
  /** the proposer and the buddy it asked */
  from: string;
  to: string;
  cookie: string;
}

const ODC_FORMAT: RendezvousFormat<OdcHeader> = {
  magics: [ODC_MAGIC],
  minHeader: ODC_MIN_HEADER,
  maxHeader: ODC_MAX_HEADER,
  // rendezvous proxy negotiation before the first ODC2 frame (peer_proxy.c)
  minProxyFrame: 10,
  parse: parseOdcHeader,
  notHeader: 'ODC: neither an ODC2 header nor a proxy frame',
  badLength: 'ODC: header length out of range',
  unreadable: 'ODC: unreadable header',
};

interface Side extends RendezvousSide {
  /** seek: picked up mid-connection, looking for the first frame header */
  mode: 'seek' | 'header' | 'payload' | 'dead';
  /** seek: bytes kept while looking (a header split across segments), and how many were skipped */
  seekBuf?: Buffer;
  skipped: number;
  hdr?: OdcHeader;
  /** payload bytes still to come */
  remaining: number;
  /** the payload's first ODC_KEEP bytes, in one growable buffer (a Buffer per segment cost ~110 bytes a byte in 1-byte ones) */
  kept: ByteQueue;
  /** the payload lost bytes (gap): its text is reported only if the lost part was past the text */
  lost: boolean;
  /** screen name of the frames this side sent */
  sn?: string;
}

/** Decodes one Direct IM connection: frames in both directions, one `message` per frame with a payload. */
export class OdcDecoder implements StreamDecoder {
  private sides: [Side, Side] = [newSide(), newSide()];
  private icq = false;
  private messages = 0;

  constructor(private readonly ctx: SessionContext, private readonly meta?: DirectImMeta) {
    ctx.setService('direct-im');
    // a connection picked up without its SYN may start inside a frame: find the first header first
    if (ctx.flow.clientBy !== 'syn' && !meta) for (const s of this.sides) s.mode = 'seek';
    if (meta) {
      this.user(meta.from);
      this.user(meta.to);
    }
  }

  onData(dir: Dir, data: Buffer, ts: number): void {
    const s = this.sides[dir];
    if (s.mode === 'seek') {
      const rest = this.seek(s, data);
      if (!rest) return;
      data = rest;
    }
    let o = 0;
    while (o < data.length && s.mode !== 'dead') {
      if (s.mode === 'payload') {
        o += this.payloadBytes(dir, s, data, o, ts);
        continue;
      }
      const r = readRendezvousHeader(s, ODC_FORMAT, data, o);
      o = r.o;
      if (r.bad) this.bad(s, r.bad);
      else if (r.header) {
        s.buf.clear(); // the parsed header holds copies
        this.onHeader(dir, s, r.header, ts);
      }
    }
  }

  /** Looks for the first frame header of a side picked up mid-connection; the bytes from it, if found. */
  private seek(s: Side, data: Buffer): Buffer | undefined {
    const b = s.seekBuf ? Buffer.concat([s.seekBuf, data]) : data;
    const { at, wait } = findOdcHeader(b, b.length);
    if (at >= 0) {
      s.seekBuf = undefined;
      s.skipped += at;
      s.mode = 'header';
      return b.subarray(at);
    }
    // keep a header that is not whole yet (at most ODC_MAX_HEADER bytes), else what may start a magic
    const keep = b.subarray(wait >= 0 ? wait : Math.max(0, b.length - 3));
    s.skipped += b.length - keep.length;
    s.seekBuf = Buffer.from(keep);
    if (s.skipped > SEEK_LIMIT) {
      s.seekBuf = undefined;
      this.bad(s, 'ODC: no Direct IM frame found after picking the connection up mid-stream');
    }
    return undefined;
  }

  private onHeader(dir: Dir, s: Side, h: OdcHeader, ts: number): void {
    if (h.sn) {
      s.sn = h.sn;
      this.user(h.sn);
      if (!this.icq && UIN.test(h.sn)) {
        this.icq = true;
        this.ctx.setProtocol('icq', { signature: 'oscar.icq', reason: `Direct IM frame from a UIN (${h.sn})` });
      }
    }
    if (h.payloadLen === 0) return; // cookie and typing frames
    if (h.payloadLen > ODC_MAX_PAYLOAD) {
      // libpurple refuses it and closes: nothing after it can be framed with confidence
      this.bad(s, 'ODC: payload longer than Direct IM allows');
      return;
    }
    s.hdr = h;
    s.remaining = h.payloadLen;
    s.kept.clear();
    s.lost = false;
    s.mode = 'payload';
  }

  /** Payload bytes from `b` at `o` (at most what the frame still needs); returns how many were taken. */
  private payloadBytes(dir: Dir, s: Side, b: Buffer, o: number, ts: number): number {
    const n = Math.min(s.remaining, b.length - o);
    const keep = Math.min(n, ODC_KEEP - s.kept.length);
    if (keep > 0) s.kept.push(b.subarray(o, o + keep));
    s.remaining -= n;
    if (s.remaining === 0) this.finish(dir, s, ts);
    return n;
  }

  /** The frame's payload is over (or cut): report its text. */
  private finish(dir: Dir, s: Side, ts: number, cut = false): void {
    const h = s.hdr!;
    const kept = s.kept.view();
    s.kept = new ByteQueue(); // `kept` keeps the storage it is a view of
    s.hdr = undefined;
    s.mode = 'header';
    // a payload cut short still has its whole text when what was kept already reached <BINARY> or the cap
    const textWhole = (!cut && !s.lost) || kept.length >= ODC_KEEP || findBinary(kept, h.encoding) >= 0;
    if (!textWhole) {
      this.ctx.malformed('ODC: Direct IM text cut by lost bytes');
      return;
    }
    // libpurple ignores frames that are neither type 0x0001 nor subtype 0x0006 (peer_odc_recv_frame)
    if (h.type !== 0x0001 && h.subtype !== 0x0006) return;
    const d = odcText(kept, h.encoding);
    if (d.invalid) this.ctx.malformed('ODC: text not valid in its character set');
    if (!d.text || this.messages >= 100_000) return;
    this.messages++;
    const from = h.sn || s.sn || this.guessSender(dir);
    this.ctx.message(ts, dir, { from, to: this.peerOf(dir, from), text: d.text, kind: h.flags & 0x0001 ? 'auto-response' : 'chat' });
  }

  /** the other party: named by the proposal, else by the frames of the other direction */
  private peerOf(dir: Dir, from: string): string {
    const m = this.meta;
    if (m) {
      const f = screenNameKey(from);
      if (f === screenNameKey(m.from)) return m.to;
      if (f === screenNameKey(m.to)) return m.from;
    }
    return this.sides[dir ^ 1].sn ?? UNKNOWN_ID;
  }

  private guessSender(dir: Dir): string {
    const other = this.sides[dir ^ 1].sn;
    if (this.meta && other) {
      if (screenNameKey(other) === screenNameKey(this.meta.from)) return this.meta.to;
      if (screenNameKey(other) === screenNameKey(this.meta.to)) return this.meta.from;
    }
    return UNKNOWN_ID;
  }

  private user(name: string): void {
    if (name && name.length <= 97) this.ctx.addUser(name);
  }

  private bad(s: Side, reason: string): void {
    this.ctx.malformed(reason);
    s.mode = 'dead';
    s.buf.clear();
    s.kept = new ByteQueue();
  }

  onGap(dir: Dir, length: number, ts: number): void {
    const s = this.sides[dir];
    if (s.mode === 'seek') {
      s.seekBuf = undefined; // still looking: lost bytes change nothing but what was kept
      return;
    }
    if (s.mode === 'payload') {
      const n = Math.min(length, s.remaining);
      s.remaining -= n;
      s.lost = true;
      if (s.remaining > 0) return;
      this.finish(dir, s, ts, true);
      if (length > n) s.mode = 'dead'; // lost bytes past the payload: the next header cannot be found
    } else if (s.mode === 'header') {
      s.mode = 'dead';
      s.buf.clear();
    }
  }

  onEnd(ts: number): void {
    for (const dir of [0, 1] as const) {
      const s = this.sides[dir];
      if (s.mode === 'payload') this.finish(dir, s, ts, true);
    }
  }
}


function newSide(): Side {
  return { mode: 'header', buf: new ByteQueue(), want: 0, proxySkip: 0, remaining: 0, kept: new ByteQueue(), lost: false, skipped: 0 };
}

/** bytes skipped looking for the first frame of a connection picked up mid-stream (images run to MBs) */
const SEEK_LIMIT = 64 << 20;
