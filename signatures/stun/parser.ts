// STUN message header and attribute walk (RFC 5389/8489), TURN's address attributes (RFC 8656). Pure and bounded.
import { ipv4String, ipv6String } from '../../sensor/addr';

export const MAGIC = 0x2112a442;
export const ATTR_SOFTWARE = 0x8022, ATTR_USERNAME = 0x0006, ATTR_REALM = 0x0014;
export const ATTR_XOR_PEER_ADDRESS = 0x0012, ATTR_XOR_RELAYED_ADDRESS = 0x0016;

/** `bytes`: the message itself (header first), for the transaction id the IPv6 XOR needs */
export interface StunMessage { type: number; length: number; attributes: { type: number; value: Buffer }[]; bytes: Buffer }

export function parseStun(d: Buffer): StunMessage | null {
  if (d.length < 20 || (d[0] & 0xc0) !== 0) return null;
  if (d.readUInt32BE(4) !== MAGIC) return null;
  const length = d.readUInt16BE(2);
  if (length % 4 !== 0 || 20 + length > d.length) return null;
  const msg: StunMessage = { type: d.readUInt16BE(0), length, attributes: [], bytes: d };
  let p = 20;
  const end = 20 + length;
  while (p + 4 <= end && msg.attributes.length < 64) {
    const t = d.readUInt16BE(p);
    const l = d.readUInt16BE(p + 2);
    if (p + 4 + l > end) return null;
    msg.attributes.push({ type: t, value: d.subarray(p + 4, p + 4 + l) });
    p += 4 + l + ((4 - (l % 4)) % 4);
  }
  return msg;
}

/** the STUN method of a message type (RFC 8489 §5: the class bits C0 = 0x0010 and C1 = 0x0100 taken out) */
export function methodOf(type: number): number {
  return (type & 0x000f) | ((type & 0x00e0) >> 1) | ((type & 0x3e00) >> 2);
}

/** TURN methods (RFC 8656 §18: Allocate, Refresh, Send, Data, CreatePermission, ChannelBind; RFC 6062: Connect, ConnectionBind, ConnectionAttempt) */
export function isTurnMethod(method: number): boolean {
  return method === 3 || method === 4 || (method >= 6 && method <= 0x0c);
}

/**
 * Message types whose XOR-PEER-ADDRESS names a peer of the allocation (RFC 8656 §9-§12): CreatePermission
 * request 0x0008, ChannelBind request 0x0009, Send indication 0x0016, Data indication 0x0017.
 */
export function namesPeers(type: number): boolean {
  return type === 0x0008 || type === 0x0009 || type === 0x0016 || type === 0x0017;
}

/**
 * An XOR-MAPPED/PEER/RELAYED-ADDRESS value at m[off, off + len) of the STUN message m, decoded into
 * out[0..2) (port) and out[2..6) or out[2..18) (address) (RFC 8489 §14.2): the port XOR the cookie's high
 * 16 bits, an IPv4 address XOR the cookie, an IPv6 address XOR the cookie and the 96-bit transaction id
 * (m[8..20)). Answers the address length, 0 for another family or length.
 */
export function xorDecode(m: Buffer, off: number, len: number, out: Uint8Array): 0 | 4 | 16 {
  if (off + len > m.length || m.length < 20) return 0;
  const fam = len === 8 ? 0x01 : len === 20 ? 0x02 : 0;
  if (!fam || m[off + 1] !== fam) return 0;
  out[0] = m[off + 2] ^ 0x21;
  out[1] = m[off + 3] ^ 0x12;
  out[2] = m[off + 4] ^ 0x21;
  out[3] = m[off + 5] ^ 0x12;
  out[4] = m[off + 6] ^ 0xa4;
  out[5] = m[off + 7] ^ 0x42;
  if (fam === 0x01) return 4;
  for (let i = 0; i < 12; i++) out[6 + i] = m[off + 8 + i] ^ m[8 + i];
  return 16;
}

/** "ip" and port of xorDecode's output; the IPv6 text is the sensor's own (sensor/addr.ts), so that it matches a later flow's address exactly */
export function decodedAddress(b: Uint8Array, n: 4 | 16): { ip: string; port: number } {
  return { ip: n === 4 ? ipv4String(b, 2) : ipv6String(b, 2), port: (b[0] << 8) | b[1] };
}

const scratch = new Uint8Array(18);

/** An XOR-*-ADDRESS value at m[off, off + len) of the STUN message m, or null (see xorDecode). */
export function xorAddressAt(m: Buffer, off: number, len: number): { ip: string; port: number } | null {
  const n = xorDecode(m, off, len, scratch);
  return n ? decodedAddress(scratch, n) : null;
}

/**
 * Calls visit(off, len) for each attribute of type `attr` in the STUN message m, its value at
 * m[off, off + len), within the message's declared length: at most 64 attributes walked; a lying
 * length, or visit answering false, ends the walk.
 */
export function eachAttribute(m: Buffer, attr: number, visit: (off: number, len: number) => boolean | void): void {
  if (m.length < 20) return;
  const end = Math.min(m.length, 20 + m.readUInt16BE(2));
  for (let p = 20, n = 0; p + 4 <= end && n < 64; n++) {
    const l = m.readUInt16BE(p + 2);
    if (p + 4 + l > end) return;
    if (m.readUInt16BE(p) === attr && visit(p + 4, l) === false) return;
    p += 4 + ((l + 3) & ~3);
  }
}

/**
 * Each address of the attributes of type `attr` in the STUN message m (its type and cookie are the
 * caller's to check), decoded (see eachAttribute for the walk).
 */
export function xorAddresses(m: Buffer, attr: number, out: { ip: string; port: number }[] = []): { ip: string; port: number }[] {
  eachAttribute(m, attr, (off, len) => {
    const a = xorAddressAt(m, off, len);
    if (a) out.push(a);
  });
  return out;
}
