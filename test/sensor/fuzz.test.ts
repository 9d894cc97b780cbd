// Mutation fuzzing of the whole read path — capture reader, decoder, flow table, reassembly and the
// real signature engine — on the shared captures: bit flips, byte runs, truncations and corrupted
// length fields. Seeded and reproducible (SHADOWIM_FUZZ_SEED), time-bounded (SHADOWIM_FUZZ_SECONDS,
// default 20). The assertion: only CaptureError ever escapes, and every run finishes.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { CaptureReader, CaptureError } from '../../sensor/captureFile';
import { PacketPath } from '../../sensor/packetPath';
import { Engine } from '../../signatures/engine';
import { loadRegistry } from '../../signatures/registry';
import { PCAPS_DIR, havePcaps } from '../helpers/paths';
import { tmpFile } from './record';

/** small seeded PRNG (mulberry32) */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function mutate(src: Buffer, r: () => number): Buffer {
  const b = Buffer.from(src);
  const kind = Math.floor(r() * 5);
  const n = 1 + Math.floor(r() * 16);
  const at = () => Math.floor(r() * b.length);
  switch (kind) {
    case 0: // bit flips
      for (let i = 0; i < n; i++) b[at()] ^= 1 << Math.floor(r() * 8);
      return b;
    case 1: // random byte runs
      for (let i = 0; i < n; i++) {
        const o = at();
        for (let j = 0; j < 1 + r() * 32 && o + j < b.length; j++) b[o + j] = Math.floor(r() * 256);
      }
      return b;
    case 2: // truncation
      return b.subarray(0, at());
    case 3: { // length fields: record lengths, IP total lengths, TCP offsets — interesting values
      const vals = [0, 1, 0xff, 0xffff, 0x7fffffff, 0xffffffff, 20, 40, 65535, 65536];
      for (let i = 0; i < n; i++) {
        const o = at() & ~3;
        if (o + 4 <= b.length) b.writeUInt32LE(vals[Math.floor(r() * vals.length)] >>> 0, o);
      }
      return b;
    }
    default: { // duplicate a slice in place (repeated records, overlapping TCP data)
      const o = at(), len = Math.floor(r() * 2000), d = at();
      b.copy(b, d, o, Math.min(b.length, o + len));
      return b;
    }
  }
}

(havePcaps() && process.env.SHADOWIM_FUZZ ? describe : describe.skip)('sensor: fuzzing the read path with mutated real captures', function () {
  const seconds = Number(process.env.SHADOWIM_FUZZ_SECONDS ?? 20);
  this.timeout((seconds + 60) * 1000);

  it(`survives ${seconds} s of mutations (seed ${process.env.SHADOWIM_FUZZ_SEED ?? 1})`, async () => {
    const files: Buffer[] = [];
    for (const d of ['im', 'modern', 'negative']) {
      for (const f of fs.readdirSync(path.join(PCAPS_DIR, d))) {
        const buf = fs.readFileSync(path.join(PCAPS_DIR, d, f));
        if (buf.length <= 400_000) files.push(buf);
      }
    }
    const r = rng(Number(process.env.SHADOWIM_FUZZ_SEED ?? 1));
    const registry = loadRegistry();
    const deadline = Date.now() + seconds * 1000;
    let runs = 0, errors = 0, packets = 0;
    while (Date.now() < deadline) {
      const src = files[Math.floor(r() * files.length)];
      const input = mutate(src, r);
      const file = tmpFile(input);
      const events: unknown[] = [];
      const engine = new Engine(registry, { emit: (e) => events.push(e) });
      const pp = new PacketPath(engine, { maxFlows: 256 });
      const reader = CaptureReader.open(file, pp);
      try {
        await reader.run();
      } catch (e) {
        if (!(e instanceof CaptureError)) {
          throw new Error(`run ${runs}: ${(e as Error).stack}\n(reproduce with SHADOWIM_FUZZ_SEED=${process.env.SHADOWIM_FUZZ_SEED ?? 1})`);
        }
        assert.ok(!e.message.includes('\n'));
        errors++;
      }
      pp.finish();
      assert.equal(pp.internalErrors, 0, `run ${runs}: an exception on the packet path (SHADOWIM_DEBUG=1 shows it)`);
      for (const ev of events) JSON.stringify(ev);
      packets += pp.counters.packets;
      fs.rmSync(path.dirname(file), { recursive: true, force: true });
      runs++;
    }
    assert.ok(runs > 10, `only ${runs} runs`);
    console.log(`      ${runs} mutated captures, ${packets} packets, ${errors} reported as bad input`);
  });
});
