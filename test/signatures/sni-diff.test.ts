// Differential fuzz of server-name (SNI) extraction, tshark (Wireshark's TLS and QUIC dissectors) as
// the oracle: two captures of many random but valid flows shaped like today's browsers and messengers
// send them, read once by tshark and once by `shadowim analyze`.
//  - TLS over TCP: Chrome-like ClientHellos (GREASE, shuffled extensions, X25519MLKEM768 key share so
//    the hello is ~1.8 KB, ECH outer, session tickets and PSK, ALPN, padding) or Firefox-like ones
//    (fixed order, no GREASE), cut into 1–4 TLS records and into TCP segments (MSS-sized, random or
//    tiny), sent out of order, retransmitted and with overlapping segments; random ISNs (wraparound).
//  - QUIC v1 and v2: DCID 8–20 bytes (RFC 9000 §7.2: a client's first DCID is at least 8), SCID 0–20,
//    the ClientHello over 1–3 Initials (or its pieces scrambled across them), each piece in 1–5 CRYPTO
//    frames in random order among PING and PADDING runs of up to 400 bytes, packet numbers of 1–4 bytes,
//    a 0-RTT packet coalesced after an Initial, two Initials in one datagram, zeros after an unpadded
//    Initial, a retransmitted Initial (its data split anew), datagrams out of order. IPv4 and IPv6.
// Names: hosts of signatures/messengers/data.yaml, with random labels in front (the expected protocol is
// the longest match, read here from the YAML: `www.whatsapp.com` is not IM), and random other names of
// 4–253 characters, some with IDN (xn--) labels. Flows of other names go to a Telegram or Teams address:
// if shadowim did not read their name, the address would make them a session.
// Checked per flow (by the client port): tshark reads exactly the name built; a messenger name is one
// session of that protocol with that server_name and `tls.sni`/`quic.sni` evidence; any other name is
// no session at all.
//
// Seeds: xorshift32 (test/helpers/fuzz.ts), SHADOWIM_FUZZ_SEED and SHADOWIM_FUZZ_SCALE as for the other
// fuzz tests. Each flow has a generator of its own made of the seed and its index, so a mismatch
// ("seed S, tcp flow I") is rebuilt alone with SHADOWIM_SNI_DIFF_ONLY=I (with the same seed).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import url from 'node:url';
import { spawnSync } from 'node:child_process';
import { ACK, Capture, FIN, PSH, SYN, ether, tcpPacket, udpPacket } from '../helpers/pcapgen';
import { analyzeFile } from '../helpers/analyze';
import { expectedProtocol, longestAny, messengerHosts, under } from '../helpers/hostTables';
import { fuzzCases, fuzzSeconds, fuzzSeed, Rand } from '../helpers/fuzz';
import { alpnExt, clientHelloOf, cryptoFrame, quicInitial, quicZeroRtt, QUIC_V1, QUIC_V2, sniExt, tlsExt, tlsRecords, u16, varint } from '../helpers/tlsWire';

const haveTshark = spawnSync('tshark', ['-v']).status === 0;
const ONLY = process.env.SHADOWIM_SNI_DIFF_ONLY;

// ---- names ------------------------------------------------------------------------------------------

const LDH = 'abcdefghijklmnopqrstuvwxyz0123456789';
const IDN_POOLS = ['абвгдежзиклмнопрстуфхцчшщыэюя', 'αβγδεζηθικλμνξοπρστυφχψω', '中文网络测试例子公司北京上海', 'äöüßéèàçñøå', 'ไทยภาษา', 'العربية'];
const TLDS = ['com', 'net', 'org', 'io', 'de', 'ru', 'jp', 'app', 'dev', 'co.uk', 'xn--p1ai', 'xn--fiqs8s', 'xn--mgbaam7a8h'];

function ldhLabel(r: Rand, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) {
    const edge = i === 0 || i === n - 1;
    // no hyphen at either end, nor in the 3rd and 4th place (RFC 5891 §4.2.3.1: reserved for xn--)
    s += !edge && i !== 2 && i !== 3 && r.chance(0.08) ? '-' : r.pick([...LDH]);
  }
  return s;
}

