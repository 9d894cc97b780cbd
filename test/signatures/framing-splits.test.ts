// The decoders that frame a byte stream through a ByteQueue decode the same content however the
// stream is cut: whole segments, one byte per segment, random splits. Every piece is handed over in
// one reused buffer that is overwritten after the call (as the packet path does), so a decoder that
// keeps a view of the caller's buffer or of its queue past the call shows up as corrupted content.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import type { ShadowEvent } from '../../common/events';
import { rng } from '../../common/rng';
import { Engine } from '../../signatures/engine';
import { loadRegistry } from '../../signatures/registry';
import { ByteQueue } from '../../signatures/text';
import { FlowHarness } from '../helpers/harness';
import { Flaps, bname, channel4, fragment, incomingIm, messageBlock, outgoingIm, sendFileProposal, tlv, typing, u16, u32 } from './oscar-wire';

type Seg = ['c' | 's', Buffer | string];
interface Script {
  client?: string;
  server: string;
  segs: Seg[];
  /** leading segments sent whole: what detection decides on (detection is not under test here) */
  whole?: number;
}
/** 'whole' segments, one 'byte' per segment, or random splits from a seed */
type Split = 'whole' | 'bytes' | number;
const SPLITS: Split[] = ['whole', 'bytes', 1, 2, 3, 4, 5, 6];

/** Plays flows through one engine, each piece in one reused buffer that is overwritten after the call. */
function play(flows: Script[], split: Split): { events: ShadowEvent[]; engine: Engine } {
  const events: ShadowEvent[] = [];
  const engine = new Engine(loadRegistry(), { emit: (e) => events.push(e) });
  const r = rng(typeof split === 'number' ? split : 0);
  const scratch = Buffer.alloc(1 << 16);
  for (const f of flows) {
    const h = new FlowHarness({ engine, client: f.client, server: f.server });
    f.segs.forEach(([dir, data], i) => {
      const b = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
      for (let o = 0; o < b.length; ) {
        const n = i < (f.whole ?? 1) || split === 'whole' ? b.length : split === 'bytes' ? 1 : 1 + Math.floor(r() * (r() < 0.5 ? 8 : 700));
        const piece = b.subarray(o, o + n);
        const reused = piece.length <= scratch.length ? scratch.subarray(0, piece.length) : Buffer.alloc(piece.length);
        piece.copy(reused);
        h.send(dir, reused);
        reused.fill(0xee);
        o += piece.length;
      }
    });
    h.end();
  }
  assert.equal(engine.stats.decoderErrors, 0);
  return { events, engine };
}

const of = <T extends ShadowEvent['type']>(events: ShadowEvent[], type: T) => events.filter((e) => e.type === type) as Extract<ShadowEvent, { type: T }>[];
const sha256 = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');
/** deterministic bytes (a file to carve) */
function bytes(n: number, seed: number): Buffer {
  const r = rng(seed);
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(r() * 256);
  return b;
}

describe('framing: ByteQueue feed / keepFrom', () => {
  it('frames a length-prefixed stream cut anywhere exactly like framing the whole stream', () => {
    const r = rng(11);
    for (let round = 0; round < 200; round++) {
      const frames: Buffer[] = [];
      for (let k = 0; k < 20; k++) frames.push(bytes(Math.floor(r() * (r() < 0.1 ? 3000 : 40)), round * 100 + k));
      const stream = Buffer.concat(frames.map((f) => Buffer.concat([u16(f.length), f])));
      const q = new ByteQueue();
      const got: string[] = [];
      const scratch = Buffer.alloc(4096);
      for (let o = 0; o < stream.length; ) {
        const n = Math.min(stream.length - o, 1 + Math.floor(r() * (r() < 0.3 ? 3 : 2000)));
        const data = scratch.subarray(0, n);
        stream.copy(data, 0, o, o + n);
        o += n;
        const b = q.feed(data);
        let pos = 0;
        while (b.length - pos >= 2 && b.length - pos >= 2 + b.readUInt16BE(pos)) {
          const len = b.readUInt16BE(pos);
          got.push(b.toString('hex', pos + 2, pos + 2 + len));
          pos += 2 + len;
        }
        q.keepFrom(b, pos);
        data.fill(0xee); // the caller's buffer is reused: what was kept must be a copy
        assert.ok(q.length < 2 + 3000 + 2000);
      }
      assert.deepEqual(got, frames.map((f) => f.toString('hex')));
      assert.equal(q.length, 0);
    }
  });
});

