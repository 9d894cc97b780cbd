// Header gathering shared by the rendezvous connections (OFT2 file transfer, ODC2 Direct IM): both
// start each header with a 4-byte magic and a u16 header length, and either may be preceded by AOL
// rendezvous-proxy frames (peer_proxy.c).
import { ByteQueue } from '../text';
import type { OpeningCheck } from '../types';
import { parseTlvs, tlv } from './parser';

/** AOL rendezvous proxy frames (peer_proxy.c): u16 length (of the rest), u16 version 0x044a, u16 type, u32, u16 flags */
export const PROXY_VERSION = 0x044a;

/**
 * An announced peer connection is one only if a direction opens as one: an ODC2 (Direct IM) or
 * OFT2/OFT3 (file transfer) header, or the rendezvous proxy's first frame (length, version 0x044a).
 * true, false, or 'more' while its first 4 bytes have not arrived.
 */
export function peerOpening(d: Buffer): boolean | 'more' {
  const n = Math.min(d.length, 4);
  const head = d.toString('latin1', 0, n);
  if (['ODC2', 'OFT2', 'OFT3'].some((m) => m.startsWith(head))) return n < 4 ? 'more' : true;
  // a proxy frame's length is at most 2048: its first byte is 0x00-0x08
  if (d[0] <= 0x08) return n < 4 ? 'more' : d.readUInt16BE(2) === PROXY_VERSION;
  return false;
}

/**
 * The cookie the opening of a peer connection names, in hex: an OFT header's (@8), an ODC2 header's
 * (@12), or the proxy's CREATE/JOIN frame's (after the screen name, and the JOIN's pin), after any
 * of the proxy's own frames (at most 4); 'more' while it has not all arrived; undefined when the
 * opening names none or writes zeros (clients that leave it out).
 */
function openingCookie(d: Buffer): string | 'more' | undefined {
  // the proxy's own frames (ACK, READY) name no cookie: stepped over to what follows them
  for (let at = 0, frames = 0; ; frames++) {
    if (d.length < at + 6) return 'more';
    const magic = d.toString('latin1', at, at + 4);
    let o: number;
    if (magic === 'OFT2' || magic === 'OFT3') o = at + 8;
    else if (magic === 'ODC2') o = at + 12;
    else {
      if (d.readUInt16BE(at + 2) !== PROXY_VERSION) return undefined;
      const cmd = d.readUInt16BE(at + 4);
      if (cmd !== 2 && cmd !== 4) {
        if (frames >= 4) return undefined;
        at += 2 + d.readUInt16BE(at);
        continue;
      }
      if (d.length < at + 13) return 'more';
      o = at + 13 + d[at + 12] + (cmd === 4 ? 2 : 0);
    }
    if (d.length < o + 8) return 'more';
    const c = d.toString('hex', o, o + 8);
    return c === '0000000000000000' ? undefined : c;
  }
}

/**
 * The verifier of one announced peer connection: it opens as one (peerOpening), and the cookie its
 * opening names, if any, is the proposal's — so proposals through one rendezvous proxy, or to one
 * listener, are told apart.
 */
export function peerOpeningFor(cookieHex: string): (d: Buffer) => boolean | 'more' {
  return (d) => {
    const r = peerOpening(d);
    if (r !== true) return r;
    const c = openingCookie(d);
    return c === undefined || c === 'more' ? (c ?? true) : c === cookieHex;
  };
}

/** An OSCAR server connection (a chat room's) opens with FLAPs: '*' first (Expectation.verify: `d` has a byte at least) */
export function flapOpening(d: Buffer): boolean {
  return d[0] === 0x2a;
}

/** a sign-on FLAP longer than this is no client's (a cookie is 256 bytes, a few TLVs beside it) */
const MAX_SIGNON = 1000;

/**
 * The verifier of a connection a service redirect announced (a chat room's): FLAPs, and the client's
 * sign-on (channel 1: version, then TLVs) carries the redirect's cookie in TLV 6 — so two rooms on one
 * chat server go each to its own connection. The server's hello names nothing: its client tells.
 */
export function flapOpeningFor(cookie: Buffer | undefined): OpeningCheck {
  if (!cookie || !cookie.length) return flapOpening;
  return (d, dir) => {
    if (d[0] !== 0x2a) return false;
    if (dir === 1) return 'more';
    if (d.length < 6) return 'more';
    if (d[1] !== 1) return true; // no sign-on first: the opening alone
    const len = d.readUInt16BE(4);
    if (len > MAX_SIGNON) return true;
    if (d.length < 6 + len) return 'more';
    const c = len >= 4 ? tlv(parseTlvs(d, 10, 6 + len).tlvs, 6) : undefined;
    return !c || c.equals(cookie);
  };
}
export const MAX_PROXY_FRAME = 2048;

/** One direction's header-gathering state (part of each decoder's per-direction state). */
export interface RendezvousSide {
  /** the header (or proxy frame start) gathered so far */
  buf: ByteQueue;
  /** header length being gathered */
  want: number;
  /** proxy frame bytes still to skip */
  proxySkip: number;
}

export interface RendezvousFormat<H> {
  magics: readonly string[];
  minHeader: number;
  maxHeader: number;
  /** smallest proxy frame length (u16 @0) accepted before the first header */
  minProxyFrame: number;
  parse(h: Buffer): H | null;
  /** malformed reasons */
  notHeader: string;
  badLength: string;
  unreadable: string;
}

/** What readRendezvousHeader reached: the offset, and a parsed header or a malformed reason. */
export interface RendezvousRead<H> {
  o: number;
  header?: H;
  bad?: string;
}

/**
 * Reads header-mode bytes of `data` from `o` until one header is whole (parsed from s.buf: the
 * caller clears s.buf once done with it), a malformed reason, or the end of `data`.
 */
export function readRendezvousHeader<H>(s: RendezvousSide, f: RendezvousFormat<H>, data: Buffer, o: number): RendezvousRead<H> {
  while (o < data.length) {
    if (s.proxySkip > 0) {
      const n = Math.min(s.proxySkip, data.length - o);
      s.proxySkip -= n;
      o += n;
      continue;
    }
    // gather bytes until the header is whole (bounded by maxHeader)
    if (s.buf.length < 6) {
      const take = Math.min(6 - s.buf.length, data.length - o);
      s.buf.push(data.subarray(o, o + take));
      o += take;
      if (s.buf.length < 6) continue;
      const start = s.buf.view();
      if (!f.magics.includes(start.toString('latin1', 0, 4))) {
        // proxy framing before the header
        const flen = start.readUInt16BE(0);
        if (start.readUInt16BE(2) === PROXY_VERSION && flen >= f.minProxyFrame && flen <= MAX_PROXY_FRAME) {
          s.proxySkip = flen + 2 - 6;
          s.buf.clear();
          continue;
        }
        return { o, bad: f.notHeader };
      }
      const l = start.readUInt16BE(4);
      if (l < f.minHeader || l > f.maxHeader) return { o, bad: f.badLength };
      s.want = l;
      continue;
    }
    const take = Math.min(s.want - s.buf.length, data.length - o);
    s.buf.push(data.subarray(o, o + take));
    o += take;
    if (s.buf.length < s.want) continue;
    const header = f.parse(s.buf.view());
    return header ? { o, header } : { o, bad: f.unreadable };
  }
  return { o };
}
