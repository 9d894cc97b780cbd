// Builders for MSNP test traffic (written from the protocol's documented shapes, not from our decoder).
import crypto from 'node:crypto';
import { xorshift32 } from '../helpers/fuzz';

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
  const hdr = p2pHeader({ ...h, length: data.length });
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
  const next = xorshift32(seed);
  return () => next() / 0x100000000;
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

// ---- MSNP2P version 2 (WLM 2009+), written from libpurple msn/p2p.c msn_p2p_header_to_wire and
// Miranda NG msn_p2p.cpp P2PV2_Header::createMsg: big-endian fields, TLVs padded to 4 bytes.

export interface V2 {
  /** sequence number (base id) */
  id: number;
  opcode?: number;
  /** peer info TLV (type 1, 12 bytes) as sent with SYN */
  peerInfo?: boolean;
  /** header TLV 2: acknowledges this sequence number */
  ack?: number;
  tf?: number;
  pkg?: number;
  session?: number;
  /** data TLV 1 (u64 remaining), omitted when undefined */
  remaining?: number | bigint;
  /** raw header / data TLV bytes instead of the built ones (hostile tests) */
  headerTlvs?: Buffer;
  dataTlvs?: Buffer;
}

function pad4(b: Buffer): Buffer {
  return b.length % 4 ? Buffer.concat([b, Buffer.alloc(4 - (b.length % 4))]) : b;
}

/** one P2P v2 packet (header, data header, payload; no footer) */
export function p2pv2(o: V2, data: Buffer = Buffer.alloc(0)): Buffer {
  let htlv = o.headerTlvs;
  if (!htlv) {
    const parts: Buffer[] = [];
    if (o.peerInfo) parts.push(Buffer.from([0x01, 12, 0x02, 0x00, 0, 0, 0x0e, 0x00, 0, 0, 0, 0, 0x01, 0x0f]));
    if (o.ack !== undefined) {
      const a = Buffer.from([0x02, 4, 0, 0, 0, 0]);
      a.writeUInt32BE(o.ack >>> 0, 2);
      parts.push(a);
    }
    htlv = pad4(Buffer.concat(parts));
  }
  let dh = Buffer.alloc(0);
  if (data.length || o.tf !== undefined) {
    let dtlv = o.dataTlvs;
    if (!dtlv) {
      dtlv = Buffer.alloc(0);
      if (o.remaining !== undefined) {
        dtlv = Buffer.alloc(10);
        dtlv[0] = 0x01;
        dtlv[1] = 8;
        dtlv.writeBigUInt64BE(BigInt(o.remaining), 2);
      }
      dtlv = pad4(dtlv);
    }
    dh = Buffer.alloc(8);
    dh[0] = 8 + dtlv.length;
    dh[1] = o.tf ?? 0;
    dh.writeUInt16BE(o.pkg ?? 0, 2);
    dh.writeUInt32BE(o.session ?? 0, 4);
    dh = Buffer.concat([dh, dtlv]);
  }
  const h = Buffer.alloc(8);
  h[0] = 8 + htlv.length;
  h[1] = o.opcode ?? 0;
  h.writeUInt16BE(dh.length + data.length, 2);
  h.writeUInt32BE(o.id >>> 0, 4);
  return Buffer.concat([h, htlv, dh, data]);
}

/**
 * `data` split into P2P v2 packets of at most `chunk` payload bytes, as WLM sends an SLP message or
 * a file: the first with TF_FIRST (| tf), each with the bytes remaining after it (none on the last).
 */
export function p2pv2Split(data: Buffer, chunk: number, o: { id: number; tf: number; pkg: number; session: number; syn?: boolean }): Buffer[] {
  const out: Buffer[] = [];
  let id = o.id;
  for (let off = 0; off < data.length; off += chunk) {
    const part = data.subarray(off, off + chunk);
    const rest = data.length - off - part.length;
    const first = off === 0;
    const pkt = p2pv2({ id, opcode: first && o.syn ? 0x03 : 0x02, peerInfo: first && o.syn, tf: first ? o.tf | 0x01 : o.tf, pkg: o.pkg, session: o.session, remaining: rest > 0 ? rest : undefined }, part);
    id += pkt.readUInt16BE(2);
    out.push(pkt);
  }
  return out;
}

/** a P2P v2 packet in a switchboard MSG addressed to endpoints (`user;{guid}`), with the footer */
export function p2pv2Msg(head: string, dest: string, src: string, packet: Buffer, footer = 0): Buffer {
  const f = Buffer.alloc(4);
  f.writeUInt32BE(footer);
  return msg(head, `MIME-Version: 1.0\nContent-Type: application/x-msnmsgrp2p\nP2P-Dest: ${dest}\nP2P-Src: ${src}`, Buffer.concat([packet, f]));
}

