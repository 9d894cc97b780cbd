// Starts the real `shadowim serve` on a free loopback port and stops it again (tests, screenshots).
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

const CLI = path.join(__dirname, '..', '..', 'bin', 'shadowim.js');

export interface Served {
  url: string;
  /** the one-time admin password printed by --demo */
  password?: string;
  proc: ChildProcess;
  output: () => string;
  stop(): Promise<void>;
}

export function startServe(args: string[], opts: { cwd?: string; timeoutMs?: number; env?: Record<string, string> } = {}): Promise<Served> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [CLI, 'serve', '--port', '0', ...args], { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let done = false;
    const timer = setTimeout(() => fail(new Error(`serve did not start in time:\n${out}`)), opts.timeoutMs ?? 60000);
    const fail = (e: Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      proc.kill('SIGKILL');
      reject(e);
    };
    const onData = (b: Buffer) => {
      out += b.toString();
      const m = /dashboard: (https?:\/\/\S+\/)/.exec(out);
      if (m && !done && (!args.includes('--demo') || /one-time password: (\S+)/.test(out))) {
        done = true;
        clearTimeout(timer);
        const pw = /one-time password: (\S+)/.exec(out)?.[1];
        resolve({
          url: m[1].replace(/\/$/, ''),
          password: pw,
          proc,
          output: () => out,
          stop: () =>
            new Promise<void>((r) => {
              if (proc.exitCode !== null) return r();
              proc.once('exit', () => r());
              proc.kill('SIGTERM');
              setTimeout(() => proc.kill('SIGKILL'), 5000).unref();
            }),
        });
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    proc.once('exit', (code) => fail(new Error(`serve exited with ${code}:\n${out}`)));
  });
}
