// The mutation loop of the sensor fuzz test (test/sensor/fuzz.test.ts), run in a child process so a
// synchronous hang cannot outlive its bound: the parent kills this process and names the input.
//
//   node bin/run-ts.js test/sensor/fuzz-runner.ts                # SHADOWIM_FUZZ_SEED / _SECONDS / _DIR
//   node bin/run-ts.js test/sensor/fuzz-runner.ts --run N        # only run N of the seed (reproduce)
//   node bin/run-ts.js test/sensor/fuzz-runner.ts --replay FILE  # one saved input
//
// Before each run the mutated input is written to DIR/input.pcap and {seed, run, source} to
// DIR/current.json. A failure (an exception other than CaptureError, internalErrors > 0, an event
// that does not serialize, a run over the CPU bound) is written to DIR/failure.json, the input is
// kept as DIR/failed-SEED-RUN.pcap and the exit status is 1. A run stuck longer than the hang bound
// is reported by a watchdog thread, which then kills this process. The last stdout line is JSON.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { CaptureReader, CaptureError } from '../../sensor/captureFile';
import { PacketPath } from '../../sensor/packetPath';
import { Engine } from '../../signatures/engine';
import { loadRegistry } from '../../signatures/registry';
import { PCAPS_DIR } from '../helpers/paths';

