// Differential fuzz of the capture reader (sensor/captureFile.ts) and the frame decoder (decode.ts)
// against tshark: seeded random but VALID captures — classic pcap (µs, ns and the modified variant,
// both byte orders) and pcapng (both byte orders, several sections, several interfaces with their own
// link types, if_tsresol in powers of 10 and 2, if_tsoffset, enhanced, simple and obsolete packet
// blocks, blocks and options to skip, comments, snaplens that cut frames) — of Ethernet (0-2 VLAN
// tags), SLL, SLL2, null/loop, raw IP, PPP (with and without FF 03, compressed protocol fields, MPLS),
// PPPoE, Cisco HDLC and NFLOG frames carrying IPv4 (options) / IPv6 (extension headers)
// TCP (options) / UDP. Per frame, what the reader hands on and what the decoder reads must be what
// tshark reads: count, capture time (to the µs: the reader's resolution), original and captured
// length, addresses, ports, outer VLAN id, TCP/UDP length. The one deliberate difference: a simple
// packet block has no time (docs/sensor.md: it gets the previous packet's), so its time is not compared.
// Where tshark is not the reference: it lists a custom block as a record of its own (left out here), and
// its times overflow for if_tsresol finer than 1.8e10 units a second (the time written is compared).
//
// SHADOWIM_FUZZ_SEED=N SHADOWIM_FUZZ_SCALE=K (test/helpers/fuzz.ts); a failure names the seed and the
// file, kept in $TMPDIR/shadowim-reader-diff-SEED-I.pcap(ng).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { isDeepStrictEqual } from 'node:util';
import { CaptureReader, readToEnd } from '../../sensor/captureFile';
import { Decoder, Status } from '../../sensor/decode';
import { fuzzCases, fuzzSeed, xorshift32 } from '../helpers/fuzz';
import { checksum, ipPacket, ipv6WithExtensions, linkFrame, nflogTlv, nflogTlvHeader, tcpHeader, udpHeader } from '../helpers/pcapgen';

const haveTshark = spawnSync('tshark', ['-v']).status === 0;

type Rng = () => number;
const int = (r: Rng, n: number) => r() % n;
const pick = <T>(r: Rng, a: readonly T[]): T => a[int(r, a.length)];
const chance = (r: Rng, p: number) => r() / 4294967296 < p;
const bytes = (r: Rng, n: number) => Buffer.from(Array.from({ length: n }, () => r() & 0xff));

/** a frame as generated: the bytes on the wire and what the decoder must find in them */
interface Gen {
  wire: Buffer;
  linktype: number;
  v6: boolean;
  proto: 6 | 17;
  /** bytes of the frame up to the end of the TCP/UDP header: a capture cut before it is malformed */
  l4End: number;
}

// tunnel ports (VXLAN, Geneve, GTP-U, Teredo, L2TP...) stay out: tshark and the decoder would open them
const AVOID = new Set([4789, 8472, 6081, 2152, 3544, 1701, 4500, 500, 53, 5353]);
function port(r: Rng): number {
  for (;;) {
    const p = 1024 + int(r, 64512);
    if (!AVOID.has(p)) return p;
  }
}

function v4addr(r: Rng): string {
  return [1 + int(r, 223), int(r, 256), int(r, 256), 1 + int(r, 254)].join('.');
}
function v6addr(r: Rng): string {
  // runs of zero groups now and then, so that the compressed forms differ
  return Array.from({ length: 8 }, (_, i) => (i === 0 ? 0x2001 : chance(r, 0.4) ? 0 : int(r, 0x10000)).toString(16)).join(':');
}

/** IPv4 options (NOPs, then a record-route-like option, EOL-padded) spliced into an IPv4 packet */
function withIpv4Options(ip: Buffer, r: Rng): Buffer {
  const words = 1 + int(r, 10);
  const opt = Buffer.alloc(words * 4, 0); // EOL padding
  let o = 0;
  while (o < opt.length - 1 && chance(r, 0.5)) opt[o++] = 1; // NOP
  const h = Buffer.from(ip.subarray(0, 20));
  h[0] = 0x40 | (5 + words);
  h.writeUInt16BE(ip.length + opt.length, 2);
  h.writeUInt16BE(0, 10);
  const out = Buffer.concat([h, opt, ip.subarray(20)]);
  out.writeUInt16BE(checksum([out.subarray(0, 20 + opt.length)]), 10);
  return out;
}

