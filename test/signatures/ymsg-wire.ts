// Builder for YMSG test traffic: the 20-byte header and key C0 80 value C0 80 pairs, by hand.
export function pdu(service: number, fields: [string | number, string | Buffer][], status = 0, session = 0x1234): Buffer {
  const parts: Buffer[] = [];
  const sep = Buffer.from([0xc0, 0x80]);
  for (const [k, v] of fields) parts.push(Buffer.from(String(k)), sep, typeof v === 'string' ? Buffer.from(v, 'utf8') : v, sep);
  const body = Buffer.concat(parts);
  const h = Buffer.alloc(20);
  h.write('YMSG', 0, 'latin1');
  h.writeUInt16BE(16, 4);
  h.writeUInt16BE(0, 6);
  h.writeUInt16BE(body.length, 8);
  h.writeUInt16BE(service, 10);
  h.writeUInt32BE(status >>> 0, 12);
  h.writeUInt32BE(session, 16);
  return Buffer.concat([h, body]);
}
