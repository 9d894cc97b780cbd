// ICQ v5 over UDP: pure bytes → packets. Client packets are obfuscated (Wireshark packet-icq.c
// get_v5key/decrypt_v5): key = len * 0x68656C6C + descrambled checkcode, XOR with table_v5 every
// 4 bytes from offset 0x0a (the checkcode itself, 0x14–0x17, stays clear). The checkcode is built
// from header bytes, one packet byte and one table byte (Net::ICQV5CD), which lets us verify it.

import { cp1252 } from '../text';

/** table_v5 (packet-icq.c) */
export const TABLE_V5 = Buffer.from(
  '5960376b6562464853614c5960575b3d5e346d36503f6f6753614c5940476339' +
  '505f5f3f6f47436948333164355a4a425640675341076c49583b4d4668436948' +
  '333144656246485341076c69483351545d4e6c49384b554a6246483351346d36' +
  '505f5f5f3f6f4763594067333164355a6a526e3c51346d36505f5f3f4f374b35' +
  '5a4a6266583b4d66585b5d4e6c49583b4d66583b4d464853614c594067333164' +
  '556a323e4445526e3c3164556a524e6c694853614c39306f47635960575b3d3e' +
  '64353a3a5a6a524e6c694853616c49583b4d46686339505f5f3f6f6753412541' +
  '3c51543d5e545d4e4c39505f5f5f3f6f474369483351545d6e3c3164355a0000',
  'hex',
);

export const CLIENT_HEADER = 0x18;
export const SERVER_HEADER = 0x15;
export const MAX_DATAGRAM = 0x2000;

export const CMD_SEND_MSG = 0x010e;
export const CMD_LOGIN = 0x03e8;
export const CMD_MSG_TO_NEW_USER = 0x0456;
export const SRV_RECV_MESSAGE = 0x00dc;
export const SRV_SYS_DELIVERED_MESS = 0x0104;
export const SRV_MULTI = 0x0212;

/** client commands named in packet-icq.c (clientCmdCode) */
export const CLIENT_CMDS = new Set([
  0x000a, 0x010e, 0x03e8, 0x03fc, 1030, 1050, 1060, 1070, 0x0438, 0x0442, 1100, 0x0456, 1120, 1130, 1180,
  1190, 1200, 0x04ba, 0x04c4, 0x04d8, 1260, 1290, 1300, 1310, 1320, 0x053c, 1380, 0x056e, 0x064a, 1700, 1710, 1720,
]);
/** server commands named in packet-icq.c (serverCmdCode) */
export const SERVER_CMDS = new Set([
  0x000a, 0x001e, 0x0028, 0x0046, 0x005a, 0x0064, 0x006e, 0x0078, 130, 140, 160, 180, 200, 0x00dc, 230, 240, 250,
  0x0104, 280, 290, 420, 450, 0x01e0, 0x01ea, 500, 0x0212, 540, 0x024e, 0x03de,
]);

export function descrambleCheckcode(c: number): number {
  const a1 = (c & 0x0001f000) >>> 0x0c;
  const a2 = (c & 0x07c007c0) >>> 0x01;
  const a3 = (c & 0x003e0001) << 0x0a;
  const a4 = (c & 0xf8000000) >>> 0x10;
  const a5 = (c & 0x0000083e) << 0x0f;
  return (a1 + a2 + a3 + a4 + a5) >>> 0;
}

export function v5Key(scrambled: number, len: number): number {
  return (Math.imul(len, 0x68656c6c) + descrambleCheckcode(scrambled)) >>> 0;
}

/** XOR the obfuscated part in place (the same operation obfuscates and clears). */
export function xorV5(b: Buffer, key: number): void {
  for (let i = 0x0a; i < b.length; i += 4) {
    const k = (key + TABLE_V5[i & 0xff]) >>> 0;
    for (let j = 0; j < 4; j++) {
      const p = i + j;
      if (p >= b.length) break;
      if (p >= 0x14 && p <= 0x17) continue; // the checkcode
      b[p] ^= (k >>> (8 * j)) & 0xff;
    }
  }
}

export function isClientPacket(b: Buffer): boolean {
  return b.length >= CLIENT_HEADER && b.readUInt16LE(0) === 5 && b.readUInt32LE(2) === 0;
}

/**
 * The clear text of a client packet, or null when it is not a consistent ICQ v5 client packet:
 * the descrambled checkcode must point at a packet byte and a table byte that match.
 */