/** MSNP21 SDG carrying P2P packets (MSNPSharp SDGBridge / digsby layout), Bridging-Offsets between them */
export function sdgP2P(trid: number, from: string, to: string, packets: Buffer[], opts: { offsets?: string; footer?: boolean } = {}): Buffer {
  const bodies = packets.map((p) => (opts.footer === false ? p : Buffer.concat([p, Buffer.alloc(4)])));
  const offs: number[] = [];
  let o = 0;
  for (const b of bodies) {
    offs.push(o);
    o += b.length;
  }
  const body = Buffer.concat(bodies);
  const head =
    `Routing: 1.0\r\nTo: 1:${to}\r\nFrom: 1:${from}\r\nService-Channel: PE\r\nOptions: 0\r\n\r\n` +
    `Reliability: 1.0\r\n\r\n` +
    `Messaging: 2.0\r\nContent-Length: ${body.length}\r\nContent-Type: application/x-msnmsgrp2p\r\nContent-Transfer-Encoding: binary\r\nMessage-Type: Data\r\nPipe: 1\r\nBridging-Offsets: ${opts.offsets ?? offs.join(',')}\r\n\r\n`;
  const payload = Buffer.concat([Buffer.from(head, 'utf8'), body]);
  return Buffer.concat([Buffer.from(`SDG ${trid} ${payload.length}\r\n`), payload]);
}

/** A 48-byte MSNP2P v1 header (libpurple msn/p2p.c, directconn.c MsnDcContext): little-endian fields */
export function p2pHeader(h: { session: number; id: number; offset: number; total: number; length: number; flags: number; ackId?: number; ackUid?: number; ackSize?: number }): Buffer {
  const b = Buffer.alloc(48);
  b.writeUInt32LE(h.session, 0);
  b.writeUInt32LE(h.id, 4);
  b.writeBigUInt64LE(BigInt(h.offset), 8);
  b.writeBigUInt64LE(BigInt(h.total), 16);
  b.writeUInt32LE(h.length, 24);
  b.writeUInt32LE(h.flags, 28);
  b.writeUInt32LE(h.ackId ?? 0, 32);
  b.writeUInt32LE(h.ackUid ?? 0, 36);
  b.writeBigUInt64LE(BigInt(h.ackSize ?? 0), 40);
  return b;
}

/** a direct-connection packet: u32 LE length, then the bytes (libpurple msn_dc_enqueue_msg) */
export const dcPacket = (b: Buffer): Buffer => Buffer.concat([Buffer.from([b.length & 255, (b.length >> 8) & 255, (b.length >> 16) & 255, b.length >>> 24]), b]);

/** the nonce handshake (libpurple msn_dc_send_handshake): flags 0x100, the 16-byte nonce in the ack fields */
export function dcHandshake(id: number, nonce: Buffer): Buffer {
  const h = p2pHeader({ session: 0, id, offset: 0, total: 0, length: 0, flags: 0x100 });
  nonce.copy(h, 32, 0, 16);
  return dcPacket(h);
}

/** The sender's side of a direct connection carrying `file` for P2P session `session`: foo, handshake, data packets of at most 1352 bytes (libpurple DC_MAX_BODY_SIZE) */
export function dcSenderStream(file: Buffer, session: number, nonce: Buffer, chunk = 1352): Buffer {
  const parts = [Buffer.from([4, 0, 0, 0, 0x66, 0x6f, 0x6f, 0]), dcHandshake(1000, nonce)];
  for (let o = 0, id = 1001; o < file.length || (o === 0 && file.length === 0); o += chunk, id++) {
    const data = file.subarray(o, o + chunk);
    parts.push(dcPacket(Buffer.concat([p2pHeader({ session, id, offset: o, total: file.length, length: data.length, flags: 0x01000030 }), data])));
    if (file.length === 0) break;
  }
  return Buffer.concat(parts);
}

/** The MSNSLP transport message a listening peer answers with (200 OK, application/x-msnmsgr-transrespbody) */
export function slpTransResp(from: string, to: string, fields: string): Buffer {
  const body = `Bridge: TCPv1\r\nListening: true\r\nNonce: {4E3A2C7B-9F1D-4E6B-A2C8-5D7E9F1A3B4C}\r\n${fields}\r\n\0`;
  return Buffer.from(
    `MSNSLP/1.0 200 OK\r\nTo: <msnmsgr:${to}>\r\nFrom: <msnmsgr:${from}>\r\nVia: MSNSLP/1.0/TLP ;branch={5C2E8A71-3B4D-4F9E-8A6C-1D2E3F4A5B6C}\r\n` +
      `CSeq: 1 \r\nCall-ID: {9D79AE57-1BD5-444B-B14E-3FC9BB2B5D58}\r\nMax-Forwards: 0\r\nContent-Type: application/x-msnmsgr-transrespbody\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n` +
      body,
    'utf8',
  );
}

/**
 * The sender's side of a P2P v2 direct connection (Miranda NG msn_p2p.cpp, MSNPSharp
 * P2PDCHandshakeMessage): foo, the bare 16-byte nonce, then v2 packets of the file (TF 7 first, 6 after)
 */
export function dcV2SenderStream(file: Buffer, session: number, nonce: Buffer, chunk = 1352): Buffer {
  const parts = [Buffer.from([4, 0, 0, 0, 0x66, 0x6f, 0x6f, 0]), dcPacket(nonce.subarray(0, 16))];
  for (const p of p2pv2Split(file, chunk, { id: 0x5000, tf: 6, pkg: 9, session })) parts.push(dcPacket(p));
  return Buffer.concat(parts);
}
