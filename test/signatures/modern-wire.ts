// Builders for the modern-messenger tests: TLS ClientHello, QUIC Initial (encrypted with the RFC 9001
// keys, written here independently of signatures/quic), DNS answers, STUN messages.
import crypto from 'node:crypto';

const u16 = (n: number) => Buffer.from([n >> 8, n & 0xff]);
const u24 = (n: number) => Buffer.from([n >> 16, (n >> 8) & 0xff, n & 0xff]);

/** A TLS 1.3-style ClientHello handshake message (type 1 + length + body). */
export function clientHelloMessage(opts: { sni?: string; alpn?: string[]; padTo?: number } = {}): Buffer {
  const exts: Buffer[] = [];
  if (opts.sni !== undefined) {
    const name = Buffer.from(opts.sni, 'latin1');
    const list = Buffer.concat([Buffer.from([0]), u16(name.length), name]);
    exts.push(Buffer.concat([u16(0), u16(list.length + 2), u16(list.length), list]));
  }
  if (opts.alpn?.length) {
    const protos = Buffer.concat(opts.alpn.map((p) => Buffer.concat([Buffer.from([p.length]), Buffer.from(p)])));
    exts.push(Buffer.concat([u16(16), u16(protos.length + 2), u16(protos.length), protos]));
  }
  // supported_versions: TLS 1.3
  exts.push(Buffer.from('002b0003020304', 'hex'));
  if (opts.padTo) {
    const cur = exts.reduce((n, e) => n + e.length, 0);
    const pad = Math.max(0, opts.padTo - cur - 4);
    exts.push(Buffer.concat([u16(21), u16(pad), Buffer.alloc(pad)]));
  }
  const extBytes = Buffer.concat(exts);
  const body = Buffer.concat([
    Buffer.from([3, 3]), crypto.randomBytes(32),
    Buffer.from([32]), crypto.randomBytes(32),
    u16(6), Buffer.from('130113021303', 'hex'),
    Buffer.from([1, 0]),
    u16(extBytes.length), extBytes,
  ]);
  return Buffer.concat([Buffer.from([1]), u24(body.length), body]);
}

/** The ClientHello in TLS records (split into records of at most `recordSize` bytes). */
export function tlsClientHello(opts: { sni?: string; alpn?: string[]; recordSize?: number; padTo?: number } = {}): Buffer {
  const hs = clientHelloMessage(opts);
  const size = opts.recordSize ?? 16384;
  const recs: Buffer[] = [];
  for (let o = 0; o < hs.length; o += size) {
    const frag = hs.subarray(o, o + size);
    recs.push(Buffer.concat([Buffer.from([0x16, 3, 1]), u16(frag.length), frag]));
  }
  return Buffer.concat(recs);
}

// ---- QUIC v1 Initial (RFC 9001 §5) ------------------------------------------------------------

function expandLabel(secret: Buffer, label: string, len: number): Buffer {
  const l = Buffer.from('tls13 ' + label);
  const info = Buffer.concat([u16(len), Buffer.from([l.length]), l, Buffer.from([0])]);
  return expand(secret, info, len);
}
function expand(prk: Buffer, info: Buffer, len: number): Buffer {
  // single-block HKDF-Expand (len ≤ 32)
  return crypto.createHmac('sha256', prk).update(Buffer.concat([info, Buffer.from([1])])).digest().subarray(0, len);
}

export const V1_SALT = Buffer.from('38762cf7f55934b34d179ae6a4c80cadccbb7f0a', 'hex');

export function clientInitialKeys(dcid: Buffer): { key: Buffer; iv: Buffer; hp: Buffer } {
  const initial = crypto.createHmac('sha256', V1_SALT).update(dcid).digest();
  const secret = expandLabel(initial, 'client in', 32);
  return { key: expandLabel(secret, 'quic key', 16), iv: expandLabel(secret, 'quic iv', 12), hp: expandLabel(secret, 'quic hp', 16) };
}

function varint(n: number): Buffer {
  if (n < 64) return Buffer.from([n]);
  if (n < 16384) return Buffer.from([0x40 | (n >> 8), n & 0xff]);
  return Buffer.from([0x80 | (n >>> 24), (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]);
}

export function cryptoFrame(offset: number, data: Buffer): Buffer {
  return Buffer.concat([Buffer.from([0x06]), varint(offset), varint(data.length), data]);
}

/** One protected client Initial packet carrying `frames`, padded to 1200 bytes. */
export function quicInitial(dcid: Buffer, frames: Buffer, pn = 0, version = 1): Buffer {
  const keys = clientInitialKeys(dcid);
  const scid = Buffer.from('c0ffee01', 'hex');
  const pnLen = 2;
  const headerNoLen = Buffer.concat([Buffer.from([0xc0 | (pnLen - 1)]), Buffer.from([0, 0, 0, version]), Buffer.from([dcid.length]), dcid, Buffer.from([scid.length]), scid, varint(0)]);
  const fixed = headerNoLen.length + 2 + pnLen + 16;
  let payload = frames;
  if (fixed + payload.length < 1200) payload = Buffer.concat([payload, Buffer.alloc(1200 - fixed - payload.length)]);
  const length = pnLen + payload.length + 16;
  const header = Buffer.concat([headerNoLen, Buffer.from([0x40 | (length >> 8), length & 0xff]), u16(pn)]);
  const nonce = Buffer.from(keys.iv);
  nonce[11] ^= pn & 0xff;
  nonce[10] ^= (pn >> 8) & 0xff;
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

// ---- DNS ------------------------------------------------------------------------------------------

function qname(name: string): Buffer {
  return Buffer.concat([...name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])), Buffer.from([0])]);
}