function idnLabel(r: Rand): string | undefined {
  const pool = [...r.pick(IDN_POOLS)];
  let w = '';
  for (let n = r.range(1, 10); n > 0; n--) w += r.pick(pool);
  const a = url.domainToASCII(w);
  return a.startsWith('xn--') && a.length <= 63 && !a.includes('.') ? a : undefined;
}

function label(r: Rand, max: number): string {
  if (max >= 8 && r.chance(0.15)) {
    const l = idnLabel(r);
    if (l && l.length <= max) return l;
  }
  const n = r.chance(0.1) ? r.range(1, Math.min(63, max)) : r.range(1, Math.min(15, max));
  return ldhLabel(r, n);
}

/** random labels in front of `tail`, `len` characters in all (or a little less) */
function withLabels(r: Rand, tail: string, len: number): string {
  let name = tail;
  while (name.length + 2 <= len) {
    const room = Math.min(63, len - name.length - 1);
    name = `${label(r, room)}.${name}`;
  }
  return name;
}

function targetLength(r: Rand): number {
  const k = r.int(10);
  return k < 4 ? r.range(4, 30) : k < 8 ? r.range(30, 100) : k < 9 ? r.range(100, 253) : r.range(240, 253);
}

/** a name of no listed host, 4–253 characters */
function otherName(r: Rand): string {
  for (;;) {
    const n = withLabels(r, r.pick(TLDS), targetLength(r));
    if (n.length <= 253 && longestAny(n) === 0) return n;
  }
}

/** a messenger host with 0–3 random labels in front, and the protocol it is (or none: not-im) */
function messengerName(r: Rand): { name: string; protocol?: string } {
  const protos = Object.keys(messengerHosts).filter((p) => p !== 'not-im');
  for (;;) {
    const host = r.pick(messengerHosts[r.pick(protos)]);
    let name = host;
    const extra = r.pick([0, 0, 1, 1, 2, 3]);
    for (let i = 0; i < extra; i++) name = `${r.chance(0.3) ? r.pick(['www', 'web', 'chat', 'api', 'g', 'mmg', 'edge-chat']) : label(r, 20)}.${name}`;
    if (r.chance(0.1)) name = withLabels(r, name, r.range(name.length, 253));
    if (name.length > 253) continue;
    const protocol = expectedProtocol(name);
    // another module's list holding a longer match would make it that module's: not this test's case
    const best = Object.values(messengerHosts).flat().filter((h) => under(name, h)).reduce((m, h) => Math.max(m, h.length), 0);
    if (longestAny(name) > best) continue;
    return { name, protocol };
  }
}

// ---- ClientHellos as browsers send them -----------------------------------------------------------

const GREASE = Array.from({ length: 16 }, (_, i) => ((i << 4) | 0x0a) * 0x101);
const X25519MLKEM768 = 0x11ec, X25519KYBER768 = 0x6399;
const list16 = (xs: number[]) => Buffer.concat([u16(xs.length * 2), ...xs.map(u16)]);

function transportParams(r: Rand, scid: Buffer): Buffer {
  const tp = (id: number, v: Buffer) => Buffer.concat([varint(id), varint(v.length), v]);
  const ps = [
    tp(0x01, varint(30000)), tp(0x03, varint(1472)), tp(0x04, varint(15728640)), tp(0x05, varint(6291456)),
    tp(0x06, varint(6291456)), tp(0x07, varint(6291456)), tp(0x08, varint(100)), tp(0x09, varint(103)), tp(0x0f, scid),
    tp(0x20, varint(65536)), tp(31 * r.range(1, 1000) + 27, r.bytes(r.range(0, 16))), // a GREASE parameter (RFC 9000 §18.1)
  ];
  if (r.chance(0.5)) ps.push(tp(0x11, Buffer.concat([Buffer.from([0, 0, 0, 1]), u16(0), Buffer.from([0, 0, 0, 1])]))); // version_information
  return Buffer.concat(r.shuffle(ps));
}

