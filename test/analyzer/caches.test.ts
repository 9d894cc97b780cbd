// The analysis path keeps answers it is asked again and again (event times, parsed addresses, local
// time per zone) and takes shortcuts (IPv4 read in one pass, one-shot hashing for alert ids). Each
// answer must be the one computed the slow way, in any order of asks.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import net from 'node:net';
import { isoTime } from '../../common/events';
import { localTime } from '../../analyzer/schedule';
import { alertId } from '../../analyzer/alertid';
import { anyContains, cidrContains, parseCidr } from '../../analyzer/cidr';
import { parseIpv4 } from '../../signatures/lookup';
import { maskKeepLast } from '../../analyzer/dlp/scanner';
import { rng } from '../../common/rng'; // seeded, so a failure can be replayed

function isoFresh(us: number): string {
  try {
    return new Date(Math.floor(us / 1000)).toISOString();
  } catch (e) {
    return `throws ${(e as Error).name}`;
  }
}

function isoKept(us: number): string {
  try {
    return isoTime(us);
  } catch (e) {
    return `throws ${(e as Error).name}`;
  }
}

describe('analyzer: kept answers and shortcuts equal the slow way', () => {
  it('isoTime is Date#toISOString, also around second and year edges and for impossible times', () => {
    const r = rng(1);
    const edges = [0, -0, 1, 999, 1000, 999_999, 1_000_000, 1_000_001, -1, -1000, -1001, -1e6, 1.5, 999.9,
      253402300799999999, 253402300800000000, 8.64e18, 8.64e18 + 1e6, -8.64e18, -8.64e18 - 1e6, -62198755200000000,
      NaN, Infinity, -Infinity, Date.UTC(2024, 1, 29, 23, 59, 59, 999) * 1000, Date.UTC(2024, 2, 1) * 1000];
    const values = [...edges];
    let t = Date.UTC(2024, 4, 2) * 1000;
    for (let i = 0; i < 200_000; i++) {
      t += Math.floor(r() * 3000); // mostly the same or the next millisecond, as packets arrive
      values.push(t);
      if (i % 97 === 0) values.push(edges[i % edges.length], (r() - 0.3) * 4e17, t - 1000);
    }
    let bad = 0;
    for (const v of values) if (isoKept(v) !== isoFresh(v) && bad++ < 5) assert.equal(isoKept(v), isoFresh(v), `at ${v} µs`);
    assert.equal(bad, 0);
  });

  it('localTime is the same as Intl computed afresh, second by second across DST changes and half-hour zones', () => {
    const fmts = new Map<string, Intl.DateTimeFormat>();
    const fresh = (ms: number, tz: string) => {
      if (!fmts.has(tz)) fmts.set(tz, new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', weekday: 'short', hour: '2-digit', minute: '2-digit' }));
      const parts = fmts.get(tz)!.formatToParts(ms);
      const get = (k: string) => parts.find((p) => p.type === k)!.value;
      return { day: ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'].indexOf(get('weekday')), minute: Number(get('hour')) * 60 + Number(get('minute')) };
    };
    const cases: Array<[string, number]> = [
      ['America/New_York', Date.UTC(2024, 2, 10, 7, 0)], // 02:00 EST → 03:00 EDT
      ['America/New_York', Date.UTC(2024, 10, 3, 6, 0)], // 02:00 EDT → 01:00 EST
      ['Australia/Lord_Howe', Date.UTC(2024, 3, 6, 15, 0)], // 30-minute DST change
      ['Asia/Kathmandu', Date.UTC(2024, 0, 1, 18, 15)], // +05:45
      ['Europe/Berlin', Date.UTC(2024, 2, 31, 1, 0)],
    ];
    for (const [tz, at] of cases) {
      // every 250 ms for 2 minutes either side, then back in time: the kept second must never leak
      const times: number[] = [];
      for (let ms = at - 120_000; ms <= at + 120_000; ms += 250) times.push(ms);
      for (const ms of [...times, ...times.reverse()]) assert.deepEqual(localTime(ms, tz), fresh(ms, tz), `${tz} at ${new Date(ms).toISOString()}`);
    }
    // interleaved zones
    for (let i = 0; i < 200; i++) {
      const ms = Date.UTC(2024, 9, 27, 0, 59, 0) + i * 700;
      for (const tz of ['Europe/London', 'UTC', 'America/Sao_Paulo']) assert.deepEqual(localTime(ms, tz), fresh(ms, tz));
    }
  });

  it('alert ids are the first 24 hex digits of SHA-256 over the JSON of the identity', () => {
    const fresh = (parts: Array<string | undefined>) =>
      crypto.createHash('sha256').update(JSON.stringify(parts.map((p) => (p === undefined ? '' : String(p))))).digest('hex').slice(0, 24);
    const r = rng(2);
    const long = 'x'.repeat(5000);
    for (let i = 0; i < 20_000; i++) {
      const ip = i % 2 ? `10.0.${Math.floor(r() * 300)}.${Math.floor(r() * 9)}` : `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`;
      const parts = ['unauthorized_im', 'irc', ip, i % 7 ? undefined : long, i % 3 ? '"quoted\\' : 'é'];
      assert.equal(alertId(parts), fresh(parts));
      if (i % 1000 === 0) {
        const prefix = parts.slice(0, 3);
        assert.equal(alertId(prefix), fresh(prefix), 'an identity that is a prefix of another');
        assert.equal(alertId([...prefix, '']), fresh([...prefix, undefined]), "'' and undefined are the same part");
      }
    }
    assert.equal(alertId(['a', 'b']), '0473ef2dc0d324ab659d3580', 'a known id (analyzer/alertid.ts unchanged)');
  });

  it('IPv4 read in one pass accepts exactly what net.isIPv4 accepts, with the same value', () => {
    const r = rng(4);
    const chars = '0123456789.';
    const samples = ['0.0.0.0', '255.255.255.255', '256.1.1.1', '1.2.3', '1.2.3.4.', '.1.2.3.4', '01.2.3.4', '1.2.3.04', '1..2.3', '1.2.3.4 ', '١.2.3.4', '10.0.0.1', '192.168.001.1', '1.2.3.00'];
    for (let i = 0; i < 300_000; i++) {
      const len = 1 + Math.floor(r() * 16);
      let t = '';
      for (let k = 0; k < len; k++) t += r() < 0.3 ? '.' : chars[Math.floor(r() * 10)];
      samples.push(t);
      if (i % 10 === 0) samples.push([0, 1, 2, 3].map(() => Math.floor(r() * 300)).join('.'));
    }
    let valid = 0;
    for (const t of samples) {
      const v = parseIpv4(t);
      assert.equal(v >= 0, net.isIPv4(t), t);
      if (v >= 0) {
        valid++;
        assert.equal(v, t.split('.').reduce((a, o) => a * 256 + Number(o), 0), t);
      }
    }
    assert.ok(valid > 10_000, `${valid} valid addresses among the samples`);
  });

  it('address checks agree with the word-by-word check, and stay right after the parsed-address cache is full', () => {
    const blocks = ['0.0.0.0/0', '10.0.0.0/8', '10.1.2.3/32', '10.1.2.0/31', '172.16.0.0/12', '192.168.1.128/25', '203.0.113.0/24', '::/0', 'fc00::/7', '::ffff:0:0/96'].map((c) => parseCidr(c)!);
    const r = rng(5);
    for (let i = 0; i < 50_000; i++) {
      const ip = i % 3 ? `${[10, 172, 192, 203][i & 3]}.${Math.floor(r() * 256)}.${Math.floor(r() * 256)}.${Math.floor(r() * 256)}` : `${Math.floor(r() * 256)}.1.2.${i & 255}`;
      const words = { v6: false, words: Uint32Array.of(0, 0, 0, parseIpv4(ip)) };
      for (const c of blocks) assert.equal(anyContains([c], ip), cidrContains(c, words), `${ip} in ${c.text}`);
    }

    const home = ['10.0.0.0/8', 'fc00::/7', '192.168.1.0/24'].map((c) => parseCidr(c)!);
    // more IPv6 addresses than are kept parsed
    const r3 = rng(3);
    for (let i = 0; i < 160_000; i++) {
      const a = Math.floor(r3() * 256);
      const ip = i % 2 === 0 ? `fd00::${(i >> 16).toString(16)}:${(i & 0xffff).toString(16)}` : `${a}.${Math.floor(r3() * 256)}.${i & 255}.${Math.floor(r3() * 256)}`;
      const inside = i % 2 === 0 || a === 10 || ip.startsWith('192.168.1.');
      assert.equal(anyContains(home, ip), inside, ip);
    }
    assert.equal(anyContains(home, 'not an address'), false);
    assert.equal(anyContains(home, '::ffff:10.1.2.3'), true, 'v4-mapped');
    assert.equal(anyContains(home, '::ffff:10.1.2.3'), true, 'v4-mapped, kept');
  });

  it('masking by character code is the regex-per-character masking', () => {
    // by code point: a letter, number or mark of any script is one '*' (a surrogate pair too)
    const slow = (t: string, keep = 4, keepFirst = 0) => {
      const re = /[\p{L}\p{N}\p{M}]/u;
      const cps = [...t];
      const alnum = cps.filter((c) => re.test(c)).length;
      let seen = 0;
      let out = '';
      for (const c of cps) {
        if (re.test(c)) out += ++seen <= keepFirst || seen > alnum - keep ? c : '*';
        else if (c !== '\u0000') out += c;
      }
      return out;
    };
    const r = rng(6);
    const pool = '0123456789 -.azAZ@[`{/:\u0000\u00a0\uff10\uff19\uff0f\uff1a\ud83d\ude00é١Жｓ\u0301\ud835\udc00';
    for (let i = 0; i < 20_000; i++) {
      let t = '';
      const len = Math.floor(r() * 30);
      for (let k = 0; k < len; k++) t += pool[Math.floor(r() * pool.length)];
      const keep = i % 3 === 0 ? 4 : Math.floor(r() * 6);
      const first = i % 5 === 0 ? 2 : 0;
      assert.equal(maskKeepLast(t, keep, first), slow(t, keep, first), JSON.stringify(t));
    }
  });
});
