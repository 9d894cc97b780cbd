// Builds OSCAR / OFT2 / ICQ v5 bytes for the tests, from the protocol layouts (Wireshark packet-aim*.c,
// packet-icq.c, libpurple oscar) — written independently of the decoder under test.
import crypto from 'node:crypto';
import { Capture, type TcpConversation } from '../helpers/pcapgen';
import { xorshift32 } from '../helpers/fuzz';

export function u8(v: number): Buffer {
  return Buffer.from([v & 0xff]);
}
export function u16(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v & 0xffff);
  return b;
}
export function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0);
  return b;
}
export function tlv(type: number, value: Buffer | string): Buffer {
  const v = typeof value === 'string' ? Buffer.from(value, 'latin1') : value;
  return Buffer.concat([u16(type), u16(v.length), v]);
}
export function bname(name: string): Buffer {
  const b = Buffer.from(name, 'latin1');
  return Buffer.concat([u8(b.length), b]);
}

/** FLAP frames with increasing sequence numbers per direction */
export class Flaps {
  seq: number;
  constructor(start = 0x1000) {
    this.seq = start;
  }
  flap(channel: number, payload: Buffer): Buffer {
    return Buffer.concat([Buffer.from([0x2a, channel]), u16(this.seq++), u16(payload.length), payload]);
  }
  snac(family: number, subtype: number, body: Buffer, flags = 0, reqId = 1): Buffer {
    return this.flap(2, Buffer.concat([u16(family), u16(subtype), u16(flags), u32(reqId), body]));
  }
  hello(): Buffer {
    return this.flap(1, u32(1));
  }
}

/**
 * A BOS connection's opening, in order: the server's hello, the client's sign-on FLAP carrying its
 * authorization cookie (TLV 6), the server's host-online (family 1/3) and, when `me` is given, the
 * self-info reply (1/0x0f) that names the signed-on user.
 */
export function bosOpening(c: Flaps, s: Flaps, o: { me?: string; cookieBytes?: number; cookie?: Buffer } = {}): Array<['c' | 's', Buffer]> {
  const out: Array<['c' | 's', Buffer]> = [
    ['s', s.hello()],
    ['c', c.flap(1, Buffer.concat([u32(1), tlv(6, o.cookie ?? crypto.randomBytes(o.cookieBytes ?? 32))]))],
    ['s', s.snac(1, 3, Buffer.concat([u16(1), u16(2), u16(3), u16(4)]))],
  ];
  if (o.me !== undefined) out.push(['s', s.snac(1, 0x0f, Buffer.concat([bname(o.me), u16(0), u16(0)]))]);
  return out;
}

/**
 * A capture with an AIM BOS connection on 443 (10.20.0.5:50123 → 64.12.24.50:443, from its handshake)
 * signed on as `me`, host-online and self-info in one segment; the test goes on with `t` and the
 * client's and server's FLAP sequences `c` and `s`.
 */
export function bosOn443(me: string): { cap: Capture; t: TcpConversation; c: Flaps; s: Flaps } {
  const cap = new Capture();
  const t = cap.tcp('10.20.0.5:50123', '64.12.24.50:443').open();
  const c = new Flaps(0x4000), s = new Flaps(0x0100);
  const [hello, signOn, online, self] = bosOpening(c, s, { me, cookieBytes: 64 });
  t.send(...hello).send(...signOn).send('s', Buffer.concat([online[1], self[1]]));
  return { cap, t, c, s };
}

export function fragment(text: Buffer, charset: number): Buffer {
  return Buffer.concat([u16(0x0101), u16(text.length + 4), u16(charset), u16(0), text]);
}
export function messageBlock(...fragments: Buffer[]): Buffer {
  return Buffer.concat([u16(0x0501), u16(1), u8(1), ...fragments]);
}

const COOKIE = Buffer.from('0102030405060708', 'hex');

/** ICBM 0x0004/0x0006 outgoing channel-1 message */
export function outgoingIm(f: Flaps, to: string, block: Buffer, cookie = COOKIE): Buffer {
  return f.snac(4, 6, Buffer.concat([cookie, u16(1), bname(to), tlv(2, block), tlv(3, Buffer.alloc(0))]));
}

/** ICBM 0x0004/0x0007 incoming channel-1 message with a user-info block of 2 TLVs */
export function incomingIm(f: Flaps, from: string, block: Buffer, cookie = COOKIE): Buffer {
  const userinfo = Buffer.concat([u16(0), u16(2), tlv(1, u16(0x0010)), tlv(0x0f, u32(1200))]);
  return f.snac(4, 7, Buffer.concat([cookie, u16(1), bname(from), userinfo, tlv(2, block)]));
}

