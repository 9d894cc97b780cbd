// OSCAR (AIM/ICQ) wire format: pure bytes → structures, no I/O. Every length is checked against the
// buffer it points into; TLV chains stop at the end of their block or after MAX_TLVS entries.
// Layouts: Wireshark packet-aim.c / packet-aim-messaging.c, libpurple oscar (see docs/oscar.md).

import { cp1252, htmlToText as sharedHtmlToText } from '../text';

export const FLAP_START = 0x2a;
export const FLAP_HEADER = 6;
export const MAX_TLVS = 256;
/** longest message text kept (characters) */
export const MAX_TEXT = 16384;

export interface Tlv {
  type: number;
  value: Buffer;
}

/** Reads a TLV chain from `buf` (start..end). `count` limits the number of TLVs (userinfo blocks). */
export function parseTlvs(buf: Buffer, start = 0, end = buf.length, count?: number): { tlvs: Tlv[]; end: number; ok: boolean } {
  const tlvs: Tlv[] = [];
  let o = start;
  end = Math.min(end, buf.length);
  const max = Math.min(count ?? MAX_TLVS, MAX_TLVS);
  while (tlvs.length < max && o + 4 <= end) {
    const type = buf.readUInt16BE(o);
    const len = buf.readUInt16BE(o + 2);
    if (o + 4 + len > end) return { tlvs, end: o, ok: false };
    tlvs.push({ type, value: buf.subarray(o + 4, o + 4 + len) });
    o += 4 + len;
  }
  const ok = count !== undefined ? tlvs.length === count : o === end;
  return { tlvs, end: o, ok };
}

export function tlv(tlvs: Tlv[], type: number): Buffer | undefined {
  for (const t of tlvs) if (t.type === type) return t.value;
  return undefined;
}

export interface Snac {
  family: number;
  subtype: number;
  flags: number;
  reqId: number;
  /** SNAC body after the header (and after the optional version TLV block) */
  body: Buffer;
}

export function parseSnac(payload: Buffer): Snac | null {
  if (payload.length < 10) return null;
  const family = payload.readUInt16BE(0);
  const subtype = payload.readUInt16BE(2);
  const flags = payload.readUInt16BE(4);
  const reqId = payload.readUInt32BE(6);
  let o = 10;
  if (flags & 0x8000) {
    if (o + 2 > payload.length) return null;
    const skip = payload.readUInt16BE(o);
    o += 2 + skip;
    if (o > payload.length) return null;
  }
  return { family, subtype, flags, reqId, body: payload.subarray(o) };
}

/**
 * SNAC families: those nDPI's oscar.c accepted (0x0001–0x0018 and 0x0085), plus the ones ICQ 6–8
 * and AIM 6+ clients use mid-session: 0x0022 plugin, 0x0024, 0x0025 ICQ directory (MDir), 0x050c
 * Kerberos login (libpurple/Miranda family lists). Without them a capture of a live ICQ 7/8 session
 * whose first frames include a directory lookup is not recognised at all.
 */
export function knownFamily(f: number): boolean {
  return (f >= 0x0001 && f <= 0x0018) || f === 0x0085 || f === 0x0022 || f === 0x0024 || f === 0x0025 || f === 0x050c;
}

/** ICQ family 0x0015 (meta requests/replies) TLV 1: LE16 length, LE32 the account's own UIN. */
export function icqMetaOwner(v: Buffer | undefined): string | undefined {
  if (!v || v.length < 6) return undefined;
  const uin = v.readUInt32LE(2);
  return uin >= 10000 ? String(uin) : undefined;
}

/** u8 length + bytes (screen names). */
export function readBuddyName(buf: Buffer, o: number): { name: string; next: number } | null {
  if (o >= buf.length) return null;
  const len = buf[o];
  if (len === 0 || o + 1 + len > buf.length) return null;
  return { name: printable(buf.subarray(o + 1, o + 1 + len).toString('latin1')), next: o + 1 + len };
}

