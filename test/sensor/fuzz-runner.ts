// The mutation loop of the sensor fuzz test (test/sensor/fuzz.test.ts), run in a child process so a
// synchronous hang cannot outlive its bound: the parent kills this process and names the input.
//
//   node bin/run-ts.js test/sensor/fuzz-runner.ts                # SHADOWIM_FUZZ_SEED / _SECONDS / _DIR
//   node bin/run-ts.js test/sensor/fuzz-runner.ts --run N        # only run N of the seed (reproduce)
//   node bin/run-ts.js test/sensor/fuzz-runner.ts --replay FILE  # one saved input
//
// Inputs: the shared captures with their bytes mutated (any layer, the file format included) or their
// frames mutated knowing the packet structure (sequence numbers, fragments, timestamps, order, flows).
// Before each run the mutated input is written to DIR/input.pcap and {seed, run, source} to
// DIR/current.json. A failure (an exception other than CaptureError, internalErrors > 0, any other
// exception caught on the packet path or in a protocol module, an event that does not serialize, a
// run over the CPU bound) is written to DIR/failure.json, the input is kept as
// DIR/failed-SEED-RUN.pcap and the exit status is 1. A run stuck longer than the hang bound
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
import { pcapngOf, type Frame } from '../helpers/pcapgen';
import { rng } from '../../common/rng';

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

/** Where the IP header starts in a frame of this link type (after VLAN tags), -1 when unknown. */
function ipOffset(lt: number, b: Buffer): number {
  let o: number;
  if (lt === 1) {
    o = 14;
    while (o + 4 <= b.length && b[o - 2] === 0x81 && b[o - 1] === 0) o += 4;
  } else if (lt === 113) o = 16;
  else if (lt === 276) o = 20;
  else if (lt === 0 || lt === 108) o = 4;
  else if (lt === 12 || lt === 14 || lt === 101 || lt === 228 || lt === 229) o = 0;
  else return -1;
  return o < b.length && (b[o] >> 4 === 4 || b[o] >> 4 === 6) ? o : -1;
}

/** [ip offset, l4 offset, l4 protocol] of a frame, or undefined */
export function layers(f: Frame): [number, number, number] | undefined {
  const b = f.data;
  const ip = ipOffset(f.linktype ?? 1, b);
  if (ip < 0) return undefined;
  if (b[ip] >> 4 === 4) return ip + 20 <= b.length ? [ip, ip + (b[ip] & 15) * 4, b[ip + 9]] : undefined;
  return ip + 40 <= b.length ? [ip, ip + 40, b[ip + 6]] : undefined;
}

/** An IPv4 frame cut into fragments: uneven, some overlapping or duplicated, some reordered, a few lost. */
export function fragment4(f: Frame, l: [number, number, number], r: () => number): Frame[] {
  const b = f.data;
  const ihl = l[1] - l[0];
  const pay = b.length - l[1];
  const parts: Frame[] = [];
  const id = r() < 0.7 ? b.readUInt16BE(l[0] + 4) : Math.floor(r() * 4);
  for (let o = 0; o < pay; ) {
    const from = r() < 0.2 && o >= 8 ? o - 8 * (1 + Math.floor(r() * Math.min(4, o / 8))) : o; // overlap back
    const to = Math.min(pay, from + 8 * (1 + Math.floor(r() * 40)));
    const d = Buffer.concat([b.subarray(0, l[1]), b.subarray(l[1] + from, l[1] + to)]);
    d.writeUInt16BE(ihl + to - from, l[0] + 2);
    d.writeUInt16BE((to < pay ? 0x2000 : 0) | (from / 8), l[0] + 6);
    d.writeUInt16BE(id, l[0] + 4);
    if (r() < 0.95) parts.push({ ...f, data: d });
    if (r() < 0.1) parts.push({ ...f, data: Buffer.from(d) });
    o = to;
  }
  for (let c = parts.length - 1; c > 0; c--) {
    if (r() < 0.3) {
      const j = Math.floor(r() * (c + 1));
      [parts[c], parts[j]] = [parts[j], parts[c]];
    }
  }
  return parts;
}

/**
 * Mutations that know the packet structure, on the frames of a capture (written back as pcapng):
 * TCP sequence numbers, flags and offsets, IP fragment fields and lengths, timestamps that go back or
 * jump, duplicated, swapped, dropped and cut frames, one packet cloned into hundreds of flows, TCP
 * payloads re-sent as overlapping segments, IPv4 packets cut into overlapping fragments.
 */
