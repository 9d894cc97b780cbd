// MSNP wire format, pure: bytes → commands. `CMD TrID args\r\n`, and for payload commands (MSG, UUX,
// NOT, …) the last argument is a byte count that follows the line. Bounded: a line longer than
// maxLine is dropped up to its end, a payload longer than maxPayload is skipped unread.
import net from 'node:net';
import { ByteQueue } from '../text';

export interface MsnCommand {
  cmd: string;
  args: string[];
  payload?: Buffer;
}

/** commands whose last argument is the length of a payload that follows the line */
export const PAYLOAD_COMMANDS = new Set([
  'MSG', 'UUX', 'UBX', 'NOT', 'GCF', 'ADL', 'RML', 'QRY', 'PAG', 'IPG', 'FQY', 'UUN', 'UBN', 'UUM', 'UBM',
  'SDG', 'NFY', 'PUT', 'DEL', 'SDC', '801', '241', '508', '509', '511', '933',
]);

export interface FramerLimits {
  maxLine?: number;
  maxPayload?: number;
  /** commands whose last argument is a payload length (default PAYLOAD_COMMANDS) */
  payloadCommands?: Set<string>;
}

export class MsnFramer {
  /** the start of a line whose CRLF has not arrived (at most maxLine bytes) */
  private partial = new ByteQueue();
  private pending: MsnCommand | null = null;
  private need = 0;
  /**
   * payload bytes of `pending` so far, in one growable buffer: a 1 MiB payload in small segments is
   * not re-copied, and costs about its size (a Buffer per segment cost ~110 bytes a byte in 1-byte ones)
   */
  private body = new ByteQueue();
  private skip = 0;
  /** dropping an over-long line up to its end */
  private discarding = false;
  readonly maxLine: number;
  readonly maxPayload: number;

  constructor(
    private readonly onCommand: (c: MsnCommand) => void,
    private readonly onMalformed: (reason: string) => void,
    limits: FramerLimits = {},
  ) {
    this.maxLine = limits.maxLine ?? 16384;
    this.maxPayload = limits.maxPayload ?? 1 << 20;
    this.payloadCommands = limits.payloadCommands ?? PAYLOAD_COMMANDS;
  }

  private readonly payloadCommands: Set<string>;

  /** bytes held while waiting for the rest of a line or payload */
  get buffered(): number {
    return this.partial.length + this.body.length;
  }

  /** a payload command is waiting for bytes that have not arrived */
  get awaitingPayload(): boolean {
    return this.pending !== null;
  }

  push(data: Buffer): void {
    let pos = 0;
    while (pos < data.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, data.length - pos);
        this.skip -= n;
        pos += n;
        continue;
      }
      if (this.pending) {
        const take = Math.min(this.need - this.body.length, data.length - pos);
        this.body.push(data.subarray(pos, pos + take));
        pos += take;
        if (this.body.length < this.need) return;
        const c = this.pending;
        c.payload = this.body.view();
        this.pending = null;
        this.body = new ByteQueue(); // the payload keeps the storage it is a view of
        this.onCommand(c);
        continue;
      }
      const nl = data.indexOf(0x0a, pos);
      if (nl < 0) {
        const rest = data.subarray(pos);
        if (this.discarding) return;
        if (this.partial.length + rest.length > this.maxLine) {
          this.onMalformed('line without CRLF longer than the limit');
          this.discarding = true;
          this.partial.clear();
          return;
        }
        this.partial.push(rest);
        return;
      }
      let lineBytes = data.subarray(pos, nl);
      pos = nl + 1;
      if (this.discarding) {
        this.discarding = false;
        continue;
      }
      const held = this.partial.length;
      if (held + lineBytes.length > this.maxLine) {
        this.partial.clear();
        this.onMalformed('line longer than the limit');
        continue;
      }
      if (held) {
        this.partial.push(lineBytes);
        lineBytes = this.partial.view();
      }
      // a string before the queue is cleared: nothing keeps a view of it
      const line = lineBytes.toString('utf8').replace(/\r$/, '');
      this.partial.clear();
      if (line) this.line(line);
    }
  }

  private line(line: string): void {
    const parts = line.split(' ');
    const cmd = parts[0];
    if (!/^[A-Z0-9]{3}$/.test(cmd)) {
      this.onMalformed('not an MSNP command line');
      return;
    }
    const args = parts.slice(1, 64);
    const c: MsnCommand = { cmd, args };
    if (this.payloadCommands.has(cmd) && args.length >= 1) {
      const last = args[args.length - 1];
      if (/^\d{1,10}$/.test(last)) {
        const n = Number(last);
        if (n > this.maxPayload) {
          this.onMalformed(`${cmd} payload of ${n} bytes exceeds the limit`);
          this.skip = n;
          return;
        }
        if (n > 0) {
          this.pending = c;
          this.need = n;
          return;
        }
      }
    }
    this.onCommand(c);
  }
}