export interface Icbm {
  cookie: Buffer;
  channel: number;
  /** buddy name (outgoing) or sender name (incoming) */
  name: string;
  tlvs: Tlv[];
}

/** ICBM 0x0004/0x0006 (outgoing: buddy name) and 0x0004/0x0007 (incoming: sender user info). */
export function parseIcbm(body: Buffer, incoming: boolean): Icbm | null {
  if (body.length < 11) return null;
  const cookie = body.subarray(0, 8);
  const channel = body.readUInt16BE(8);
  const bn = readBuddyName(body, 10);
  if (!bn) return null;
  let o = bn.next;
  if (incoming) {
    if (o + 4 > body.length) return null;
    const count = body.readUInt16BE(o + 2);
    o += 4;
    const ui = parseTlvs(body, o, body.length, count);
    if (!ui.ok) return null;
    o = ui.end;
  }
  const t = parseTlvs(body, o);
  return { cookie, channel, name: bn.name, tlvs: t.tlvs };
}

export interface Decoded {
  text: string;
  /** something in the bytes was not valid for its charset (replaced by U+FFFD) */
  invalid: boolean;
}

/** Message block (TLV 2 of ICBM channel 1): features, then 0x0101 fragments. */
export function parseMessageBlock(v: Buffer): Decoded | null {
  let o = 0;
  const parts: string[] = [];
  let invalid = false;
  let found = false;
  let n = 0;
  while (o + 4 <= v.length && n++ < MAX_TLVS) {
    const id = v.readUInt16BE(o);
    const len = v.readUInt16BE(o + 2);
    if (o + 4 + len > v.length) {
      invalid = true;
      break;
    }
    if (id === 0x0101 && len >= 4) {
      const charset = v.readUInt16BE(o + 4);
      const d = decodeText(v.subarray(o + 8, o + 4 + len), charset);
      parts.push(d.text);
      invalid ||= d.invalid;
      found = true;
    }
    o += 4 + len;
  }
  if (!found) return null;
  return { text: parts.join(''), invalid };
}

/** Fragment charsets (libpurple oscar.h): 0 ASCII, 2 UCS-2BE/UTF-16BE, 3 ISO-8859-1 (read as Windows-1252, what Windows clients sent under it). */
export function decodeText(b: Buffer, charset: number): Decoded {
  if (charset === 0x0002) return utf16be(b);
  if (charset === 0x0003) return { text: cp1252(b), invalid: false };
  return asciiOrUtf8(b);
}

/** 'ASCII' fragments often carry UTF-8 from newer clients; fall back to Windows-1252 when not valid UTF-8. */
export function asciiOrUtf8(b: Buffer): Decoded {
  let ascii = true;
  for (let i = 0; i < b.length; i++) if (b[i] & 0x80) { ascii = false; break; }
  if (ascii) return { text: b.toString('latin1'), invalid: false };
  const s = b.toString('utf8');
  if (!s.includes('\ufffd')) return { text: s, invalid: false };
  return { text: cp1252(b), invalid: false };
}

export function utf16be(b: Buffer): Decoded {
  const even = b.length & ~1;
  const sw = Buffer.allocUnsafe(even);
  for (let i = 0; i < even; i += 2) {
    sw[i] = b[i + 1];
    sw[i + 1] = b[i];
  }
  let text = sw.toString('utf16le');
  let invalid = even !== b.length;
  // lone surrogates are not valid UTF-16: replace them so nothing downstream sees broken strings
  const fixed = text.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
  if (fixed !== text) invalid = true;
  text = fixed;
  if (even !== b.length) text += '\ufffd';
  return { text, invalid };
}

/** AIM text is HTML: tags dropped (line breaks become newlines), entities decoded, never markup. */
export function htmlToText(s: string): string {
  return printable(sharedHtmlToText(s)).trim().slice(0, MAX_TEXT);
}

