// Gadu-Gadu packets for the tests: the 8-byte header (LE32 type, LE32 body length) and the server's
// GG_WELCOME (type 0x01, a 4-byte seed), shared by the GG 6-8 and the GG 10/11 tests.
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
