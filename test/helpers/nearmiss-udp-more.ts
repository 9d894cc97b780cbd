// More UDP look-alikes for the near-miss corpus (test/signatures/near-miss.test.ts), beside
// nearmiss.ts's own: datagram protocols whose first bytes or sizes resemble an IM protocol's.
// Each is built from its protocol's spec (RFC or the Wireshark dissector's layout, cited per
// generator), with random identifiers, lengths and payloads; none of it is IM.
import type { Exchange, Rng, UdpScript } from './nearmiss';

// ---- bytes ----------------------------------------------------------------------------------------

export const cat = (...parts: (Buffer | number[] | string)[]): Buffer =>
  Buffer.concat(parts.map((p) => (Buffer.isBuffer(p) ? p : typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));
export const u8 = (n: number) => Buffer.from([n & 255]);
export const u16 = (n: number) => Buffer.from([(n >> 8) & 255, n & 255]);
const u16le = (n: number) => Buffer.from([n & 255, (n >> 8) & 255]);
const u24 = (n: number) => Buffer.from([(n >> 16) & 255, (n >> 8) & 255, n & 255]);
export const u32 = (n: number) => {
  const x = Buffer.alloc(4);
  x.writeUInt32BE(n >>> 0);
  return x;
};
const u32le = (n: number) => {
  const x = Buffer.alloc(4);
  x.writeUInt32LE(n >>> 0);
  return x;
};
const u48 = (n: number) => cat(u16(Math.floor(n / 2 ** 32)), u32(n % 2 ** 32));
const u64le = (n: number) => cat(u32le(n % 2 ** 32), u32le(Math.floor(n / 2 ** 32)));
const cstr = (s: string) => cat(s, [0]);
const side = (rng: Rng) => rng.pick(['c', 's'] as const);

/** ASN.1 BER/DER: tag, definite length, content */
function tlv(tag: number, ...content: (Buffer | number[] | string)[]): Buffer {
  const c = cat(...content);
  const n = c.length;
  const len = n < 128 ? [n] : n < 256 ? [0x81, n] : [0x82, n >> 8, n & 255];
  return cat([tag], len, c);
}
const berInt = (n: number): Buffer => {
  const bytes: number[] = [];
  let v = n >>> 0;
  do {
    bytes.unshift(v & 255);
    v = Math.floor(v / 256);
  } while (v > 0);
  if (bytes[0] & 0x80) bytes.unshift(0);
  return tlv(0x02, bytes);
};
const berStr = (s: string | Buffer) => tlv(0x04, s);
/** an OID in dotted form */
function berOid(dotted: string): Buffer {
  const p = dotted.split('.').map(Number);
  const out = [40 * p[0] + p[1]];
  for (const x of p.slice(2)) {
    const sub: number[] = [x & 0x7f];
    for (let v = x >>> 7; v > 0; v >>>= 7) sub.unshift(0x80 | (v & 0x7f));
    out.push(...sub);
  }
  return tlv(0x06, out);
}

/** DNS wire names and records (RFC 1035), for mDNS, LLMNR and NetBIOS */
function dnsName(name: string): Buffer {
  return cat(...name.split('.').filter(Boolean).map((l) => cat([l.length], l)), [0]);
}
function dnsRR(name: Buffer, type: number, cls: number, ttl: number, rdata: Buffer): Buffer {
  return cat(name, u16(type), u16(cls), u32(ttl), u16(rdata.length), rdata);
}
function dnsMsg(id: number, flags: number, qs: Buffer[], ans: Buffer[], add: Buffer[] = []): Buffer {
  return cat(u16(id), u16(flags), u16(qs.length), u16(ans.length), u16(0), u16(add.length), ...qs, ...ans, ...add);
}
const ipv4 = (rng: Rng, net = '192.168') => Buffer.from([...net.split('.').map(Number), ...[rng.range(0, 255), rng.range(1, 254)]].slice(0, 4));

// ---- DTLS 1.2 (WebRTC DTLS-SRTP) ---------------------------------------------------------------------

/** RFC 6347 §4.1 record: type, version, epoch, 48-bit sequence, length */
function dtlsRecord(type: number, version: number, epoch: number, seq: number, body: Buffer): Buffer {
  return cat([type], u16(version), u16(epoch), u48(seq), u16(body.length), body);
}
/** RFC 6347 §4.2.2 handshake header: type, length, message_seq, fragment_offset, fragment_length */
function dtlsHandshake(type: number, msgSeq: number, body: Buffer): Buffer {
  return cat([type], u24(body.length), u16(msgSeq), u24(0), u24(body.length), body);
}

/** a self-signed P-256 certificate, CN=WebRTC (openssl req -x509 -newkey ec); its serial is replaced per use */
const WEBRTC_CERT = Buffer.from(
  '308201763082011da003020102021405c5f82fb6d3021000ad1f64ef4df1bc01253ad4300a06082a8648ce3d0403023011310f300d06035504030c065765' +
  '62525443301e170d3236313132383034313030345a170d3236313232383034313030345a3011310f300d06035504030c065765625254433059301306072a' +
  '8648ce3d020106082a8648ce3d03010703420004ab3034c2e1fc1f22bd19c4075d7537fbd6ed4557e5fb00634bd15391f8a9f33ebbdb06f8966754e95307' +
  'f3fca773d75f30d81a834513b9ccf26f4808a7fb47e3a3533051301d0603551d0e04160414c3aeaa95c5dd72c57e6d07f3d9c547bf003b00a6301f060355' +
  '1d23041830168014c3aeaa95c5dd72c57e6d07f3d9c547bf003b00a6300f0603551d130101ff040530030101ff300a06082a8648ce3d0403020347003044' +
  '02207a2c815080592dcb65d0d5da7f2d100ce3c89cb482c45dbe96283821fa2c79ab0220203193cece76ac0346d010cd8fddb49316955ec725552034f172' +
  '23755e369113',
  'hex',
);

function dtlsSrtp(rng: Rng): UdpScript {
  const ext = (type: number, data: Buffer) => cat(u16(type), u16(data.length), data);
  const exts = cat(
    ext(0xff01, Buffer.from([0])), // renegotiation_info
    ext(0x0017, Buffer.alloc(0)), // extended_master_secret
    ext(0x000a, cat(u16(6), u16(0x001d), u16(0x0017), u16(0x0018))), // supported_groups
    ext(0x000b, Buffer.from([1, 0])), // ec_point_formats
    ext(0x000e, cat(u16(4), u16(0x0007), u16(0x0001), [0])), // use_srtp: AEAD_AES_128_GCM, AES128_CM_SHA1_80 (RFC 5764)
    ext(0x000d, cat(u16(8), u16(0x0403), u16(0x0804), u16(0x0401), u16(0x0201))),
  );
  const suites = cat(u16(8), u16(0xc02b), u16(0xc02f), u16(0xcca9), u16(0xc00a));
  const random = rng.bytes(32);
  const hello = (cookie: Buffer) => cat(u16(0xfefd), random, [0], [cookie.length], cookie, suites, [1, 0], u16(exts.length), exts);
  const cookie = rng.bytes(rng.pick([20, 32]));
  let cseq = 0, sseq = 0;
  const d: Exchange[] = [
    ['c', dtlsRecord(22, 0xfeff, 0, cseq++, dtlsHandshake(1, 0, hello(Buffer.alloc(0))))],
    // HelloVerifyRequest: server_version DTLS 1.0 and a cookie (RFC 6347 §4.2.1)
    ['s', dtlsRecord(22, 0xfeff, 0, sseq++, dtlsHandshake(3, 0, cat(u16(0xfeff), [cookie.length], cookie)))],
    ['c', dtlsRecord(22, 0xfeff, 0, cseq++, dtlsHandshake(1, 1, hello(cookie)))],
  ];
  const sh = cat(u16(0xfefd), rng.bytes(32), [0], u16(0xc02b), [0], u16(9), ext(0x000e, cat(u16(2), u16(0x0007), [0])));
  // each side's self-signed ECDSA certificate (CN=WebRTC, as browsers make them), ECDHE P-256, ECDSA signatures
  const certs = () => {
    const c = Buffer.from(WEBRTC_CERT);
    rng.bytes(20).copy(c, 15);
    c[15] &= 0x7f;
    return cat(u24(c.length + 3), u24(c.length), c);
  };
  const ecdsa = () => tlv(0x30, tlv(0x02, [rng.range(1, 0x7f)], rng.bytes(31)), tlv(0x02, [rng.range(1, 0x7f)], rng.bytes(31)));
  const signed = () => {
    const sig = ecdsa();
    return cat(u16(0x0403), u16(sig.length), sig);
  };
  const point = () => cat([65, 4], rng.bytes(64));
  d.push(['s', cat(
    dtlsRecord(22, 0xfefd, 0, sseq++, dtlsHandshake(2, 1, sh)),
    dtlsRecord(22, 0xfefd, 0, sseq++, dtlsHandshake(11, 2, certs())),
    dtlsRecord(22, 0xfefd, 0, sseq++, dtlsHandshake(12, 3, cat([3], u16(0x0017), point(), signed()))),
    dtlsRecord(22, 0xfefd, 0, sseq++, dtlsHandshake(13, 4, cat([2, 0x40, 0x01], u16(4), u16(0x0403), u16(0x0804), u16(0)))),
    dtlsRecord(22, 0xfefd, 0, sseq++, dtlsHandshake(14, 5, Buffer.alloc(0))),
  )]);
  d.push(['c', cat(
    dtlsRecord(22, 0xfefd, 0, cseq++, dtlsHandshake(11, 2, certs())),
    dtlsRecord(22, 0xfefd, 0, cseq++, dtlsHandshake(16, 3, point())),
    dtlsRecord(22, 0xfefd, 0, cseq++, dtlsHandshake(15, 4, signed())),
    dtlsRecord(20, 0xfefd, 0, cseq++, Buffer.from([1])),
    dtlsRecord(22, 0xfefd, 1, 0, rng.bytes(40)),
  )]);
  d.push(['s', cat(dtlsRecord(20, 0xfefd, 0, sseq++, Buffer.from([1])), dtlsRecord(22, 0xfefd, 1, 0, rng.bytes(40)))]);
  // then SRTP (RFC 3711: an RTP header, encrypted payload, 10-byte auth tag) and SRTCP
  const ssrc = rng.int(2 ** 32);
  let seq = rng.int(65536), ts = rng.int(2 ** 31);
  for (let i = rng.range(3, 12); i > 0; i--) {
    d.push(['c', cat([0x90, 111], u16(seq++ & 0xffff), u32(ts), u32(ssrc), u16(0xbede), u16(1), [0x10, rng.int(128), 0, 0], rng.bytes(rng.range(20, 160)), rng.bytes(10))]);
    ts = (ts + 960) >>> 0;
    if (rng.chance(0.2)) d.push([side(rng), cat([0x80, 200], u16(6), u32(ssrc), rng.bytes(20), u32(0x80000000 + i), rng.bytes(10))]);
  }
  return { name: 'dtls-srtp', port: rng.range(49152, 65535), datagrams: d };
}

// ---- TURN ChannelData ----------------------------------------------------------------------------------

/**
 * RFC 8656: an Allocate (401 with REALM and NONCE first, then with long-term credentials; the success
 * names the relayed address), ChannelBind (CHANNEL-NUMBER, §12), then 4-byte ChannelData headers.
 * Servers name themselves in SOFTWARE as the common TURN servers do.
 */
function turnChannelData(rng: Rng): UdpScript {
  const stun = (type: number, attrs: Buffer) => cat(u16(type), u16(attrs.length), u32(0x2112a442), rng.bytes(12), attrs);
  const attr = (t: number, v: Buffer) => cat(u16(t), u16(v.length), v, Buffer.alloc((4 - (v.length % 4)) % 4));
  // 0x4000-0x7FFF (RFC 5766; RFC 8656 narrows new bindings to 0x4000-0x4FFF)
  const channel = rng.range(0x4000, 0x7fff);
  const xaddr = () => cat([0, 1], u16(rng.range(1024, 65535) ^ 0x2112), rng.bytes(4));
  const peer = xaddr();
  const realm = Buffer.from(rng.pick(['example.org', 'turn.example.net', 'media.example.com']));
  const nonce = Buffer.from(rng.hex(16));
  const user = Buffer.from(`${rng.range(1700000000, 1800000000)}:${rng.hex(8)}`);
  const software = Buffer.from(rng.pick(["Coturn-4.6.2 'Gorst'", 'restund v0.4.12 (x86_64/linux)', 'ice4j.org', 'eturnal', 'pion/turn']));
  const creds = cat(attr(0x0006, user), attr(0x0014, realm), attr(0x0015, nonce));
  const d: Exchange[] = [];
  if (rng.chance(0.7)) {
    const transport = attr(0x0019, Buffer.from([17, 0, 0, 0]));
    d.push(
      ['c', stun(0x0003, transport)],
      ['s', stun(0x0113, cat(attr(0x0009, cat([0, 0, 4, 1], 'Unauthorized')), attr(0x0014, realm), attr(0x0015, nonce), attr(0x8022, software)))],
      ['c', stun(0x0003, cat(transport, creds, attr(0x0008, rng.bytes(20))))],
      ['s', stun(0x0103, cat(attr(0x0016, xaddr()), attr(0x0020, xaddr()), attr(0x000d, u32(600)), attr(0x8022, software), attr(0x0008, rng.bytes(20))))],
      ['c', stun(0x0008, cat(attr(0x0012, peer), creds, attr(0x0008, rng.bytes(20))))],
      ['s', stun(0x0108, cat(attr(0x8022, software), attr(0x0008, rng.bytes(20))))],
    );
  }
  d.push(
    ['c', stun(0x0009, cat(attr(0x000c, cat(u16(channel), [0, 0])), attr(0x0012, peer), creds, attr(0x0008, rng.bytes(20))))],
    ['s', stun(0x0109, cat(attr(0x8022, software), attr(0x0008, rng.bytes(20))))],
  );
  const chan = (payload: Buffer) => cat(u16(channel), u16(payload.length), payload, Buffer.alloc(rng.chance(0.5) ? (4 - (payload.length % 4)) % 4 : 0));
  let seq = rng.int(65536);
  const ssrc = rng.int(2 ** 32);
  for (let i = rng.range(3, 15); i > 0; i--) {
    const payload = rng.chance(0.8)
      ? cat([0x80, rng.pick([0, 8, 111, 96])], u16(seq++ & 0xffff), u32(rng.int(2 ** 32)), u32(ssrc), rng.bytes(rng.range(20, 300)))
      : dtlsRecord(23, 0xfefd, 1, rng.int(1000), rng.bytes(rng.range(30, 200)));
    d.push([side(rng), chan(payload)]);
  }
  return { name: 'turn-channeldata', port: 3478, datagrams: d };
}

// ---- WireGuard ---------------------------------------------------------------------------------------

/** WireGuard whitepaper §5.4: initiation (148 bytes), response (92), cookie reply (64), transport data */
function wireguard(rng: Rng): UdpScript {
  const iSender = rng.int(2 ** 32), rSender = rng.int(2 ** 32);
  const init = cat([1, 0, 0, 0], u32le(iSender), rng.bytes(32), rng.bytes(48), rng.bytes(28), rng.bytes(16), Buffer.alloc(16));
  const resp = cat([2, 0, 0, 0], u32le(rSender), u32le(iSender), rng.bytes(32), rng.bytes(16), rng.bytes(16), Buffer.alloc(16));
  const d: Exchange[] = [['c', init]];
  if (rng.chance(0.2)) d.push(['s', cat([3, 0, 0, 0], u32le(iSender), rng.bytes(24), rng.bytes(32))], ['c', cat(init.subarray(0, 132), rng.bytes(16))]);
  d.push(['s', resp]);
  let cc = 0, sc = 0;
  // transport: receiver index, 64-bit counter, ciphertext padded to 16 plus a 16-byte tag (keepalive: 32 bytes)
  const data = (toServer: boolean, n: number) => cat([4, 0, 0, 0], u32le(toServer ? rSender : iSender), u64le(toServer ? cc++ : sc++), rng.bytes(16 * Math.ceil(n / 16) + 16));
  d.push(['c', data(true, 0)]);
  for (let i = rng.range(3, 15); i > 0; i--) {
    const s = side(rng);
    d.push([s, data(s === 'c', rng.chance(0.2) ? 0 : rng.range(40, 1400))]);
  }
  return { name: 'wireguard', port: 51820, datagrams: d };
}

// ---- OpenVPN -----------------------------------------------------------------------------------------

/**
 * OpenVPN over UDP (Wireshark packet-openvpn.c; OpenVPN ssl_pkt.h): opcode << 3 | key id, session id,
 * [tls-auth HMAC, packet id, time], ACK array, remote session id, message packet id, TLS payload.
 */
function openvpn(rng: Rng): UdpScript {
  const P_CONTROL_HARD_RESET_CLIENT_V2 = 7, P_CONTROL_HARD_RESET_SERVER_V2 = 8, P_CONTROL_V1 = 4, P_ACK_V1 = 5, P_DATA_V2 = 9;
  const csid = rng.bytes(8), ssid = rng.bytes(8);
  const tlsAuth = rng.chance(0.5);
  let cpid = 0, spid = 0, creplay = 1, sreplay = 1;
  const t0 = rng.range(1700000000, 1800000000);
  const ctl = (client: boolean, op: number, acks: number[], msgId: number | null, payload: Buffer) => cat(
    [(op << 3) | 0], client ? csid : ssid,
    tlsAuth ? cat(rng.bytes(20), u32(client ? creplay++ : sreplay++), u32(t0)) : Buffer.alloc(0),
    [acks.length], ...acks.map(u32), acks.length ? (client ? ssid : csid) : Buffer.alloc(0),
    msgId === null ? Buffer.alloc(0) : u32(msgId), payload,
  );
  const tlsRec = (type: number, body: Buffer) => cat([type, 3, 3], u16(body.length), body);
  const exts = cat(u16(0x000a), u16(6), u16(4), u16(0x001d), u16(0x0017), u16(0x000d), u16(6), u16(4), u16(0x0804), u16(0x0403));
  const chBody = cat([3, 3], rng.bytes(32), [0], u16(6), u16(0xc02f), u16(0xc030), u16(0x00ff), [1, 0], u16(exts.length), exts);
  const hello = cat([1], u24(chBody.length), chBody);
  const d: Exchange[] = [
    ['c', ctl(true, P_CONTROL_HARD_RESET_CLIENT_V2, [], cpid++, Buffer.alloc(0))],
    ['s', ctl(false, P_CONTROL_HARD_RESET_SERVER_V2, [0], spid++, Buffer.alloc(0))],
    ['c', ctl(true, P_ACK_V1, [0], null, Buffer.alloc(0))],
    ['c', ctl(true, P_CONTROL_V1, [], cpid++, tlsRec(0x16, hello))],
    ['s', ctl(false, P_ACK_V1, [1], null, Buffer.alloc(0))],
    ['s', ctl(false, P_CONTROL_V1, [], spid++, tlsRec(0x16, rng.bytes(rng.range(900, 1200))))],
    ['c', ctl(true, P_ACK_V1, [1], null, Buffer.alloc(0))],
  ];
  const peerId = rng.int(1 << 24);
  for (let i = rng.range(3, 12); i > 0; i--) d.push([side(rng), cat([(P_DATA_V2 << 3) | 0], u24(peerId), u32(i), rng.bytes(rng.range(40, 1300)))]);
  return { name: 'openvpn-udp', port: 1194, datagrams: d };
}

// ---- IKEv2 and NAT-T ---------------------------------------------------------------------------------

/** RFC 7296 §3.1 header and §3.2 generic payload headers; RFC 3948 NAT-T (non-ESP marker, keepalive, ESP) */
function ikev2(rng: Rng, natT: boolean): UdpScript {
  const ispi = rng.bytes(8), rspi = rng.bytes(8);
  const payload = (next: number, body: Buffer) => cat([next, 0], u16(body.length + 4), body);
  const msg = (exch: number, flags: number, mid: number, first: number, body: Buffer, r = true) => {
    const m = cat(ispi, r ? rspi : Buffer.alloc(8), [first, 0x20, exch, flags], u32(mid), u32(28 + body.length), body);
    return natT ? cat(u32(0), m) : m;
  };
  // SA (33) with one proposal: ENCR AES-GCM-16, PRF SHA256, DH 19; KE (34); Nonce (40); NAT-D notifies (41)
  const transform = (last: boolean, type: number, id: number, attr?: Buffer) => {
    const body = cat([type, 0], u16(id), attr ?? Buffer.alloc(0));
    return cat([last ? 0 : 3, 0], u16(body.length + 4), body);
  };
  const prop = (() => {
    const ts = cat(transform(false, 1, 20, cat(u16(0x800e), u16(256))), transform(false, 2, 5), transform(true, 4, 19));
    const body = cat([1, 1, 0, 3], ts);
    return cat([0, 0], u16(body.length + 4), body);
  })();
  const natd = (next: number, type: number) => payload(next, cat([0, 0], u16(type), rng.bytes(20)));
  const init = () => cat(
    payload(34, prop), payload(40, cat(u16(19), [0, 0], rng.bytes(64))), payload(41, rng.bytes(32)),
    natd(41, 16388), natd(0, 16389),
  );
  const d: Exchange[] = [];
  if (!natT) {
    d.push(['c', msg(34, 0x08, 0, 33, init(), false)], ['s', msg(34, 0x20, 0, 33, init())]);
  }
  // IKE_AUTH, INFORMATIONAL: an Encrypted payload (46): IV, ciphertext, ICV
  let mid = natT ? 0 : 1;
  for (let i = rng.range(1, 4); i > 0; i--, mid++) {
    d.push(['c', msg(mid === 1 ? 35 : 37, 0x08, mid, 46, payload(rng.pick([35, 0, 41]), rng.bytes(8 * rng.range(8, 60) + 16)))]);
    d.push(['s', msg(mid === 1 ? 35 : 37, 0x20, mid, 46, payload(rng.pick([36, 0]), rng.bytes(8 * rng.range(8, 60) + 16)))]);
  }
  if (natT) {
    // ESP in UDP (SPI never 0) and NAT keepalives (a single 0xFF)
    const spiC = rng.range(0x100, 2 ** 32 - 1), spiS = rng.range(0x100, 2 ** 32 - 1);
    let sc = 1, ss = 1;
    for (let i = rng.range(3, 12); i > 0; i--) {
      if (rng.chance(0.25)) d.push(['c', Buffer.from([0xff])]);
      else if (rng.chance(0.5)) d.push(['c', cat(u32(spiS), u32(sc++), rng.bytes(8), rng.bytes(16 * rng.range(2, 80)), rng.bytes(16))]);
      else d.push(['s', cat(u32(spiC), u32(ss++), rng.bytes(8), rng.bytes(16 * rng.range(2, 80)), rng.bytes(16))]);
    }
  }
  return { name: natT ? 'ikev2-natt' : 'ikev2', port: natT ? 4500 : 500, datagrams: d };
}

// ---- BitTorrent: DHT (BEP 5) and uTP (BEP 29) -------------------------------------------------------------

function bencode(v: unknown): Buffer {
  if (typeof v === 'number') return Buffer.from(`i${v}e`);
  if (Buffer.isBuffer(v)) return cat(`${v.length}:`, v);
  if (typeof v === 'string') return bencode(Buffer.from(v, 'latin1'));
  if (Array.isArray(v)) return cat('l', ...v.map(bencode), 'e');
  const o = v as Record<string, unknown>;
  return cat('d', ...Object.keys(o).sort().flatMap((k) => [bencode(k), bencode(o[k])]), 'e');
}

function dht(rng: Rng): UdpScript {
  const me = rng.bytes(20), them = rng.bytes(20);
  const d: Exchange[] = [];
  for (let i = rng.range(1, 5); i > 0; i--) {
    const t = rng.bytes(2);
    const q = rng.pick(['ping', 'find_node', 'get_peers', 'announce_peer'] as const);
    const a: Record<string, unknown> = { id: me };
    if (q === 'find_node') a.target = rng.bytes(20);
    if (q === 'get_peers') a.info_hash = rng.bytes(20);
    if (q === 'announce_peer') Object.assign(a, { info_hash: rng.bytes(20), port: rng.range(1024, 65535), token: rng.bytes(8), implied_port: 1 });
    d.push(['c', bencode({ t, y: 'q', q, a, v: cat('UT', u16(rng.range(0x2000, 0x3fff))) })]);
    const r: Record<string, unknown> = { id: them };
    if (q === 'find_node' || q === 'get_peers') r.nodes = rng.bytes(26 * rng.range(1, 8));
    if (q === 'get_peers') r.token = rng.bytes(8);
    d.push(['s', rng.chance(0.1) ? bencode({ t, y: 'e', e: [203, 'Protocol Error'] }) : bencode({ t, y: 'r', r, ip: rng.bytes(6) })]);
  }
  return { name: 'bittorrent-dht', port: 6881, datagrams: d };
}

function utp(rng: Rng): UdpScript {
  // type << 4 | version 1, extension, connection id, timestamp µs, timestamp difference, window, seq_nr, ack_nr
  const hdr = (type: number, conn: number, seq: number, ack: number, ext = 0) =>
    cat([(type << 4) | 1, ext], u16(conn), u32(rng.int(2 ** 32)), u32(rng.int(2 ** 20)), u32(rng.range(0x10000, 0x100000)), u16(seq & 0xffff), u16(ack & 0xffff));
  const ST_DATA = 0, ST_STATE = 2, ST_SYN = 4, ST_FIN = 1;
  const recv = rng.int(65536);
  let cs = rng.int(65536), ss = rng.int(65536);
  const d: Exchange[] = [['c', hdr(ST_SYN, recv, cs++, 0)], ['s', hdr(ST_STATE, recv, ss, cs - 1)]];
  // the peer wire handshake: 19 "BitTorrent protocol", reserved, info hash, peer id
  d.push(['c', cat(hdr(ST_DATA, recv + 1, cs++, ss), [19], 'BitTorrent protocol', [0, 0, 0, 0, 0, 0x10, 0, 5], rng.bytes(20), '-UT360S-', rng.bytes(12))]);
  for (let i = rng.range(2, 10); i > 0; i--) {
    if (rng.chance(0.5)) d.push(['s', cat(hdr(ST_DATA, recv, ss++, cs - 1), u32(rng.range(1, 16393)), [rng.pick([5, 7, 4, 1])], rng.bytes(rng.range(4, 1200)))]);
    else d.push(['c', rng.chance(0.3) ? cat(hdr(ST_STATE, recv + 1, cs, ss - 1, 1), [0, 4], rng.bytes(4)) : hdr(ST_STATE, recv + 1, cs, ss - 1)]);
  }
  if (rng.chance(0.3)) d.push(['c', hdr(ST_FIN, recv + 1, cs, ss - 1)]);
  return { name: 'utp', port: rng.range(6881, 6999), datagrams: d };
}

// ---- SNMP v2c ----------------------------------------------------------------------------------------

/** RFC 3416 PDUs in a v2c message (RFC 1901): version 1, community, GetRequest/GetNextRequest/Response */
function snmp(rng: Rng): UdpScript {
  const community = rng.pick(['public', 'private', 'monitor', rng.hex(10)]);
  const oids = rng.some(['1.3.6.1.2.1.1.1.0', '1.3.6.1.2.1.1.3.0', '1.3.6.1.2.1.1.5.0', '1.3.6.1.2.1.2.2.1.10.1', '1.3.6.1.2.1.2.2.1.16.2', '1.3.6.1.4.1.2021.10.1.3.1'], rng.range(1, 4));
  const msg = (pduTag: number, id: number, binds: Buffer[]) => tlv(0x30, berInt(1), berStr(community), tlv(pduTag, berInt(id), berInt(0), berInt(0), tlv(0x30, ...binds)));
  const d: Exchange[] = [];
  for (let i = rng.range(1, 4); i > 0; i--) {
    const id = rng.int(2 ** 31);
    const req = rng.pick([0xa0, 0xa1]);
    d.push(['c', msg(req, id, oids.map((o) => tlv(0x30, berOid(o), [5, 0])))]);
    d.push(['s', msg(0xa2, id, oids.map((o) => tlv(0x30, berOid(o), rng.pick([
      () => berStr(`Linux sw${rng.int(99)} 5.10.0 #1 SMP x86_64`),
      () => tlv(0x43, berInt(rng.int(2 ** 31)).subarray(2)), // TimeTicks
      () => tlv(0x41, berInt(rng.int(2 ** 31)).subarray(2)), // Counter32
      () => berStr(`host${rng.int(99)}.example.com`),
    ])())))]);
  }
  return { name: 'snmp-v2c', port: 161, datagrams: d };
}

// ---- SSDP, mDNS, LLMNR, NetBIOS ------------------------------------------------------------------------

/** UPnP Device Architecture 2.0 §1.3: SSDP over HTTPU */
function ssdp(rng: Rng): UdpScript {
  const st = rng.pick(['ssdp:all', 'upnp:rootdevice', 'urn:schemas-upnp-org:device:MediaRenderer:1', 'urn:dial-multiscreen-org:service:dial:1']);
  const uuid = `${rng.hex(8)}-${rng.hex(4)}-${rng.hex(4)}-${rng.hex(4)}-${rng.hex(12)}`;
  const loc = `http://192.168.${rng.int(255)}.${rng.range(2, 254)}:${rng.pick([1400, 49152, 8008, 80])}/description.xml`;
  const d: Exchange[] = [
    ['c', Buffer.from(`M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: "ssdp:discover"\r\nMX: ${rng.range(1, 5)}\r\nST: ${st}\r\nUSER-AGENT: Windows/10.0 UPnP/2.0 Example/1.0\r\n\r\n`)],
    ['s', Buffer.from(`HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=1800\r\nDATE: Mon, 15 Jan 2024 09:30:00 GMT\r\nEXT:\r\nLOCATION: ${loc}\r\nSERVER: Linux/5.10 UPnP/1.0 Sonos/70.3\r\nST: ${st}\r\nUSN: uuid:${uuid}::${st}\r\nBOOTID.UPNP.ORG: ${rng.int(999)}\r\n\r\n`)],
  ];
  for (let i = rng.range(1, 4); i > 0; i--) {
    const nts = rng.pick(['ssdp:alive', 'ssdp:alive', 'ssdp:byebye']);
    d.push(['s', Buffer.from(`NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nCACHE-CONTROL: max-age=1800\r\nLOCATION: ${loc}\r\nNT: upnp:rootdevice\r\nNTS: ${nts}\r\nSERVER: Linux/5.10 UPnP/1.0 Example/1.0\r\nUSN: uuid:${uuid}::upnp:rootdevice\r\n\r\n`)]);
  }
  return { name: 'ssdp', port: 1900, datagrams: d };
}

/** RFC 6762: ID 0, QU bit on the question class, cache-flush bit on unique answers */
function mdns(rng: Rng): UdpScript {
  const svc = rng.pick(['_googlecast._tcp.local', '_airplay._tcp.local', '_ipp._tcp.local', '_spotify-connect._tcp.local', '_hap._tcp.local']);
  const inst = `${rng.pick(['Living Room', 'Printer', 'Office TV', 'Kitchen'])}-${rng.hex(4)}`;
  const host = `${rng.pick(['android', 'macbook', 'printer'])}-${rng.hex(6)}.local`;
  const instName = cat([inst.length], inst, dnsName(svc));
  const q = cat(dnsName(svc), u16(12), u16(rng.chance(0.5) ? 0x8001 : 0x0001));
  const txt = cat(...['md=Example', `id=${rng.hex(16)}`, 've=05'].map((s) => cat([s.length], s)));
  const ans = [
    dnsRR(dnsName(svc), 12, 1, 120, instName),
    dnsRR(instName, 16, 0x8001, 4500, txt),
    dnsRR(instName, 33, 0x8001, 120, cat(u16(0), u16(0), u16(rng.pick([8009, 7000, 631])), dnsName(host))),
    dnsRR(dnsName(host), 1, 0x8001, 120, ipv4(rng)),
  ];
  const d: Exchange[] = [['c', dnsMsg(0, 0, [q], [])], ['s', dnsMsg(0, 0x8400, [], ans)]];
  if (rng.chance(0.5)) d.push(['c', dnsMsg(0, 0, [q], [ans[0]])]);
  return { name: 'mdns', port: 5353, datagrams: d };
}

/** RFC 4795: DNS format, flags C/TC/T, on 5355 */
function llmnr(rng: Rng): UdpScript {
  const d: Exchange[] = [];
  for (let i = rng.range(1, 3); i > 0; i--) {
    const name = dnsName(rng.pick(['wpad', 'fileserver', `desktop-${rng.hex(7)}`, 'printer01', 'isatap']));
    const type = rng.pick([1, 28]);
    const id = rng.int(65536);
    const q = cat(name, u16(type), u16(1));
    d.push(['c', dnsMsg(id, 0, [q], [])]);
    if (rng.chance(0.6)) d.push(['s', dnsMsg(id, 0x8000, [q], [dnsRR(cat([0xc0, 12]), type, 1, 30, type === 1 ? ipv4(rng) : cat([0xfe, 0x80], Buffer.alloc(6), rng.bytes(8)))])]);
  }
  return { name: 'llmnr', port: 5355, datagrams: d };
}

/** RFC 1002 §4.2: NetBIOS name service, first-level encoded names */
function netbiosNs(rng: Rng): UdpScript {
  const encode = (name: string, suffix: number) => {
    const raw = Buffer.alloc(16, 0x20);
    raw.write(name.toUpperCase().slice(0, 15), 'latin1');
    raw[15] = suffix;
    const enc = Buffer.alloc(32);
    for (let i = 0; i < 16; i++) {
      enc[2 * i] = 0x41 + (raw[i] >> 4);
      enc[2 * i + 1] = 0x41 + (raw[i] & 15);
    }
    return cat([32], enc, [0]);
  };
  const d: Exchange[] = [];
  for (let i = rng.range(1, 3); i > 0; i--) {
    const id = rng.int(65536);
    const nm = rng.pick(['WORKGROUP', 'FILESRV', `DESKTOP-${rng.hex(6).toUpperCase()}`, 'PRINTSERVER']);
    if (rng.chance(0.3)) {
      // NBSTAT query for "*": the node's name table
      const star = Buffer.alloc(32, 0x41);
      star[0] = 0x43;
      star[1] = 0x4b;
      const q = cat([32], star, [0], u16(0x21), u16(1));
      d.push(['c', dnsMsg(id, 0x0000, [q], [])]);
      const names = Array.from({ length: rng.range(2, 5) }, () => cat(Buffer.from(nm.padEnd(15, ' ').slice(0, 15)), [rng.pick([0, 0x20, 0x1e])], u16(rng.pick([0x0400, 0x8400]))));
      const rdata = cat([names.length], ...names, rng.bytes(6), Buffer.alloc(40));
      d.push(['s', dnsMsg(id, 0x8400, [], [dnsRR(cat([32], star, [0]), 0x21, 1, 0, rdata)])]);
    } else {
      const q = cat(encode(nm, rng.pick([0x00, 0x20, 0x1d, 0x1b])), u16(0x20), u16(1));
      d.push(['c', dnsMsg(id, 0x0110, [q], [])]);
      if (rng.chance(0.6)) d.push(['s', dnsMsg(id, 0x8500, [], [dnsRR(q.subarray(0, 34), 0x20, 1, 300000, cat(u16(0), ipv4(rng, '10.0')))])]);
    }
  }
  return { name: 'netbios-ns', port: 137, datagrams: d };
}

// ---- DHCP, TFTP, RADIUS, CoAP --------------------------------------------------------------------------

/** RFC 2131/2132: BOOTP header, magic cookie, options */
function dhcp(rng: Rng): UdpScript {
  const xid = rng.bytes(4);
  const mac = cat([rng.pick([0x00, 0x3c, 0xa4, 0xf0])], rng.bytes(5));
  const opt = (code: number, v: Buffer | number[]) => cat([code, v.length], v);
  const pkt = (op: number, type: number, yiaddr: Buffer, opts: Buffer[]) => cat(
    [op, 1, 6, 0], xid, u16(rng.int(8)), u16(0x8000 * rng.int(2)), Buffer.alloc(4), yiaddr, Buffer.alloc(4), Buffer.alloc(4),
    mac, Buffer.alloc(10), Buffer.alloc(64), Buffer.alloc(128), [0x63, 0x82, 0x53, 0x63], opt(53, [type]), ...opts, [255],
  );
  const server = ipv4(rng, '192.168'), offer = ipv4(rng, '192.168');
  const host = Buffer.from(`${rng.pick(['laptop', 'android', 'iphone', 'DESKTOP'])}-${rng.hex(6)}`);
  const params = opt(55, [1, 3, 6, 15, 31, 33, 43, 44, 46, 47, 119, 121, 249, 252]);
  const lease = [opt(54, server), opt(51, u32(rng.pick([3600, 86400, 43200]))), opt(1, [255, 255, 255, 0]), opt(3, server), opt(6, server)];
  const d: Exchange[] = [
    ['c', pkt(1, 1, Buffer.alloc(4), [opt(61, cat([1], mac)), opt(57, u16(1500)), opt(12, host), params])],
    ['s', pkt(2, 2, offer, lease)],
    ['c', pkt(1, 3, Buffer.alloc(4), [opt(61, cat([1], mac)), opt(50, offer), opt(54, server), opt(12, host), params])],
    ['s', pkt(2, 5, offer, lease)],
  ];
  return { name: 'dhcp', port: 67, datagrams: d };
}

/** RFC 1350 / 2347: RRQ with options, OACK, DATA blocks, ACKs */
function tftp(rng: Rng): UdpScript {
  const file = rng.pick(['pxelinux.0', 'SEP001122334455.cnf.xml', `config-${rng.hex(6)}.txt`, 'boot/grub/x86_64-efi/core.efi']);
  const blk = rng.pick([512, 1428, 1468]);
  const opts = blk === 512 ? Buffer.alloc(0) : cat(cstr('blksize'), cstr(String(blk)), cstr('tsize'), cstr('0'));
  const d: Exchange[] = [['c', cat([0, 1], cstr(file), cstr('octet'), opts)]];
  if (blk !== 512) d.push(['s', cat([0, 6], cstr('blksize'), cstr(String(blk)), cstr('tsize'), cstr(String(rng.range(1000, 90000))))], ['c', cat([0, 4], u16(0))]);
  if (rng.chance(0.15)) {
    d.push(['s', cat([0, 5], u16(1), cstr('File not found'))]);
    return { name: 'tftp', port: 69, datagrams: d.slice(0, 1).concat(d.slice(-1)) };
  }
  const blocks = rng.range(1, 8);
  for (let n = 1; n <= blocks; n++) {
    d.push(['s', cat([0, 3], u16(n), rng.bytes(n === blocks ? rng.range(0, blk - 1) : blk))]);
    d.push(['c', cat([0, 4], u16(n))]);
  }
  return { name: 'tftp', port: 69, datagrams: d };
}

/** RFC 2865: code, identifier, length, authenticator, attributes (Message-Authenticator: RFC 3579) */
function radius(rng: Rng): UdpScript {
  const attr = (t: number, v: Buffer | string) => cat([t, (typeof v === 'string' ? Buffer.byteLength(v) : v.length) + 2], v);
  const d: Exchange[] = [];
  for (let i = rng.range(1, 3); i > 0; i--) {
    const id = rng.int(256);
    const attrs = cat(
      attr(1, rng.pick(['alice', 'bob@example.com', `host/ws${rng.int(99)}.example.com`, 'EXAMPLE\\carol'])),
      attr(2, rng.bytes(16 * rng.range(1, 2))),
      attr(4, ipv4(rng, '10.1')), attr(5, u32(rng.int(50000))), attr(61, u32(rng.pick([5, 15, 19]))),
      attr(30, `${rng.hex(2)}-${rng.hex(2)}-${rng.hex(2)}-${rng.hex(2)}-${rng.hex(2)}-${rng.hex(2)}:corp`),
      attr(31, `${rng.hex(2)}-${rng.hex(2)}-${rng.hex(2)}-${rng.hex(2)}-${rng.hex(2)}-${rng.hex(2)}`),
      attr(80, rng.bytes(16)),
    );
    d.push(['c', cat([1, id], u16(20 + attrs.length), rng.bytes(16), attrs)]);
    // Access-Accept, -Reject, or -Challenge with an EAP-Request/PEAP start (RFC 3579, EAP header: RFC 3748 §4)
    const code = rng.pick([2, 3, 11]);
    const rattrs = code === 2 ? cat(attr(6, u32(2)), attr(25, `class-${rng.hex(8)}`), attr(80, rng.bytes(16))) : code === 11 ? cat(attr(79, cat([1, rng.int(256)], u16(6), [25, 0x20])), attr(24, rng.bytes(16)), attr(80, rng.bytes(16))) : attr(18, 'Authentication failed');
    d.push(['s', cat([code, id], u16(20 + rattrs.length), rng.bytes(16), rattrs)]);
  }
  return { name: 'radius', port: 1812, datagrams: d };
}

/** RFC 7252 §3: Ver/T/TKL, code, message id, token, delta-encoded options, 0xFF payload marker */
function coap(rng: Rng): UdpScript {
  const options = (opts: [number, Buffer][]) => {
    let last = 0;
    const out: Buffer[] = [];
    for (const [num, v] of opts) {
      const delta = num - last;
      last = num;
      out.push(cat([(delta << 4) | Math.min(v.length, 12)], v.length > 12 ? [v.length - 13] : [], v));
    }
    return cat(...out);
  };
  const d: Exchange[] = [];
  let mid = rng.int(65536);
  for (let i = rng.range(1, 4); i > 0; i--) {
    const tkl = rng.range(0, 8);
    const token = rng.bytes(tkl);
    const path = rng.pick([['.well-known', 'core'], ['sensors', 'temp'], ['rd'], ['fw', 'state']]);
    const con = rng.chance(0.7);
    const code = rng.pick([0x01, 0x01, 0x02, 0x03]);
    const opts: [number, Buffer][] = path.map((p) => [11, Buffer.from(p)] as [number, Buffer]);
    if (code === 0x01 && rng.chance(0.3)) opts.push([17, Buffer.from([50])]);
    const payload = code === 0x01 ? Buffer.alloc(0) : cat([0xff], `{"v":${rng.range(0, 400) / 10}}`);
    d.push(['c', cat([0x40 | (con ? 0 : 0x10) | tkl, code], u16(mid), token, options(opts), payload)]);
    // piggybacked ACK (type 2) or NON response: 2.05 Content, 2.04 Changed, 4.04 Not Found
    const rc = rng.pick([0x45, 0x44, 0x84]);
    const body = rc === 0x45 ? cat([0xff], path[0] === '.well-known' ? '</sensors/temp>;rt="temperature";if="sensor",</fw/state>' : String(rng.range(0, 400) / 10)) : Buffer.alloc(0);
    d.push(['s', cat([(con ? 0x60 : 0x50) | tkl, rc], u16(con ? mid : rng.int(65536)), token, rc === 0x45 ? options([[12, Buffer.from([rng.pick([0, 40, 50])])]]) : Buffer.alloc(0), body)]);
    mid = (mid + 1) & 0xffff;
  }
  return { name: 'coap', port: 5683, datagrams: d };
}

// ---- game servers: Source A2S, RakNet -------------------------------------------------------------------

/** Valve Developer Wiki "Server queries": FF FF FF FF 54 "Source Engine Query\0", S2C_CHALLENGE, the info reply */
function a2s(rng: Rng): UdpScript {
  const q = cat([0xff, 0xff, 0xff, 0xff, 0x54], cstr('Source Engine Query'));
  const challenge = rng.bytes(4);
  const info = cat(
    [0xff, 0xff, 0xff, 0xff, 0x49, 0x11], cstr(`${rng.pick(['[EU] Community', 'Casual', 'Surf'])} #${rng.int(99)} | example.net`),
    cstr(rng.pick(['de_dust2', 'cp_badlands', 'ctf_2fort', 'de_mirage'])), cstr(rng.pick(['csgo', 'tf', 'cstrike'])), cstr(rng.pick(['Counter-Strike: Global Offensive', 'Team Fortress'])),
    u16le(rng.pick([730, 440, 240])), [rng.range(0, 24), 24, rng.range(0, 4), 0x64, rng.pick([0x6c, 0x77]), 0, 1], cstr(`1.38.${rng.int(9)}.${rng.int(9)}`),
    [0xb1], u16le(27015), rng.bytes(8), cstr('secure,valve_ds'), u64le(rng.int(2 ** 32)),
  );
  const d: Exchange[] = [['c', q], ['s', cat([0xff, 0xff, 0xff, 0xff, 0x41], challenge)], ['c', cat(q, challenge)], ['s', info]];
  if (rng.chance(0.5)) {
    d.push(['c', cat([0xff, 0xff, 0xff, 0xff, 0x55], [0xff, 0xff, 0xff, 0xff])], ['s', cat([0xff, 0xff, 0xff, 0xff, 0x41], challenge)], ['c', cat([0xff, 0xff, 0xff, 0xff, 0x55], challenge)]);
    const players = Array.from({ length: rng.range(0, 6) }, (_, i) => cat([i], cstr(`player${rng.int(999)}`), u32le(rng.int(100)), rng.bytes(4)));
    d.push(['s', cat([0xff, 0xff, 0xff, 0xff, 0x44, players.length], ...players)]);
  }
  return { name: 'source-a2s', port: 27015, datagrams: d };
}

/** RakNet offline messages (Minecraft Bedrock): unconnected ping/pong, open connection request/reply 1 */
function raknet(rng: Rng): UdpScript {
  const magic = Buffer.from('00ffff00fefefefefdfdfdfd12345678', 'hex');
  const clientGuid = rng.bytes(8), serverGuid = rng.int(2 ** 32) * 2 ** 20 + rng.int(2 ** 20);
  const d: Exchange[] = [];
  for (let i = rng.range(1, 3); i > 0; i--) {
    const time = rng.int(2 ** 32);
    d.push(['c', cat([0x01], u32(0), u32(time), magic, clientGuid)]);
    const motd = `MCPE;${rng.pick(['Dedicated Server', 'Bedrock level', 'My World'])};${rng.pick([589, 594, 618])};1.20.${rng.int(80)};${rng.int(10)};${rng.pick([10, 20, 50])};${serverGuid};Bedrock level;Survival;1;19132;19133;`;
    d.push(['s', cat([0x1c], u32(0), u32(time), u32(Math.floor(serverGuid / 2 ** 32)), u32(serverGuid % 2 ** 32), magic, u16(motd.length), motd)]);
  }
  if (rng.chance(0.6)) {
    const mtu = rng.pick([1492, 1464, 1400]);
    d.push(['c', cat([0x05], magic, [rng.pick([10, 11])], Buffer.alloc(mtu - 46))]);
    d.push(['s', cat([0x06], magic, u32(Math.floor(serverGuid / 2 ** 32)), u32(serverGuid % 2 ** 32), [0], u16(mtu))]);
  }
  return { name: 'raknet', port: 19132, datagrams: d };
}

// ---- memcached UDP, CLDAP, Kerberos ----------------------------------------------------------------------

/** memcached protocol.txt "UDP protocol": request id, sequence number, datagram count, reserved, then text */
function memcachedUdp(rng: Rng): UdpScript {
  const d: Exchange[] = [];
  for (let i = rng.range(1, 4); i > 0; i--) {
    const rid = rng.int(65536);
    const key = `${rng.pick(['session', 'user', 'page', 'cfg'])}:${rng.hex(12)}`;
    const cmd = rng.pick(['get', 'gets', 'stats']);
    d.push(['c', cat(u16(rid), u16(0), u16(1), u16(0), cmd === 'stats' ? 'stats\r\n' : `${cmd} ${key}\r\n`)]);
    if (cmd === 'stats') {
      const body = Buffer.from(['pid', 'uptime', 'time', 'curr_connections', 'get_hits', 'get_misses'].map((s) => `STAT ${s} ${rng.int(1e6)}\r\n`).join('') + 'END\r\n');
      d.push(['s', cat(u16(rid), u16(0), u16(1), u16(0), body)]);
    } else {
      const val = rng.bytes(rng.range(0, 3000));
      const body = val.length ? cat(`VALUE ${key} ${rng.int(4)} ${val.length}${cmd === 'gets' ? ` ${rng.int(1e6)}` : ''}\r\n`, val, '\r\nEND\r\n') : Buffer.from('END\r\n');
      const n = Math.ceil(body.length / 1392);
      for (let s = 0; s < n; s++) d.push(['s', cat(u16(rid), u16(s), u16(n), u16(0), body.subarray(s * 1392, (s + 1) * 1392))]);
    }
  }
  return { name: 'memcached-udp', port: 11211, datagrams: d };
}

/** MS-ADTS 6.3.3: the LDAP ping, a searchRequest over UDP 389 for Netlogon; searchResEntry + searchResDone */
function cldap(rng: Rng): UdpScript {
  const id = rng.range(1, 200);
  const domain = rng.pick(['corp.example.com', 'ad.example.org', 'example.local']);
  const eq = (a: string, v: Buffer | string) => tlv(0xa3, berStr(a), berStr(v));
  const filter = tlv(0xa0, eq('DnsDomain', domain), eq('Host', `WS${rng.int(999)}`), eq('NtVer', Buffer.from([0x16, 0, 0, 0])), ...(rng.chance(0.5) ? [eq('DomainGuid', rng.bytes(16))] : []));
  const req = tlv(0x30, berInt(id), tlv(0x63, berStr(''), [0x0a, 1, 0], [0x0a, 1, 0], berInt(0), berInt(0), [0x01, 1, 0], filter, tlv(0x30, berStr('Netlogon'))));
  // NETLOGON_SAM_LOGON_RESPONSE_EX (MS-ADTS 6.3.1.9): opcode 23, flags, domain GUID, compressed names, NtVersion 5, tokens
  const host = `dc${rng.int(9)}`, nb = domain.split('.')[0].toUpperCase();
  const netlogon = cat(u16le(23), u16le(0), u32le(0x3f3fd), rng.bytes(16), dnsName(domain), dnsName(domain), dnsName(`${host}.${domain}`),
    dnsName(nb), dnsName(host.toUpperCase()), [0], dnsName('Default-First-Site-Name'), dnsName('Default-First-Site-Name'), u32le(5), [0xff, 0xff, 0xff, 0xff]);
  const entry = tlv(0x30, berInt(id), tlv(0x64, berStr(''), tlv(0x30, tlv(0x30, berStr('netlogon'), tlv(0x31, berStr(netlogon))))));
  const done = tlv(0x30, berInt(id), tlv(0x65, [0x0a, 1, 0], berStr(''), berStr('')));
  return { name: 'cldap', port: 389, datagrams: [['c', req], ['s', cat(entry, done)]] };
}

/** RFC 4120 §5.4.1 AS-REQ over UDP 88, answered by KRB-ERROR PREAUTH_REQUIRED (§5.9.1) or an AS-REP */
function kerberos(rng: Rng): UdpScript {
  const ctx = (n: number, ...c: Buffer[]) => tlv(0xa0 + n, ...c);
  const gstr = (s: string) => tlv(0x1b, s);
  const gtime = (s: string) => tlv(0x18, s);
  const realm = rng.pick(['CORP.EXAMPLE.COM', 'AD.EXAMPLE.ORG', 'EXAMPLE.LOCAL']);
  const user = rng.pick(['alice', 'bob', `ws${rng.int(999)}$`, 'svc_backup']);
  const principal = (type: number, ...names: string[]) => tlv(0x30, ctx(0, berInt(type)), ctx(1, tlv(0x30, ...names.map(gstr))));
  const nonce = rng.int(2 ** 31);
  const body = tlv(0x30,
    ctx(0, tlv(0x03, [0, 0x40, 0x81, 0, 0x10])), ctx(1, principal(1, user)), ctx(2, gstr(realm)), ctx(3, principal(2, 'krbtgt', realm)),
    ctx(5, gtime('20370913024805Z')), ctx(6, gtime('20370913024805Z')), ctx(7, berInt(nonce)), ctx(8, tlv(0x30, berInt(18), berInt(17), berInt(23))),
    ...(rng.chance(0.5) ? [ctx(9, tlv(0x30, tlv(0x30, ctx(0, berInt(20)), ctx(1, berStr(`WS${rng.int(999)}             `)))))] : []),
  );
  // PA-DATA: PA-ENC-TIMESTAMP (2, an EncryptedData) once the KDC asked for it; PA-PAC-REQUEST (128, include-pac TRUE)
  const paData = (type: number, value: Buffer) => tlv(0x30, ctx(1, berInt(type)), ctx(2, berStr(value)));
  const pacRequest = paData(128, tlv(0x30, ctx(0, tlv(0x01, [0xff]))));
  const pa = (withTs: boolean) => ctx(3, tlv(0x30, ...(withTs ? [paData(2, tlv(0x30, ctx(0, berInt(18)), ctx(2, berStr(rng.bytes(56)))))] : []), pacRequest));
  const asReq = (withTs: boolean) => tlv(0x6a, tlv(0x30, ctx(1, berInt(5)), ctx(2, berInt(10)), pa(withTs), ctx(4, body)));
  const err = tlv(0x7e, tlv(0x30, ctx(0, berInt(5)), ctx(1, berInt(30)), ctx(4, gtime('20240115093000Z')), ctx(5, berInt(rng.int(999999))), ctx(6, berInt(25)),
    ctx(9, gstr(realm)), ctx(10, principal(2, 'krbtgt', realm)),
    // e-data: METHOD-DATA, the pre-authentication the KDC wants (PA-ETYPE-INFO2 with the salt, PA-ENC-TIMESTAMP)
    ctx(12, berStr(tlv(0x30, paData(19, tlv(0x30, tlv(0x30, ctx(0, berInt(18)), ctx(1, gstr(`${realm}${user}`))))), paData(2, Buffer.alloc(0)))))));
  const enc = (etype: number, n: number) => tlv(0x30, ctx(0, berInt(etype)), ...(rng.chance(0.5) ? [ctx(1, berInt(rng.range(1, 9)))] : []), ctx(2, berStr(rng.bytes(n))));
  const ticket = tlv(0x61, tlv(0x30, ctx(0, berInt(5)), ctx(1, gstr(realm)), ctx(2, principal(2, 'krbtgt', realm)), ctx(3, enc(18, rng.range(900, 1100)))));
  const rep = tlv(0x6b, tlv(0x30, ctx(0, berInt(5)), ctx(1, berInt(11)), ctx(3, gstr(realm)), ctx(4, principal(1, user)), ctx(5, ticket), ctx(6, enc(18, rng.range(250, 330)))));
  return { name: 'kerberos-udp', port: 88, datagrams: [['c', asReq(false)], ['s', err], ['c', asReq(true)], ['s', rep]] };
}

// ---- game-like datagrams ---------------------------------------------------------------------------------

/**
 * What many games' netcode sends (Glenn Fiedler's "Reliability over UDP" layout, used by countless
 * engines): protocol id, sequence, ack, ack bits, then a message type and position/rotation floats.
 */
function gameDatagrams(rng: Rng): UdpScript {
  const protocol = rng.int(2 ** 32);
  let cseq = rng.int(65536), sseq = rng.int(65536);
  const le = rng.chance(0.5);
  const w16 = le ? u16le : u16, w32 = le ? u32le : u32;
  const floats = (n: number) => {
    const b = Buffer.alloc(4 * n);
    for (let i = 0; i < n; i++) b.writeFloatLE((rng.next() - 0.5) * 2000, 4 * i);
    return b;
  };
  const d: Exchange[] = [];
  for (let i = rng.range(5, 25); i > 0; i--) {
    const s = side(rng);
    const seq = s === 'c' ? cseq++ : sseq++;
    const ack = s === 'c' ? sseq - 1 : cseq - 1;
    const body = s === 'c'
      ? cat([rng.pick([1, 2, 3])], w32(rng.int(2 ** 20)), floats(rng.pick([3, 6, 7])), [rng.int(256)])
      : cat([rng.pick([0x10, 0x11, 0x20])], [rng.range(1, 8)], ...Array.from({ length: rng.range(1, 8) }, () => cat(w16(rng.int(1024)), floats(6))));
    d.push([s, cat(w32(protocol), w16(seq & 0xffff), w16(ack & 0xffff), w32(rng.int(2 ** 32)), body)]);
  }
  return { name: 'game-datagrams', port: rng.pick([7777, 27960, 9000, 3074, 25565]), datagrams: d };
}

export const MORE_UDP_GENERATORS: ((rng: Rng) => UdpScript)[] = [
  dtlsSrtp, turnChannelData, wireguard, openvpn, (rng) => ikev2(rng, false), (rng) => ikev2(rng, true),
  dht, utp, snmp, ssdp, mdns, llmnr, netbiosNs, dhcp, tftp, radius, coap, a2s, raknet, memcachedUdp, cldap, kerberos, gameDatagrams,
];
