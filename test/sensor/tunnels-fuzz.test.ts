// Tunnels, generated rather than mutated: random stacks of up to five encapsulations (GRE with
// checksum/key/sequence, IP-in-IP, PPTP with every PPP header form, GTP-U with extension chains,
// Geneve with options, L2TPv2 with every optional field, Teredo with its indicators, WCCP, GRETAP,
// ERSPAN I/II/III, VXLAN) over IPv4 or IPv6 (with extension
// headers), VLAN tags inside and out, the innermost or the outermost packet fragmented, frames cut
// short or with bytes changed. Ground truth: what was put inside. A clean stack of at most 4 must
// give back the innermost packet exactly (5-tuple, payload, the length it carries, its VLAN), a cut
// one its payload up to the cut with the rest counted missing; any frame: nothing thrown, lengths
// inside the buffer, innerLen an integer that covers the payload, no NaN in a flow's counters.
import assert from 'node:assert/strict';
import { boundedIt } from '../helpers/bounded';
import { fuzzCases, fuzzSeconds, fuzzSeed } from '../helpers/fuzz';
import { ether, ipPacket, ipv4Fragments, ipv6WithExtensions, tcpPacket, udpPacket } from '../helpers/pcapgen';
import { rng } from '../../common/rng';
import { Decoder, Status } from '../../sensor/decode';
import { PacketPath } from '../../sensor/packetPath';
import { Recorder } from './record';

const O4 = ['198.51.100.1', '198.51.100.2'];
const O6 = ['2001:db8:ffff::1', '2001:db8:ffff::2'];
const u16 = (v: number) => Buffer.from([(v >> 8) & 255, v & 255]);
const u32 = (v: number) => Buffer.from([v >>> 24, (v >> 16) & 255, (v >> 8) & 255, v & 255]);
const isV6 = (ip: Buffer) => ip[0] >> 4 === 6;
const ipType = (ip: Buffer) => (isV6(ip) ? 0x86dd : 0x0800);

interface Layer {
  name: string;
  /** what it carries: an IP packet or an Ethernet frame */
  carries: 'ip' | 'eth';
  wrap: (inner: Buffer, v6: boolean) => Buffer;
}