/** A ClientHello handshake message for `sni`, and a word on its shape. */
function browserHello(r: Rand, sni: string, quic?: { scid: Buffer }): { hs: Buffer; shape: string } {
  const chrome = r.chance(0.75); // else Firefox/Safari-like: no GREASE, extensions in a fixed order
  const g = () => r.pick(GREASE);
  const pq = r.chance(0.7) ? r.pick([X25519MLKEM768, X25519MLKEM768, X25519KYBER768]) : 0;
  const shape: string[] = [chrome ? 'chrome' : 'firefox', pq ? `pq=${pq.toString(16)}` : 'x25519'];
  const exts: Buffer[] = [sniExt(sni), tlsExt(23, Buffer.alloc(0)), tlsExt(0xff01, Buffer.from([0]))];
  exts.push(tlsExt(10, list16([...(chrome ? [g()] : []), ...(pq ? [pq] : []), 0x1d, 0x17, 0x18])));
  exts.push(tlsExt(11, Buffer.from([1, 0])));
  const ticket = r.chance(quic ? 0.2 : 0.5) ? r.range(0, 1) * r.range(64, 600) : -1;
  if (ticket >= 0) {
    exts.push(tlsExt(35, r.bytes(ticket)));
    shape.push(`ticket=${ticket}`);
  }
  exts.push(alpnExt(quic ? ['h3'] : r.chance(0.8) ? ['h2', 'http/1.1'] : ['http/1.1']));
  exts.push(tlsExt(5, Buffer.from('0100000000', 'hex')));
  exts.push(tlsExt(13, list16([0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601])));
  exts.push(tlsExt(18, Buffer.alloc(0)));
  const shares: Buffer[] = [];
  if (chrome) shares.push(Buffer.concat([u16(g()), u16(1), Buffer.from([0])]));
  if (pq) shares.push(Buffer.concat([u16(pq), u16(pq === X25519MLKEM768 ? 1216 : 1216), crypto.randomBytes(1216)]));
  shares.push(Buffer.concat([u16(0x1d), u16(32), crypto.randomBytes(32)]));
  const ks = Buffer.concat(shares);
  exts.push(tlsExt(51, Buffer.concat([u16(ks.length), ks])));
  exts.push(tlsExt(45, Buffer.from([1, 1])));
  const versions = [...(chrome ? [g()] : []), 0x0304, ...(quic ? [] : [0x0303])];
  exts.push(tlsExt(43, Buffer.concat([Buffer.from([versions.length * 2]), ...versions.map(u16)])));
  exts.push(tlsExt(27, Buffer.from('020002', 'hex')));
  if (chrome && r.chance(0.7)) {
    const p = quic ? 'h3' : 'h2';
    exts.push(tlsExt(r.pick([0x4469, 0x44cd]), Buffer.concat([u16(p.length + 1), Buffer.from([p.length]), Buffer.from(p)]))); // ALPS
  }
  if (r.chance(0.5)) {
    // ECH outer (draft-ietf-tls-esni §5): the server_name above is the public name
    const payload = 144 + 32 * r.range(0, 6);
    exts.push(tlsExt(0xfe0d, Buffer.concat([Buffer.from([0]), u16(1), u16(1), Buffer.from([r.range(0, 255)]), u16(32), crypto.randomBytes(32), u16(payload), crypto.randomBytes(payload)])));
    shape.push(`ech=${payload}`);
  }
  if (quic) exts.push(tlsExt(r.pick([0x39, 0x39, 0xffa5]), transportParams(r, quic.scid)));
  let ordered = exts;
  if (chrome) ordered = [tlsExt(g(), Buffer.alloc(0)), ...r.shuffle(exts), tlsExt(g(), Buffer.from([0]))];
  if (!quic && r.chance(0.3)) {
    const pad = r.range(0, 512);
    ordered.push(tlsExt(21, Buffer.alloc(pad)));
    shape.push(`pad=${pad}`);
  }
  if (ticket > 0 && r.chance(0.5)) {
    // resumption: pre_shared_key, always last (RFC 8446 §4.2.11)
    const id = r.bytes(r.range(100, 300));
    const ids = Buffer.concat([u16(id.length), id, r.bytes(4)]);
    const binders = Buffer.concat([Buffer.from([32]), r.bytes(32)]);
    ordered.push(tlsExt(41, Buffer.concat([u16(ids.length), ids, u16(binders.length), binders])));
    shape.push('psk');
  }
  const ciphers = list16([...(chrome ? [g()] : []), 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035]).subarray(2);
  const hs = clientHelloOf(ordered, { sessionId: quic ? Buffer.alloc(0) : crypto.randomBytes(32), ciphers });
  shape.push(`hello=${hs.length}`);
  return { hs, shape: shape.join(' ') };
}

