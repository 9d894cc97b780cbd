// Cost of the live evidence ring on the packet path: the same mixed capture (bench/generate.ts) read
// through the packet path and the signature engine, with and without the ring in front.
//   node bin/run-ts.js dashboard/bench-ring.ts [PACKETS]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generate } from '../bench/generate';
import { CaptureReader } from '../sensor/captureFile';
import { PacketPath } from '../sensor/packetPath';
import { loadRegistry } from '../signatures/registry';
import { Engine } from '../signatures/engine';
import { EvidenceRing } from './evidenceRing';

async function pass(file: string, withRing: boolean, dir: string): Promise<{ secs: number; written: number; heapMb: number }> {
  let ring: EvidenceRing | undefined;
  const engine = new Engine(loadRegistry(), { emit: (ev) => ring?.onEvent(ev) });
  const pp = new PacketPath(engine, {});
  if (withRing) ring = new EvidenceRing(pp, { dir, record: () => {} });
  const t = process.hrtime.bigint();
  await CaptureReader.open(file, ring ?? pp).run();
  pp.finish();
  await ring?.drain();
  return { secs: Number(process.hrtime.bigint() - t) / 1e9, written: ring?.stats.written ?? 0, heapMb: process.memoryUsage().rss / 1e6 };
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 400000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-ring-bench-'));
  try {
    const file = path.join(tmp, 'mixed.pcap');
    const g = generate(file, n);
    console.log(`capture: ${g.packets.toLocaleString()} packets, ${g.flows.toLocaleString()} flows, ${(g.bytes / 1e6).toFixed(0)} MB`);
    for (const withRing of [false, true, false, true]) {
      const r = await pass(file, withRing, path.join(tmp, 'ev'));
      console.log(`${withRing ? 'with ring   ' : 'without ring'} ${r.secs.toFixed(2)} s  ${Math.round(g.packets / r.secs).toLocaleString()} packets/s${withRing ? `  (${r.written} session pcaps written)` : ''}  rss ${r.heapMb.toFixed(0)} MB`);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(`bench: ${e.message}`);
  process.exit(1);
});