function randomFrame(r: Rng, linktype: number): Gen {
  const v6 = linktype === 229 ? true : linktype === 228 ? false : chance(r, 0.45);
  const proto: 6 | 17 = chance(r, 0.55) ? 6 : 17;
  const src = { ip: v6 ? v6addr(r) : v4addr(r), port: port(r) };
  const dst = { ip: v6 ? v6addr(r) : v4addr(r), port: port(r) };
  const payload = bytes(r, chance(r, 0.2) ? 0 : int(r, chance(r, 0.1) ? 1400 : 200));
  let l4: Buffer;
  let l4hdr: number;
  if (proto === 6) {
    l4 = tcpHeader(src, dst, r(), r(), pick(r, [2, 18, 16, 24, 17, 4]), payload);
    const optWords = chance(r, 0.4) ? 1 + int(r, 10) : 0;
    if (optWords) {
      const opts = Buffer.alloc(optWords * 4, 1); // NOPs
      opts[opts.length - 1] = 0;
      l4 = Buffer.concat([l4.subarray(0, 20), opts, l4.subarray(20)]);
      l4[12] = (5 + optWords) << 4;
    }
    l4hdr = 20 + optWords * 4;
  } else {
    l4 = udpHeader(src, dst, payload);
    l4hdr = 8;
  }
  let ip = ipPacket(src.ip, dst.ip, proto, l4);
  if (!v6 && chance(r, 0.2)) ip = withIpv4Options(ip, r);
  if (v6 && chance(r, 0.4)) {
    // hop-by-hop only first (RFC 8200 4.1); routing, destination options, AH, atomic fragment after it
    const exts: number[] = chance(r, 0.3) ? [0] : [];
    for (let n = int(r, 3); n > 0; n--) exts.push(pick(r, [43, 60, 51, 44]));
    ip = ipv6WithExtensions(ip, exts);
  }
  const l3hdr = ip.length - l4.length;
  let wire: Buffer;
  let pad = 0;
  if (linktype === 1) {
    const vlans = Array.from({ length: pick(r, [0, 0, 0, 1, 2]) }, () => 1 + int(r, 4094));
    wire = linkFrame(ip, 1, { vlans, qinqType: pick(r, [0x88a8, 0x8100, 0x9100]) });
    // Ethernet padding to the 60-byte minimum now and then (not payload: the IP length decides)
    if (wire.length < 60 && chance(r, 0.5)) {
      pad = 60 - wire.length;
      wire = Buffer.concat([wire, Buffer.alloc(pad)]);
    }
  } else if (linktype === 0) {
    // the capturing host's byte order: either; AF_INET6 as the BSDs write it
    const fam = v6 ? pick(r, [24, 28, 30]) : 2;
    const h = Buffer.alloc(4);
    if (chance(r, 0.5)) h.writeUInt32LE(fam);
    else h.writeUInt32BE(fam);
    wire = Buffer.concat([h, ip]);
  } else if (linktype === 9 || linktype === 50 || linktype === 51 || linktype === 104) {
    wire = Buffer.concat([pppHeader(r, linktype, v6, ip.length), ip]);
  } else if (linktype === 239) {
    wire = Buffer.concat([nflogHeader(r, v6, ip.length), ip]);
  } else {
    wire = linkFrame(ip, linktype);
  }
  // an NFLOG frame cut anywhere cuts its payload TLV short of its length: neither tshark nor the decoder reads it
  return { wire, linktype, v6, proto, l4End: linktype === 239 ? wire.length : wire.length - pad - ip.length + l3hdr + l4hdr };
}

/**
 * An NFLOG header up to its payload TLV: family, version, resource id, 0-3 other TLVs netfilter writes
 * (packet header, mark, timestamp, interfaces, prefix, uid, gid…; padded to 4 bytes). Little-endian, so
 * written only to little-endian files and sections: a file's NFLOG headers are in its writer's byte
 * order, and tshark swaps them to its own when the file's differs (the decoder reads either order).
 */