export function mutateFrames(src: Frame[], r: () => number): Frame[] {
  const fr: Frame[] = src.map((f) => ({ ...f, data: Buffer.from(f.data) }));
  if (!fr.length) return fr;
  const pick = () => Math.floor(r() * fr.length);
  const u32 = () => Math.floor(r() * 4294967296);
  for (let k = 0, n = 1 + Math.floor(r() * 8); k < n && fr.length; k++) {
    const i = pick();
    const f = fr[i];
    const b = f.data;
    const l = layers(f);
    switch (Math.floor(r() * 12)) {
      case 10: // TCP payload re-sent as overlapping, reordered, partly different segments
        if (l && l[2] === 6 && l[1] + 20 <= b.length) {
          const hdr = l[1] + (b[l[1] + 12] >> 4) * 4;
          const pay = b.length - hdr;
          if (pay < 2 || hdr < l[1] + 20 || hdr > b.length) break;
          const seq = b.readUInt32BE(l[1] + 4);
          const segs: Frame[] = [];
          for (let c = 0, m = 2 + Math.floor(r() * 12); c < m; c++) {
            const a = Math.floor(r() * pay), z = a + 1 + Math.floor(r() * (pay - a));
            const body = Buffer.from(b.subarray(hdr + a, hdr + z));
            if (r() < 0.3) body.fill(0x41 + c); // a different copy of the same bytes: first one wins
            const d = Buffer.concat([b.subarray(0, hdr), body]);
            d.writeUInt32BE((seq + a) >>> 0, l[1] + 4);
            if (d[l[0]] >> 4 === 4) d.writeUInt16BE(d.length - l[0], l[0] + 2);
            else d.writeUInt16BE(d.length - l[0] - 40, l[0] + 4);
            segs.push({ ...f, data: d });
          }
          fr.splice(i, 1, ...segs);
        }
        break;
      case 11: // IPv4 packet cut into fragments: uneven, overlapping, duplicated, reordered, some lost
        if (l && b[l[0]] >> 4 === 4 && l[1] < b.length) fr.splice(i, 1, ...fragment4(f, l, r));
        break;
      case 0: // TCP sequence / acknowledgement numbers
        if (l && l[2] === 6 && l[1] + 12 <= b.length) {
          const old = b.readUInt32BE(l[1] + 4);
          const v = [old + Math.floor((r() - 0.5) * 140000), old ^ 0x80000000, 0xffffffff - Math.floor(r() * 3000), u32(), old - 1][Math.floor(r() * 5)];
          b.writeUInt32BE(v >>> 0, l[1] + (r() < 0.8 ? 4 : 8));
        }
        break;
      case 1: // TCP flags and data offset
        if (l && l[2] === 6 && l[1] + 14 <= b.length) {
          if (r() < 0.7) b[l[1] + 13] = [0x02, 0x12, 0x01, 0x04, 0x11, 0x14, 0x03, 0x00, 0xff, 0x10][Math.floor(r() * 10)];
          else b[l[1] + 12] = Math.floor(r() * 16) << 4;
        }
        break;
      case 2: // IPv4 fragment fields and identification
        if (l && b[l[0]] >> 4 === 4) {
          b.writeUInt16BE(r() < 0.5 ? (r() < 0.5 ? 0x2000 : 0) | Math.floor(r() * 200) : Math.floor(r() * 65536), l[0] + 6);
          if (r() < 0.5) b.writeUInt16BE(Math.floor(r() * 4), l[0] + 4);
        }
        break;
      case 3: // IP total / payload length, UDP length
        if (l) {
          const at = r() < 0.6 ? l[0] + (b[l[0]] >> 4 === 4 ? 2 : 4) : l[1] + 4;
          if (at + 2 <= b.length) b.writeUInt16BE([0, 1, 20, 40, 0xffff, Math.floor(r() * 65536), b.length - l[0] + 8][Math.floor(r() * 7)], at);
        }
        break;
      case 4: { // timestamps: back in time, far ahead, equal to another frame's
        const t = f.tsMicros;
        f.tsMicros = Math.max(0, Math.floor([t - r() * 86400e6, t + r() * 3600e6, t + 1e6 * 2 ** Math.floor(r() * 40), fr[pick()].tsMicros, 0][Math.floor(r() * 5)]));
        break;
      }
      case 5: { // duplicate a run of frames somewhere else (retransmissions, overlaps)
        const len = 1 + Math.floor(r() * 8);
        fr.splice(pick(), 0, ...fr.slice(i, i + len).map((x) => ({ ...x, data: Buffer.from(x.data) })));
        break;
      }
      case 6: { // swap two frames, or reverse a run (reordering)
        const j = pick();
        if (r() < 0.5) [fr[i], fr[j]] = [fr[j], fr[i]];
        else fr.splice(Math.min(i, j), Math.abs(i - j) + 1, ...fr.slice(Math.min(i, j), Math.max(i, j) + 1).reverse());
        break;
      }
      case 7: // drop a run of frames
        fr.splice(i, 1 + Math.floor(r() * 16));
        break;
      case 8: // cut a frame short (snaplen): the headers announce more than is there
        f.origLen = Math.max(f.origLen ?? 0, b.length);
        f.data = b.subarray(0, Math.floor(r() * b.length));
        break;
      default: // one packet cloned into many flows (table full: eviction)
        if (l && (l[2] === 6 || l[2] === 17) && l[1] + 4 <= b.length) {
          const copies: Frame[] = [];
          for (let c = 0, m = 1 + Math.floor(r() * 600); c < m; c++) {
            const d = Buffer.from(b);
            d.writeUInt16BE(Math.floor(r() * 65536), l[1]);
            copies.push({ ...f, data: d, tsMicros: f.tsMicros + c * Math.floor(r() * 3) * 1e6 });
          }
          fr.splice(i, 0, ...copies);
        }
    }
  }
  return fr;
}

