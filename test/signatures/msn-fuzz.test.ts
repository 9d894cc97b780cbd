// Seeded fuzzing of the MSN and YMSG parsers and decoders: mutated real-shaped streams and random
// bytes, cut at random points. Nothing may throw (the engine counts decoder exceptions in
// stats.decoderErrors), and buffered bytes stay bounded.
import assert from 'node:assert/strict';
import { FlowHarness } from '../helpers/harness';
import { detectMsn } from '../../signatures/msn';
import { detectYmsg } from '../../signatures/ymsg';
import { bridgingOffsets, dropEndpoint, dropParams, MsnFramer, parseFtContext, parseMime, parseP2P, parseP2Pv2, parseSlp } from '../../signatures/msn/parser';
import { parseFields, YmsgFramer } from '../../signatures/ymsg/parser';
import { HttpStream } from '../../signatures/http/stream';
import type { DetectInput } from '../../signatures/types';
import { invite, p2p, p2pv2, p2pv2Msg, p2pv2Split, prng, sdgP2P, slpInvite, textMsg, typing } from './msn-wire';
import { pdu } from './ymsg-wire';
import { boundedIt } from '../helpers/bounded';
import { fuzzCases, fuzzSeconds, fuzzSeed } from '../helpers/fuzz';

function mutate(b: Buffer, r: () => number): Buffer {
  const out = Buffer.from(b);
  const n = 1 + Math.floor(r() * 8);
  for (let i = 0; i < n; i++) {
    const at = Math.floor(r() * out.length);
    const op = r();
    if (op < 0.5) out[at] = Math.floor(r() * 256);
    else if (op < 0.7) out[at] = 0x30 + Math.floor(r() * 10); // digits make lengths lie
    else if (op < 0.85) out[at] = 0x0a;
    else out[at] = 0x20;
  }
  return r() < 0.2 ? out.subarray(0, Math.floor(r() * out.length)) : out;
}

function feedCut(h: FlowHarness, dir: 'c' | 's', b: Buffer, r: () => number): void {
  let o = 0;
  while (o < b.length) {
    const n = 1 + Math.floor(r() * 300);
    h.send(dir, b.subarray(o, o + n));
    o += n;
  }
}

function input(data: Buffer, dir: 0 | 1): DetectInput {
  return { transport: 'tcp', dir, data, other: Buffer.alloc(0), packetIndex: 0, flow: {} as any, lookup: { host: () => undefined, ip: () => undefined } };
}

const ME = 'alice@example.com', BUDDY = 'bob@example.net';
const msnStreams = (): [('c' | 's'), Buffer][] => [
  ['c', Buffer.from(`USR 1 ${ME} 1835953129.20013021.2623242\r\n`)],
  ['s', Buffer.from(`USR 1 OK ${ME} Alice\r\nJOI ${BUDDY} Bob 1616756780\r\n`)],
  ['c', textMsg('3 N', 'hello there ünïcode')],
  ['s', typing(`${BUDDY} Bob`, BUDDY)],
  ['c', invite('4 N', { 'Application-Name': 'File Transfer', 'Invitation-Command': 'INVITE', 'Invitation-Cookie': '77', 'Application-File': 'a.txt', 'Application-FileSize': '10' })],
  ['c', p2p('5 D', BUDDY, { session: 0, id: 1, offset: 0, total: 900, flags: 0 }, slpInvite(ME, BUDDY, 9, 'x.bin', 100))],
  ['c', p2p('6 D', BUDDY, { session: 9, id: 2, offset: 0, total: 100, flags: 0x01000030 }, Buffer.alloc(100, 1))],
  // P2P v2 (WLM 2009+): MSG to an endpoint, and an MSNP21 SDG with two packets
  ...p2pv2Split(slpInvite(ME, BUDDY, 10, 'y.bin', 50), 300, { id: 1, tf: 0, pkg: 1, session: 0, syn: true }).map(
    (pk, i): ['c', Buffer] => ['c', p2pv2Msg(`${7 + i} D`, `${BUDDY};{1D9C9B2F-6E7A-4C1B-9E0A-3B2C1D0E9F8A}`, `${ME};{F52973B6-C926-4BAD-9BA8-7C1E840E4AB0}`, pk)],
  ),
  ['c', p2pv2Msg('12 D', `${BUDDY};{1D9C9B2F-6E7A-4C1B-9E0A-3B2C1D0E9F8A}`, ME, p2pv2({ id: 5, tf: 7, pkg: 2, session: 10, remaining: 10 }, Buffer.alloc(40, 2)))],
  ['c', sdgP2P(13, `${ME};epid={F52973B6-C926-4BAD-9BA8-7C1E840E4AB0}`, `${BUDDY};epid={1D9C9B2F-6E7A-4C1B-9E0A-3B2C1D0E9F8A}`, [p2pv2({ id: 6, ack: 5 }), p2pv2({ id: 7, tf: 6, pkg: 2, session: 10 }, Buffer.alloc(10, 3))])],
];