/** No control characters except tab and newline. */
export function printable(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '');
}

export interface Rendezvous {
  msgType: number;
  cookie: Buffer;
  cap: Buffer;
  tlvs: Tlv[];
}

/** ICBM channel 2, TLV 5. */
export function parseRendezvous(v: Buffer): Rendezvous | null {
  if (v.length < 26) return null;
  const t = parseTlvs(v, 26);
  return { msgType: v.readUInt16BE(0), cookie: v.subarray(2, 10), cap: v.subarray(10, 26), tlvs: t.tlvs };
}

export const CAP_SEND_FILE = Buffer.from('094613434c7f11d18222444553540000', 'hex');
/** Direct IM (ODC2), libpurple family_locate.c OSCAR_CAPABILITY_DIRECTIM */
export const CAP_DIRECT_IM = Buffer.from('094613454c7f11d18222444553540000', 'hex');
/** ICQ "server relay" (type-2 messages of ICQ 2000b and later) */
export const CAP_ICQ_SERVER_RELAY = Buffer.from('094613494c7f11d18222444553540000', 'hex');

/**
 * ICQ type-2 message (rendezvous TLV 0x2711 with the server-relay capability): two length-prefixed
 * (LE16) header blocks, then u8 type, u8 flags, LE16 status, LE16 priority, LE16 length, text\0.
 */
export function parseServerRelay(v: Buffer): { type: number; text: string } | null {
  if (v.length < 2) return null;
  let o = 2 + v.readUInt16LE(0);
  if (o + 2 > v.length) return null;
  o += 2 + v.readUInt16LE(o);
  if (o + 8 > v.length) return null;
  const type = v[o];
  const len = v.readUInt16LE(o + 6);
  if (o + 8 + len > v.length) return null;
  let raw = v.subarray(o + 8, o + 8 + len);
  const z = raw.indexOf(0);
  if (z >= 0) raw = raw.subarray(0, z);
  return { type, text: icqText(raw, type) };
}

export interface FileOffer {
  filename: string;
  size: number;
  files: number;
}

/** TLV 0x2711 of a Send File proposal: u16 multiple flag, u16 file count, u32 total size, name\0. */
export function parseFileInfo(v: Buffer): FileOffer | null {
  if (v.length < 8) return null;
  const files = v.readUInt16BE(2);
  const size = v.readUInt32BE(4);
  let end = v.indexOf(0, 8);
  if (end < 0) end = v.length;
  const filename = printable(asciiOrUtf8(v.subarray(8, Math.min(end, 8 + 1024))).text).trim();
  return { filename, size, files };
}

/** AIM screen names compare without case and spaces (libpurple oscar_util_name_compare) */
export function screenNameKey(n: string): string {
  return n.replace(/ /g, '').toLowerCase();
}

export function ipv4(v: Buffer | undefined): string | undefined {
  if (!v || v.length !== 4) return undefined;
  if (v.readUInt32BE(0) === 0) return undefined;
  return `${v[0]}.${v[1]}.${v[2]}.${v[3]}`;
}

export interface Ch4Message {
  uin: string;
  type: number;
  text: string;
}

/** ICBM channel 4 (ICQ): TLV 5 = LE32 UIN, u8 type, u8 flags, LNTS (LE16 length, NUL-terminated). */
export function parseCh4(v: Buffer): Ch4Message | null {
  if (v.length < 8) return null;
  const uin = String(v.readUInt32LE(0));
  const type = v[4];
  const len = v.readUInt16LE(6);
  if (8 + len > v.length) return null;
  let raw = v.subarray(8, 8 + len);
  if (raw.length && raw[raw.length - 1] === 0) raw = raw.subarray(0, raw.length - 1);
  return { uin, type, text: icqText(raw, type) };
}