// ---- flows ------------------------------------------------------------------------------------------

interface Flow {
  kind: 'tcp' | 'quic';
  index: number;
  clientPort: number;
  name: string;
  protocol?: string;
  shape: string;
  frames: Buffer[];
}

function flowName(r: Rand): { name: string; protocol?: string; server: string } {
  if (r.chance(0.5)) return { ...messengerName(r), server: r.chance(0.2) ? `[2001:db8:5:1::${r.range(1, 0xfff).toString(16)}]` : `203.0.113.${r.range(1, 254)}` };
  // other names: half to a Telegram or Teams address, which alone would make the flow a session
  const server = r.pick([`149.154.${r.range(160, 175)}.${r.range(1, 254)}`, `52.${r.range(112, 115)}.${r.range(0, 255)}.${r.range(1, 254)}`, `198.51.100.${r.range(1, 254)}`, `[2001:b28:f23d::${r.range(1, 0xfff).toString(16)}]`]);
  return { name: otherName(r), server };
}

/** cut points of `n` bytes into pieces, the way `mode` cuts */
function cuts(r: Rand, n: number, mode: string): number[] {
  const sizes: number[] = [];
  for (let o = 0; o < n; ) {
    const s = mode === 'mss' ? r.pick([1460, 1448, 1380, 1200, 536]) : mode === 'tiny' ? (o < 300 ? r.range(1, 16) : r.range(100, 1460)) : r.range(1, 700);
    sizes.push(Math.min(s, n - o));
    o += s;
  }
  return sizes;
}

