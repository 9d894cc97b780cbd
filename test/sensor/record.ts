// Runs capture bytes through the real reader and packet path into a recording FlowInspector, so
// sensor tests can see exactly what a protocol decoder would be handed.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { CaptureReader, readToEnd } from '../../sensor/captureFile';
import { PacketPath, type PacketPathOptions } from '../../sensor/packetPath';
import { REPO } from '../helpers/paths';
import type { Dir, EndReason, FlowCounters, FlowHandler, FlowInfo, FlowInspector, SensorCounters } from '../../sensor/types';

export interface RecordedFlow {
  info: FlowInfo;
  /** reassembled bytes per direction (0 = client → server) */
  data: [Buffer, Buffer];
  /** UDP: each datagram */
  datagrams: [Buffer[], Buffer[]];
  gaps: [number[], number[]];
  /** the order of calls, e.g. ['d0:5', 'g0:10', 'd0:5'] */
  calls: string[];
  end?: { counters: FlowCounters; reason: EndReason };
  endCalls: number;
}

export class Recorder implements FlowInspector {
  flows: RecordedFlow[] = [];
  ticks: number[] = [];
  /** stop wanting data after this many bytes per flow (Infinity = never) */
  constructor(private readonly wantBytes = Infinity) {}

  newFlow(info: FlowInfo): FlowHandler {
    const rec: RecordedFlow = { info, data: [Buffer.alloc(0), Buffer.alloc(0)], datagrams: [[], []], gaps: [[], []], calls: [], endCalls: 0 };
    this.flows.push(rec);
    const want = this.wantBytes;
    let seen = 0;
    const h: FlowHandler = {
      wantsData: true,
      onData(dir: Dir, data: Buffer) {
        rec.data[dir] = Buffer.concat([rec.data[dir], data]);
        rec.datagrams[dir].push(Buffer.from(data));
        rec.calls.push(`d${dir}:${data.length}`);
        seen += data.length;
        if (seen >= want) h.wantsData = false;
      },
      onGap(dir: Dir, length: number) {
        rec.gaps[dir].push(length);
        rec.calls.push(`g${dir}:${length}`);
      },
      onEnd(counters: FlowCounters, reason: EndReason) {
        rec.end = { counters, reason };
        rec.endCalls++;
      },
    };
    return h;
  }

  tick(ts: number): void {
    this.ticks.push(ts);
  }
}

export interface RunOutput {
  rec: Recorder;
  counters: SensorCounters;
  error?: string;
  frames: number;
}

let n = 0;
const made: string[] = [];
process.on('exit', () => {
  for (const d of made) fs.rmSync(d, { recursive: true, force: true });
});
/** Writes capture bytes to a temp file (removed when the test process exits). */
export function tmpFile(data: Buffer, ext = '.pcap'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-sensor-'));
  made.push(dir);
  const f = path.join(dir, `cap${n++}${ext}`);
  fs.writeFileSync(f, data);
  return f;
}

/** Reads a capture (bytes or a file path) to the end through PacketPath. */
export async function runCapture(input: Buffer | string, opts: PacketPathOptions & { wantBytes?: number } = {}): Promise<RunOutput> {
  const file = typeof input === 'string' ? input : tmpFile(input);
  const rec = new Recorder(opts.wantBytes);
  const pp = new PacketPath(rec, opts);
  const reader = CaptureReader.open(file, pp);
  const error = await readToEnd(reader);
  pp.finish();
  if (typeof input !== 'string') fs.rmSync(path.dirname(file), { recursive: true, force: true });
  return { rec, counters: { ...pp.counters }, error, frames: reader.frames };
}

/** What runCaptureBounded returns: RunOutput as JSON, with the reassembled data as latin1 text. */
export interface BoundedOutput {
  counters: SensorCounters;
  error?: string;
  frames: number;
  flows: { info: FlowInfo; data: [string, string]; end?: { counters: FlowCounters; reason: EndReason } }[];
}

/**
 * runCapture in a child process killed after `timeoutMs`: for inputs that once made the read path
 * loop forever, so that a regression fails the test instead of hanging the whole suite.
 */
export function runCaptureBounded(input: Buffer, opts: PacketPathOptions = {}, timeoutMs = 30_000): BoundedOutput {
  const file = tmpFile(input);
  const r = spawnSync(process.execPath, [path.join(REPO, 'bin', 'run-ts.js'), __filename, file, JSON.stringify(opts)], {
    timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 << 20,
  });
  fs.rmSync(path.dirname(file), { recursive: true, force: true });
  if (r.error || r.signal) throw new Error(`the read path did not finish within ${timeoutMs / 1000} s (${r.error?.message ?? r.signal})`);
  if (r.status !== 0) throw new Error(`the read path failed: ${r.stderr.toString()}`);
  return JSON.parse(r.stdout.toString());
}

// child side of runCaptureBounded (run-ts.js puts the script's path in argv[1])
if (path.resolve(process.argv[1] ?? '') === __filename) {
  runCapture(process.argv[2], JSON.parse(process.argv[3] ?? '{}')).then((out) => {
    const res: BoundedOutput = {
      counters: out.counters, error: out.error, frames: out.frames,
      flows: out.rec.flows.map((f) => ({ info: f.info, data: [f.data[0].toString('latin1'), f.data[1].toString('latin1')], end: f.end })),
    };
    process.stdout.write(JSON.stringify(res));
  });
}