/** ICQ message bodies: type 4 (URL) and others separate fields with 0xFE. */
export function icqText(raw: Buffer, type: number): string {
  const s = asciiOrUtf8(raw).text;
  const fields = s.split('\u00fe').filter((f) => f.length);
  const text = type === 4 ? fields.join(' ') : s;
  return printable(text).trim().slice(0, MAX_TEXT);
}

/** ICQ offline message (SNAC 0x0015/0x0003, TLV 1, type 0x0041): sender UIN and text. */
export function parseIcqOffline(v: Buffer): { to: string; from: string; type: number; text: string } | null {
  if (v.length < 22) return null;
  const len = v.readUInt16LE(0);
  if (len + 2 > v.length) return null;
  const to = String(v.readUInt32LE(2));
  if (v.readUInt16LE(6) !== 0x0041) return null;
  const from = String(v.readUInt32LE(10));
  const type = v[20];
  if (v.length < 24) return null;
  const tlen = v.readUInt16LE(22);
  if (24 + tlen > v.length) return null;
  let raw = v.subarray(24, 24 + tlen);
  if (raw.length && raw[raw.length - 1] === 0) raw = raw.subarray(0, raw.length - 1);
  return { to, from, type, text: icqText(raw, type) };
}

export interface FlapScan {
  /** every header seen is consistent */
  ok: boolean;
  complete: number;
  strong: number;
  /** (ok) where the complete frames end: b.length when nothing follows the last one yet */
  end: number;
}

/**
 * Detection: walk the FLAPs at the start of a direction. Each needs the 0x2a start byte, channel 1–5,
 * sequence numbers increasing by one, and (when complete) content that fits its channel. `strong`
 * counts a sign-on (version 1) or a SNAC of a known family with valid flags.
 */
export function scanFlaps(b: Buffer, maxFlaps = 16): FlapScan {
  let o = 0;
  let complete = 0;
  let strong = 0;
  let prevSeq = -1;
  for (let n = 0; n < maxFlaps && o < b.length; n++) {
    if (b[o] !== FLAP_START) return { ok: false, complete, strong, end: o };
    if (o + 1 < b.length && (b[o + 1] < 1 || b[o + 1] > 5)) return { ok: false, complete, strong, end: o };
    if (o + FLAP_HEADER > b.length) break;
    const ch = b[o + 1];
    const seq = b.readUInt16BE(o + 2);
    const len = b.readUInt16BE(o + 4);
    if (prevSeq >= 0 && seq !== ((prevSeq + 1) & 0xffff)) return { ok: false, complete, strong, end: o };
    prevSeq = seq;
    if (o + FLAP_HEADER + len > b.length) break;
    const p = b.subarray(o + FLAP_HEADER, o + FLAP_HEADER + len);
    if (ch === 1) {
      if (p.length < 4 || p.readUInt32BE(0) !== 1) return { ok: false, complete, strong, end: o };
      if (p.length > 4 && !parseTlvs(p, 4).ok) return { ok: false, complete, strong, end: o };
      strong++;
    } else if (ch === 2) {
      if (p.length < 10) return { ok: false, complete, strong, end: o };
      const f = p.readUInt16BE(0), st = p.readUInt16BE(2), fl = p.readUInt16BE(4);
      if (knownFamily(f) && st >= 1 && st <= 0x40 && (fl === 0 || fl === 0x8000 || fl === 0x0001)) strong++;
      else return { ok: false, complete, strong, end: o };
    } else if (ch === 5 && len > 8) {
      return { ok: false, complete, strong, end: o };
    }
    complete++;
    o += FLAP_HEADER + len;
  }
  return { ok: true, complete, strong, end: o };
}

// ---- chat rooms (SNAC family 0x000E) --------------------------------------------------------
// Layouts: libpurple family_chat.c (infoupdate, userlistchange, aim_chat_send_im, incomingim_ch3),
// aim_info_extract (userinfo.c); Wireshark packet-aim-chat.c agrees on the subtypes.