/** small seeded PRNG (mulberry32) */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** bit flips, byte runs, truncations, corrupted length fields, duplicated slices */
export function mutate(src: Buffer, r: () => number): Buffer {
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

/** The shared captures the fuzzer mutates (small ones: a run must stay short), in a fixed order. */
export function sources(): { name: string; data: Buffer }[] {
  const out: { name: string; data: Buffer }[] = [];
  for (const d of ['im', 'modern', 'negative']) {
    for (const f of fs.readdirSync(path.join(PCAPS_DIR, d)).sort()) {
      const data = fs.readFileSync(path.join(PCAPS_DIR, d, f));
      if (data.length <= 400_000) out.push({ name: `${d}/${f}`, data });
    }
  }
  return out;
}

export interface Failure {
  kind: 'exception' | 'internal-error' | 'serialize' | 'slow' | 'hang';
  seed: number;
  run: number;
  source: string;
  /** the saved input */
  input: string;
  detail: string;
}

export interface Summary {
  ok: boolean;
  seed: number;
  runs: number;
  packets: number;
  badInput: number;
  slowestMs: number;
  failure?: Failure;
}

type Registry = ReturnType<typeof loadRegistry>;

/** One capture through reader → packet path → engine; returns what went wrong, if anything. */
export async function runOne(file: string, registry: Registry): Promise<{ problem?: { kind: Failure['kind']; detail: string }; packets: number; badInput: boolean }> {
  const events: unknown[] = [];
  const engine = new Engine(registry, { emit: (e) => events.push(e) });
  const pp = new PacketPath(engine, { maxFlows: 256 });
  let badInput = false;
  try {
    await CaptureReader.open(file, pp).run();
  } catch (e) {
    if (!(e instanceof CaptureError)) return { problem: { kind: 'exception', detail: (e as Error)?.stack ?? String(e) }, packets: pp.counters.packets, badInput };
    if (e.message.includes('\n')) return { problem: { kind: 'exception', detail: `CaptureError message is not one line: ${JSON.stringify(e.message)}` }, packets: pp.counters.packets, badInput };
    badInput = true;
  }
  try {
    pp.finish();
  } catch (e) {
    return { problem: { kind: 'exception', detail: `in finish(): ${(e as Error)?.stack ?? String(e)}` }, packets: pp.counters.packets, badInput };
  }
  if (pp.internalErrors !== 0) {
    return { problem: { kind: 'internal-error', detail: `${pp.internalErrors} exception(s) caught on the packet path (SHADOWIM_DEBUG=1 prints them)` }, packets: pp.counters.packets, badInput };
  }
  for (const ev of events) {
    try {
      if (typeof JSON.stringify(ev) !== 'string') throw new Error('not JSON');
    } catch (e) {
      return { problem: { kind: 'serialize', detail: `an event does not serialize: ${(e as Error).message}` }, packets: pp.counters.packets, badInput };
    }
  }
  return { packets: pp.counters.packets, badInput };
}

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Kills this process from another thread when one run takes longer than `ms` (a synchronous hang). */
function watchdog(dir: string, ms: number): Int32Array {
  // [0]: run number + 1 while a run is in progress, 0 between runs
  const shared = new Int32Array(new SharedArrayBuffer(4));
  const w = new Worker(
    `const { workerData: { shared, dir, ms } } = require('node:worker_threads');
     const fs = require('node:fs'), path = require('node:path');
     let seen = -1, since = Date.now();
     setInterval(() => {
       const run = Atomics.load(shared, 0);
       if (run !== seen) { seen = run; since = Date.now(); return; }
       if (run === 0 || Date.now() - since < ms) return;
       let cur = {};
       try { cur = JSON.parse(fs.readFileSync(path.join(dir, 'current.json'), 'utf8')); } catch {}
       const failure = { kind: 'hang', ...cur, detail: 'run still going after ' + Math.round((Date.now() - since) / 1000) + ' s: killed' };
       fs.writeFileSync(path.join(dir, 'failure.json'), JSON.stringify(failure));
       process.kill(process.pid, 'SIGKILL');
     }, 250);`,
    { eval: true, workerData: { shared, dir, ms } },
  );
  w.unref();
  return shared;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const opt = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const seed = Number(opt('--seed') ?? process.env.SHADOWIM_FUZZ_SEED ?? 1);
  const seconds = Number(process.env.SHADOWIM_FUZZ_SECONDS ?? 20);
  const slowMs = Number(process.env.SHADOWIM_FUZZ_SLOW_MS ?? 3000);
  const hangMs = Number(process.env.SHADOWIM_FUZZ_HANG_MS ?? 20000);
  const ownDir = !process.env.SHADOWIM_FUZZ_DIR;
  const dir = process.env.SHADOWIM_FUZZ_DIR ?? fs.mkdtempSync(path.join(os.tmpdir(), `shadowim-fuzz-${seed}-`));
  fs.mkdirSync(dir, { recursive: true });
  const only = opt('--run') !== undefined ? Number(opt('--run')) : undefined;
  const replay = opt('--replay');

  const registry = loadRegistry();
  const live = watchdog(dir, hangMs);
  const input = path.join(dir, 'input.pcap');
  const summary: Summary = { ok: true, seed, runs: 0, packets: 0, badInput: 0, slowestMs: 0 };

  const attempt = async (run: number, source: string, file: string): Promise<boolean> => {
    fs.writeFileSync(path.join(dir, 'current.json'), JSON.stringify({ seed, run, source, input: file }));
    Atomics.store(live, 0, run + 1);
    const c0 = cpuMs();
    const res = await runOne(file, registry);
    const ms = cpuMs() - c0;
    Atomics.store(live, 0, 0);
    summary.runs++;
    summary.packets += res.packets;
    if (res.badInput) summary.badInput++;
    if (ms > summary.slowestMs) summary.slowestMs = Math.round(ms);
    const problem = res.problem ?? (ms > slowMs ? { kind: 'slow' as const, detail: `one run took ${Math.round(ms)} ms of CPU (bound ${slowMs} ms)` } : undefined);
    if (!problem) return true;
    let kept = file;
    if (file === input) {
      kept = path.join(dir, `failed-${seed}-${run}.pcap`);
      fs.copyFileSync(file, kept);
    }
    summary.ok = false;
    summary.failure = { ...problem, seed, run, source, input: kept };
    fs.writeFileSync(path.join(dir, 'failure.json'), JSON.stringify(summary.failure));
    return false;
  };

  if (replay) {
    await attempt(0, replay, replay);
  } else {
    const files = sources();
    const r = rng(seed);
    const deadline = Date.now() + seconds * 1000;
    for (let run = 0; only !== undefined ? run <= only : Date.now() < deadline; run++) {
      const src = files[Math.floor(r() * files.length)];
      const data = mutate(src.data, r);
      if (only !== undefined && run < only) continue; // replay the PRNG up to the wanted run
      fs.writeFileSync(input, data);
      if (!(await attempt(run, src.name, input))) break;
    }
  }
  if (summary.ok) {
    if (ownDir) fs.rmSync(dir, { recursive: true, force: true });
    else for (const f of [input, path.join(dir, 'current.json')]) fs.rmSync(f, { force: true });
  }
  console.log(JSON.stringify(summary));
  process.exit(summary.ok ? 0 : 1);
}

// run-ts.js puts the script's path in argv[1]; imported (by a test), nothing runs
if (path.resolve(process.argv[1] ?? '') === __filename) {
  main().catch((e) => {
    console.error(e);
    process.exit(2);
  });
}
