// A generated capture through the real command line: written to a temporary file, read by
// `shadowim analyze FILE --format jsonl`, which must succeed; returns its events.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Capture } from './pcapgen';
import { shadowim } from './run';

/** `alsoRead`: called with the capture file after the run, before it is removed (an oracle such as tshark reads it) */
export function analyzeCapture(cap: Capture, alsoRead?: (file: string) => void): any[] {
  return analyzeCaptureRun(cap, alsoRead).events;
}

/** The same, with the summary analyze wrote on stderr. */
export function analyzeCaptureRun(cap: Capture, alsoRead?: (file: string) => void): { events: any[]; stderr: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-analyze-'));
  try {
    const file = path.join(dir, 'c.pcap');
    fs.writeFileSync(file, cap.pcap());
    const r = shadowim(['analyze', file, '--format', 'jsonl']);
    assert.equal(r.status, 0, r.stderr);
    alsoRead?.(file);
    return { events: r.events, stderr: r.stderr };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