export function typing(f: Flaps, to: string, state = 2): Buffer {
  return f.snac(4, 0x14, Buffer.concat([Buffer.alloc(8), u16(1), bname(to), u16(state)]));
}

/** ICQ channel 4: TLV 5 = LE32 UIN, type, flags, LE16 length, text\0 */
export function channel4(f: Flaps, fromUin: number, to: string, text: string, incoming: boolean): Buffer {
  const t = Buffer.concat([Buffer.from(text, 'latin1'), u8(0)]);
  const v = Buffer.alloc(8);
  v.writeUInt32LE(fromUin, 0);
  v[4] = 1;
  v[5] = 0;
  v.writeUInt16LE(t.length, 6);
  const body = Buffer.concat([v, t]);
  if (incoming) {
    const userinfo = Buffer.concat([u16(0), u16(0)]);
    return f.snac(4, 7, Buffer.concat([COOKIE, u16(4), bname(String(fromUin)), userinfo, tlv(5, body)]));
  }
  return f.snac(4, 6, Buffer.concat([COOKIE, u16(4), bname(to), tlv(5, body)]));
}

export const SEND_FILE = Buffer.from('094613434c7f11d18222444553540000', 'hex');

/** Send File proposal (ICBM channel 2, rendezvous type 0) from us to `to` */
export function sendFileProposal(f: Flaps, to: string, o: { cookie: Buffer; ip: string; port: number; filename: string; size: number; proxied?: boolean }): Buffer {
  const ip = Buffer.from(o.ip.split('.').map(Number));
  const info = Buffer.concat([u16(1), u16(1), u32(o.size), Buffer.from(o.filename, 'latin1'), u8(0)]);
  const rv = Buffer.concat([
    u16(0), o.cookie, SEND_FILE,
    tlv(0x000a, u16(1)), tlv(0x000f, Buffer.alloc(0)),
    tlv(0x0002, ip), tlv(0x0003, ip), tlv(0x0005, u16(o.port)),
    ...(o.proxied ? [tlv(0x0010, Buffer.alloc(0))] : []),
    tlv(0x2711, info),
  ]);
  return f.snac(4, 6, Buffer.concat([o.cookie, u16(2), bname(to), tlv(5, rv), tlv(3, Buffer.alloc(0))]));
}

/** OFT2 header (256 bytes) */
export function oftHeader(type: number, o: { cookie: Buffer; size: number; filename: string; checksum?: number }): Buffer {
  const h = Buffer.alloc(256);
  h.write('OFT2', 0, 'latin1');
  h.writeUInt16BE(256, 4);
  h.writeUInt16BE(type, 6);
  o.cookie.copy(h, 8);
  h.writeUInt16BE(1, 0x14); // total files
  h.writeUInt16BE(1, 0x16); // files left
  h.writeUInt16BE(1, 0x18);
  h.writeUInt16BE(1, 0x1a);
  h.writeUInt32BE(o.size, 0x1c);
  h.writeUInt32BE(o.size, 0x20);
  h.writeUInt32BE(o.checksum ?? 0xffff0000, 0x28);
  h.write('Cool FileXfer', 0x44, 'latin1');
  h.write(o.filename, 0xc0, 'latin1');
  return h;
}

// ---- ICQ v5 ------------------------------------------------------------------------------------

/** table_v5 from Wireshark packet-icq.c (also in Net::ICQV5CD) */
export const TABLE = Buffer.from(
  '5960376b6562464853614c5960575b3d5e346d36503f6f6753614c5940476339505f5f3f6f47436948333164355a4a42' +
  '5640675341076c49583b4d4668436948333144656246485341076c69483351545d4e6c49384b554a6246483351346d36' +
  '505f5f5f3f6f4763594067333164355a6a526e3c51346d36505f5f3f4f374b355a4a6266583b4d66585b5d4e6c49583b' +
  '4d66583b4d464853614c594067333164556a323e4445526e3c3164556a524e6c694853614c39306f47635960575b3d3e' +
  '64353a3a5a6a524e6c694853616c49583b4d46686339505f5f3f6f67534125413c51543d5e545d4e4c39505f5f5f3f6f' +
  '474369483351545d6e3c3164355a0000',
  'hex',
);