function nflogHeader(r: Rng, v6: boolean, ipLen: number): Buffer {
  const parts: Buffer[] = [Buffer.from([v6 ? 10 : 2, 0, int(r, 256), int(r, 256)])];
  for (let n = int(r, 4); n > 0; n--) {
    const type = pick(r, [1, 2, 3, 4, 5, 10, 11, 14, 15, 16, 17]);
    // the packet header names the payload's protocol (tshark decodes the payload by it), then the hook
    parts.push(nflogTlv(type, type === 1 ? Buffer.from([v6 ? 0x86 : 0x08, v6 ? 0xdd : 0x00, int(r, 5), 0]) : bytes(r, int(r, 21))));
  }
  parts.push(nflogTlvHeader(9, ipLen));
  return Buffer.concat(parts);
}

/**
 * The link header of a PPP-family frame, MPLS-labelled now and then (the label is part of the header):
 * PPP (9, 50) with or without the FF 03 address and control bytes, its protocol field compressed to
 * one byte or not, or Cisco HDLC on the same link types; PPPoE without Ethernet (51); Cisco HDLC (104).
 */
function pppHeader(r: Rng, linktype: number, v6: boolean, ipLen: number): Buffer {
  const mpls = chance(r, 0.2);
  const label = Buffer.alloc(mpls ? 4 : 0);
  if (mpls) label.writeUInt32BE(((16 + int(r, 100000)) << 12) | 0x100 | 64); // bottom of stack, TTL 64
  const etype = mpls ? 0x8847 : v6 ? 0x86dd : 0x0800;
  const ppp = mpls ? 0x281 : v6 ? 0x57 : 0x21;
  const be16 = (v: number) => [v >> 8, v & 255];
  let h: number[];
  if (linktype === 104 || ((linktype === 9 || linktype === 50) && chance(r, 0.25))) h = [pick(r, [0x0f, 0x8f]), 0, ...be16(etype)];
  else if (linktype === 51) h = [0x11, 0, ...be16(1 + int(r, 0xfffe)), ...be16(2 + label.length + ipLen), ...be16(ppp)];
  else h = [...(chance(r, 0.6) ? [0xff, 0x03] : []), ...(ppp < 0x100 && chance(r, 0.3) ? [ppp] : be16(ppp))];
  return Buffer.concat([Buffer.from(h), label]);
}

// ---- writers -----------------------------------------------------------------------------------

/** a frame as written: its time in ns since the epoch (undefined: a simple packet block, no time) */
interface Written {
  gen: Gen;
  cap: number;
  ns?: bigint;
  /** pcapng: the interface's time units per second and if_tsoffset (for the failure message) */
  units?: bigint;
  offset?: bigint;
}

const PCAP_LINKTYPES = [1, 1, 1, 101, 228, 229, 113, 276, 0, 108, 9, 50, 51, 104, 239];
/** a big-endian file or section: no NFLOG (see nflogHeader) */
const linktypeFor = (r: Rng, le: boolean): number => {
  const lt = pick(r, PCAP_LINKTYPES);
  return lt === 239 && !le ? 1 : lt;
};

