// Tunnel frames for the sensor's tunnel tests: each wraps an inner Ethernet frame (or the IP packet
// in it) the way a mirror or overlay sends it, between two fixed outer addresses; and tshark's reading
// of the IRC lines inside, as an independent oracle (it opens every one of these tunnels itself).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { ether, ipPacket, udpHeader, parseEp, vxlanFrame } from '../helpers/pcapgen';

export const O4 = ['198.51.100.1', '198.51.100.2'];
export const O6 = ['2001:db8:ffff::1', '2001:db8:ffff::2'];

export const u16 = (v: number) => Buffer.from([(v >> 8) & 255, v & 255]);
export const u32 = (v: number) => Buffer.from([v >>> 24, (v >> 16) & 255, (v >> 8) & 255, v & 255]);
/** the IP packet inside an Ethernet frame */
export const ipOf = (frame: Buffer) => frame.subarray(14);
export const isV6 = (f: Buffer) => ipOf(f)[0] >> 4 === 6;

/** a GRE header (RFC 2784/2890) */
export const gre = (type: number, opts: { csum?: boolean; key?: number; seq?: number } = {}) =>
  Buffer.concat([
    Buffer.from([(opts.csum ? 0x80 : 0) | (opts.key !== undefined ? 0x20 : 0) | (opts.seq !== undefined ? 0x10 : 0), 0]),
    u16(type),
    opts.csum ? Buffer.alloc(4) : Buffer.alloc(0),
    opts.key !== undefined ? u32(opts.key) : Buffer.alloc(0),
    opts.seq !== undefined ? u32(opts.seq) : Buffer.alloc(0),
  ]);
/** an outer Ethernet + IP packet of protocol `proto` between the outer addresses */
export const outer = (payload: Buffer, proto: number, v6 = false) => ether(ipPacket(v6 ? O6[0] : O4[0], v6 ? O6[1] : O4[1], proto, payload));
export const outerUdp = (sport: number, dport: number, payload: Buffer, v6 = false) => {
  const [a, b] = v6 ? O6 : O4;
  return ether(ipPacket(a, b, 17, udpHeader(parseEp(`[${a}]:${sport}`), parseEp(`[${b}]:${dport}`), payload)));
};

export const vxlan = (f: Buffer, v6 = false, vni = 0x1234) =>
  v6 ? outerUdp(49152, 4789, Buffer.concat([Buffer.from([0x08, 0, 0, 0]), u32(vni << 8), f]), true) : vxlanFrame(f, undefined, vni);
/** Geneve carrying Ethernet, with 8 bytes of options */
export const geneve = (f: Buffer, vni = 77) => outerUdp(49153, 6081, Buffer.concat([Buffer.from([0x02, 0x00]), u16(0x6558), u32(vni << 8), Buffer.alloc(8, 0x22), f]));
/** ERSPAN type II: version 1, VLAN 42, the 10-bit session id; `flags` the COS/En/T bits above it */
export const erspanII = (f: Buffer, n: number, session = 5, flags = 0) =>
  outer(Buffer.concat([gre(0x88be, { seq: n }), Buffer.from([0x10, 42, flags | (session >> 8), session & 255, 0, 0, 0, 0]), f]), 47);
/** ERSPAN type III with a platform subheader */
export const erspanIII = (f: Buffer, n: number, session = 5) =>
  outer(Buffer.concat([gre(0x22eb, { seq: n }), Buffer.from([0x20, 42, session >> 8, session & 255]), u32(n * 1000), Buffer.from([0, 0, 0, 1]), Buffer.alloc(8, 0x11), f]), 47);
/** GRE transparent Ethernet bridging (GRETAP) */
export const gretap = (f: Buffer, key?: number) => outer(Buffer.concat([gre(0x6558, { key }), f]), 47);
/** GRE carrying the frame's IP packet */
export const greIp = (f: Buffer, opts: { csum?: boolean; key?: number; seq?: number } = {}) => outer(Buffer.concat([gre(isV6(f) ? 0x86dd : 0x0800, opts), ipOf(f)]), 47);
/** PPTP's enhanced GRE (version 1, key = payload length and call id) carrying PPP carrying the IP packet */
export const pptp = (f: Buffer, n: number, callId = 9) =>
  outer(Buffer.concat([Buffer.from([0x30, 0x81]), u16(0x880b), u16(ipOf(f).length + 4), u16(callId), u32(n), u32(n), Buffer.from([0xff, 0x03]), u16(isV6(f) ? 0x57 : 0x21), ipOf(f)]), 47);