export interface Source {
  name: string;
  data: Buffer;
  frames: Frame[];
}

/** The shared captures the fuzzer mutates (small ones: a run must stay short), in a fixed order. */
export async function sources(): Promise<Source[]> {
  const out: Source[] = [];
  for (const d of ['im', 'modern', 'negative']) {
    for (const f of fs.readdirSync(path.join(PCAPS_DIR, d)).sort()) {
      const file = path.join(PCAPS_DIR, d, f);
      const data = fs.readFileSync(file);
      if (data.length > 400_000) continue;
      const frames: Frame[] = [];
      await CaptureReader.open(file, {
        frame(linktype, tsMicros, buf, off, len) {
          frames.push({ linktype, tsMicros, data: Buffer.from(buf.subarray(off, off + len)) });
        },
      }).run().catch(() => undefined);
      out.push({ name: `${d}/${f}`, data, frames });
    }
  }
  return out;
}

/** One mutated input from a source: half the time bytes of the file, half the frames in it. */
export function mutateSource(src: Source, r: () => number): Buffer {
  return r() < 0.5 ? mutate(src.data, r) : pcapngOf(mutateFrames(src.frames, r));
}

export interface Failure {
  kind: 'exception' | 'internal-error' | 'caught-error' | 'serialize' | 'slow' | 'hang';
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

// Every exception the packet path or the engine catches is printed with SHADOWIM_DEBUG; some of those
// catches count nothing (FlowInspector.newFlow/onEnd, stream end), so the runner collects them all.
const caught: unknown[] = [];
const printError = console.error;
function collectCaught(): void {
  process.env.SHADOWIM_DEBUG = '1';
  console.error = (...a: unknown[]) => void (caught.length < 10 && caught.push(a[0]));
}

/** The engine counts a detector's exception without printing it: record it first, for the report. */
function recordDetectErrors(registry: Registry): void {
  for (const lm of registry.modules) {
    const detect = lm.module.detect;
    lm.module = {
      ...lm.module,
      detect(...a: Parameters<typeof detect>) {
        try {
          return detect.apply(this, a);
        } catch (e) {
          if (caught.length < 10) caught.push(e);
          throw e;
        }
      },
    };
  }
}

/** One capture through reader → packet path → engine; returns what went wrong, if anything. */
export async function runOne(file: string, registry: Registry): Promise<{ problem?: { kind: Failure['kind']; detail: string }; packets: number; badInput: boolean }> {
  caught.length = 0;
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
    return { problem: { kind: 'internal-error', detail: `${pp.internalErrors} exception(s) caught on the packet path:\n${(caught[0] as Error)?.stack ?? String(caught[0])}` }, packets: pp.counters.packets, badInput };
  }
  for (const ev of events) {
    try {
      if (typeof JSON.stringify(ev) !== 'string') throw new Error('not JSON');
    } catch (e) {
      return { problem: { kind: 'serialize', detail: `an event does not serialize: ${(e as Error).message}` }, packets: pp.counters.packets, badInput };
    }
  }
  if (engine.stats.decoderErrors !== 0 || caught.length) {
    const first = caught[0] as Error | undefined;
    return {
      problem: {
        kind: 'caught-error',
        detail: `${engine.stats.decoderErrors} exception(s) in protocol modules, ${caught.length} caught in all:\n${first?.stack ?? String(first)}`,
      },
      packets: pp.counters.packets, badInput,
    };
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
  collectCaught();
  recordDetectErrors(registry);
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
    const files = await sources();
    const r = rng(seed);
    const deadline = Date.now() + seconds * 1000;
    for (let run = 0; only !== undefined ? run <= only : Date.now() < deadline; run++) {
      const src = files[Math.floor(r() * files.length)];
      const data = mutateSource(src, r);
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
    printError(e);
    process.exit(2);
  });
}