function generator(seed: number) {
  const r = rng(seed);
  const pick = <T>(a: T[]): T => a[Math.floor(r() * a.length)];
  const outerIp = (v6: boolean, proto: number, l4: Buffer) => {
    const p = ipPacket(v6 ? O6[0] : O4[0], v6 ? O6[1] : O4[1], proto, l4);
    return v6 && r() < 0.3 ? ipv6WithExtensions(p, [pick([0, 43, 60, 51])].concat(r() < 0.5 ? [60] : [])) : p;
  };
  const outerUdp = (v6: boolean, sport: number, dport: number, payload: Buffer) =>
    outerIp(v6, 17, Buffer.concat([u16(sport), u16(dport), u16(8 + payload.length), u16(0), payload]));
  // a GRETAP key is the tunnel's zone (flows and fragments are keyed by it): one case's fragments all
  // travel one tunnel, so whether it has a key is drawn once per case (gretapKey), not per packet
  let gretapKey = false;
  const greHdr = (type: number, seq = r() < 0.4) => {
    const csum = r() < 0.3, key = type === 0x6558 ? gretapKey : r() < 0.4;
    return Buffer.concat([Buffer.from([(csum ? 0x80 : 0) | (key ? 0x20 : 0) | (seq ? 0x10 : 0), 0]), u16(type),
      csum ? Buffer.alloc(4) : Buffer.alloc(0), key ? u32(7) : Buffer.alloc(0), seq ? u32(9) : Buffer.alloc(0)]);
  };
  const geneve = (type: number, inner: Buffer, v6: boolean) => {
    const words = Math.floor(r() * 4);
    return outerUdp(v6, 49153, 6081, Buffer.concat([Buffer.from([words, 0]), u16(type), u32(77 << 8), Buffer.alloc(words * 4, 0x22), inner]));
  };
  const LAYERS: Layer[] = [
    { name: 'GRE', carries: 'ip', wrap: (ip, v6) => outerIp(v6, 47, Buffer.concat([greHdr(ipType(ip)), ip])) },
    { name: 'IP-in-IP', carries: 'ip', wrap: (ip, v6) => outerIp(v6, isV6(ip) ? 41 : 4, ip) },
    {
      name: 'PPTP', carries: 'ip', wrap: (ip, v6) => {
        const s = r() < 0.5, a = r() < 0.5;
        const proto = isV6(ip) ? 0x57 : 0x21;
        const ppp = Buffer.concat([r() < 0.5 ? Buffer.from([0xff, 0x03]) : Buffer.alloc(0), r() < 0.5 ? Buffer.from([proto]) : u16(proto), ip]);
        return outerIp(v6, 47, Buffer.concat([Buffer.from([0x20 | (s ? 0x10 : 0), 0x01 | (a ? 0x80 : 0)]), u16(0x880b), u16(ppp.length), u16(9), s ? u32(1) : Buffer.alloc(0), a ? u32(1) : Buffer.alloc(0), ppp]));
      },
    },
    {
      name: 'GTP-U', carries: 'ip', wrap: (ip, v6) => {
        const e = r() < 0.5, s = r() < 0.5;
        let opt = Buffer.alloc(0);
        if (e || s || r() < 0.3) {
          const exts: Buffer[] = [];
          const n = e ? 1 + Math.floor(r() * 3) : 0;
          for (let i = 0; i < n; i++) {
            const w = 1 + Math.floor(r() * 2);
            const b = Buffer.alloc(w * 4);
            b[0] = w;
            b[w * 4 - 1] = i === n - 1 ? 0 : 0x85;
            exts.push(b);
          }
          opt = Buffer.concat([u16(1), Buffer.from([0, e ? 0x85 : 0]), ...exts]);
        }
        const flags = 0x30 | (e ? 4 : 0) | (s ? 2 : 0) | (opt.length && !e && !s ? 1 : 0);
        return outerUdp(v6, 2152, 2152, Buffer.concat([Buffer.from([flags, 0xff]), u16(opt.length + ip.length), u32(0xabc), opt, ip]));
      },
    },
    { name: 'Geneve (IP)', carries: 'ip', wrap: (ip, v6) => geneve(ipType(ip), ip, v6) },
    {
      name: 'L2TPv2', carries: 'ip', wrap: (ip, v6) => {
        const l = r() < 0.5, sq = r() < 0.5, off = r() < 0.3 ? Math.floor(r() * 6) : -1;
        const proto = isV6(ip) ? 0x57 : 0x21;
        const ppp = Buffer.concat([r() < 0.5 ? Buffer.from([0xff, 0x03]) : Buffer.alloc(0), r() < 0.5 ? Buffer.from([proto]) : u16(proto), ip]);
        const head = Buffer.concat([u16(0x4a1), u16(7), sq ? u32(0x00010002) : Buffer.alloc(0), off >= 0 ? Buffer.concat([u16(off), Buffer.alloc(off, 0xee)]) : Buffer.alloc(0)]);
        const flags = Buffer.from([(l ? 0x40 : 0) | (sq ? 0x08 : 0) | (off >= 0 ? 0x02 : 0), 0x02]);
        const msg = Buffer.concat([flags, l ? u16(4 + head.length + ppp.length) : Buffer.alloc(0), head, ppp]);
        return r() < 0.5 ? outerUdp(v6, 1701, 1701, msg) : outerUdp(v6, 50000, 1701, msg);
      },
    },
    {
      // Teredo carries IPv6 only (an IPv4 packet goes in IP-in-IP instead); the server's port, either side
      name: 'Teredo', carries: 'ip', wrap: (ip, v6) => {
        if (!isV6(ip)) return outerIp(v6, 4, ip);
        const id = Math.floor(r() * 3), au = Math.floor(r() * 3);
        const auth = r() < 0.3 ? Buffer.concat([Buffer.from([0, 1, id, au]), Buffer.alloc(id + au, 0x41), Buffer.alloc(8, 0x5a), Buffer.from([0])]) : Buffer.alloc(0);
        const origin = r() < 0.4 ? Buffer.concat([u16(0), u16(0x1234), u32(0x3fff1234)]) : Buffer.alloc(0);
        const msg = Buffer.concat([auth, origin, ip]);
        return r() < 0.5 ? outerUdp(v6, 51000, 3544, msg) : outerUdp(v6, 3544, 51000, msg);
      },
    },
    {
      name: 'WCCP', carries: 'ip', wrap: (ip, v6) =>
        isV6(ip) ? outerIp(v6, 41, ip) : outerIp(v6, 47, Buffer.concat([greHdr(0x883e, false), r() < 0.5 ? Buffer.alloc(4) : Buffer.alloc(0), ip])),
    },
    { name: 'GRETAP', carries: 'eth', wrap: (f, v6) => outerIp(v6, 47, Buffer.concat([greHdr(0x6558), f])) },
    { name: 'ERSPAN I', carries: 'eth', wrap: (f, v6) => outerIp(v6, 47, Buffer.concat([greHdr(0x88be, false), f])) },
    { name: 'ERSPAN II', carries: 'eth', wrap: (f, v6) => outerIp(v6, 47, Buffer.concat([greHdr(0x88be, true), Buffer.from([0x10, 42, 0, 5, 0, 0, 0, 0]), f])) },
    {
      name: 'ERSPAN III', carries: 'eth', wrap: (f, v6) => {
        const o = r() < 0.5;
        return outerIp(v6, 47, Buffer.concat([greHdr(0x22eb, true), Buffer.from([0x20, 42, 0, 5]), u32(1000), Buffer.from([0, 0, 0, o ? 1 : 0]), o ? Buffer.alloc(8, 0x11) : Buffer.alloc(0), f]));
      },
    },
    { name: 'VXLAN', carries: 'eth', wrap: (f, v6) => outerUdp(v6, 49152, pick([4789, 8472]), Buffer.concat([Buffer.from([0x08, 0, 0, 0]), u32(0x1234 << 8), f])) },
    { name: 'Geneve (Ethernet)', carries: 'eth', wrap: (f, v6) => geneve(0x6558, f, v6) },
  ];

  const innermost = () => {
    const v6 = r() < 0.4, tcp = r() < 0.6;
    const payload = Buffer.alloc(Math.floor(r() * (r() < 0.2 ? 3000 : 200)), 0x61 + Math.floor(r() * 26));
    for (let i = 0; i < payload.length; i += 7) payload[i] = Math.floor(r() * 256);
    const [a, b] = v6 ? ['[2001:db8:1::10]:40001', '[2001:db8:2::7]:5222'] : ['10.1.1.10:40001', '192.0.2.7:5222'];
    const ip = tcp ? tcpPacket(a, b, 1000, 24, payload, 1) : udpPacket(a, b.replace('5222', '5353'), payload);
    return { ip, proto: tcp ? 6 : 17, payload, dport: tcp ? 5222 : 5353 };
  };

  /** IPv4 fragments, or IPv6 ones that leave hop-by-hop and routing headers unfragmented */
  const fragment = (ip: Buffer): Buffer[] => {
    let size = 8 * (1 + Math.floor(r() * 40));
    while (ip.length / size > 200) size *= 2; // the reassembler takes 256 parts at most
    if (!isV6(ip)) {
      const id = Math.floor(r() * 65536);
      return ipv4Fragments(ip, size).map((f) => (f.writeUInt16BE(id, 4), f));
    }
    let nh = ip[6], o = 40, at = 6;
    while (nh === 0 || nh === 43) {
      at = o;
      nh = ip[o];
      o += (ip[o + 1] + 1) * 8;
    }
    const id = Math.floor(r() * 2 ** 32);
    const out: Buffer[] = [];
    for (let k = 0; k < ip.length - o; k += size) {
      const part = ip.subarray(o + k, o + k + size);
      const h = Buffer.from(ip.subarray(0, o));
      h[at] = 44;
      h.writeUInt16BE(o - 40 + 8 + part.length, 4);
      const fh = Buffer.from([nh, 0, 0, 0, 0, 0, 0, 0]);
      fh.writeUInt16BE(k | (k + size < ip.length - o ? 1 : 0), 2);
      fh.writeUInt32BE(id, 4);
      out.push(Buffer.concat([h, fh, part]));
    }
    return out;
  };

  /** one case: the frames to decode in order, and what the last one must give */
  return () => {
    const inner = innermost();
    gretapKey = r() < 0.4;
    const chain: Layer[] = [];
    for (let k = Math.floor(r() * 6); k > 0; k--) chain.push(pick(LAYERS));
    const fragInner = chain.length > 0 && r() < 0.15;
    const fragOuter = !fragInner && r() < 0.1;
    let vlan = -1; // the tag the decoded packet must report
    let carried = -1; // the length of what the innermost opened tunnel carries
    const wrapOne = (p: Buffer) => {
      let cur = p;
      chain.forEach((L, i) => {
        let x = cur;
        const tag = r() < 0.2 ? 42 + i : undefined;
        if (L.carries === 'eth') x = ether(cur, tag);
        // tunnels are opened from the outside in, at most 4: the one opened last is chain[len - 4]
        if (i === Math.max(0, chain.length - 4)) {
          carried = x.length;
          vlan = L.carries === 'eth' && tag !== undefined ? tag : -1;
        }
        cur = L.wrap(x, r() < 0.4);
      });
      return cur;
    };
    const tag = r() < 0.2 ? 7 : undefined;
    if (chain.length === 0 && tag !== undefined) vlan = tag;
    let packets = (fragInner ? fragment(inner.ip) : [inner.ip]).map(wrapOne);
    if (fragOuter) packets = fragment(packets[0]);
    const frames = packets.map((p) => ether(p, tag));
    const mutate = r() < 0.3;
    const cutLast = !mutate && r() < 0.3;
    const lens = frames.map((f, j) => {
      if (mutate) for (let k = 1 + Math.floor(r() * 4); k > 0; k--) f[Math.floor(r() * f.length)] = r() < 0.3 ? 0xff : Math.floor(r() * 256);
      if (cutLast && j === frames.length - 1) return Math.floor(r() * f.length);
      return mutate && r() < 0.2 ? Math.floor(r() * f.length) : f.length;
    });
    return { inner, chain, frames, lens, mutate, cutLast, fragInner, fragOuter, carried, vlan };
  };
}