/** GTP-U G-PDU with a sequence number and a PDU session container extension header */
export const gtpu = (f: Buffer, teid = 0xabc) => {
  const ip = ipOf(f);
  // E and S flags, a sequence number; then a PDU session container (0x85, one 4-byte word) ending the chain
  const opt = Buffer.concat([u16(1), Buffer.from([0, 0x85]), Buffer.from([1, 0x00, 0x09, 0])]);
  return outerUdp(2152, 2152, Buffer.concat([Buffer.from([0x36, 0xff]), u16(opt.length + ip.length), u32(teid), opt, ip]));
};

/** L2TPv2 data messages (RFC 2661 3.1) carrying PPP carrying the IP packet: with the length and Ns/Nr fields, FF 03 and a two-byte protocol field; or with an offset pad, no address/control bytes and a compressed protocol field */
export const l2tpData = (f: Buffer, n: number, compact = false) => {
  const ip = ipOf(f);
  const proto = isV6(f) ? 0x57 : 0x21;
  const body = compact
    ? Buffer.concat([Buffer.from([0x02, 0x02]), u16(0x4a1), u16(7), u16(3), Buffer.from([0xee, 0xee, 0xee]), Buffer.from([proto]), ip])
    : Buffer.concat([Buffer.from([0x48, 0x02]), u16(16 + ip.length), u16(0x4a1), u16(7), u16(n), u16(n), Buffer.from([0xff, 0x03]), u16(proto), ip]);
  return outerUdp(1701, 1701, body);
};
/** Teredo (RFC 4380): an IPv6 packet in UDP, after an origin indication and an authentication indicator when given */
export const teredo = (f: Buffer, sport: number, dport: number, opts: { origin?: boolean; auth?: boolean } = {}) =>
  outerUdp(sport, dport, Buffer.concat([
    opts.auth ? Buffer.concat([Buffer.from([0, 1, 2, 3]), Buffer.from('id'), Buffer.from('mac'), Buffer.alloc(8, 0x5a), Buffer.from([0])]) : Buffer.alloc(0),
    opts.origin ? Buffer.concat([u16(0), u16(~51000 & 0xffff), Buffer.from([~192 & 255, ~0 & 255, ~2 & 255, ~9 & 255])]) : Buffer.alloc(0),
    ipOf(f),
  ]));

/**
 * tshark's IRC request lines (it opens the tunnels itself). `perSegment`: each TCP segment read on its
 * own, without tshark's TCP sequence analysis, which keys conversations by inner addresses only and
 * would take a second tenant's segments for retransmissions of the first's.
 */
export function tsharkIrc(file: string, perSegment = false, extra: string[] = []): string[] {
  const opts = perSegment ? ['-o', 'tcp.analyze_sequence_numbers:FALSE', '-o', 'tcp.desegment_tcp_streams:FALSE', ...extra] : extra;
  const r = spawnSync('tshark', ['-r', file, ...opts, '-Y', 'irc.request', '-T', 'fields', '-E', 'aggregator=|', '-e', 'irc.request'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split('\n').flatMap((l) => l.split('|')).filter(Boolean).sort();
}

/** a tenant's mirror: wraps each frame of a flow as its tunnel carries it (PLAIN: no tunnel) */
export type ZoneWrap = (frame: Buffer) => Buffer;
export const VNI100: ZoneWrap = (f) => vxlan(f, false, 100);
export const VNI200: ZoneWrap = (f) => vxlan(f, false, 200);
export const PLAIN: ZoneWrap = (f) => f;

/** the frames `build` adds to `c` (on its clock), wrapped as `wrap` mirrors them */
export function inZone(c: { frames: Array<{ data: Buffer }> }, wrap: ZoneWrap, build: () => void): void {
  const from = c.frames.length;
  build();
  for (let i = from; i < c.frames.length; i++) c.frames[i].data = wrap(c.frames[i].data);
}