function pcapFile(r: Rng, out: Written[]): Buffer {
  const le = chance(r, 0.5);
  const kind = pick(r, ['us', 'ns', 'modified'] as const);
  const linktype = linktypeFor(r, le);
  const snaplen = chance(r, 0.4) ? 34 + int(r, 120) : pick(r, [65535, 262144]);
  const w32 = (b: Buffer, v: number, o: number) => (le ? b.writeUInt32LE(v >>> 0, o) : b.writeUInt32BE(v >>> 0, o));
  const w16 = (b: Buffer, v: number, o: number) => (le ? b.writeUInt16LE(v, o) : b.writeUInt16BE(v, o));
  const hdr = Buffer.alloc(24);
  w32(hdr, kind === 'ns' ? 0xa1b23c4d : kind === 'modified' ? 0xa1b2cd34 : 0xa1b2c3d4, 0);
  w16(hdr, 2, 4);
  w16(hdr, 4, 6);
  w32(hdr, snaplen, 16);
  w32(hdr, linktype, 20);
  const parts: Buffer[] = [hdr];
  let sec = 946684800 + int(r, 1_000_000_000); // 2000-2031
  for (let n = 5 + int(r, 40); n > 0; n--) {
    const gen = randomFrame(r, linktype);
    sec += int(r, 3);
    const frac = kind === 'ns' ? int(r, 1e9) : int(r, 1e6);
    const cap = Math.min(gen.wire.length, snaplen);
    const rec = Buffer.alloc(kind === 'modified' ? 24 : 16);
    w32(rec, sec, 0);
    w32(rec, frac, 4);
    w32(rec, cap, 8);
    w32(rec, gen.wire.length, 12);
    if (kind === 'modified') {
      w32(rec, int(r, 8), 16); // ifindex
      w16(rec, 0x0800, 20); // protocol
      rec[22] = int(r, 5); // pkt_type
    }
    parts.push(rec, gen.wire.subarray(0, cap));
    out.push({ gen, cap, ns: BigInt(sec) * 1_000_000_000n + BigInt(kind === 'ns' ? frac : frac * 1000) });
  }
  return Buffer.concat(parts);
}

interface NgIface {
  linktype: number;
  snaplen: number;
  /** units per second */
  units: bigint;
  /** if_tsoffset, seconds */
  offset: bigint;
}