function tcpFlow(seed: number, index: number): Flow {
  const r = new Rand(seed);
  const { name, protocol, server } = flowName(r);
  const clientPort = 20000 + index;
  const C = server.startsWith('[') ? `[2001:db8:c::1]:${clientPort}` : `10.1.${index >> 8}.${(index & 0xff) || 1}:${clientPort}`;
  const S = `${server}:443`;
  const { hs, shape } = browserHello(r, name);
  // TLS records: one, or 1–4 cuts anywhere (the handshake header itself may be split)
  const nrec = r.chance(0.5) ? 1 : r.range(2, 4);
  const recSizes: number[] = [];
  for (let left = hs.length, i = 0; i < nrec - 1 && left > 1; i++) {
    const s = r.chance(0.2) ? r.range(1, 8) : r.range(1, left - 1);
    recSizes.push(s);
    left -= s;
  }
  recSizes.push(16384);
  const stream = tlsRecords(hs, recSizes);
  const mode = r.pick(['mss', 'mss', 'random', 'tiny']);
  const segs: { off: number; data: Buffer }[] = [];
  let o = 0;
  for (const s of cuts(r, stream.length, mode)) {
    segs.push({ off: o, data: stream.subarray(o, o + s) });
    o += s;
  }
  const notes = [shape, `records=${nrec}`, `segments=${segs.length} ${mode}`];
  // out of order: a few neighbours swapped, or the first segment held back
  const order = segs.map((_, i) => i);
  if (segs.length > 1 && r.chance(0.3)) {
    for (let k = r.range(1, 3); k > 0; k--) {
      const i = r.int(order.length - 1);
      [order[i], order[i + 1]] = [order[i + 1], order[i]];
    }
    notes.push('reordered');
  }
  if (segs.length > 1 && r.chance(0.15)) {
    order.push(order.shift()!);
    notes.push('first-last');
  }
  const emitted = order.map((i) => segs[i]);
  // retransmissions, and segments overlapping two others (the same bytes, other boundaries)
  if (r.chance(0.25)) {
    const i = r.int(emitted.length);
    emitted.splice(r.range(i + 1, emitted.length), 0, emitted[i]);
    notes.push('retransmit');
  }
  if (segs.length > 1 && r.chance(0.25)) {
    const i = r.int(segs.length - 1);
    const a = segs[i].off + r.int(segs[i].data.length);
    const b = Math.min(stream.length, segs[i + 1].off + 1 + r.int(segs[i + 1].data.length));
    emitted.splice(r.int(emitted.length + 1), 0, { off: a, data: stream.subarray(a, b) });
    notes.push('overlap');
  }
  const isnC = r.u32(), isnS = r.u32();
  const f = (src: string, dst: string, seq: number, flags: number, payload?: Buffer, ack = 0) => ether(tcpPacket(src, dst, seq >>> 0, flags, payload, ack >>> 0));
  const frames = [f(C, S, isnC, SYN), f(S, C, isnS, SYN | ACK, undefined, isnC + 1), f(C, S, isnC + 1, ACK, undefined, isnS + 1)];
  for (const s of emitted) frames.push(f(C, S, isnC + 1 + s.off, ACK | PSH, s.data, isnS + 1));
  const end = isnC + 1 + stream.length;
  frames.push(f(S, C, isnS + 1, ACK, undefined, end), f(C, S, end, FIN | ACK, undefined, isnS + 1), f(S, C, isnS + 1, FIN | ACK, undefined, end + 1), f(C, S, end + 1, ACK, undefined, isnS + 2));
  return { kind: 'tcp', index, clientPort, name, protocol, shape: notes.join(', '), frames };
}

/**
 * The CRYPTO frames of one stream range, cut into 1–5 and shuffled among PING and PADDING, as Chrome's
 * chaos protection does (its PADDING runs between CRYPTO frames can take the packet's spare room: up to `room` bytes).
 */
function cryptoPayload(r: Rand, hs: Buffer, from: number, to: number, room: number): Buffer {
  const n = Math.min(to - from, r.range(1, 5));
  const points = new Set<number>([from, to]);
  while (points.size < n + 1) points.add(r.range(from + 1, to - 1));
  const ps = [...points].sort((a, b) => a - b);
  const frames: Buffer[] = [];
  for (let i = 0; i + 1 < ps.length; i++) frames.push(cryptoFrame(ps[i], hs.subarray(ps[i], ps[i + 1])));
  if (r.chance(0.7)) r.shuffle(frames);
  const out: Buffer[] = [];
  for (const fr of frames) {
    if (r.chance(0.3)) out.push(Buffer.from([0x01]));
    if (r.chance(0.3)) {
      const n = Math.min(room, r.chance(0.3) ? r.range(40, 400) : r.range(1, 40));
      out.push(Buffer.alloc(n));
      room -= n;
    }
    out.push(fr);
  }
  return Buffer.concat(out);
}