describe('framing: OSCAR (FLAP, HTTP CONNECT tunnel) cut anywhere', () => {
  const ME = 'CorpUser42', BUDDY = 'OutsideFriend';
  const cookie = Buffer.from('a1b2c3d4e5f60708', 'hex');
  const long = Array.from({ length: 900 }, (_, i) => `w${i}`).join(' ');

  function bos(): Script {
    const c = new Flaps(0x100), s = new Flaps(0x2000);
    return {
      client: '10.1.1.10:40000', server: '198.51.100.7:5190', whole: 3,
      segs: [
        ['s', s.hello()],
        ['c', c.flap(1, Buffer.concat([u32(1), tlv(1, ME), tlv(2, Buffer.alloc(8, 0x55))]))],
        ['s', s.snac(1, 0x0f, Buffer.concat([bname(ME), u16(0), u16(0)]))],
        ['c', outgoingIm(c, BUDDY, messageBlock(fragment(Buffer.from('<b>hello</b> &amp; more'), 0)))],
        ['s', incomingIm(s, BUDDY, messageBlock(fragment(Buffer.from('answer ü 日本', 'utf16le').swap16(), 2)))],
        ['c', Buffer.concat([typing(c, BUDDY), outgoingIm(c, BUDDY, messageBlock(fragment(Buffer.from('two in one'), 0))), c.flap(5, Buffer.alloc(0))])],
        ['s', channel4(s, 7654321, ME, 'icq reply', true)],
        ['c', sendFileProposal(c, BUDDY, { cookie, ip: '10.1.1.10', port: 5191, filename: 'plans.pdf', size: 1234 })],
        ['c', outgoingIm(c, BUDDY, messageBlock(fragment(Buffer.from(long), 0)))],
      ],
    };
  }

  it('screen names, message texts, the sign-on and the file offer are the same for every split', () => {
    for (const split of SPLITS) {
      const { events } = play([bos()], split);
      const why = `split ${split}`;
      assert.deepEqual(of(events, 'message').map((m) => [m.from, m.to, m.text.length > 100 ? sha256(Buffer.from(m.text)) : m.text]), [
        [ME, BUDDY, 'hello & more'],
        [BUDDY, ME, 'answer ü 日本'],
        [ME, BUDDY, 'two in one'],
        ['7654321', ME, 'icq reply'],
        [ME, BUDDY, long],
      ].map(([f, t, text]) => [f, t, text.length > 100 ? sha256(Buffer.from(text)) : text]), why);
      assert.deepEqual(of(events, 'credential').map((c) => [c.user, c.mechanism]), [[ME, 'oscar-roasted-password']], why);
      const offer = of(events, 'file_transfer').map((f) => [f.stage, f.filename, f.size, f.transfer_id, f.from, f.to]);
      assert.deepEqual(offer, [['offer', 'plans.pdf', 1234, cookie.toString('hex'), ME, BUDDY]], why);
      const sess = of(events, 'session')[0];
      assert.deepEqual([...sess.users].sort(), [ME, BUDDY, '7654321'].sort(), why);
      assert.equal(sess.malformed ?? 0, 0, why);
    }
  });

  it('through an HTTP CONNECT proxy: the proxy header ends anywhere, the tunnel is decoded', () => {
    for (const split of SPLITS) {
      const c = new Flaps(1), s = new Flaps(9);
      const { events } = play([{
        client: '10.1.1.10:40100', server: '10.1.1.1:3128',
        segs: [
          ['c', 'CONNECT login.oscar.aol.com:5190 HTTP/1.0\r\nUser-Agent: AIM/30 (Mozilla 1.24b; Windows; I; 32-bit)\r\n\r\n'],
          ['s', Buffer.concat([Buffer.from('HTTP/1.0 200 Connection established\r\nProxy-agent: x\r\n\r\n'), s.hello()])],
          ['c', Buffer.concat([c.hello(), c.snac(0x17, 6, tlv(1, ME))])],
          ['c', outgoingIm(c, BUDDY, messageBlock(fragment(Buffer.from('through the proxy'), 0)))],
          ['s', incomingIm(s, BUDDY, messageBlock(fragment(Buffer.from('back through'), 0)))],
        ],
      }], split);
      const why = `split ${split}`;
      assert.deepEqual(of(events, 'message').map((m) => [m.from, m.to, m.text]), [[ME, BUDDY, 'through the proxy'], [BUDDY, ME, 'back through']], why);
      const sess = of(events, 'session')[0];
      assert.equal(sess.server_name, 'login.oscar.aol.com', why);
      assert.equal(sess.malformed ?? 0, 0, why);
    }
  });
});
