// Fuzz tests in a child process with a hard deadline. Mocha's timeout cannot interrupt a synchronous
// infinite loop (it is checked on the event loop, which never comes back), so a decoder that loops
// forever on some mutated input would hang the whole suite; killing a child process cannot fail.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { REPO } from './paths';

/** set in the child: the title of the one test it runs */
const CHILD = process.env.SHADOWIM_BOUNDED_TEST;
const MOCHA = require.resolve('mocha/bin/mocha.js');

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Like `it(title, body)`, but the body runs in a child mocha process (same file, only this test)
 * that is killed after `seconds`. `file` is the test file: pass `__filename`.
 */
export function boundedIt(file: string, title: string, seconds: number, body: (this: Mocha.Context) => void | Promise<void>): void {
  if (CHILD !== undefined) {
    // the child: this test runs as it is (its siblings are filtered out by --grep)
    if (CHILD === title) it(title, body).timeout(seconds * 1000);
    return;
  }
  it(`${title} (child process, killed after ${seconds} s)`, function () {
    this.timeout((seconds + 30) * 1000);
    const rel = path.relative(REPO, file);
    const grep = `${escapeRegex(title)}$`;
    const child = spawn(process.execPath, [MOCHA, rel, '--grep', grep, '--exit', '--reporter', 'spec'], {
      cwd: REPO,
      env: { ...process.env, SHADOWIM_BOUNDED_TEST: title },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const keep = (d: Buffer) => (out = (out + d.toString()).slice(-8000));
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const again = `SHADOWIM_BOUNDED_TEST='${title.replace(/'/g, "'\\''")}' npx mocha ${rel} --grep '${grep.replace(/'/g, "'\\''")}'`;
    return new Promise<void>((resolve, reject) => {
      let killed = false;
      const timer = setTimeout(() => {
        killed = true;
        child.kill('SIGKILL');
      }, seconds * 1000);
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        if (killed) return reject(new Error(`still running after ${seconds} s: killed (an input that never finishes?)\n  run it alone: ${again}\n${out.trim()}`));
        const passing = /(\d+) passing/.exec(out);
        if (code === 0 && passing?.[1] === '1' && !/\d+ failing/.test(out)) return resolve();
        reject(new Error(`failed in its child process (${signal ?? `status ${code}`}):\n${out.trim()}\n  run it alone: ${again}`));
      });
    });
  });
}
