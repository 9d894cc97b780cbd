// Test helper (not a test): replays the TCP streams of a real capture, as tshark reassembles them,
// into the signature engine through FlowHarness. Lets decoder tests use the shared captures with
// tshark as the independent reassembler; the CLI tests cover our own sensor on the same files.
import { execFileSync } from 'node:child_process';
import { FlowHarness } from '../helpers/harness';
import type { Engine } from '../../signatures/engine';

export function haveTshark(): boolean {
  try {
    execFileSync('tshark', ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** per stream: the two endpoints and the payload chunks in capture order ('c' = node 0) */
export function tsharkStream(file: string, stream: number): { client: string; server: string; chunks: { dir: 'c' | 's'; data: Buffer }[] } {
  const out = execFileSync('tshark', ['-r', file, '-q', '-z', `follow,tcp,raw,${stream}`], { maxBuffer: 256 << 20, stderr: 'ignore' } as any).toString();
  let client = '', server = '';
  const chunks: { dir: 'c' | 's'; data: Buffer }[] = [];
  for (const line of out.split('\n')) {
    const n = /^Node ([01]): (.*)$/.exec(line);
    if (n) {
      if (n[1] === '0') client = n[2];
      else server = n[2];
      continue;
    }
    const h = /^(\t?)([0-9a-f]+)$/.exec(line);
    if (h && client) chunks.push({ dir: h[1] ? 's' : 'c', data: Buffer.from(h[2], 'hex') });
  }
  return { client, server, chunks };
}

/** replays streams in order into one engine; returns the first harness (whose .events has everything) */
export function replay(file: string, streams: number[]): FlowHarness {
  let first: FlowHarness | undefined;
  let engine: Engine | undefined;
  const hs: FlowHarness[] = [];
  for (const s of streams) {
    const st = tsharkStream(file, s);
    const h = new FlowHarness({ client: st.client, server: st.server, engine });
    if (!first) {
      first = h;
      engine = h.engine;
    }
    for (const c of st.chunks) h.send(c.dir, c.data);
    hs.push(h);
  }
  for (const h of hs) h.end();
  return first!;
}