// ---- MIME payloads of MSG --------------------------------------------------------------------

export interface Mime {
  headers: Map<string, string>;
  body: Buffer;
}

const CRLFCRLF = Buffer.from('\r\n\r\n');

/** Header block + blank line + body (header names lower-cased). Without a blank line, all headers. */
export function parseMime(p: Buffer): Mime {
  let end = p.indexOf(CRLFCRLF);
  let bodyStart = end + 4;
  if (end < 0) {
    end = p.length;
    bodyStart = p.length;
  }
  return { headers: parseHeaderLines(p.toString('utf8', 0, Math.min(end, 65536))), body: p.subarray(bodyStart) };
}

export function parseHeaderLines(text: string): Map<string, string> {
  const h = new Map<string, string>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length && i < 256; i++) {
    const c = lines[i].indexOf(':');
    if (c <= 0) continue;
    const k = lines[i].slice(0, c).trim().toLowerCase();
    if (!h.has(k)) h.set(k, lines[i].slice(c + 1).trim().slice(0, 4096));
  }
  return h;
}

/** 'text/plain; charset=UTF-8' → { type: 'text/plain', charset: 'utf-8' } */
export function contentType(v: string | undefined): { type: string; charset?: string } {
  if (!v) return { type: '' };
  const [t, ...params] = v.split(';');
  let charset: string | undefined;
  for (const p of params) {
    const m = /^\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(p);
    if (m) charset = m[1].toLowerCase();
  }
  return { type: t.trim().toLowerCase(), charset };
}

// ---- MSNP2P (application/x-msnmsgrp2p) -------------------------------------------------------

export interface P2PHeader {
  sessionId: number;
  id: number;
  offset: number;
  total: number;
  length: number;
  flags: number;
}

export const P2P_HEADER = 48;

/** The 48-byte little-endian binary header and the data it frames (footer excluded). */
export function parseP2P(b: Buffer): { h: P2PHeader; data: Buffer } | null {
  if (b.length < P2P_HEADER) return null;
  const offset = Number(b.readBigUInt64LE(8));
  const total = Number(b.readBigUInt64LE(16));
  const length = b.readUInt32LE(24);
  if (length > b.length - P2P_HEADER || !Number.isSafeInteger(offset) || !Number.isSafeInteger(total)) return null;
  const h: P2PHeader = { sessionId: b.readUInt32LE(0), id: b.readUInt32LE(4), offset, total, length, flags: b.readUInt32LE(28) };
  return { h, data: b.subarray(P2P_HEADER, P2P_HEADER + length) };
}

// ---- MSNP2P version 2 (WLM 2009+, MSNP16–21) ---------------------------------------------------
// Layout from libpurple msn/p2p.c msn_p2p_header_from_wire (MSN_P2P_VERSION_TWO) and p2p.h
// (MsnP2Pv2Header, TF_*, P2P_HEADER_TLV_TYPE_*, P2P_DATA_TLV_REMAINING), TLV chains as in
// msn/tlv.c msn_tlvlist_read; cross-checked with Miranda NG protocols/MSN/src/msn_p2p.cpp
// P2PV2_Header::parseMsg and MSNPSharp P2Pv2Header.ParseHeader. All multi-byte fields big-endian:
//   u8 header_len (8 + header TLVs, padded to 4), u8 opcode (SYN 1, RAK 2), u16 message_len
//   (data header + payload), u32 base_id (sequence number), header TLVs;
//   if message_len > 0: u8 data_header_len (8 + TLVs), u8 TF (1 first, 4 MsnObject data, 6 file
//   data), u16 package_number, u32 session_id, data TLVs (1 = u64 bytes remaining after this one),
//   then the payload; a 4-byte footer (app id) may follow.

