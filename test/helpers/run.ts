// Runs the real command line, as a user would, and parses its JSON lines.
import { spawnSync } from 'node:child_process';
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
  const events: any[] = [];
  for (const line of stdout.split('\n')) {
    if (!line.trim()) continue;
    try {
      events.push(JSON.parse(line));
    } catch {
      /* not JSON: left for the test to notice via stdout */
    }
  }
  return { status: r.status, stdout, stderr: r.stderr?.toString('utf8') ?? '', events };
}