/** most user-info blocks read from one users-joined/left SNAC or occupant list (a SNAC holds at most ~10 000) */
export const MAX_CHAT_USERS = 1024;
/** longest room name kept (characters) */
export const MAX_ROOM_NAME = 256;

/**
 * User-info block (aim_info_extract): u8 name length, name, u16 warning level, u16 TLV count, exactly
 * that many TLVs. Returns the name and the offset after the block.
 */
export function parseUserInfo(buf: Buffer, o: number, end = buf.length): { name: string; next: number } | null {
  const bn = readBuddyName(buf.subarray(0, end), o);
  if (!bn || bn.next + 4 > end) return null;
  const count = buf.readUInt16BE(bn.next + 2);
  const t = parseTlvs(buf, bn.next + 4, end, count);
  if (!t.ok) return null;
  return { name: bn.name, next: t.end };
}

/** 0x000E/0x0003 users joined, 0x0004 users left, occupant list TLV 0x0073: user-info blocks to the end */
export function parseUserList(buf: Buffer, max = MAX_CHAT_USERS): { names: string[]; ok: boolean } {
  const names: string[] = [];
  let o = 0;
  while (o < buf.length && names.length < max) {
    const u = parseUserInfo(buf, o);
    if (!u) return { names, ok: false };
    names.push(u.name);
    o = u.next;
  }
  return { names, ok: true };
}

export interface RoomInfo {
  exchange: number;
  /** the room cookie, e.g. `!aol://2719:10-4-roomname` */
  cookie: string;
  instance: number;
  /** TLV 0x006A, the room name "in human readable form" (libpurple) */
  name?: string;
  /** TLV 0x00D3: room description to libpurple */
  desc?: string;
  /** occupants (TLV 0x0073) */
  users: string[];
}

/** exchange u16, u8-length cookie, instance u16 (aim_chat_readroominfo) */
export function parseRoomRef(buf: Buffer, o = 0): { exchange: number; cookie: string; instance: number; next: number } | null {
  if (o + 3 > buf.length) return null;
  const len = buf[o + 2];
  if (o + 3 + len + 2 > buf.length) return null;
  const cookie = roomString(buf.subarray(o + 3, o + 3 + len));
  return { exchange: buf.readUInt16BE(o), cookie, instance: buf.readUInt16BE(o + 3 + len), next: o + 5 + len };
}

/**
 * 0x000E/0x0002 room info update: room reference, detail level u8, TLV count u16, TLVs to the end
 * (libpurple reads them to the end whatever the count, and only at detail level 2).
 */
export function parseRoomInfo(body: Buffer): RoomInfo | null {
  const r = parseRoomRef(body, 0);
  if (!r || r.next + 3 > body.length) return null;
  const t = parseTlvs(body, r.next + 3);
  const name = tlv(t.tlvs, 0x006a);
  const desc = tlv(t.tlvs, 0x00d3);
  const occ = tlv(t.tlvs, 0x0073);
  return {
    exchange: r.exchange, cookie: r.cookie, instance: r.instance,
    // a name of nothing but control characters is no name
    name: (name && roomString(name)) || undefined,
    desc: (desc && roomString(desc)) || undefined,
    users: occ ? parseUserList(occ).names : [],
  };
}

function roomString(b: Buffer): string {
  return roomLine(asciiOrUtf8(b.subarray(0, MAX_ROOM_NAME * 4)).text).slice(0, MAX_ROOM_NAME);
}

/** a room name is a message's `to`: one line, no control characters (C0, DEL, C1), as identities */
function roomLine(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, '').trim();
}

/**
 * The readable name inside a room cookie, as libpurple's extract_name: what follows the second '-'
 * (`!aol://2719:10-4-roomname` → `roomname`), %XX escapes decoded. undefined when there is none.
 */