export const TF_FIRST = 0x01;
/** TLV types (p2p.h P2PHeaderTLVType / P2PDataTLVType) */
const TLV_ACK = 0x02;
const TLV_NAK = 0x03;
const TLV_REMAINING = 0x01;
/** a TLV chain lives in at most 247 bytes (a u8 length minus 8): this caps the entries read */
const MAX_TLVS = 64;

export interface P2Pv2Header {
  headerLen: number;
  opcode: number;
  /** data header + payload bytes */
  messageLen: number;
  baseId: number;
  /** header TLV 2 / 3 present: an acknowledgement / negative acknowledgement */
  ack: boolean;
  nak: boolean;
  /** data packet header (message_len > 0 only) */
  tf: number;
  packageNumber: number;
  sessionId: number;
  /** data TLV 1: payload bytes still to come after this packet (0 when absent: the last one) */
  remaining: number;
}

export type P2Pv2Result = { h: P2Pv2Header; data: Buffer } | { error: string };

/** TLVs of `b` (msn_tlvlist_read): type, length, value; zero padding ends the chain; a length past the end fails. */
function readTlvs(b: Buffer, onTlv: (type: number, value: Buffer) => void): string | null {
  let pos = 0;
  for (let n = 0; pos < b.length; n++) {
    if (b[pos] === 0) return null; // padding to a multiple of 4 (tlv.c, MSNPSharp, Miranda)
    if (n >= MAX_TLVS) return 'P2Pv2 TLV chain too long';
    if (b.length - pos < 2) return 'P2Pv2 TLV cut short';
    const len = b[pos + 1];
    if (len > b.length - pos - 2) return 'P2Pv2 TLV length past its header';
    onTlv(b[pos], b.subarray(pos + 2, pos + 2 + len));
    pos += 2 + len;
  }
  return null;
}

/** One P2P v2 packet at the start of `b`; every length checked against the bytes present. */
export function parseP2Pv2(b: Buffer): P2Pv2Result {
  if (b.length < 8) return { error: 'P2Pv2 packet shorter than its header' };
  const headerLen = b[0];
  const messageLen = b.readUInt16BE(2);
  if (headerLen < 8) return { error: 'P2Pv2 header length below 8' };
  if (headerLen + messageLen > b.length) return { error: 'P2Pv2 header and message lengths past the payload' };
  const h: P2Pv2Header = { headerLen, opcode: b[1], messageLen, baseId: b.readUInt32BE(4), ack: false, nak: false, tf: 0, packageNumber: 0, sessionId: 0, remaining: 0 };
  const e1 = readTlvs(b.subarray(8, headerLen), (t) => {
    if (t === TLV_ACK) h.ack = true;
    else if (t === TLV_NAK) h.nak = true;
  });
  if (e1) return { error: e1 };
  if (messageLen === 0) return { h, data: b.subarray(headerLen, headerLen) };
  const d = b.subarray(headerLen, headerLen + messageLen);
  const dataHeaderLen = d[0];
  // p2p.c: data_header_len > message_len is invalid; it holds at least its 8 fixed bytes
  if (dataHeaderLen < 8 || dataHeaderLen > messageLen) return { error: 'P2Pv2 data header length out of range' };
  h.tf = d[1];
  h.packageNumber = d.readUInt16BE(2);
  h.sessionId = d.readUInt32BE(4);
  let bad: string | null = null;
  const e2 = readTlvs(d.subarray(8, dataHeaderLen), (t, v) => {
    if (t !== TLV_REMAINING) return;
    if (v.length !== 8) bad = 'P2Pv2 remaining-size TLV not 8 bytes';
    else {
      const r = v.readBigUInt64BE(0);
      if (r > BigInt(Number.MAX_SAFE_INTEGER)) bad = 'P2Pv2 remaining size out of range';
      else h.remaining = Number(r);
    }
  });
  if (e2 || bad) return { error: (e2 ?? bad)! };
  return { h, data: d.subarray(dataHeaderLen) };
}

