// analyzer/cidr.ts validates addresses without net.isIP (its IPv6 RegExp costs ~11 ms to compile at
// every start): it must accept exactly what net.isIP accepts, with the words the former
// net.isIP-based parser gave (kept below as the reference).
import assert from 'node:assert/strict';
import net from 'node:net';
import { ipWords, parseCidr } from '../../analyzer/cidr';
import { rng } from '../../common/rng';
import { addressCases } from '../helpers/addressCases';

function refWords(ip: string): Uint32Array | undefined {
  const kind = net.isIP(ip);
  if (kind === 4) {
    const p = ip.split('.').map(Number);
    return Uint32Array.of(0, 0, 0, ((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0);
  }
  if (kind !== 6) return undefined;
  let s = ip.toLowerCase();
  const pct = s.indexOf('%');
  if (pct >= 0) s = s.slice(0, pct);
  const m = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (m) {
    const w = refWords(m[1])!;
    s = s.slice(0, m.index) + ((w[3] >>> 16).toString(16) + ':' + (w[3] & 0xffff).toString(16));
  }
  const [head, tail] = s.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const fill = s.includes('::') ? 8 - h.length - t.length : 0;
  const parts = [...h, ...Array(fill).fill('0'), ...t].map((x) => parseInt(x, 16));
  const w = new Uint32Array(4);
  for (let i = 0; i < 4; i++) w[i] = ((parts[2 * i] << 16) | parts[2 * i + 1]) >>> 0;
  return w;
}

function cases(): string[] {
  return addressCases(
    ['', '::', '::1', '1::', '0.0.0.0', '255.255.255.255', '256.0.0.0', '01.2.3.4', '1.2.3', '1.2.3.4.5', '1.2.3.04',
      '::ffff:1.2.3.4', '1:2:3:4:5:6:1.2.3.4', '::01.2.3.4', 'fe80::1%eth0', 'fe80::1%', 'FE80::ABCD', '1:::2', '12345::', ' 1.2.3.4', '1.2.3.4 '],
    29,
    ['', '0', '1', '9', '25', '255', '256', '00', 'f', 'F', 'abcd', 'abcde', ':', '::', '.', '1.2.3.4', '%', '%eth0', '%_', ' ', 'x', '-'],
    10,
    // embedded IPv4 tails and dotted quads, parts up to 299
    (r, g) => [`${g.slice(0, 6).join(':')}:${Math.floor(r() * 300)}.1.2.${Math.floor(r() * 300)}`, Array.from({ length: 4 }, () => String(Math.floor(r() * 300))).join('.')],
  );
}

describe('analyzer/cidr address parsing', () => {
  it('accepts exactly the strings net.isIP accepts, with the same words and family', () => {
    for (const c of cases()) {
      const kind = net.isIP(c);
      const w = ipWords(c);
      assert.equal(w !== undefined, kind !== 0, JSON.stringify(c));
      if (!w) continue;
      assert.equal(w.v6, kind === 6, c);
      assert.deepEqual([...w.words], [...refWords(c)!], c);
    }
  });

  it('parses CIDR blocks like before: family, words, prefix', () => {
    const r = rng(31);
    for (const c of cases().slice(0, 20000)) {
      const bits = Math.floor(r() * 140);
      for (const s of [c, `${c}/${bits}`, `${c}/`, `${c}/0${bits}`]) {
        const got = parseCidr(s);
        const slash = s.indexOf('/');
        const ip = slash >= 0 ? s.slice(0, slash) : s;
        const kind = net.isIP(ip);
        const p = slash >= 0 ? s.slice(slash + 1) : undefined;
        const max = kind === 4 ? 32 : 128;
        const ok = kind !== 0 && (p === undefined || (/^\d{1,3}$/.test(p) && Number(p) <= max));
        assert.equal(got !== undefined, ok, s);
        if (!got) continue;
        const prefix = p === undefined ? max : Number(p);
        const w = [...refWords(ip)!];
        // an IPv4-mapped block of /96 or longer is the IPv4 block (the sensor writes IPv4 clients dotted)
        const mapped = kind === 6 && prefix >= 96 && w[0] === 0 && w[1] === 0 && w[2] === 0xffff;
        assert.deepEqual({ v6: got.v6, words: [...got.words], prefix: got.prefix, text: got.text },
          { v6: kind === 6 && !mapped, words: mapped ? [0, 0, 0, w[3]] : w, prefix: kind === 4 ? prefix + 96 : prefix, text: s }, s);
      }
    }
  });

  // review of 30 November: ::ffff:10.0.0.0/104 was accepted and matched no IPv4 client
  it('an IPv4-mapped block is the IPv4 block: it holds IPv4 addresses written either way', () => {
    const { anyContains } = require('../../analyzer/cidr') as typeof import('../../analyzer/cidr');
    const c = parseCidr('::ffff:10.0.0.0/104')!;
    assert.deepEqual(['10.1.2.3', '::ffff:10.9.9.9', '11.0.0.1', '2001:db8::1'].map((ip) => anyContains([c], ip)), [true, true, false, false]);
  });
});
