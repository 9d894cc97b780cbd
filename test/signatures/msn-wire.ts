// Builders for MSNP test traffic (written from the protocol's documented shapes, not from our decoder).
import crypto from 'node:crypto';

export function msg(head: string, mime: string, body: Buffer | string): Buffer {
  const payload = Buffer.concat([Buffer.from(mime.replace(/\n/g, '\r\n') + '\r\n\r\n', 'utf8'), typeof body === 'string' ? Buffer.from(body, 'utf8') : body]);
  return Buffer.concat([Buffer.from(`MSG ${head} ${payload.length}\r\n`), payload]);
}

export function textMsg(head: string, text: string): Buffer {
  return msg(head, 'MIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\nX-MMS-IM-Format: FN=Arial; EF=; CO=0; CS=0; PF=22', text);
}

export function typing(head: string, user: string): Buffer {
  return msg(head, `MIME-Version: 1.0\nContent-Type: text/x-msmsgscontrol\nTypingUser: ${user}`, '\r\n');
}

export function invite(head: string, fields: Record<string, string>): Buffer {
  const body = Object.entries(fields).map(([k, v]) => `${k}: ${v}\r\n`).join('') + '\r\n';
  return msg(head, 'MIME-Version: 1.0\nContent-Type: text/x-msmsgsinvite; charset=UTF-8', body);
}

/** 48-byte MSNP2P header + data + 4-byte footer, inside an MSG with P2P-Dest */
export function p2p(head: string, dest: string, h: { session: number; id: number; offset: number; total: number; flags: number }, data: Buffer, footer = 0): Buffer {
  const hdr = Buffer.alloc(48);
  hdr.writeUInt32LE(h.session, 0);
  hdr.writeUInt32LE(h.id, 4);
  hdr.writeBigUInt64LE(BigInt(h.offset), 8);
  hdr.writeBigUInt64LE(BigInt(h.total), 16);
  hdr.writeUInt32LE(data.length, 24);
  hdr.writeUInt32LE(h.flags, 28);
  const f = Buffer.alloc(4);
  f.writeUInt32BE(footer);
  return msg(head, `MIME-Version: 1.0\nContent-Type: application/x-msnmsgrp2p\nP2P-Dest: ${dest}`, Buffer.concat([hdr, data, f]));
}

/** MSNSLP INVITE for a file transfer (EUF-GUID 5D3E02AB-…), Context = base64 of the FT context */
export function slpInvite(from: string, to: string, sessionId: number, filename: string, size: number): Buffer {
  const ctx = Buffer.alloc(574);
  ctx.writeUInt32LE(574, 0);
  ctx.writeUInt32LE(2, 4);
  ctx.writeBigUInt64LE(BigInt(size), 8);
  ctx.writeUInt32LE(1, 16);
  Buffer.from(filename, 'utf16le').copy(ctx, 20);
  ctx.fill(0xff, 570, 574);
  const body =
    'EUF-GUID: {5D3E02AB-6190-11D3-BBBB-00C04F795683}\r\n' +
    `SessionID: ${sessionId}\r\nAppID: 2\r\nContext: ${ctx.toString('base64')}\r\n\r\n\0`;
  return Buffer.from(
    `INVITE MSNMSGR:${to} MSNSLP/1.0\r\nTo: <msnmsgr:${to}>\r\nFrom: <msnmsgr:${from}>\r\nVia: MSNSLP/1.0/TLP ;branch={33517CE4-02FC-4428-B6F4-39927229B722}\r\n` +
      `CSeq: 0 \r\nCall-ID: {9D79AE57-1BD5-444B-B14E-3FC9BB2B5D58}\r\nMax-Forwards: 0\r\nContent-Type: application/x-msnmsgr-sessionreqbody\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n` +
      body,
    'utf8',
  );
}

export function sha256(b: Buffer): string {
  return crypto.createHash('sha256').update(b).digest('hex');
}

/** deterministic pseudo-random bytes */
export function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x100000000;
  };
}

export function randomBytes(n: number, seed: number): Buffer {
  const r = prng(seed);
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(r() * 256);
  return b;
}

/** MSNFTP data blocks: [0, len lo, len hi] + up to 2045 bytes */
export function msnftpBlocks(file: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (let o = 0; o < file.length; o += 2045) {
    const chunk = file.subarray(o, o + 2045);
    parts.push(Buffer.from([0, chunk.length & 0xff, chunk.length >> 8]), chunk);
  }
  return Buffer.concat(parts);
}

/** segment order with neighbours swapped: 1,0,3,2,… */
export function swapped(n: number): number[] {
  const o = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i + 1 < n; i += 2) [o[i], o[i + 1]] = [o[i + 1], o[i]];
  return o;
}