function scramble(c: number): number {
  const a1 = (c & 0x0000001f) << 0x0c;
  const a2 = (c & 0x03e003e0) << 0x01;
  const a3 = (c & 0xf8000400) >>> 0x0a;
  const a4 = (c & 0x0000f800) << 0x10;
  const a5 = (c & 0x041f0000) >>> 0x0f;
  return (a1 + a2 + a3 + a4 + a5) >>> 0;
}

/** A clear ICQ v5 client packet, obfuscated as a client would send it (Net::ICQV5CD algorithm). */
export function icq5Client(o: { uin: number; session: number; cmd: number; seq: number; body: Buffer; rand?: () => number }): Buffer {
  const rand = o.rand ?? (() => crypto.randomInt(0, 0x10000));
  const p = Buffer.alloc(0x18 + o.body.length);
  p.writeUInt16LE(5, 0);
  p.writeUInt32LE(0, 2);
  p.writeUInt32LE(o.uin, 6);
  p.writeUInt32LE(o.session, 0x0a);
  p.writeUInt16LE(o.cmd, 0x0e);
  p.writeUInt16LE(o.seq, 0x10);
  p.writeUInt16LE(o.seq, 0x12);
  o.body.copy(p, 0x18);
  const n1 = ((p[8] << 24) | (p[4] << 16) | (p[2] << 8) | p[6]) >>> 0;
  const r1 = 0x18 + (rand() % (p.length - 0x18));
  const r2 = rand() % 0xff;
  const n2 = (((r1 << 24) | (p[r1] << 16) | (r2 << 8) | TABLE[r2]) ^ 0x00ff00ff) >>> 0;
  const check = (n1 ^ n2) >>> 0;
  const key = (Math.imul(p.length, 0x68656c6c) + check) >>> 0;
  for (let i = 0x0a; i < p.length; i += 4) {
    const k = (key + TABLE[i & 0xff]) >>> 0;
    for (let j = 0; j < 4 && i + j < p.length; j++) p[i + j] ^= (k >>> (8 * j)) & 0xff;
  }
  p.writeUInt32LE(scramble(check), 0x14);
  return p;
}

export function icq5Login(uin: number, password: string, seq = 1): Buffer {
  const pw = Buffer.concat([Buffer.from(password, 'latin1'), u8(0)]);
  const body = Buffer.alloc(10 + pw.length + 4 + 13);
  body.writeUInt32LE(0x3a000000, 0); // time
  body.writeUInt32LE(1234, 4); // port
  body.writeUInt16LE(pw.length, 8);
  pw.copy(body, 10);
  return icq5Client({ uin, session: 0x11223344, cmd: 0x03e8, seq, body });
}

export function icq5SendMsg(uin: number, to: number, text: string, seq = 2, type = 1): Buffer {
  const t = Buffer.concat([Buffer.from(text, 'latin1'), u8(0)]);
  const body = Buffer.alloc(8 + t.length);
  body.writeUInt32LE(to, 0);
  body.writeUInt16LE(type, 4);
  body.writeUInt16LE(t.length, 6);
  t.copy(body, 8);
  return icq5Client({ uin, session: 0x11223344, cmd: 0x010e, seq, body });
}

/** clear server packet SRV_SYS_DELIVERED_MESS (0x0104) or SRV_RECV_MESSAGE (0x00dc) */
export function icq5Server(cmd: number, toUin: number, fromUin: number, text: string, seq = 7): Buffer {
  const t = Buffer.concat([Buffer.from(text, 'latin1'), u8(0)]);
  const h = Buffer.alloc(0x15);
  h.writeUInt16LE(5, 0);
  h[2] = 0;
  h.writeUInt32LE(0x11223344, 3);
  h.writeUInt16LE(cmd, 7);
  h.writeUInt16LE(seq, 9);
  h.writeUInt16LE(0, 0x0b);
  h.writeUInt32LE(toUin, 0x0d);
  h.writeUInt32LE(0, 0x11);
  const pre = cmd === 0x00dc ? Buffer.from([0, 0, 0, 0, 0xd0, 0x07, 1, 15, 9, 30]) : Buffer.alloc(4);
  pre.writeUInt32LE(fromUin, 0);
  const tl = Buffer.alloc(4);
  tl.writeUInt16LE(1, 0);
  tl.writeUInt16LE(t.length, 2);
  return Buffer.concat([h, pre, tl, t]);
}

/** small deterministic PRNG (xorshift32) for fuzz and negative samples */
export const seeded = xorshift32;