describe('sensor: tunnels, generated', () => {
  boundedIt(__filename, 'random tunnel stacks, fragments and cuts: 25,000 cases, the innermost packet exactly when clean, bounded lengths always', fuzzSeconds(60), () => {
    const next = generator(fuzzSeed(20241126));
    const dec = new Decoder();
    const d = dec.d;
    const rec = new Recorder();
    const pp = new PacketPath(rec, { maxFlows: 2000 });
    const failures: string[] = [];
    const fail = (what: string, c: ReturnType<typeof next>, f: Buffer) => {
      if (failures.length < 5) failures.push(`${what}: ${c.chain.map((l) => l.name).join(' in ')} ${JSON.stringify({ mutate: c.mutate, cut: c.cutLast, fragInner: c.fragInner, fragOuter: c.fragOuter })} ${f.toString('hex').slice(0, 240)}`);
    };
    let ts = 1e12, checked = 0, cutChecked = 0;
    const cases = fuzzCases(25_000);
    for (let i = 0; i < cases; i++) {
      ts += 31e6; // past the fragment timeout: no case meets another's fragments
      const c = next();
      c.frames.forEach((f, j) => {
        const last = j === c.frames.length - 1;
        const st = dec.decode(1, f, 0, c.lens[j], ts);
        pp.packet(1, ts, f.subarray(0, c.lens[j]), f.length);
        const clean = !c.mutate && last && c.chain.length <= 4;
        if (st !== Status.Ok) {
          if (clean && !c.cutLast) fail(`not decoded (${st})`, c, f);
          return;
        }
        if (!(Number.isInteger(d.payLen) && d.payLen >= 0 && Number.isInteger(d.payOff) && d.payOff >= 0 && d.payOff + d.payLen <= d.payBuf.length)) fail('payload outside the buffer', c, f);
        if (!(Number.isInteger(d.payMissing) && d.payMissing >= 0) || d.tunnels > 4) fail('payMissing or tunnels', c, f);
        if (d.tunnels > 0 && !(Number.isInteger(d.innerLen) && d.innerLen >= 0 && (c.fragInner || d.innerLen >= d.payLen + d.payMissing))) fail(`innerLen ${d.innerLen}`, c, f);
        if (!clean || (c.cutLast && d.tunnels !== c.chain.length)) return; // cut before the last tunnel could be opened: its datagram
        const got = d.payBuf.subarray(d.payOff, d.payOff + d.payLen);
        if (d.tunnels !== c.chain.length || d.proto !== c.inner.proto || d.sport !== 40001 || d.dport !== c.inner.dport || d.vlan !== c.vlan) fail(`tunnels ${d.tunnels}, vlan ${d.vlan} (${c.vlan})`, c, f);
        if (c.chain.length && !c.fragOuter && d.innerLen !== c.carried) fail(`innerLen ${d.innerLen}, carried ${c.carried}`, c, f);
        if (c.cutLast) {
          cutChecked++;
          if (!c.inner.payload.subarray(0, got.length).equals(got) || d.payLen + d.payMissing !== c.inner.payload.length) fail('cut payload', c, f);
        } else {
          checked++;
          if (!got.equals(c.inner.payload) || d.payMissing !== 0) fail('payload', c, f);
        }
      });
    }
    pp.finish();
    assert.deepEqual(failures, []);
    assert.ok(checked > cases * 0.36 && cutChecked > cases * 0.04, `${checked} clean, ${cutChecked} cut cases checked`);
    assert.equal(pp.internalErrors, 0);
    const bad = rec.flows.filter((f) => !f.end || !(Number.isInteger(f.end.counters.bytes) && f.end.counters.bytes >= 0 && f.end.counters.bytesC2S + f.end.counters.bytesS2C === f.end.counters.bytes));
    assert.ok(rec.flows.length > 100 && bad.length === 0, `${bad.length} of ${rec.flows.length} flows with bad byte counters: ${JSON.stringify(bad[0]?.end)}`);
    assert.ok(dec.tunneled > cases * 0.8);
  });
});
