// Seeded fuzz of YCHT (Yahoo chat rooms): mutated room conversations cut at random points, both
// directions, from the start and picked up mid-stream; the detector, framer and field reader on
// random and mutated bytes. Nothing may throw (the engine counts decoder exceptions in
// stats.decoderErrors), and the framer holds at most one packet.
import assert from 'node:assert/strict';
import { FlowHarness } from '../helpers/harness';
import { detectYmsg } from '../../signatures/ymsg';
import { splitSoh, YchtFramer, ychtFields, YCHT_HEADER } from '../../signatures/ymsg/ycht';
import type { DetectInput } from '../../signatures/types';
import { prng } from './msn-wire';
import { boundedIt } from '../helpers/bounded';
import { fuzzCases, fuzzSeconds, fuzzSeed } from '../helpers/fuzz';
import { client, joined, login, packet, server, SVC } from './ymsg-ycht-wire';

function mutate(b: Buffer, r: () => number): Buffer {
  const out = Buffer.from(b);
  const n = 1 + Math.floor(r() * 8);
  for (let i = 0; i < n; i++) {
    const at = Math.floor(r() * out.length);
    const op = r();
    if (op < 0.4) out[at] = Math.floor(r() * 256);
    else if (op < 0.55 && at + 1 < out.length) out.set([0xc0, 0x80], at); // more separators
    else if (op < 0.7) out[at] = r() < 0.5 ? 0x01 : 0x02;
    else if (op < 0.85) out[at] = 0xff; // lengths and versions that lie
    else out[at] = 0;
  }
  return r() < 0.2 ? out.subarray(0, Math.floor(r() * out.length)) : out;
}

function feedCut(h: FlowHarness, dir: 'c' | 's', b: Buffer, r: () => number): void {
  let o = 0;
  while (o < b.length) {
    const n = 1 + Math.floor(r() * (r() < 0.3 ? 3 : 300));
    h.send(dir, b.subarray(o, o + n));
    o += n;
  }
}

function input(data: Buffer, dir: 0 | 1, clientBy: 'syn' | 'port'): DetectInput {
  return { transport: 'tcp', dir, data, other: Buffer.alloc(0), packetIndex: 0, flow: { clientBy } as any, lookup: { host: () => undefined, ip: () => undefined } };
}

const ROOM = 'room:1';
const streams = (): ['c' | 's', Buffer][] => [
  ['s', server(SVC.LOGIN, ['me', 'bad'])],
  ['c', client(SVC.JOIN, [ROOM])],
  ['s', joined(ROOM, 'topic', ['me', 'you', 'them'])],
  ['c', client(SVC.SAY, [ROOM, '\x1b[31m<font face="x">hi</font>'])],
  ['s', server(SVC.SAY, [ROOM, 'me', '\x1b[31m<font face="x">hi</font>'])],
  ['s', server(SVC.EMOTE, [ROOM, 'you', Buffer.from([0x93, 0x80, 0xe9])])],
  ['c', client(SVC.PM, ['me', 'you', 'psst'])],
  ['s', server(SVC.PART, [ROOM, 'you\x020'])],
  ['c', client(SVC.PING, [])],
];

describe('ycht: seeded fuzz', function () {
  this.timeout(120000);

  boundedIt(__filename, 'YCHT decoder: 300 mutated sessions, cut at random points, from the start or mid-stream, never throw', fuzzSeconds(120), () => {
    const r = prng(fuzzSeed(8001));
    for (let i = 0, cases = fuzzCases(300); i < cases; i++) {
      const mid = r() < 0.3;
      const h = new FlowHarness({ server: '203.0.113.5:8001', clientBy: mid ? 'port' : 'syn' });
      const first = login('me');
      h.send('c', mid ? first.subarray(Math.floor(r() * first.length)) : first);
      for (const [d, b] of streams()) feedCut(h, d, r() < 0.6 ? mutate(b, r) : b, r);
      h.end();
      assert.equal(h.engine.stats.decoderErrors, 0, `iteration ${i}`);
      for (const m of h.of('message')) assert.ok(m.text.length <= 65536 && m.from.length <= 128);
    }
  });

  boundedIt(__filename, 'YCHT detector, framer and field reader on random and mutated bytes: no exception, bounded buffers', fuzzSeconds(120), () => {
    const r = prng(fuzzSeed(8002));
    const seeds = [...streams().map((x) => x[1]), login('me'), packet(SVC.SAY, Buffer.alloc(3000, 0x61))];
    for (let i = 0, cases = fuzzCases(3000); i < cases; i++) {
      const base = seeds[i % seeds.length];
      const b = i % 3 === 0 ? Buffer.concat([Buffer.from('YCHT'), Buffer.from(Array.from({ length: Math.floor(r() * 400) }, () => Math.floor(r() * 256)))]) : mutate(base, r);
      detectYmsg(input(b, (i & 1) as 0 | 1, 'syn'));
      detectYmsg(input(Buffer.concat([b.subarray(5), b]), (i & 1) as 0 | 1, 'port'));
      assert.ok(ychtFields(b).length <= 256);
      splitSoh(b, 8);
      let n = 0;
      const f = new YchtFramer(() => n++, () => {}, r() < 0.5);
      for (let k = 0; k < 4; k++) {
        f.push(b);
        assert.ok(f.buffered < YCHT_HEADER + 65535, String(f.buffered));
      }
    }
  });
});
