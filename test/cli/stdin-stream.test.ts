// analyze - from a pipe that stays open (tcpdump -w - | shadowim analyze -): what has arrived is
// analysed and printed at once, not when more traffic comes. Before: on two threads the worker kept
// the last chunk's records until its next read returned, and stdout held events in a 64 KiB buffer, so
// a quiet link showed nothing (and the store had no alert) until the writer sent more or ended.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { Capture } from '../helpers/pcapgen';
import { CLI } from '../helpers/paths';
import { jsonLines } from '../helpers/run';

function ircCapture(): Buffer {
  const c = new Capture();
  const t = c.tcp('10.0.0.5:40001', '192.0.2.10:6667');
  t.open().send('c', 'NICK alice\r\nUSER alice 0 * :Alice\r\n').send('s', ':irc.example.net 001 alice :Welcome to IRC alice\r\n');
  t.send('c', 'PRIVMSG #chan :sent before the pipe went quiet\r\n');
  return c.pcap(); // the flow stays open: the writer is still capturing
}

/** Resolves with stdout once `until` holds for its JSON lines; rejects (child killed) after `ms`. */
function waitFor(child: ChildProcess, until: (events: any[]) => boolean, ms: number, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${what}: nothing after ${ms / 1000} s with the pipe open; stdout: ${JSON.stringify(out)} stderr: ${err}`));
    }, ms);
    child.stderr!.on('data', (d: Buffer) => (err += d));
    child.stdout!.on('data', (d: Buffer) => {
      out += d;
      if (until(jsonLines(out))) {
        clearTimeout(t);
        resolve(out);
      }
    });
  });
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))));
}

describe('cli: analyze - from a pipe that stays open', function () {
  this.timeout(90000);

  for (const threads of ['1', '2']) {
    it(`prints the message and alert before the writer sends more or ends (--threads ${threads})`, async () => {
      const child = spawn(process.execPath, [CLI, 'analyze', '-', '--format', 'jsonl', '--threads', threads], { stdio: ['pipe', 'pipe', 'pipe'] });
      try {
        child.stdin.write(ircCapture()); // and the pipe stays open
        const got = (evs: any[]) => evs.some((e) => e.type === 'message' && /went quiet/.test(e.text)) && evs.some((e) => e.type === 'alert' && e.kind === 'unauthorized_im');
        await waitFor(child, got, 30000, `--threads ${threads}`);
        child.stdin.end();
        assert.equal(await exited(child), 0);
      } finally {
        child.kill('SIGKILL');
      }
    });
  }
});