describe('msn/ymsg: seeded fuzz', function () {
  this.timeout(120000);

  boundedIt(__filename, 'MSN decoder: 300 mutated sessions, cut at random points, never throw', fuzzSeconds(120), () => {
    const r = prng(fuzzSeed(20240115));
    for (let i = 0, cases = fuzzCases(300); i < cases; i++) {
      const h = new FlowHarness({ server: '203.0.113.9:1863' });
      h.send('c', `USR 1 ${ME} 1835953129.20013021.2623242\r\n`);
      for (const [d, b] of msnStreams()) feedCut(h, d, r() < 0.6 ? mutate(b, r) : b, r);
      h.end();
      assert.equal(h.engine.stats.decoderErrors, 0, `iteration ${i}`);
    }
  });

  boundedIt(__filename, 'YMSG decoder: 300 mutated sessions, cut at random points, never throw', fuzzSeconds(120), () => {
    const r = prng(fuzzSeed(77));
    const streams: [('c' | 's'), Buffer][] = [
      ['s', pdu(0x06, [[5, 'me'], [4, 'you'], [14, '\x1b[31m<font face="x">hi</font>'], [97, '1']])],
      ['s', pdu(0x06, [[31, '6'], [4, 'a'], [5, 'me'], [14, 'one'], [4, 'b'], [5, 'me'], [14, 'two']], 0x5a55aa56)],
      ['c', pdu(0xdc, [[1, 'me'], [5, 'you'], [265, 'tid'], [222, '1'], [27, 'f.txt'], [28, '99']])],
      ['c', pdu(0xdd, [[1, 'me'], [5, 'you'], [265, 'tid'], [27, 'f.txt'], [251, 'tok']])],
      ['s', pdu(0xa8, [[104, 'room'], [109, 'x'], [117, 'text']])],
    ];
    for (let i = 0, cases = fuzzCases(300); i < cases; i++) {
      const h = new FlowHarness({ server: '203.0.113.5:5050' });
      h.send('c', pdu(0x57, [[1, 'me']]));
      for (const [d, b] of streams) feedCut(h, d, r() < 0.6 ? mutate(b, r) : b, r);
      h.end();
      assert.equal(h.engine.stats.decoderErrors, 0, `iteration ${i}`);
    }
  });

  boundedIt(__filename, 'detectors and pure parsers on random and mutated bytes: no exception, bounded buffers', fuzzSeconds(120), () => {
    const r = prng(fuzzSeed(9));
    const seeds = [...msnStreams().map((x) => x[1]), pdu(0x06, [[4, 'a'], [14, 'b']]), Buffer.from('POST /gateway/gateway.dll?Action=open HTTP/1.1\r\nContent-Length: 5\r\n\r\nVER 1')];
    for (let i = 0, cases = fuzzCases(3000); i < cases; i++) {
      const base = seeds[i % seeds.length];
      const b = i % 3 === 0 ? Buffer.from(Array.from({ length: Math.floor(r() * 400) }, () => Math.floor(r() * 256))) : mutate(base, r);
      detectMsn(input(b, (i & 1) as 0 | 1));
      detectYmsg(input(b, (i & 1) as 0 | 1));
      parseMime(b);
      parseP2P(b);
      parseP2Pv2(b);
      bridgingOffsets(b.toString('latin1', 0, 80), b.length);
      parseFtContext(b);
      parseSlp(b.toString('latin1'));
      parseFields(b);
      const f = new MsnFramer(() => {}, () => {}, { maxLine: 1024, maxPayload: 4096 });
      f.push(b);
      f.push(b);
      assert.ok(f.buffered <= 4096 + 1024 + 2 * b.length);
      const y = new YmsgFramer(() => {}, () => {}, false);
      y.push(b);
      const hs = new HttpStream({ head() {}, body() {}, end() {}, malformed() {} });
      hs.push(b);
      hs.push(b);
    }
  });
  // Hostile text built to make backtracking RegExps quadratic (found by an audit on 26 November)
  boundedIt(__filename, 'a MSG of 256 KiB of NULs then one letter decodes in linear time', 20, () => {
    // /\u0000+$/ was retried from every NUL: ~50 s for this one message before the fix
    const h = new FlowHarness({ server: '203.0.113.9:1863' });
    h.send('c', `USR 1 ${ME} 1835953129.20013021.2623242\r\n`);
    h.send('s', `USR 1 OK ${ME} Alice\r\nJOI ${BUDDY} Bob 1616756780\r\n`);
    h.send('c', textMsg('3 N', '\u0000'.repeat(262140) + 'x'));
    h.send('c', textMsg('4 N', 'after' + '\u0000'.repeat(1000)));
    h.end();
    const texts = h.events.filter((e: any) => e.type === 'message').map((e: any) => e.text);
    assert.deepEqual(texts, ['x', 'after']);
    assert.equal(h.engine.stats.decoderErrors, 0);
  });

  it('dropParams / dropEndpoint cut exactly what /;.*$/ and /;\\{.*\\}$/ cut', () => {
    const r = prng(4242);
    const alphabet = [';', '{', '}', 'a', '\n', '\r', '\u2028', '\u2029', ' ', ';{', '0'];
    for (let i = 0; i < 50000; i++) {
      let v = '';
      for (let n = Math.floor(r() * 24); n > 0; n--) v += alphabet[Math.floor(r() * alphabet.length)];
      assert.equal(dropParams(v), v.replace(/;.*$/, ''), JSON.stringify(v));
      assert.equal(dropEndpoint(v), v.replace(/;\{.*\}$/, ''), JSON.stringify(v));
    }
  });

  boundedIt(__filename, 'header values of 1 MiB of ";" or ";{" are cut in linear time', 20, () => {
    // the RegExps took ~14 s (";") and ~8 s (";{") at 128 K characters, growing as n^2
    assert.equal(dropParams(';'.repeat(1 << 20) + '\rx'), ';'.repeat(1 << 20) + '\rx');
    assert.equal(dropEndpoint(';{'.repeat(1 << 19) + 'x'), ';{'.repeat(1 << 19) + 'x');
  });
});