/** ICQ type-2 message over the server-relay capability (ICBM channel 2, TLV 5, TLV 0x2711) */
export function serverRelayMessage(f: Flaps, to: string, text: string): Buffer {
  const b1 = Buffer.alloc(2 + 0x1b);
  b1.writeUInt16LE(0x1b, 0);
  b1.writeUInt16LE(9, 2); // protocol version
  b1.writeUInt32LE(3, 22); // client capabilities flag
  b1.writeUInt16LE(0xfffe, 27);
  const b2 = Buffer.alloc(2 + 0x0e);
  b2.writeUInt16LE(0x0e, 0);
  b2.writeUInt16LE(0xfffe, 2);
  const t = Buffer.concat([Buffer.from(text, 'utf8'), Buffer.from([0])]);
  const m = Buffer.alloc(8);
  m[0] = 1;
  m.writeUInt16LE(1, 4);
  m.writeUInt16LE(t.length, 6);
  const ext = Buffer.concat([b1, b2, m, t, Buffer.alloc(8)]);
  const cookie = crypto.randomBytes(8);
  const rv = Buffer.concat([u16(0), cookie, Buffer.from('094613494c7f11d18222444553540000', 'hex'), tlv(0x000a, u16(1)), tlv(0x000f, Buffer.alloc(0)), tlv(0x2711, ext)]);
  return f.snac(4, 6, Buffer.concat([cookie, u16(2), bname(to), tlv(5, rv), tlv(3, Buffer.alloc(0))]));
}

// ---- Direct IM (ODC2) ---------------------------------------------------------------------------

export const DIRECT_IM = Buffer.from('094613454c7f11d18222444553540000', 'hex');

/** Direct IM proposal (ICBM channel 2, rendezvous type 0) from us to `to` (libpurple aim_im_sendch2_odc_requestdirect/_requestproxy) */
export function directImProposal(f: Flaps, to: string, o: { cookie: Buffer; ip: string; port: number; proxied?: boolean }): Buffer {
  const ip = Buffer.from(o.ip.split('.').map(Number));
  const rv = Buffer.concat([
    u16(0), o.cookie, DIRECT_IM,
    tlv(0x0002, ip), tlv(0x0003, ip), tlv(0x0005, u16(o.port)), tlv(0x000a, u16(1)), tlv(0x000f, Buffer.alloc(0)),
    ...(o.proxied ? [tlv(0x0010, Buffer.alloc(0)), tlv(0x0016, Buffer.from(ip.map((x) => ~x & 0xff))), tlv(0x0017, u16(~o.port))] : []),
  ]);
  return f.snac(4, 6, Buffer.concat([o.cookie, u16(2), bname(to), tlv(3, Buffer.alloc(0)), tlv(5, rv)]));
}

/** ODC2 frame (libpurple peer.h _OdcFrame): 76-byte header, then the payload */
export function odcFrame(o: {
  sn: string; cookie: Buffer; payload?: Buffer; encoding?: number; flags?: number;
  type?: number; subtype?: number; hdrLen?: number; payloadLen?: number;
}): Buffer {
  const payload = o.payload ?? Buffer.alloc(0);
  const h = Buffer.alloc(76);
  h.write('ODC2', 0, 'latin1');
  h.writeUInt16BE(o.hdrLen ?? 76, 4);
  h.writeUInt16BE(o.type ?? 1, 6);
  h.writeUInt16BE(o.subtype ?? 6, 8);
  o.cookie.copy(h, 12);
  h.writeUInt32BE(o.payloadLen ?? payload.length, 28);
  h.writeUInt16BE(o.encoding ?? 0, 32);
  h.writeUInt16BE(o.flags ?? 0, 38);
  h.write(o.sn, 44, 32, 'latin1');
  return Buffer.concat([h, payload]);
}

/** typing frames as libpurple peer_odc_send_typing sends them: 0x0002 | 0x0008 typing, | 0x0004 typed, 0x0002 stopped */
export function odcTyping(sn: string, cookie: Buffer, state: 'typing' | 'typed' | 'stopped'): Buffer {
  return odcFrame({ sn, cookie, flags: state === 'typing' ? 0x000a : state === 'typed' ? 0x0006 : 0x0002 });
}

/** AOL rendezvous proxy frame (libpurple peer_proxy.c peer_proxy_send) */
export function proxyFrame(type: number, payload = Buffer.alloc(0)): Buffer {
  return Buffer.concat([u16(10 + payload.length), u16(0x044a), u16(type), u32(0), u16(0), payload]);
}

/** the proposer's CREATE (0x0002) or the buddy's JOIN (0x0004, with the pin) to the proxy */
export function proxyInitFrame(sn: string, cookie: Buffer, cap: Buffer, pin?: number): Buffer {
  return proxyFrame(pin === undefined ? 2 : 4, Buffer.concat([bname(sn), ...(pin === undefined ? [] : [u16(pin)]), cookie, tlv(1, cap)]));
}