/** A DNS response for `name` (A), optionally through a CNAME. */
export function dnsResponse(name: string, ip: string, cname?: string, id = 0x1234): Buffer {
  const q = Buffer.concat([qname(name), u16(1), u16(1)]);
  const rrs: Buffer[] = [];
  let owner = Buffer.from([0xc0, 12]);
  if (cname) {
    const target = qname(cname);
    rrs.push(Buffer.concat([owner, u16(5), u16(1), Buffer.from([0, 0, 1, 0]), u16(target.length), target]));
    owner = Buffer.from([0xc0, 12 + q.length + 12]);
  }
  const v6 = ip.includes(':');
  const addr = v6 ? ipv6Bytes(ip) : Buffer.from(ip.split('.').map(Number));
  rrs.push(Buffer.concat([owner, u16(v6 ? 28 : 1), u16(1), Buffer.from([0, 0, 1, 0]), u16(addr.length), addr]));
  return Buffer.concat([u16(id), u16(0x8180), u16(1), u16(rrs.length), u16(0), u16(0), q, ...rrs]);
}

function ipv6Bytes(ip: string): Buffer {
  const [head, tail] = ip.split('::');
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail ? tail.split(':') : [];
  const groups = tail !== undefined ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  const b = Buffer.alloc(16);
  groups.forEach((g, i) => b.writeUInt16BE(parseInt(g || '0', 16), i * 2));
  return b;
}

export function dnsQuery(name: string, id = 0x1234): Buffer {
  return Buffer.concat([u16(id), u16(0x0100), u16(1), u16(0), u16(0), u16(0), qname(name), u16(1), u16(1)]);
}

// ---- STUN -----------------------------------------------------------------------------------------

export function stunBindingRequest(attrs: { type: number; value: Buffer }[] = []): Buffer {
  const body = Buffer.concat(attrs.map((a) => Buffer.concat([u16(a.type), u16(a.value.length), a.value, Buffer.alloc((4 - (a.value.length % 4)) % 4)])));
  return Buffer.concat([u16(0x0001), u16(body.length), Buffer.from('2112a442', 'hex'), crypto.randomBytes(12), body]);
}

/** A TLS 1.2 server flight: ServerHello + Certificate (first certificate `der`), in records of `recordSize`. */
export function tls12ServerFlight(der: Buffer, recordSize = 1200): Buffer {
  const list = Buffer.concat([u24(der.length), der]);
  const body = Buffer.concat([u24(list.length), list]);
  const cert = Buffer.concat([Buffer.from([11]), u24(body.length), body]);
  const shBody = Buffer.concat([Buffer.from([3, 3]), crypto.randomBytes(32), Buffer.from([0]), Buffer.from([0xc0, 0x2f, 0])]);
  const sh = Buffer.concat([Buffer.from([2]), u24(shBody.length), shBody]);
  const hs = Buffer.concat([sh, cert]);
  const recs: Buffer[] = [];
  for (let o = 0; o < hs.length; o += recordSize) {
    const f = hs.subarray(o, o + recordSize);
    recs.push(Buffer.concat([Buffer.from([0x16, 3, 3]), u16(f.length), f]));
  }
  return Buffer.concat(recs);
}

/** A STUN/TURN message of any type: magic cookie, transaction id `tid` (12 bytes), attributes padded to 4. */
export function stunMessage(type: number, attrs: { type: number; value: Buffer }[] = [], tid: Buffer = crypto.randomBytes(12)): Buffer {
  const body = Buffer.concat(attrs.map((a) => Buffer.concat([u16(a.type), u16(a.value.length), a.value, Buffer.alloc((4 - (a.value.length % 4)) % 4)])));
  return Buffer.concat([u16(type), u16(body.length), Buffer.from('2112a442', 'hex'), tid, body]);
}

/**
 * An XOR-MAPPED/PEER/RELAYED-ADDRESS attribute (RFC 8489 §14.2): the port XOR the cookie's high half, an
 * IPv4 address XOR the cookie, an IPv6 address XOR the cookie followed by the message's transaction id.
 */
export function xorAddressAttr(type: number, ip: string, port: number, tid: Buffer): { type: number; value: Buffer } {
  const v6 = ip.includes(':');
  const addr = v6 ? ipv6Bytes(ip) : Buffer.from(ip.split('.').map(Number));
  const mask = Buffer.concat([Buffer.from('2112a442', 'hex'), tid]);
  const x = Buffer.from(addr.map((byte, i) => byte ^ mask[i]));
  return { type, value: Buffer.concat([Buffer.from([0, v6 ? 2 : 1]), u16(port ^ 0x2112), x]) };
}

/** A TURN ChannelData frame (RFC 8656 §12.4): channel number, length, data padded to 4 as over TCP. */
export function channelData(channel: number, data: Buffer): Buffer {
  return Buffer.concat([u16(channel), u16(data.length), data, Buffer.alloc((4 - (data.length % 4)) % 4)]);
}
