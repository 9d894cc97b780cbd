// STUN message header and attribute walk (RFC 5389). Pure and bounded.
export const MAGIC = 0x2112a442;
export const ATTR_SOFTWARE = 0x8022, ATTR_USERNAME = 0x0006, ATTR_REALM = 0x0014, ATTR_XOR_PEER_ADDRESS = 0x0012;

export interface StunMessage { type: number; length: number; attributes: { type: number; value: Buffer }[] }

export function parseStun(d: Buffer): StunMessage | null {
  if (d.length < 20 || (d[0] & 0xc0) !== 0) return null;
  if (d.readUInt32BE(4) !== MAGIC) return null;
  const length = d.readUInt16BE(2);
  if (length % 4 !== 0 || 20 + length > d.length) return null;
  const msg: StunMessage = { type: d.readUInt16BE(0), length, attributes: [] };
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

/**
 * An XOR-PEER-ADDRESS value (RFC 8656 §18.3) as "ip" and port; IPv4 only (an IPv6 peer would need
 * the transaction id and the sensor's exact IPv6 text form), null for anything else.
 */
export function xorPeerV4(v: Buffer): { ip: string; port: number } | null {
  if (v.length !== 8 || v[1] !== 0x01) return null;
  const port = v.readUInt16BE(2) ^ (MAGIC >>> 16);
  const a = (v.readUInt32BE(4) ^ MAGIC) >>> 0;
  return { ip: `${a >>> 24}.${(a >>> 16) & 0xff}.${(a >>> 8) & 0xff}.${a & 0xff}`, port };
}
