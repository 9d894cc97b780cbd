// Runs the real command line, as a user would, and parses its JSON lines.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { CLI } from './paths';

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
  events: any[];
}

export function shadowim(args: string[], opts: { input?: Buffer | string; env?: Record<string, string>; timeout?: number } = {}): RunResult {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    input: opts.input,
    env: { ...process.env, ...opts.env },
    maxBuffer: 256 * 1024 * 1024,
    timeout: opts.timeout ?? 120000,
  });
  const stdout = r.stdout?.toString('utf8') ?? '';
  return { status: r.status, stdout, stderr: r.stderr?.toString('utf8') ?? '', events: jsonLines(stdout) };
}

/** Like shadowim(), without blocking the event loop: for tests whose receivers run in this process. */
export function shadowimAsync(args: string[], opts: { input?: Buffer | string; env?: Record<string, string>; timeout?: number } = {}): Promise<RunResult> {
  const { spawn } = require('node:child_process') as typeof import('node:child_process');
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...opts.env } });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    const t = setTimeout(() => child.kill('SIGKILL'), opts.timeout ?? 120000);
    child.on('close', (status) => {
      clearTimeout(t);
      const stdout = Buffer.concat(out).toString('utf8');
      resolve({ status, stdout, stderr: Buffer.concat(err).toString('utf8'), events: jsonLines(stdout) });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** `analyze DIR/FILE --format jsonl` for each of `files`, two at a time (these machines have two cores): file → its run. */
export async function analyzeEach(dir: string, files: string[]): Promise<Map<string, RunResult>> {
  const runs = new Map<string, RunResult>();
  let next = 0;
  await Promise.all([0, 1].map(async () => {
    while (next < files.length) {
      const f = files[next++];
      runs.set(f, await shadowimAsync(['analyze', path.join(dir, f), '--format', 'jsonl'], { timeout: 300000 }));
    }
  }));
  return runs;
}

/** The JSON objects of a JSONL text; lines that are not JSON are left for the test to see in stdout. */
export function jsonLines(stdout: string): any[] {
  const events: any[] = [];
  for (const line of stdout.split('\n')) {
    if (!line.trim()) continue;
    try {
      events.push(JSON.parse(line));
    } catch {
      /* not JSON */
    }
  }
  return events;
}