/**
 * Which P2P version a MIME-carried packet uses. libpurple never switches: msn_slplink_new sets
 * MSN_P2P_VERSION_ONE and no stored libpurple source sets TWO. Clients that speak v2 decide by the
 * address: aMSN (p2p On_message_received) and Miranda NG (msn_msgs.cpp: parseWLID, then
 * p2p_processMsgV2 when P2P-Dest names an endpoint) take v2 when P2P-Dest is `user;{guid}`;
 * MSNPSharp and digsby take v2 for an MSNP21 SDG whose routing To/From carries `epid=`.
 */
export function p2pVersionOfDest(dest: string | undefined): 1 | 2 {
  return dest && /;\s*\{[0-9a-fA-F-]{1,64}\}\s*$/.test(dest) ? 2 : 1;
}

export function p2pVersionOfRouting(to: string | undefined, from: string | undefined): 1 | 2 {
  const epid = (v: string | undefined) => /;\s*epid=\{?([0-9a-fA-F-]{1,64})\}?/i.exec(v ?? '');
  const m = epid(to) ?? epid(from);
  return m && /[1-9a-fA-F]/.test(m[1]) ? 2 : 1;
}

/** `Bridging-Offsets: 0,52,1352` (MSNPSharp SDGBridge): where each P2P packet of an SDG body starts */
export function bridgingOffsets(v: string | undefined, len: number): number[] | null {
  if (v === undefined || !v.trim()) return [0];
  const parts = v.split(',', 65);
  if (parts.length > 64) return null;
  const out: number[] = [];
  for (const p of parts) {
    const t = p.trim();
    if (!/^\d{1,9}$/.test(t)) return null;
    const n = Number(t);
    if (n >= len || (out.length && n <= out[out.length - 1])) return null;
    out.push(n);
  }
  return out.length && out[0] === 0 ? out : null;
}

export const EUF_FILE_TRANSFER = '5D3E02AB-6190-11D3-BBBB-00C04F795683';

export interface SlpInvite {
  method: string;
  to: string;
  from: string;
  eufGuid?: string;
  sessionId?: number;
  context?: Buffer;
  /** listening endpoints announced for a direct connection (parseDcEndpoints) */
  endpoints: { ip: string; port: number }[];
}

/** An MSNSLP message (`INVITE MSNMSGR:… MSNSLP/1.0` + headers + body headers). */
export function parseSlp(text: string): SlpInvite | null {
  const m = /^([A-Z]+) MSNMSGR:\S* MSNSLP\/1\.0\r?\n/.exec(text);
  const m2 = m ? null : /^MSNSLP\/1\.0 (\d{3})/.exec(text);
  if (!m && !m2) return null;
  const h = parseHeaderLines(text);
  const addr = (v: string | undefined) => dropEndpoint((v ?? '').replace(/^<msnmsgr:/i, '').replace(/>$/, '')).trim();
  const sid = h.get('sessionid');
  let context: Buffer | undefined;
  const ctx = h.get('context');
  if (ctx && /^[A-Za-z0-9+/=]+$/.test(ctx)) context = Buffer.from(ctx, 'base64');
  return {
    method: m ? m[1] : `STATUS ${m2![1]}`,
    to: addr(h.get('to')),
    from: addr(h.get('from')),
    eufGuid: h.get('euf-guid')?.replace(/[{}]/g, '').toUpperCase(),
    sessionId: sid && /^\d{1,10}$/.test(sid) ? Number(sid) : undefined,
    context,
    // a transport message: an INVITE or its 200 OK whose body is a transport request or response
    endpoints: (m ? m[1] === 'INVITE' : m2![1] === '200') && /^application\/x-msnmsgr-trans(req|resp)body\b/i.test(h.get('content-type') ?? '') ? parseDcEndpoints(h) : [],
  };
}

