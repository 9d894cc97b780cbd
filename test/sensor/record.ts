// Runs capture bytes through the real reader and packet path into a recording FlowInspector, so
// sensor tests can see exactly what a protocol decoder would be handed.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CaptureReader, CaptureError } from '../../sensor/captureFile';
import { PacketPath, type PacketPathOptions } from '../../sensor/packetPath';
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
  let error: string | undefined;
  try {
    await reader.run();
  } catch (e) {
    if (!(e instanceof CaptureError)) throw e;
    error = e.message;
  }
  pp.finish();
  if (typeof input !== 'string') fs.rmSync(path.dirname(file), { recursive: true, force: true });
  return { rec, counters: { ...pp.counters }, error, frames: reader.frames };
}
