import assert from 'node:assert/strict';
import net from 'node:net';
import { CidrTable, HostTable, ipv4ToInt, ipv6ToBigInt, parseIpv4, parseIpv6 } from '../../signatures/lookup';
import { HomeNets } from '../../signatures/homeNets';
import type { FlowInfo } from '../../sensor/types';
import { rng } from '../../common/rng';
import { addressCases } from '../helpers/addressCases';

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

  it('accepts exactly the IPv6 strings net.isIPv6 accepts, with the value ipv6ToBigInt gives', () => {
    const fixed = ['::', '::1', '1::', '1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7::', '::2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8::', '1::2:3:4:5:6:7:8',
      '::ffff:1.2.3.4', '1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6::1.2.3.4', '::1.2.3.4', '::01.2.3.4', '1.2.3.4', 'fe80::1%eth0', 'fe80::1%', 'fe80::1%a_b',
      ':1:2:3:4:5:6:7', '1:2:3:4:5:6:7:', '1:::2', '2001:DB8::FFFF', '::1.2.3.4:1', '12345::', 'g::', ''];
    const cases = addressCases(fixed, 13, ['', '0', '1', 'f', 'F', 'abcd', 'abcde', ':', '::', ':::', '.', '1.2.3.4', '256.1.1.1', '%', '%eth0', '%_', ' ', 'x'], 12);
    for (const c of cases) {
      const p = parseIpv6(c);
      assert.equal(p !== null, net.isIPv6(c), JSON.stringify(c));
      if (p && !p.zone) assert.equal(p.groups.reduce((v, x) => (v << 16n) | BigInt(x), 0n), ipv6ToBigInt(c), c);
    }
  });

  it('finds the longest matching IPv6 range like a BigInt scan does', () => {
    const r = rng(19);
    const t = new CidrTable();
    const hex = () => Math.floor(r() * 65536).toString(16);
    const ranges: { prefix: bigint; bits: number; cidr: string; protocol: string }[] = [];
    const bases: string[] = [];
    for (let i = 0; i < 120; i++) {
      const bits = [0, 7, 10, 16, 32, 33, 47, 48, 64, 100, 127, 128][Math.floor(r() * 12)];
      if (bits === 0 && i % 40) continue;
      const addr = Array.from({ length: 8 }, hex).join(':');
      const cidr = `${addr}/${bits}`;
      t.add(cidr, `p${i}`);
      ranges.push({ prefix: ipv6ToBigInt(addr) >> BigInt(128 - bits), bits, cidr, protocol: `p${i}` });
      bases.push(addr);
    }
    ranges.sort((x, y) => y.bits - x.bits);
    const probes = [...bases];
    for (const b of bases) probes.push(b.replace(/[0-9a-f]+$/, (g) => (parseInt(g, 16) ^ 1).toString(16)), b.replace(/^[0-9a-f]+/, (g) => (parseInt(g, 16) ^ 0x100).toString(16)));
    for (let k = 0; k < 5000; k++) probes.push(Array.from({ length: 8 }, hex).join(':'));
    probes.push('::', '::1', '::ffff:1.2.3.4', 'fe80::1%eth0', 'not an address');
    for (const ip of probes) {
      const v = net.isIPv6(ip) ? ipv6ToBigInt(ip) : undefined;
      const want = v === undefined ? undefined : ranges.find((g) => v >> BigInt(128 - g.bits) === g.prefix);
      assert.deepEqual(t.lookup(ip), want ? { protocol: want.protocol, matched: want.cidr } : undefined, ip);
    }
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

  it('names of 127 labels: the longest matching suffix, only suffixes as long as an entry looked up', () => {
    const h = new HostTable();
    h.add('*.whatsapp.net', 'whatsapp');
    h.add('a.b.c.d.e', 'deep');
    h.add('not.whatsapp.net', 'not-im');
    const long = (tail: string) => ('x.'.repeat(126) + tail).slice(-253);
    assert.deepEqual(h.lookup(long('g.whatsapp.net')), { protocol: 'whatsapp', matched: 'whatsapp.net' });
    assert.equal(h.lookup(long('not.whatsapp.net')), undefined);
    assert.deepEqual(h.lookup(long('a.b.c.d.e')), { protocol: 'deep', matched: 'a.b.c.d.e' });
    assert.equal(h.lookup(long('b.c.d.e')), undefined);
    assert.deepEqual(h.lookup('whatsapp.net'), { protocol: 'whatsapp', matched: 'whatsapp.net' });
    // values far longer than a host name (SNI, Host) are answered but not kept in the cache
    for (let i = 0; i < 100; i++) assert.equal(h.lookup(`${i}.`.repeat(20000)), undefined);
    assert.deepEqual(h.lookup(' '.repeat(600) + 'g.whatsapp.net'), { protocol: 'whatsapp', matched: 'whatsapp.net' });
    assert.ok((h as any).cache.size <= 5, `cache holds ${(h as any).cache.size} names`);
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
