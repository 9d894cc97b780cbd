// STUN message header and attribute walk (RFC 5389). Pure and bounded.
export const MAGIC = 0x2112a442;
export const ATTR_SOFTWARE = 0x8022, ATTR_USERNAME = 0x0006;

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