/**
 * The listening endpoints an MSNSLP transport message announces for a direct connection (the
 * `application/x-msnmsgr-transreqbody`/`transrespbody` of an INVITE or its 200 OK): `Bridge: TCPv1`,
 * `Listening: true`, then `IPv4External-Addrs`/`-Port`, `IPv4Internal-Addrs`/`-Port` (space-separated
 * addresses) and `IPv6-Addrs`/`-Port`, as libpurple (slp.c), Kopete, Miranda NG and MSNPSharp write
 * them; WLM 2009 writes the IPv4 names and their values reversed (`srddA-lanretxE4vPI: 4.3.2.1`, as
 * Miranda NG and MSNPSharp read them). At most 8 endpoints; names are case-insensitive.
 */
export function parseDcEndpoints(h: Map<string, string>): { ip: string; port: number }[] {
  if ((h.get('listening') ?? '').toLowerCase() !== 'true') return [];
  const bridge = h.get('bridge');
  if (bridge !== undefined && !/\bTCPv1\b/i.test(bridge)) return [];
  const rev = (v: string | undefined) => (v === undefined ? undefined : [...v].reverse().join(''));
  const out: { ip: string; port: number }[] = [];
  const seen = new Set<string>();
  for (const [addrs, port] of [
    [h.get('ipv4external-addrs') ?? rev(h.get('srdda-lanretxe4vpi')), h.get('ipv4external-port') ?? rev(h.get('trop-lanretxe4vpi'))],
    [h.get('ipv4internal-addrs') ?? rev(h.get('srdda-lanretni4vpi')), h.get('ipv4internal-port') ?? rev(h.get('trop-lanretni4vpi'))],
    [h.get('ipv6-addrs'), h.get('ipv6-port')],
  ]) {
    if (!addrs || !port || !/^\d{1,5}$/.test(port.trim())) continue;
    const n = Number(port.trim());
    if (n < 1 || n > 65535) continue;
    for (const a of addrs.split(/\s+/).slice(0, 8)) {
      if (net.isIP(a) === 0 || seen.has(`${a} ${n}`) || out.length >= 8) continue;
      seen.add(`${a} ${n}`);
      out.push({ ip: a, port: n });
    }
  }
  return out;
}

/** File-transfer context: u32 length, u32 version, u64 size, u32 type, UTF-16LE name (520 bytes). */
export function parseFtContext(c: Buffer): { filename: string; size: number } | null {
  if (c.length < 22) return null;
  const size = Number(c.readBigUInt64LE(8));
  const nameBytes = c.subarray(20, Math.min(c.length, 20 + 520));
  let end = 0;
  while (end + 1 < nameBytes.length && (nameBytes[end] | nameBytes[end + 1]) !== 0) end += 2;
  const filename = nameBytes.toString('utf16le', 0, end);
  if (!filename || !Number.isSafeInteger(size)) return null;
  return { filename, size };
}

// Header values come from the wire: these do what v.replace(/;.*$/, '') and v.replace(/;\{.*\}$/, '')
// did, in linear time (those RegExps were retried from every ';' of the value: a value of thousands of
// ';' followed by a lone CR cost O(n^2)). '.' stops at a line terminator, so only the last line counts.
function lastLineStart(v: string): number {
  return Math.max(v.lastIndexOf('\n'), v.lastIndexOf('\r'), v.lastIndexOf('\u2028'), v.lastIndexOf('\u2029')) + 1;
}

/** `v` without its parameters: cut at the first ';' of its last line */
export function dropParams(v: string): string {
  const semi = v.indexOf(';', lastLineStart(v));
  return semi < 0 ? v : v.slice(0, semi);
}

/** `v` without a trailing ";{…}" endpoint id that starts in its last line */
export function dropEndpoint(v: string): string {
  if (!v.endsWith('}')) return v;
  const i = v.indexOf(';{', lastLineStart(v));
  return i >= 0 && i + 2 < v.length ? v.slice(0, i) : v;
}