function pcapngFile(r: Rng, out: Written[]): Buffer {
  const parts: Buffer[] = [];
  let sec = 946684800n + BigInt(int(r, 1_000_000_000));
  for (let sections = 1 + int(r, 3); sections > 0; sections--) {
    const le = chance(r, 0.5);
    const w32 = (b: Buffer, v: number, o: number) => (le ? b.writeUInt32LE(v >>> 0, o) : b.writeUInt32BE(v >>> 0, o));
    const w16 = (b: Buffer, v: number, o: number) => (le ? b.writeUInt16LE(v, o) : b.writeUInt16BE(v, o));
    const w64 = (b: Buffer, v: bigint, o: number) => (le ? b.writeBigUInt64LE(BigInt.asUintN(64, v), o) : b.writeBigUInt64BE(BigInt.asUintN(64, v), o));
    const block = (type: number, body: Buffer) => {
      const len = 12 + body.length + ((4 - (body.length % 4)) % 4);
      const b = Buffer.alloc(len);
      w32(b, type, 0);
      w32(b, len, 4);
      body.copy(b, 8);
      w32(b, len, len - 4);
      parts.push(b);
    };
    const opt = (code: number, value: Buffer) => {
      const b = Buffer.alloc(4 + value.length + ((4 - (value.length % 4)) % 4));
      w16(b, code, 0);
      w16(b, value.length, 2);
      value.copy(b, 4);
      return b;
    };
    const u32 = (v: number) => {
      const b = Buffer.alloc(4);
      w32(b, v, 0);
      return b;
    };
    const u64 = (v: bigint) => {
      const b = Buffer.alloc(8);
      w64(b, v, 0);
      return b;
    };
    /** options to skip: comments, custom options (with a PEN), codes this block does not define */
    const noise = (): Buffer[] => {
      const o: Buffer[] = [];
      if (chance(r, 0.4)) o.push(opt(1, Buffer.from(`comment ${r()}`)));
      if (chance(r, 0.3)) o.push(opt(pick(r, [2988, 2989, 19372, 19373]), Buffer.concat([u32(32473), bytes(r, int(r, 9))])));
      if (chance(r, 0.2)) o.push(opt(200 + int(r, 1000), bytes(r, int(r, 13))));
      return o;
    };
    const withEnd = (o: Buffer[]) => (o.length || chance(r, 0.2) ? [...o, Buffer.alloc(4)] : o);

    // section header: section length unknown (-1) or given
    const shbOpts = withEnd([...noise(), ...(chance(r, 0.5) ? [opt(4, Buffer.from('reader-diff fuzz'))] : [])]);
    const shb = Buffer.alloc(16);
    w32(shb, 0x1a2b3c4d, 0);
    w16(shb, 1, 4);
    w16(shb, 0, 6);
    w64(shb, -1n, 8);
    block(0x0a0d0d0a, Buffer.concat([shb, ...shbOpts]));

    const ifaces: NgIface[] = [];
    const addIface = () => {
      const linktype = linktypeFor(r, le);
      const snaplen = chance(r, 0.3) ? 34 + int(r, 120) : pick(r, [0, 65535, 262144]);
      let units = 1_000_000n;
      const o: Buffer[] = [];
      if (chance(r, 0.7)) {
        const two = chance(r, 0.4);
        const exp = two ? int(r, 41) : int(r, 13);
        units = (two ? 2n : 10n) ** BigInt(exp);
        o.push(opt(9, Buffer.from([(two ? 0x80 : 0) | exp])));
      }
      let offset = 0n;
      // finer than ~2^-32 s, a time since 1970 passes 64 bits: only times relative to an offset fit
      const fine = sec * units >= 1n << 63n;
      if (fine || chance(r, 0.4)) {
        offset = fine ? sec - BigInt(int(r, 1000)) : BigInt(int(r, 2_000_000)) - 1_000_000n;
        o.push(opt(14, u64(offset)));
      }
      if (chance(r, 0.4)) o.push(opt(2, Buffer.from(`eth${ifaces.length}`)));
      if (chance(r, 0.2)) o.push(opt(3, Buffer.from('a description')));
      o.push(...noise());
      const idb = Buffer.alloc(8);
      w16(idb, linktype, 0);
      w32(idb, snaplen, 4);
      block(1, Buffer.concat([idb, ...withEnd(o)]));
      ifaces.push({ linktype, snaplen, units, offset });
    };
    for (let n = 1 + int(r, 3); n > 0; n--) addIface();

    for (let n = 3 + int(r, 25); n > 0; n--) {
      // blocks to skip between packets: name resolution, interface statistics, custom, unknown
      if (chance(r, 0.15)) {
        const k = int(r, 4);
        if (k === 0) {
          const rec = Buffer.alloc(8);
          w16(rec, 1, 0); // nrb_record_ipv4
          w16(rec, 4 + 7, 2);
          block(4, Buffer.concat([rec.subarray(0, 4), Buffer.from([192, 0, 2, 1]), Buffer.from('a.test\0'), Buffer.alloc(1), Buffer.alloc(4)]));
        } else if (k === 1) {
          const isb = Buffer.alloc(12);
          w32(isb, int(r, ifaces.length), 0);
          block(5, Buffer.concat([isb, ...withEnd([opt(4, u64(BigInt(int(r, 1000)))), ...noise()])]));
        } else if (k === 2) {
          block(pick(r, [0x00000bad, 0x40000bad]), Buffer.concat([u32(32473), bytes(r, int(r, 30))]));
        } else {
          block(0x0000_0101 + int(r, 0x100), bytes(r, int(r, 40)));
        }
      }
      if (chance(r, 0.05) && ifaces.length < 6) addIface();
      const kind = chance(r, 0.1) ? 'simple' : chance(r, 0.1) ? 'obsolete' : 'enhanced';
      const ifId = kind === 'simple' ? 0 : int(r, ifaces.length);
      const ifc = ifaces[ifId];
      const gen = randomFrame(r, ifc.linktype);
      const cap = ifc.snaplen ? Math.min(gen.wire.length, ifc.snaplen) : gen.wire.length;
      if (kind === 'simple') {
        const spb = Buffer.alloc(4);
        w32(spb, gen.wire.length, 0);
        block(3, Buffer.concat([spb, gen.wire.subarray(0, cap)]));
        out.push({ gen, cap });
        continue;
      }
      // time: whole seconds on or after the last packet's, a random fraction in the interface's units
      sec += BigInt(int(r, 3));
      const fracUnits = ifc.units > 1n ? BigInt(r()) * BigInt(r()) % ifc.units : 0n;
      const raw = (sec - ifc.offset) * ifc.units + fracUnits;
      const hdr = Buffer.alloc(20);
      if (kind === 'obsolete') {
        w16(hdr, ifId, 0);
        w16(hdr, int(r, 3), 2); // drops count
      } else w32(hdr, ifId, 0);
      w32(hdr, Number(raw >> 32n), 4);
      w32(hdr, Number(raw & 0xffffffffn), 8);
      w32(hdr, cap, 12);
      w32(hdr, gen.wire.length, 16);
      const pad = Buffer.alloc((4 - (cap % 4)) % 4);
      const o: Buffer[] = [];
      if (chance(r, 0.3)) o.push(opt(2, u32(pick(r, [1, 2, 0x10001]))));
      if (kind === 'enhanced' && chance(r, 0.2)) o.push(opt(4, u64(BigInt(int(r, 100)))));
      if (kind === 'enhanced' && chance(r, 0.1)) o.push(opt(5, u64(BigInt(r()))));
      o.push(...noise());
      block(kind === 'obsolete' ? 2 : 6, Buffer.concat([hdr, gen.wire.subarray(0, cap), pad, ...withEnd(o)]));
      out.push({ gen, cap, ns: sec * 1_000_000_000n + (fracUnits * 1_000_000_000n) / ifc.units, units: ifc.units, offset: ifc.offset });
    }
  }
  return Buffer.concat(parts);
}

