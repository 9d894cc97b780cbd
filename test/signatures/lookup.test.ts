import assert from 'node:assert/strict';
import net from 'node:net';
import { CidrTable, HostTable, ipv4ToInt, parseIpv4 } from '../../signatures/lookup';
import { HomeNets } from '../../signatures/homeNets';
import type { FlowInfo } from '../../sensor/types';

// deterministic pseudo-random numbers (mulberry32)
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('signatures/lookup', () => {
  it('parses exactly the IPv4 strings net.isIPv4 accepts, to the same value', () => {
    const fixed = ['1.2.3.4', '0.0.0.0', '255.255.255.255', '256.1.1.1', '01.2.3.4', '1.2.3', '1.2.3.4.5', '1..2.3', ' 1.2.3.4', '1.2.3.4 ',
      '::1', '::ffff:1.2.3.4', '10.0.0.00', '1.2.3.04', 'a.b.c.d', '1.2.3.-4', '', '1.2.3.4\n', '0.0.0.0.', '999.0.0.1', '1.2.3.\u0663'];
    const r = rng(7);
    const chars = '0123456789.';
    const cases = [...fixed];
    for (let k = 0; k < 50000; k++) {
      let s = '';
      const len = 1 + Math.floor(r() * 16);
      for (let i = 0; i < len; i++) s += chars[Math.floor(r() * (r() < 0.3 ? 11 : 10))];
      cases.push(s, [0, 0, 0, 0].map(() => Math.floor(r() * 300)).join('.'));
    }
    for (const c of cases) assert.equal(parseIpv4(c), net.isIPv4(c) ? ipv4ToInt(c) : -1, JSON.stringify(c));
  });

  it('finds the longest matching IPv4 range like a plain scan does', () => {
    const r = rng(11);
    const t = new CidrTable();
    const ranges: { base: number; mask: number; bits: number; cidr: string; protocol: string }[] = [];
    for (let i = 0; i < 300; i++) {
      const bits = [0, 4, 7, 8, 12, 16, 20, 24, 28, 31, 32][Math.floor(r() * 11)];
      if (bits === 0 && i % 50) continue;
      const a = Math.floor(r() * 2 ** 32) >>> 0;
      const ip = [a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255].join('.');
      const cidr = `${ip}/${bits}`;
      const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
      t.add(cidr, `p${i}`);
      ranges.push({ base: (a & mask) >>> 0, mask, bits, cidr, protocol: `p${i}` });
      // lookups between adds: the index follows every change
      if (i % 40 === 0) assert.equal(t.lookup(ip)?.matched !== undefined, true);
    }
    ranges.sort((x, y) => y.bits - x.bits);
    const probes: number[] = [];
    for (const g of ranges) probes.push(g.base, (g.base | ~g.mask) >>> 0, (g.base + 1) >>> 0, (g.base - 1) >>> 0);
    for (let k = 0; k < 20000; k++) probes.push(Math.floor(r() * 2 ** 32) >>> 0);
    for (const v of probes) {
      const ip = [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join('.');
      const want = ranges.find((g) => ((v & g.mask) >>> 0) === g.base);
      assert.deepEqual(t.lookup(ip), want ? { protocol: want.protocol, matched: want.cidr } : undefined, ip);
    }
    assert.equal(t.lookup('not an address'), undefined);
  });

  it('answers repeated host lookups the same, and follows later additions', () => {
    const h = new HostTable();
    h.add('example.com', 'a');
    h.add('skip.example.com', 'not-im');
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(h.lookup('x.Example.com.'), { protocol: 'a', matched: 'example.com' });
      assert.equal(h.lookup('y.skip.example.com'), undefined);
      assert.equal(h.lookup('bad name!'), undefined);
    }
    h.add('x.example.com', 'b');
    assert.deepEqual(h.lookup('x.Example.com.'), { protocol: 'b', matched: 'x.example.com' });
  });

  it('keeps the outbound direction per flow', () => {
    const hn = new HomeNets();
    const flow = (c: string, s: string) => ({ client: { ip: c, port: 1 }, server: { ip: s, port: 2 } }) as FlowInfo;
    const a = flow('8.8.8.8', '10.0.0.1');
    const b = flow('10.0.0.1', '8.8.8.8');
    for (let i = 0; i < 2; i++) {
      assert.equal(hn.outboundDir(a), 1);
      assert.equal(hn.outboundDir(b), 0);
      assert.equal(hn.outboundDir(flow('fe80::1', '2001:db8::1')), 0);
      assert.equal(hn.outboundDir(flow('2001:db8::1', 'fd00::1')), 1);
    }
  });
});
