// A capture through the real command line: `shadowim analyze FILE --format jsonl`, which must succeed;
// a generated one is written to a temporary file first.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Capture } from './pcapgen';
import { shadowim, type RunResult } from './run';

/** The run of analyze on a capture file (a real one, or one a test wrote). */
export function analyzeFile(file: string): RunResult {
  const r = shadowim(['analyze', file, '--format', 'jsonl']);
  assert.equal(r.status, 0, r.stderr);
  return r;
}

/** `alsoRead`: called with the capture file after the run, before it is removed (an oracle such as tshark reads it) */
export function analyzeCapture(cap: Capture, alsoRead?: (file: string) => void): any[] {
  return analyzeCaptureRun(cap, alsoRead).events;
}

/** The same, with the whole run (stdout, and the summary analyze wrote on stderr). */
export function analyzeCaptureRun(cap: Capture, alsoRead?: (file: string) => void): RunResult {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-analyze-'));
  try {
    const file = path.join(dir, 'c.pcap');
    fs.writeFileSync(file, cap.pcap());
    const r = analyzeFile(file);
    alsoRead?.(file);
    return r;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
