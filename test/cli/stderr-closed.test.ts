// A standard error whose reader goes away (`sensor … 2>&1 | head -1`, `analyze … 2>&1 | head`): the
// command goes on as with a closed stdout (cli/stdout.ts). With a store it keeps capturing/analysing
// and the store gets everything; with stdout alone on that same pipe it ends, exit 0; with stdout
// elsewhere its events keep coming. Was: an uncaught EPIPE on stderr, exit 1, the store cut short
// (the live sensor's store had no session of the traffic after the pipe closed).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { CLI } from '../helpers/paths';
import { jsonLines } from '../helpers/run';
import { Capture } from '../helpers/pcapgen';

/** `shadowim ARGS 2>&1`, the pipe closed once its first line is read */
function bothToOneClosedPipe(args: string[]): { child: ChildProcess; first: Promise<string>; exit: Promise<number | null> } {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const child = spawn('sh', ['-c', `exec ${[process.execPath, CLI, ...args].map(q).join(' ')} 2>&1`], { stdio: ['ignore', 'pipe', 'ignore'] });
  let got = '';
  const first = new Promise<string>((resolve) => {
    child.stdout!.on('data', (d: Buffer) => {
      got += d.toString('utf8');
      if (got.includes('\n')) {
        child.stdout!.destroy();
        resolve(got.split('\n')[0]);
      }
    });
  });
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, first, exit };
}

function count(store: string, sql: string): number {
  const Sqlite = require('better-sqlite3');
  const db = new Sqlite(store, { readonly: true });
  try {
    return (db.prepare(sql).get() as { n: number }).n;
  } finally {
    db.close();
  }
}

function ircCapture(file: string): void {
  const c = new Capture();
  for (let i = 0; i < 20; i++) {
    const t = c.tcp(`10.0.0.${5 + i}:40001`, '192.0.2.10:6667');
    t.open().send('c', `NICK u${i}\r\nUSER u${i} 0 * :U\r\n`).send('s', `:irc.example.net 001 u${i} :Welcome\r\n`);
    t.send('c', `PRIVMSG #chan :hello ${i}\r\n`).close();
  }
  fs.writeFileSync(file, c.pcap());
}

describe('cli: standard error closed by its reader', function () {
  this.timeout(120_000);
  let tmp: string;
  before(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-stderr-closed-'))));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('analyze 2>&1 | head -1 with a store: exit 0 and every session stored (was exit 1 at the summary)', async () => {
    const cap = path.join(tmp, 'irc.pcap');
    ircCapture(cap);
    const store = path.join(tmp, 'a.db');
    const r = bothToOneClosedPipe(['analyze', cap, '--format', 'jsonl', '--store', store]);
    assert.match(await r.first, /^\{"type":/);
    assert.equal(await r.exit, 0);
    assert.equal(count(store, "SELECT count(*) AS n FROM sessions WHERE protocol = 'irc'"), 20);
  });

  it('analyze with only stderr closed: its events still all reach stdout, exit 0', async () => {
    const cap = path.join(tmp, 'irc2.pcap');
    ircCapture(cap);
    const child = spawn(process.execPath, [CLI, 'analyze', cap, '--format', 'jsonl'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stderr!.destroy();
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d));
    const code = await new Promise((resolve) => child.on('close', resolve));
    assert.equal(code, 0);
    const evs = jsonLines(out);
    assert.equal(evs.filter((e) => e.type === 'session' && e.protocol === 'irc').length, 20);
    assert.ok(evs.some((e) => e.type === 'stats'));
  });

  const live = (() => {
    if (process.getuid?.() !== 0) return 'needs root (capture on lo)';
    try {
      require('cap');
    } catch {
      return 'needs the cap module';
    }
    return undefined;
  })();

  (live ? it.skip : it)(`sensor 2>&1 | head -1 with a store keeps capturing; without one it exits 0${live ? ` (skipped: ${live})` : ''}`, async () => {
    const store = path.join(tmp, 'live.db');
    const s = bothToOneClosedPipe(['sensor', '--interface', 'lo', '--format', 'jsonl', '--stats-interval', '1', '--store', store]);
    try {
      assert.match(await s.first, /^shadowim sensor: capturing on lo/);
      // IRC on loopback after the reader has gone, then two counter lines (EPIPE) later
      const server = net.createServer((c) => {
        c.once('data', () => c.write(':irc.example.net 001 alice :Welcome to IRC alice\r\n'));
        c.on('error', () => undefined);
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const port = (server.address() as net.AddressInfo).port;
      await new Promise<void>((resolve, reject) => {
        const c = net.connect(port, '127.0.0.1', () => c.write('NICK alice\r\nUSER alice 0 * :Alice\r\n'));
        c.once('data', () => {
          c.write('PRIVMSG #chan :after the pipe closed\r\n');
          setTimeout(() => c.end(), 300);
        });
        c.on('close', () => resolve());
        c.on('error', reject);
      });
      server.close();
      await new Promise((r) => setTimeout(r, 2500));
      assert.equal(s.child.exitCode, null, 'still capturing after stderr closed');
      s.child.kill('SIGTERM');
      assert.equal(await s.exit, 0);
      assert.equal(count(store, `SELECT count(*) AS n FROM sessions WHERE protocol = 'irc' AND server_port = ${port}`), 1, 'the session after the pipe closed is stored');
    } finally {
      s.child.kill('SIGKILL');
    }

    const bare = bothToOneClosedPipe(['sensor', '--interface', 'lo', '--format', 'jsonl', '--stats-interval', '1']);
    try {
      assert.match(await bare.first, /^shadowim sensor: capturing on lo/);
      const t = setTimeout(() => bare.child.kill('SIGKILL'), 15_000);
      assert.equal(await bare.exit, 0, 'ends by itself at the next counter line, exit 0');
      clearTimeout(t);
    } finally {
      bare.child.kill('SIGKILL');
    }
  });
});
