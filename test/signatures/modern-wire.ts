// Builders for the modern-messenger tests: TLS ClientHello, QUIC Initial (encrypted with the RFC 9001
// keys, written independently of signatures/quic, in test/helpers/tlsWire.ts), DNS answers, STUN messages.
import crypto from 'node:crypto';

const u16 = (n: number) => Buffer.from([n >> 8, n & 0xff]);
const u24 = (n: number) => Buffer.from([n >> 16, (n >> 8) & 0xff, n & 0xff]);

// TLS ClientHello and QUIC Initial builders: test/helpers/tlsWire.ts (shared with the SNI differential fuzz)
export { clientHelloMessage, tlsClientHello, V1_SALT, clientInitialKeys, cryptoFrame, quicInitial } from '../helpers/tlsWire';

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