// ---- chat rooms (SNAC family 0x000E; libpurple family_chat.c, Wireshark packet-aim-chat.c) -------

/** user-info block (libpurple aim_info_extract): name, warning level, TLV count, TLVs */
export function userInfo(name: string, tlvs: Buffer[] = [tlv(1, u16(0x0010)), tlv(0x0f, u32(60))]): Buffer {
  return Buffer.concat([bname(name), u16(0), u16(tlvs.length), ...tlvs]);
}

/** exchange u16, u8-length cookie, instance u16 (libpurple aim_chat_readroominfo) */
export function roomRef(exchange: number, cookie: string, instance = 0): Buffer {
  return Buffer.concat([u16(exchange), bname(cookie), u16(instance)]);
}

/** 0x000E/0x0002 room info update, detail level 2 */
export function chatRoomInfo(f: Flaps, o: { exchange: number; cookie: string; instance?: number; name?: string; desc?: string; occupants?: string[] }): Buffer {
  const tlvs: Buffer[] = [];
  if (o.name !== undefined) tlvs.push(tlv(0x006a, o.name));
  tlvs.push(tlv(0x00c9, u16(0x0003)), tlv(0x00ca, u32(1_100_000_000)), tlv(0x00d1, u16(1024)));
  if (o.desc !== undefined) tlvs.push(tlv(0x00d3, o.desc));
  if (o.occupants) tlvs.push(tlv(0x006f, u16(o.occupants.length)), tlv(0x0073, Buffer.concat(o.occupants.map((n) => userInfo(n)))));
  tlvs.push(tlv(0x00da, u16(512)));
  return f.snac(0x0e, 2, Buffer.concat([roomRef(o.exchange, o.cookie, o.instance ?? 0), u8(2), u16(tlvs.length), ...tlvs]));
}

/** 0x000E/0x0003 users joined or 0x0004 users left */
export function chatUsers(f: Flaps, subtype: 3 | 4, names: string[]): Buffer {
  return f.snac(0x0e, subtype, Buffer.concat(names.map((n) => userInfo(n))));
}

/** message information TLV 0x0005: text, encoding name, language (libpurple aim_chat_send_im) */
export function chatInfo(text: Buffer, encoding?: string, language = 'en'): Buffer {
  return tlv(5, Buffer.concat([tlv(1, text), ...(encoding === undefined ? [] : [tlv(2, encoding)]), tlv(3, language)]));
}

/** 0x000E/0x0005 client → server, as libpurple aim_chat_send_im: cookie, channel 3, TLV 1, TLV 6 (reflect), TLV 5 */
export function chatSend(f: Flaps, o: { cookie: Buffer; text: Buffer; encoding?: string; reflect?: boolean }): Buffer {
  return f.snac(0x0e, 5, Buffer.concat([o.cookie, u16(3), tlv(1, Buffer.alloc(0)), ...(o.reflect === false ? [] : [tlv(6, Buffer.alloc(0))]), chatInfo(o.text, o.encoding)]));
}

/** 0x000E/0x0006 server → client: cookie, channel 3, TLV 3 sender user info (first, where Wireshark reads it), TLV 1, TLV 5 */
export function chatIncoming(f: Flaps, o: { cookie: Buffer; sender: string; text: Buffer; encoding?: string }): Buffer {
  return f.snac(0x0e, 6, Buffer.concat([o.cookie, u16(3), tlv(3, userInfo(o.sender)), tlv(1, Buffer.alloc(0)), chatInfo(o.text, o.encoding)]));
}

/** BOS 0x0001/0x0004 service request for family 0x000E, TLV 1 = the room (libpurple aim_chat_join) */
export function chatJoinRequest(f: Flaps, reqId: number, exchange: number, cookie: string, instance = 0): Buffer {
  return f.snac(1, 4, Buffer.concat([u16(0x000e), tlv(1, roomRef(exchange, cookie, instance))]), 0, reqId);
}

/** BOS 0x0001/0x0005 redirect (libpurple family_oservice.c redirect): TLV 0x000D family, 0x0005 server, 0x0006 cookie */
export function serviceRedirect(f: Flaps, reqId: number, family: number, server: string, cookie: Buffer): Buffer {
  return f.snac(1, 5, Buffer.concat([tlv(0x000d, u16(family)), tlv(0x0005, server), tlv(0x0006, cookie)]), 0, reqId);
}