export function roomNameFromCookie(cookie: string): string | undefined {
  const a = cookie.indexOf('-');
  const b = a < 0 ? -1 : cookie.indexOf('-', a + 1);
  if (b < 0) return undefined;
  const raw = cookie.slice(b + 1);
  const bytes: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 0x25 && /^[0-9a-fA-F]{2}$/.test(raw.slice(i + 1, i + 3))) {
      bytes.push(parseInt(raw.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c < 0x80) bytes.push(c);
    else bytes.push(...Buffer.from(raw[i], 'utf8'));
  }
  const name = roomLine(asciiOrUtf8(Buffer.from(bytes)).text);
  return name || undefined;
}

export interface ChatMessage {
  cookie: Buffer;
  channel: number;
  /** 0x0006 only: the sender (TLV 0x0003 user info) */
  sender?: string;
  /** TLV 0x0006: the server sends the message back to its sender (0x0005 only) */
  reflect: boolean;
  /** TLV 0x0001 present: to the whole room; absent: a whisper */
  toRoom: boolean;
  /** TLV 0x0007: auto-response (libpurple AIM_CHATFLAGS_AWAY) */
  away: boolean;
  /** TLV 0x0005 message information: 0x0001 text, 0x0002 encoding name, 0x0003 language */
  text?: Buffer;
  encoding?: string;
}

/**
 * 0x000E/0x0005 (client → server) and 0x0006 (server → client): cookie[8], channel u16 (3), then TLVs.
 * null when the header is short or the sender user info (0x0006) does not parse.
 */
export function parseChatMessage(body: Buffer, incoming: boolean): ChatMessage | null {
  if (body.length < 10) return null;
  const t = parseTlvs(body, 10);
  const m: ChatMessage = {
    cookie: body.subarray(0, 8), channel: body.readUInt16BE(8),
    reflect: !!tlv(t.tlvs, 0x0006), toRoom: !!tlv(t.tlvs, 0x0001), away: !!tlv(t.tlvs, 0x0007),
  };
  if (incoming) {
    const ui = tlv(t.tlvs, 0x0003);
    if (ui) {
      const u = parseUserInfo(ui, 0);
      if (!u) return null;
      m.sender = u.name;
    }
  }
  const info = tlv(t.tlvs, 0x0005);
  if (info) {
    // one level of TLVs, read once (no recursion), at most MAX_TLVS of them
    const inner = parseTlvs(info).tlvs;
    m.text = tlv(inner, 0x0001);
    const enc = tlv(inner, 0x0002);
    if (enc) m.encoding = enc.length === 2 && enc[0] === 0 ? String(enc.readUInt16BE(0)) : enc.toString('latin1', 0, Math.min(enc.length, 128));
  }
  return m;
}

/**
 * The message-information encoding (a name: libpurple encoding.c oscar_encoding_to_utf8) as an ICBM
 * fragment charset, so the text is read by decodeText's rules: `unicode-2-0` → 2 (UTF-16BE),
 * `iso-8859-1` and `ISO-8859-1-Windows-3.1-Latin-1` → 3 (Windows-1252), `us-ascii`, `utf-8`, none or
 * unknown → 0 (ASCII / UTF-8 / Windows-1252). `text/aolrtf; charset="…"` is unwrapped first; a bare
 * 2-byte number is taken as an ICBM charset.
 */
export function chatCharset(encoding: string | undefined): number {
  if (!encoding) return 0;
  if (/^\d+$/.test(encoding)) return Number(encoding);
  let e = encoding.trim();
  const m = /charset\s*=\s*"?([^";\s]*)"?/i.exec(e);
  if (m) e = m[1];
  e = e.toLowerCase();
  if (e === 'unicode-2-0' || e === 'utf-16be' || e === 'ucs-2be' || e === 'ucs-2') return 2;
  if (e === 'iso-8859-1' || e === 'iso-8859-1-windows-3.1-latin-1' || e === 'windows-1252' || e === 'latin1') return 3;
  return 0;
}
