// Hostile streams aimed at the decoders' loops and buffers (not random fuzzing): bytes made to be
// the worst case of one framer, in 1-byte segments. Each test asserts on work or memory counted by
// the decoder, or on what is read after the junk — never on time.
import assert from 'node:assert/strict';
import { FlapReader } from '../../signatures/oscar/flap';
import { Flaps, u16, u32 } from './oscar-wire';

/** `unit` repeated to `n` bytes */
function rep(unit: number[] | Buffer, n: number): Buffer {
  const u = Buffer.from(unit);
  const b = Buffer.alloc(n);
  for (let o = 0; o < n; o += u.length) u.copy(b, o, 0, Math.min(u.length, n - o));
  return b;
}

function bytewise(push: (b: Buffer) => void, data: Buffer): void {
  for (let i = 0; i < data.length; i++) push(data.subarray(i, i + 1));
}

describe('hostile streams: bounded work and memory per byte', () => {
  it('oscar: 16 KiB of FLAP headers claiming 64 KiB each, a byte a segment, while resynchronising: each looked at about once; the FLAPs after them are read', () => {
    // before: every segment searched all the held bytes again (2,000 candidates a byte here; 1 MB took minutes)
    const pdus: number[] = [];
    const r = new FlapReader((_ch, seq) => pdus.push(seq), () => {}, true);
    // channel 3 has no content check: each header waits for 64 KiB to be told
    const junk = rep([0x2a, 0x03, 0x00, 0x00, 0xff, 0xff, 0x00, 0x00], 16 * 1024);
    bytewise((b) => r.push(b), junk);
    const candidates = junk.length / 8;
    assert.ok(r.examined < 2 * candidates, `${r.examined} candidate headers looked at for ${candidates}`);
    const f = new Flaps(0x4000);
    r.push(Buffer.concat([f.snac(4, 6, Buffer.concat([Buffer.alloc(8), u16(1)])), f.snac(1, 2, u32(0)), f.snac(4, 6, Buffer.alloc(10))]));
    assert.deepEqual(pdus, [0x4000, 0x4001, 0x4002]);
  });
});