// ---- the two readings ----------------------------------------------------------------------------

interface View {
  ts?: string;
  len: number;
  cap: number;
  /** decoded: addresses (hex), ports, first VLAN, TCP payload / UDP length */
  src?: string;
  dst?: string;
  sport?: number;
  dport?: number;
  vlan?: number;
  l4len?: number;
}

/** "1705311000.123456789" → µs since the epoch, truncated, as a string */
function epochMicros(s: string): string {
  const [i, f = ''] = s.split('.');
  return (BigInt(i) * 1_000_000n + BigInt((f + '000000').slice(0, 6))).toString();
}

function hexAddr(s: string): string {
  if (s.includes('.')) return Buffer.from(s.split('.').map(Number)).toString('hex');
  const [head, tail] = s.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return groups.map((g) => g.padStart(4, '0')).join('').toLowerCase();
}

const FIELDS = ['frame.number', 'frame.time_epoch', 'frame.len', 'frame.cap_len', 'ip.src', 'ip.dst', 'ipv6.src', 'ipv6.dst',
  'tcp.srcport', 'tcp.dstport', 'udp.srcport', 'udp.dstport', 'vlan.id', 'tcp.len', 'udp.length', 'frame.cb_pen',
  'ieee8021ad.id'];

/** tshark's reading, or its complaint */
function tsharkView(file: string, written: Written[]): View[] | string {
  const r = spawnSync('tshark', ['-n', '-r', file, '-T', 'fields', '-E', 'occurrence=f', ...FIELDS.flatMap((f) => ['-e', f])], { maxBuffer: 64 << 20 });
  if (r.status !== 0) return `exit ${r.status}: ${r.stderr}`;
  const rows = r.stdout.toString().split('\n').filter((l) => l).map((line) => Object.fromEntries(line.split('\t').map((v, k) => [FIELDS[k], v])));
  // tshark lists a custom block as a record of its own (frame.cb_pen): not a frame
  return rows.filter((f) => !f['frame.cb_pen']).map((f, i) => {
    const w = written[i];
    const v: View = { len: Number(f['frame.len']), cap: Number(f['frame.cap_len']) };
    if (w?.ns !== undefined) {
      // tshark 4.0 takes the nanoseconds as (time % units) * 10^9 / units in 64 bits, which overflows
      // past 1.8e10 units a second (2^-35 s, 10^-11 s): there the written time is the reference
      v.ts = w.units && w.units * 1_000_000_000n >= 1n << 64n ? (w.ns / 1000n).toString() : epochMicros(f['frame.time_epoch']);
    }
    if (w && w.cap >= w.gen.l4End) {
      v.src = hexAddr(f[w.gen.v6 ? 'ipv6.src' : 'ip.src']);
      v.dst = hexAddr(f[w.gen.v6 ? 'ipv6.dst' : 'ip.dst']);
      const l4 = w.gen.proto === 6 ? 'tcp' : 'udp';
      v.sport = Number(f[`${l4}.srcport`]);
      v.dport = Number(f[`${l4}.dstport`]);
      // the outer tag (the flow's vlan): 802.1ad's when the outer one is a service tag
      const tag = f['ieee8021ad.id'] || f['vlan.id'];
      v.vlan = tag ? Number(tag) : -1;
      v.l4len = Number(f[w.gen.proto === 6 ? 'tcp.len' : 'udp.length']);
    }
    return v;
  });
}

