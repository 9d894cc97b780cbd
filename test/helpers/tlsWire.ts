// Builders of TLS ClientHellos and protected QUIC client Initial packets (v1 RFC 9001, v2 RFC 9369),
// written here independently of signatures/tls and signatures/quic. Used by the modern-messenger tests
// (through test/signatures/modern-wire.ts) and the SNI differential fuzz (test/signatures/sni-diff.test.ts).
import crypto from 'node:crypto';

export const u16 = (n: number) => Buffer.from([(n >> 8) & 0xff, n & 0xff]);
export const u24 = (n: number) => Buffer.from([(n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]);

/** one extension: type(2) length(2) body */
export function tlsExt(type: number, body: Buffer): Buffer {
  return Buffer.concat([u16(type), u16(body.length), body]);
}

/** server_name (RFC 6066 §3): one host_name entry */
export function sniExt(sni: string): Buffer {
  const name = Buffer.from(sni, 'latin1');
  const list = Buffer.concat([Buffer.from([0]), u16(name.length), name]);
  return tlsExt(0, Buffer.concat([u16(list.length), list]));
}

/** application_layer_protocol_negotiation (RFC 7301) */
export function alpnExt(alpn: string[]): Buffer {
  const protos = Buffer.concat(alpn.map((p) => Buffer.concat([Buffer.from([p.length]), Buffer.from(p)])));
  return tlsExt(16, Buffer.concat([u16(protos.length), protos]));
}

/** A ClientHello handshake message (type 1 + length + body) with these extensions, in this order. */
export function clientHelloOf(exts: Buffer[], opts: { sessionId?: Buffer; ciphers?: Buffer } = {}): Buffer {
  const extBytes = Buffer.concat(exts);
  const sid = opts.sessionId ?? crypto.randomBytes(32);
  const ciphers = opts.ciphers ?? Buffer.from('130113021303', 'hex');
  const body = Buffer.concat([
    Buffer.from([3, 3]), crypto.randomBytes(32),
    Buffer.from([sid.length]), sid,
    u16(ciphers.length), ciphers,
    Buffer.from([1, 0]),
    u16(extBytes.length), extBytes,
  ]);
  return Buffer.concat([Buffer.from([1]), u24(body.length), body]);
}

/** A TLS 1.3-style ClientHello handshake message (type 1 + length + body). */
export function clientHelloMessage(opts: { sni?: string; alpn?: string[]; padTo?: number } = {}): Buffer {
  const exts: Buffer[] = [];
  if (opts.sni !== undefined) exts.push(sniExt(opts.sni));
  if (opts.alpn?.length) exts.push(alpnExt(opts.alpn));
  // supported_versions: TLS 1.3
  exts.push(Buffer.from('002b0003020304', 'hex'));
  if (opts.padTo) {
    const cur = exts.reduce((n, e) => n + e.length, 0);
    const pad = Math.max(0, opts.padTo - cur - 4);
    exts.push(tlsExt(21, Buffer.alloc(pad)));
  }
  return clientHelloOf(exts);
}

/** A handshake message in TLS records of the given fragment sizes (the last size repeats). */
export function tlsRecords(hs: Buffer, sizes: number[] = [16384]): Buffer {
  const recs: Buffer[] = [];
  for (let o = 0, i = 0; o < hs.length; i++) {
    const frag = hs.subarray(o, o + sizes[Math.min(i, sizes.length - 1)]);
    recs.push(Buffer.concat([Buffer.from([0x16, 3, 1]), u16(frag.length), frag]));
    o += frag.length;
  }
  return Buffer.concat(recs);
}

/** The ClientHello in TLS records (split into records of at most `recordSize` bytes). */
export function tlsClientHello(opts: { sni?: string; alpn?: string[]; recordSize?: number; padTo?: number } = {}): Buffer {
  return tlsRecords(clientHelloMessage(opts), [opts.recordSize ?? 16384]);
}

// ---- QUIC client Initial (RFC 9001 §5, RFC 9369 §3) -----------------------------------------------

export const QUIC_V1 = 0x00000001;
export const QUIC_V2 = 0x6b3343cf;

function expandLabel(secret: Buffer, label: string, len: number): Buffer {
  const l = Buffer.from('tls13 ' + label);
  const info = Buffer.concat([u16(len), Buffer.from([l.length]), l, Buffer.from([0])]);
  // single-block HKDF-Expand (len ≤ 32)
  return crypto.createHmac('sha256', secret).update(Buffer.concat([info, Buffer.from([1])])).digest().subarray(0, len);
}

export const V1_SALT = Buffer.from('38762cf7f55934b34d179ae6a4c80cadccbb7f0a', 'hex');
const V2_SALT = Buffer.from('0dede3def700a6db819381be6e269dcbf9bd2ed9', 'hex');

export function clientInitialKeys(dcid: Buffer, version = QUIC_V1): { key: Buffer; iv: Buffer; hp: Buffer } {
  const v2 = version === QUIC_V2;
  const initial = crypto.createHmac('sha256', v2 ? V2_SALT : V1_SALT).update(dcid).digest();
  const secret = expandLabel(initial, 'client in', 32);
  const p = v2 ? 'quicv2 ' : 'quic ';
  return { key: expandLabel(secret, p + 'key', 16), iv: expandLabel(secret, p + 'iv', 12), hp: expandLabel(secret, p + 'hp', 16) };
}

export function varint(n: number): Buffer {
  if (n < 64) return Buffer.from([n]);
  if (n < 16384) return Buffer.from([0x40 | (n >> 8), n & 0xff]);
  return Buffer.from([0x80 | (n >>> 24), (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]);
}

export function cryptoFrame(offset: number, data: Buffer): Buffer {
  return Buffer.concat([Buffer.from([0x06]), varint(offset), varint(data.length), data]);
}

export interface InitialOptions {
  scid?: Buffer;
  /** packet number length, 1–4 (default 2) */
  pnLen?: number;
  /** the whole packet is padded (PADDING frames) to this size; default 1200, 0 for none */
  padTo?: number;
}

/** One protected client Initial packet carrying `frames`, padded to 1200 bytes. */
export function quicInitial(dcid: Buffer, frames: Buffer, pn = 0, version = QUIC_V1, opts: InitialOptions = {}): Buffer {
  const keys = clientInitialKeys(dcid, version);
  const scid = opts.scid ?? Buffer.from('c0ffee01', 'hex');
  const pnLen = opts.pnLen ?? 2;
  const padTo = opts.padTo ?? 1200;
  // long header, Initial: type 0 in v1, 1 in v2 (RFC 9369 §3.2)
  const type = version === QUIC_V2 ? 1 : 0;
  const ver = Buffer.alloc(4);
  ver.writeUInt32BE(version >>> 0);
  const headerNoLen = Buffer.concat([Buffer.from([0xc0 | (type << 4) | (pnLen - 1)]), ver, Buffer.from([dcid.length]), dcid, Buffer.from([scid.length]), scid, varint(0)]);
  const fixed = headerNoLen.length + 2 + pnLen + 16;
  let payload = frames;
  // the header protection sample (16 bytes from 4 past the packet number's start) must be there
  const min = Math.max(padTo - fixed, 4 - pnLen);
  if (payload.length < min) payload = Buffer.concat([payload, Buffer.alloc(min - payload.length)]);
  const length = pnLen + payload.length + 16;
  const pnBytes = Buffer.alloc(4);
  pnBytes.writeUInt32BE(pn >>> 0);
  const header = Buffer.concat([headerNoLen, Buffer.from([0x40 | (length >> 8), length & 0xff]), pnBytes.subarray(4 - pnLen)]);
  const nonce = Buffer.from(keys.iv);
  for (let i = 0; i < 4; i++) nonce[11 - i] ^= (pn >>> (8 * i)) & 0xff;
  const c = crypto.createCipheriv('aes-128-gcm', keys.key, nonce);
  c.setAAD(header);
  const ct = Buffer.concat([c.update(payload), c.final(), c.getAuthTag()]);
  const pkt = Buffer.concat([header, ct]);
  const pnOffset = header.length - pnLen;
  const mask = crypto.createCipheriv('aes-128-ecb', keys.hp, null).update(pkt.subarray(pnOffset + 4, pnOffset + 20));
  pkt[0] ^= mask[0] & 0x0f;
  for (let i = 0; i < pnLen; i++) pkt[pnOffset + i] ^= mask[1 + i];
  return pkt;
}

/** A 0-RTT long-header packet of `size` random protected bytes (a client coalesces it after its Initial). */
export function quicZeroRtt(dcid: Buffer, scid: Buffer, size: number, version = QUIC_V1): Buffer {
  const type = version === QUIC_V2 ? 2 : 1; // RFC 9369 §3.2: 0-RTT is type 2 in v2
  const ver = Buffer.alloc(4);
  ver.writeUInt32BE(version >>> 0);
  const body = crypto.randomBytes(Math.max(20, size));
  return Buffer.concat([Buffer.from([0xc0 | (type << 4) | 1]), ver, Buffer.from([dcid.length]), dcid, Buffer.from([scid.length]), scid, Buffer.from([0x40 | (body.length >> 8), body.length & 0xff]), body]);
}
