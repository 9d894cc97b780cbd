// Gadu-Gadu packets for the tests: the 8-byte header (LE32 type, LE32 body length), the server's
// GG_WELCOME (type 0x01, a 4-byte seed), a GG 8.0 login and the GG 8.0 / older message packets,
// shared by the GG 6-8, the GG 10/11 tests and the tshark differential fuzz.
export function pkt(type: number, body: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt32LE(type, 0);
  h.writeUInt32LE(body.length, 4);
  return Buffer.concat([h, body]);
}

export const u32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return b;
};

export const welcome = pkt(0x01, u32(0x1badb002));

export const u16 = (v: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(v);
  return b;
};

export function login80(uin: number): Buffer {
  const version = Buffer.from('Gadu-Gadu Client build 8.0.0.7669');
  return pkt(0x31, Buffer.concat([
    u32(uin), Buffer.from('pl'), Buffer.from([0x02]), Buffer.alloc(64, 0xaa) /* SHA-1 hash, not the password */,
    u32(0x02), u32(0), u32(0x00000007), u32(0), u16(0), u32(0), u16(0), Buffer.from([0xff, 0x64]),
    u32(version.length), version, u32(0),
  ]));
}
export function sendMsg80(to: number, html: string, plain: Buffer): Buffer {
  const h = Buffer.concat([Buffer.from(html, 'utf8'), Buffer.from([0])]);
  const offPlain = 20 + h.length;
  const offAttr = offPlain + plain.length + 1;
  return pkt(0x2d, Buffer.concat([u32(to), u32(1), u32(0x08), u32(offPlain), u32(offAttr), h, plain, Buffer.from([0]), Buffer.from([0x02, 0x06, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00])]));
}
export function recvMsg80(from: number, html: string, plain: Buffer): Buffer {
  const h = Buffer.concat([Buffer.from(html, 'utf8'), Buffer.from([0])]);
  const offPlain = 24 + h.length;
  return pkt(0x2e, Buffer.concat([u32(from), u32(7), u32(1700000000), u32(0x08), u32(offPlain), u32(offPlain + plain.length + 1), h, plain, Buffer.from([0])]));
}
export function sendMsgOld(to: number, text: Buffer): Buffer {
  return pkt(0x0b, Buffer.concat([u32(to), u32(2), u32(0x04), text, Buffer.from([0])]));
}
/** GG_RECV_MSG (0x0a): sender, seq, time, class, NUL-ended CP1250 text */
export function recvMsgOld(from: number, text: Buffer): Buffer {
  return pkt(0x0a, Buffer.concat([u32(from), u32(3), u32(1700000000), u32(0x04), text, Buffer.from([0])]));
}
