// analyze - from a pipe that stays open (tcpdump -w - | shadowim analyze -): what has arrived is
// analysed and printed at once, not when more traffic comes. Before: on two threads the worker kept
// the last chunk's records until its next read returned, and stdout held events in a 64 KiB buffer, so
// a quiet link showed nothing (and the store had no alert) until the writer sent more or ended.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
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

/** Exit code, or 128+n for a death by signal n; the child is killed (null) after `ms`. */
function outcome(child: ChildProcess, ms: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = '', stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d));
  child.stderr!.on('data', (d: Buffer) => (stderr += d));
  return new Promise((resolve) => {
    const t = setTimeout(() => child.kill('SIGKILL'), ms);
    child.once('close', (code, sig) => {
      clearTimeout(t);
      resolve({ code: sig === 'SIGKILL' ? null : code ?? (sig === 'SIGINT' ? 130 : sig === 'SIGTERM' ? 143 : -1), stdout, stderr });
    });
  });
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

  // A pipe's length is unknown: it is read on two threads (the worker reads, this thread analyses), as a
  // capture file of 32 MiB or more is; SHADOWIM_DEBUG names the capture thread when there is one.
  it('standard input is read on two threads by default (a shell pipe, a socket), a small capture file on one', () => {
    const c = ircCapture();
    const env = { ...process.env, SHADOWIM_DEBUG: '1' };
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-thr-'));
    try {
      const f = path.join(tmp, 'c.pcap');
      fs.writeFileSync(f, c);
      const file = spawnSync(process.execPath, [CLI, 'analyze', f, '--format', 'jsonl'], { env, encoding: 'utf8' });
      assert.equal(file.status, 0, file.stderr);
      assert.doesNotMatch(file.stderr, /capture thread/);
      // cat FILE | shadowim analyze -: a real pipe (Node gives a child's stdin as a socket, below)
      const shell = spawnSync('sh', ['-c', 'cat "$1" | "$0" "$2" analyze - --format jsonl', process.execPath, f, CLI], { env, encoding: 'utf8' });
      const socket = spawnSync(process.execPath, [CLI, 'analyze', '-', '--format', 'jsonl'], { input: c, env, encoding: 'utf8' });
      for (const [how, r] of [['pipe', shell], ['socket', socket]] as const) {
        assert.equal(r.status, 0, `${how}: ${r.stderr}`);
        assert.match(r.stderr, /capture thread: \d+ waits/, how);
        assert.equal(r.stdout, file.stdout, `${how}: the same events as from the file`);
      }
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  // SIGINT/SIGTERM end the run as the end of the capture would: the open flow's session, the stats
  // event and the store's last batch; was: killed with none of them.
  it('on SIGINT stops at the next chunk: open sessions ended, stats printed, exit 130', async () => {
    const child = spawn(process.execPath, [CLI, 'analyze', '-', '--format', 'jsonl', '--threads', '2'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const seen = waitFor(child, (evs) => evs.some((e) => e.type === 'message'), 30000, 'first part');
    const done = outcome(child, 30000);
    child.stdin.write(ircCapture());
    await seen;
    child.kill('SIGINT');
    const more = new Capture();
    more.udp('10.0.0.9:5000', '192.0.2.9:5001', 'later traffic');
    const records = more.pcap().subarray(24);
    // more records of the same pcap, every 100 ms until it exits: the worker sees the stop at the first
    // chunk it reads after the signal was handled (one write right after kill() could be read before)
    const drip = setInterval(() => child.stdin.writable && child.stdin.write(records), 100);
    child.stdin.on('error', () => {});
    child.stdin.write(records);
    const r = await done.finally(() => clearInterval(drip));
    assert.equal(r.code, 130, r.stderr);
    const evs = jsonLines(r.stdout);
    assert.ok(evs.some((e) => e.type === 'session' && e.protocol === 'irc'), `the open IRC flow is ended and reported: ${r.stdout}`);
    assert.ok(evs.some((e) => e.type === 'stats'), 'stats event');
    assert.match(r.stderr.trim().split('\n').pop()!, /^shadowim: stdin: stopped on SIGINT before the end of the capture$/);
  });

  // Node gives a child's stdin as a socket pair, which cannot be reopened non-blocking: there the
  // worker sleeps in read() and the 2 s fallback writes out what was found (open flows are lost)
  it('on SIGTERM while a socket on stdin stays quiet: exits with what was found in the store', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-sig-'));
    try {
      const db = path.join(tmp, 's.db');
      const child = spawn(process.execPath, [CLI, 'analyze', '-', '--format', 'jsonl', '--threads', '2', '--store', db], { stdio: ['pipe', 'pipe', 'pipe'] });
      const seen = waitFor(child, (evs) => evs.some((e) => e.type === 'message'), 30000, 'quiet pipe');
      const done = outcome(child, 30000);
      child.stdin.write(ircCapture());
      await seen;
      child.kill('SIGTERM');
      const r = await done; // the pipe is never written again nor closed: a hang is killed (null)
      child.stdin.destroy();
      assert.equal(r.code, 143, r.stderr);
      assert.match(r.stderr, /stopped on SIGTERM while waiting for input/);
      const Database = require('better-sqlite3');
      const d = new Database(db, { readonly: true });
      try {
        assert.equal(d.prepare('select count(*) n from messages').get().n, 1);
        assert.equal(d.prepare('select count(*) n from alerts').get().n, 1);
      } finally {
        d.close();
      }
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  // A real pipe or FIFO (tcpdump -w - | shadowim analyze -, or a named FIFO) is read without blocking:
  // a stop while it is quiet ends the run as the end of the capture does — the open IRC flow's session,
  // the stats event, the store's last batch. Was: the 2 s fallback, open sessions lost.
  for (const [how, threads] of [['FIFO path', '1'], ['FIFO path', '2'], ['stdin from a FIFO', '2'], ['stdin from a FIFO', '1']] as const) {
    it(`on SIGTERM while a ${how} stays quiet: open sessions ended, stats, store (--threads ${threads})`, async () => {
      const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-fifo-'));
      let writer: fs.promises.FileHandle | undefined;
      try {
        const fifo = path.join(tmp, 'cap.fifo');
        const db = path.join(tmp, 's.db');
        assert.equal(spawnSync('mkfifo', [fifo]).status, 0, 'mkfifo');
        const args = [CLI, 'analyze', how === 'FIFO path' ? fifo : '-', '--format', 'jsonl', '--threads', threads, '--store', db];
        const child = how === 'FIFO path'
          ? spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] })
          : spawn('sh', ['-c', `exec "$0" "$@" < '${fifo}'`, process.execPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
        const seen = waitFor(child, (evs) => evs.some((e) => e.type === 'message'), 30000, `quiet ${how}`);
        const done = outcome(child, 30000);
        writer = await fs.promises.open(fifo, 'w'); // waits for the reader
        await writer.write(ircCapture()); // and the FIFO stays open, quiet
        await seen;
        child.kill('SIGTERM');
        const r = await done;
        assert.equal(r.code, 143, r.stderr);
        assert.match(r.stderr.trim().split('\n').pop()!, /stopped on SIGTERM before the end of the capture$/);
        const evs = jsonLines(r.stdout);
        assert.ok(evs.some((e) => e.type === 'session' && e.protocol === 'irc' && e.users.includes('alice')), `the open IRC flow is ended and reported: ${r.stdout}`);
        assert.ok(evs.some((e) => e.type === 'stats' && e.packets > 0), 'stats event');
        const Database = require('better-sqlite3');
        const d = new Database(db, { readonly: true });
        try {
          assert.equal(d.prepare('select count(*) n from sessions').get().n, 1);
          assert.equal(d.prepare('select count(*) n from messages').get().n, 1);
        } finally {
          d.close();
        }
      } finally {
        await writer?.close();
        fs.rmSync(tmp, { recursive: true, force: true });
      }
    });
  }
});