export function decryptClient(raw: Buffer): Buffer | null {
  if (raw.length < CLIENT_HEADER || raw.length > MAX_DATAGRAM || !isClientPacket(raw)) return null;
  const scrambled = raw.readUInt32LE(0x14);
  const check = descrambleCheckcode(scrambled);
  const b = Buffer.from(raw);
  xorV5(b, v5Key(scrambled, b.length));
  const r1 = ((check >>> 24) ^ b[8]) & 0xff;
  const x3 = ((check >>> 16) ^ b[4]) & 0xff;
  const r2 = ((check >>> 8) ^ b[2]) & 0xff;
  const x1 = (check ^ b[6]) & 0xff;
  if (x1 !== (~TABLE_V5[r2] & 0xff)) return null;
  // R1 is a packet offset stored in 8 bits: in packets over 255 bytes it may have wrapped
  let hit = false;
  for (let p = r1; p < b.length && !hit; p += 0x100) hit = p >= CLIENT_HEADER && x3 === (~b[p] & 0xff);
  if (!hit) return null;
  if (!CLIENT_CMDS.has(b.readUInt16LE(0x0e))) return null;
  return b;
}

export interface ClientPacket {
  uin: number;
  session: number;
  cmd: number;
  seq1: number;
  body: Buffer;
}

export function parseClient(clear: Buffer): ClientPacket {
  return {
    uin: clear.readUInt32LE(6),
    session: clear.readUInt32LE(0x0a),
    cmd: clear.readUInt16LE(0x0e),
    seq1: clear.readUInt16LE(0x10),
    body: clear.subarray(CLIENT_HEADER),
  };
}

export interface ServerPacket {
  session: number;
  cmd: number;
  seq1: number;
  uin: number;
  body: Buffer;
}

export function parseServer(b: Buffer): ServerPacket | null {
  if (b.length < SERVER_HEADER || b.length > MAX_DATAGRAM || b.readUInt16LE(0) !== 5 || b[2] !== 0) return null;
  const cmd = b.readUInt16LE(7);
  if (!SERVER_CMDS.has(cmd)) return null;
  return { session: b.readUInt32LE(3), cmd, seq1: b.readUInt16LE(9), uin: b.readUInt32LE(0x0d), body: b.subarray(SERVER_HEADER) };
}

export interface IcqMessage {
  uin: number;
  type: number;
  text: string;
}

export const MAX_TEXT = 8192;

/**
 * A message's type as the clients meant it (licq's ProcessSystemMessage): the 0x8000 flag marks a
 * message sent to several recipients, and ICQ99 wrote the type with its bytes swapped (0x0100 is text).
 */
export function messageType(raw: number): number {
  const t = raw > 0xff && (raw & 0x8000) === 0 ? ((raw >> 8) | ((raw & 0xff) << 8)) : raw;
  return t & 0x7fff;
}

/** message body shared by CMD_SEND_MSG and SRV_SYS_DELIVERED_MESS: uin, type, LE16 len, text\0 */
export function parseMessage(b: Buffer, typeAt = 4): IcqMessage | null {
  if (b.length < typeAt + 4) return null;
  const uin = b.readUInt32LE(0);
  const type = messageType(b.readUInt16LE(typeAt));
  const len = b.readUInt16LE(typeAt + 2);
  const start = typeAt + 4;
  if (start + len > b.length) return null;
  let raw = b.subarray(start, start + len);
  const z = raw.indexOf(0);
  if (z >= 0) raw = raw.subarray(0, z);
  return { uin, type, text: messageText(raw, type) };
}

/** text in the client's code page; fields (URL, contacts) are separated by 0xFE */
export function messageText(raw: Buffer, type: number): string {
  let s = raw.toString('utf8');
  if (s.includes('\ufffd')) s = cp1252(raw);
  const text = type === 1 ? s : s.split('\u00fe').filter((f) => f.length).join(' ');
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '').trim().slice(0, MAX_TEXT);
}

/** SRV_MULTI: u8 count, then (LE16 size, server packet) — bounded, one level */
export function splitMulti(body: Buffer): Buffer[] {
  if (body.length < 1) return [];
  const n = body[0];
  const out: Buffer[] = [];
  let o = 1;
  for (let i = 0; i < n && o + 2 <= body.length; i++) {
    const sz = body.readUInt16LE(o);
    o += 2;
    if (o + sz > body.length) break;
    out.push(body.subarray(o, o + sz));
    o += sz;
  }
  return out;
}