async function ourView(file: string, written: Written[]): Promise<{ views: View[]; error?: string }> {
  const dec = new Decoder();
  const views: View[] = [];
  const reader = CaptureReader.open(file, {
    frame(lt, ts, buf, off, len, orig) {
      const w = written[views.length];
      const v: View = { len: orig, cap: len };
      if (w?.ns !== undefined) v.ts = BigInt(Math.floor(ts)).toString();
      const st = dec.decode(lt, buf, off, off + len, ts);
      if (w && w.cap >= w.gen.l4End) {
        const d = dec.d;
        if (st === Status.Ok) {
          const n = d.v6 ? 16 : 4;
          v.src = d.addrBuf.toString('hex', d.srcOff, d.srcOff + n);
          v.dst = d.addrBuf.toString('hex', d.dstOff, d.dstOff + n);
          v.sport = d.sport;
          v.dport = d.dport;
          v.vlan = d.vlan;
          v.l4len = d.proto === 6 ? d.payLen + d.payMissing : d.payLen + d.payMissing + 8;
        } else v.src = `status ${st}`;
      } else if (st === Status.Ok) v.src = 'Ok for a frame cut inside its headers';
      views.push(v);
    },
  });
  const error = await readToEnd(reader);
  return { views, error };
}

/** the first way the two readings differ, or undefined */
function difference(written: Written[], theirs: View[] | string, ours: { views: View[]; error?: string }): string | undefined {
  if (typeof theirs === 'string') return `tshark could not read it: ${theirs}`;
  if (ours.error !== undefined) return `the reader stopped: ${ours.error}`;
  if (theirs.length !== written.length) return `tshark read ${theirs.length} frames, ${written.length} written`;
  if (ours.views.length !== theirs.length) return `${ours.views.length} frames read, tshark read ${theirs.length}`;
  for (let k = 0; k < theirs.length; k++) {
    if (isDeepStrictEqual(ours.views[k], theirs[k])) continue;
    const w = written[k];
    const time = w.units ? `, written ${w.ns} ns in units of 1/${w.units} s, offset ${w.offset} s` : '';
    return `frame ${k + 1} (link type ${w.gen.linktype}${time}): ours ${JSON.stringify(ours.views[k])}, tshark ${JSON.stringify(theirs[k])}`;
  }
  return undefined;
}

// ---- the test ----------------------------------------------------------------------------------

const SEED = fuzzSeed(0x5eed_d1ff);
const FILES = fuzzCases(6);

describe('sensor: capture reader against tshark (differential fuzz)', function () {
  this.timeout(Math.max(60_000, FILES * 10_000));
  if (!haveTshark) {
    it('skipped: tshark is not installed', function () {
      this.skip();
    });
    return;
  }

  it(`${FILES} random valid captures (seed ${SEED}): every frame, time, length, address and port as tshark reads them`, async () => {
    const r = xorshift32(SEED);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-reader-diff-'));
    let frames = 0;
    try {
      for (let i = 0; i < FILES; i++) {
        const written: Written[] = [];
        const ng = i % 2 === 1;
        const data = ng ? pcapngFile(r, written) : pcapFile(r, written);
        const file = path.join(dir, `case-${i}.${ng ? 'pcapng' : 'pcap'}`);
        fs.writeFileSync(file, data);
        const theirs = tsharkView(file, written);
        const ours = await ourView(file, written);
        const diff = difference(written, theirs, ours);
        if (diff) {
          // kept for replay (only on failure)
          const kept = path.join(os.tmpdir(), `shadowim-reader-diff-${SEED}-${i}.${ng ? 'pcapng' : 'pcap'}`);
          fs.copyFileSync(file, kept);
          assert.fail(`${kept}: ${diff}`);
        }
        frames += written.length;
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    assert.ok(frames > FILES * 5);
  });
});