function quicFlow(seed: number, index: number): Flow {
  const r = new Rand(seed);
  const { name, protocol, server } = flowName(r);
  const clientPort = 20000 + index;
  const C = server.startsWith('[') ? `[2001:db8:c::2]:${clientPort}` : `10.2.${index >> 8}.${(index & 0xff) || 1}:${clientPort}`;
  const S = `${server}:443`;
  const version = r.chance(0.7) ? QUIC_V1 : QUIC_V2;
  // tshark keeps QUIC connections by connection ID: every flow's DCID is its own (index in it)
  const dcid = Buffer.concat([u16(index), r.bytes(r.range(6, 18))]);
  const scid = r.bytes(r.range(0, 20));
  const { hs, shape } = browserHello(r, name, { scid });
  // 1–3 Initials, each at most ~1,100 bytes of CRYPTO data (a 1,200-byte datagram); the stream's
  // pieces in order, or scrambled across the packets (each packet still shuffles its own)
  const nPkts = Math.max(Math.ceil(hs.length / 1000), r.range(1, 3));
  const bounds = [0];
  for (let i = 1; i < nPkts; i++) bounds.push(Math.round((hs.length * i) / nPkts) + r.range(-50, 50));
  bounds.push(hs.length);
  const ranges: [number, number][][] = [];
  for (let i = 0; i < nPkts; i++) ranges.push([[bounds[i], bounds[i + 1]]]);
  const notes = [shape, version === QUIC_V2 ? 'v2' : 'v1', `dcid=${dcid.length} scid=${scid.length}`, `initials=${nPkts}`];
  if (nPkts > 1 && r.chance(0.3)) {
    // pieces of ~100–400 bytes dealt to the packets in a random order, at most ~1,000 bytes each
    const pieces: [number, number][] = [];
    for (let o = 0; o < hs.length; ) {
      const e = Math.min(hs.length, o + r.range(100, 400));
      pieces.push([o, e]);
      o = e;
    }
    r.shuffle(pieces);
    ranges.length = 0;
    let cur: [number, number][] = [], size = 0;
    for (const p of pieces) {
      if (size + p[1] - p[0] > 1000) {
        ranges.push(cur);
        cur = [];
        size = 0;
      }
      cur.push(p);
      size += p[1] - p[0];
    }
    ranges.push(cur);
    notes.push(`scrambled over ${ranges.length}`);
  }
  let pn = r.range(0, 3);
  const pnLen = r.range(1, 4);
  const initial = (rs: [number, number][], padTo?: number) =>
    quicInitial(dcid, Buffer.concat(rs.map(([a, b]) => cryptoPayload(r, hs, a, b, Math.floor(Math.max(0, 1100 - rs.reduce((n, [x, y]) => n + y - x, 0)) / rs.length)))), pn++, version, { scid, pnLen, padTo });
  const datagrams: Buffer[] = ranges.map((rs) => initial(rs));
  if (r.chance(0.15)) {
    // the first datagram made up to 1,200 bytes another way: an unpadded Initial, and zeros after it
    // (RFC 9000 §14.1; a receiver drops what is no packet) or a second Initial coalesced
    const rs = ranges[0];
    if (r.chance(0.5) || rs.length < 2) {
      const d = initial(rs, 0);
      datagrams[0] = Buffer.concat([d, Buffer.alloc(Math.max(0, 1200 - d.length))]);
      notes.push('zeros after');
    } else {
      const cut = r.range(1, rs.length - 1);
      const a = initial(rs.slice(0, cut), 0);
      datagrams[0] = Buffer.concat([a, initial(rs.slice(cut), Math.max(0, 1200 - a.length))]);
      notes.push('two initials coalesced');
    }
  }
  if (r.chance(0.3)) {
    const i = r.int(datagrams.length);
    datagrams[i] = Buffer.concat([datagrams[i], quicZeroRtt(dcid, scid, r.range(20, 250), version)]);
    notes.push(`0rtt after ${i}`);
  }
  if (r.chance(0.25)) {
    const i = r.int(ranges.length);
    datagrams.push(initial(ranges[i]));
    notes.push(`retransmit ${i}`);
  }
  if (datagrams.length > 1 && r.chance(0.35)) {
    r.shuffle(datagrams);
    notes.push('datagrams shuffled');
  }
  const frames = datagrams.map((d) => ether(udpPacket(C, S, d)));
  return { kind: 'quic', index, clientPort, name, protocol, shape: notes.join(', '), frames };
}

// ---- the two readings -------------------------------------------------------------------------------

