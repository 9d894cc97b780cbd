// sensor/addr.ts: address texts for flows. IPv4 texts come from a small direct-mapped cache, so many
// addresses share a slot: whatever order flows arrive in, each must get its own address's text.
import assert from 'node:assert/strict';
import { keyAddrString } from '../../sensor/addr';
import { Rand } from '../helpers/fuzz';

describe('sensor: address texts', () => {
  it('every IPv4 address gets its own text, repeats and addresses sharing a cache slot included', () => {
    const r = new Rand(7);
    const words = new Uint32Array(4);
    // a few hundred "servers" seen again and again among many one-off "clients": far more addresses than slots
    const servers = Array.from({ length: 300 }, () => r.u32());
    for (let i = 0; i < 200_000; i++) {
      const w = i % 3 === 0 ? r.u32() : servers[r.int(servers.length)];
      words[1] = w;
      const want = `${w >>> 24}.${(w >>> 16) & 255}.${(w >>> 8) & 255}.${w & 255}`;
      const got = keyAddrString(words, 1, false);
      if (got !== want) assert.fail(`address ${w}: ${got}, not ${want} (call ${i})`);
    }
    for (const [w, t] of [[0, '0.0.0.0'], [0xffffffff, '255.255.255.255'], [0x0a000035, '10.0.0.53'], [0, '0.0.0.0']] as const) {
      words[0] = w;
      assert.equal(keyAddrString(words, 0, false), t);
    }
  });

  it('IPv6 addresses in RFC 5952 form', () => {
    const w = new Uint32Array([0x20010db8, 0, 0, 1, 0, 0, 0xffff, 0xc0000201]);
    assert.equal(keyAddrString(w, 0, true), '2001:db8::1');
    assert.equal(keyAddrString(w, 4, true), '::ffff:192.0.2.1');
  });
});