/** client port → the server names tshark reads in that flow's ClientHellos */
function tsharkNames(file: string): Map<number, string[]> {
  const r = spawnSync('tshark', ['-r', file, '-o', 'tcp.reassemble_out_of_order:TRUE', '-Y', 'tls.handshake.type == 1', '-T', 'fields', '-E', 'occurrence=a', '-e', 'tcp.srcport', '-e', 'udp.srcport', '-e', 'tls.handshake.extensions_server_name'], { encoding: 'utf8', maxBuffer: 1 << 28 });
  assert.equal(r.status, 0, r.stderr);
  const out = new Map<number, string[]>();
  for (const line of r.stdout.split('\n')) {
    if (!line) continue;
    const [tp, up, names] = line.split('\t');
    const port = Number(tp || up);
    const list = out.get(port) ?? [];
    for (const n of names ? names.split(',') : []) if (!list.includes(n)) list.push(n);
    out.set(port, list);
  }
  return out;
}

function run(kind: 'tcp' | 'quic', fixedSeed: number, cases: number): { flows: number; im: number; problems: string[] } {
  const seed = fuzzSeed(fixedSeed);
  const make = kind === 'tcp' ? tcpFlow : quicFlow;
  const sig = kind === 'tcp' ? 'tls' : 'quic';
  const flows: Flow[] = [];
  for (let i = 0; i < cases; i++) if (ONLY === undefined || Number(ONLY) === i) flows.push(make((seed ^ Math.imul(i + 1, 0x9e3779b1)) >>> 0 || 1, i));
  // the flows' packets interleaved, each flow's in its order
  const r = new Rand(seed);
  const cap = new Capture();
  const next = flows.map(() => 0);
  let left = flows.reduce((n, f) => n + f.frames.length, 0);
  while (left > 0) {
    const i = r.int(flows.length);
    if (next[i] >= flows[i].frames.length) continue;
    cap.add(flows[i].frames[next[i]++]);
    left--;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-sni-diff-'));
  try {
    const file = path.join(dir, `${kind}.pcap`);
    fs.writeFileSync(file, cap.pcap());
    const truth = tsharkNames(file);
    const events = analyzeFile(file).stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l));
    const sessions = new Map<number, any[]>();
    for (const e of events.filter((x) => x.type === 'session')) sessions.set(e.client.port, [...(sessions.get(e.client.port) ?? []), e]);
    const problems: string[] = [];
    for (const f of flows) {
      const where = `seed ${seed}, ${kind} flow ${f.index} (${f.shape}): ${f.name}`;
      const t = truth.get(f.clientPort) ?? [];
      if (t.length !== 1 || t[0] !== f.name) problems.push(`${where}: tshark reads [${t.join(', ')}]`);
      const got = sessions.get(f.clientPort) ?? [];
      const desc = got.map((s) => `${s.protocol}/${s.server_name}/${s.evidence?.[0]?.signature}`).join(', ');
      if (f.protocol) {
        const ok = got.length === 1 && got[0].protocol === f.protocol && got[0].server_name === f.name && got[0].evidence?.[0]?.signature === `${sig}.sni`;
        if (!ok) problems.push(`${where}: want one ${f.protocol} session by ${sig}.sni, shadowim reports [${desc}]`);
      } else if (got.length) problems.push(`${where}: not IM, shadowim reports [${desc}]`);
    }
    return { flows: flows.length, im: flows.filter((f) => f.protocol).length, problems };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

(haveTshark ? describe : describe.skip)(`SNI differential fuzz against tshark${haveTshark ? '' : ' (skipped: tshark is not installed)'}`, function () {
  this.timeout(fuzzSeconds(60) * 1000);

  for (const [kind, fixed] of [['tcp', 0x5e1d71c5], ['quic', 0x5e1d0a1c]] as const) {
    it(`${kind === 'tcp' ? 'TLS over TCP' : 'QUIC v1/v2 Initials'}: every name tshark reads is the one shadowim reads; messenger names are that messenger, others no session`, () => {
      const { flows, im, problems } = run(kind, fixed, fuzzCases(150));
      assert.ok(flows > 0 && (ONLY !== undefined || (im > flows / 5 && im < flows - flows / 5)), `${im} of ${flows} flows are IM`);
      assert.deepEqual(problems.slice(0, 10), [], `${problems.length} of ${flows} flows differ`);
    });
  }
});
