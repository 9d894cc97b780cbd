// A store this user may read but not write (an archive copied for review, a read-only mount, the
// store of a sensor that runs as another user and is stopped): search, report and rules read it.
// SQLite cannot make the WAL index (-shm) beside such a file; was: "attempt to write a readonly
// database" (rules: without even the file's name). Run as an unprivileged user: as root through
// setpriv to nobody, since root may write any file.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Capture } from '../helpers/pcapgen';
import { CLI } from '../helpers/paths';
import { shadowim } from '../helpers/run';

const root = process.getuid?.() === 0;

/** runs the CLI as an unprivileged user (nobody when we are root) */
function asReader(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const cmd = root ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, CLI, ...args] : [process.execPath, CLI, ...args];
  const r = spawnSync(cmd[0], cmd.slice(1), { encoding: 'utf8', cwd: os.tmpdir(), env: { ...process.env, SHADOWIM_CONFIG: '/dev/null' }, timeout: 60000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const sha = (f: string) => crypto.createHash('sha256').update(fs.readFileSync(f)).digest('hex');

describe('storage: a store this user cannot write', function () {
  this.timeout(120000);
  let dir: string, db: string;

  before(function () {
    if (root && spawnSync('setpriv', ['--version']).status !== 0) this.skip(); // util-linux's setpriv: on every Debian
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-ro-'));
    fs.chmodSync(dir, 0o755);
    const c = new Capture();
    const t = c.tcp('10.0.0.5:40001', '198.51.100.7:6667');
    t.open().send('c', 'NICK alice\r\nUSER alice 0 * :Alice\r\n').send('s', ':irc.example.net 001 alice :Welcome alice\r\n');
    t.send('c', 'PRIVMSG #ops :the archive is read-only\r\n').close();
    const cap = path.join(dir, 'irc.pcap');
    fs.writeFileSync(cap, c.pcap());
    db = path.join(dir, 'archive.db');
    const r = shadowim(['analyze', cap, '--store', db, '--quiet']);
    assert.equal(r.status, 0, r.stderr);
    // closed cleanly: no -wal or -shm beside it
    assert.ok(!fs.existsSync(`${db}-wal`) && !fs.existsSync(`${db}-shm`));
    fs.chmodSync(db, 0o444);
    fs.chmodSync(dir, 0o555); // nor can files be made beside it
  });

  after(() => {
    if (!dir) return;
    fs.chmodSync(dir, 0o755);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('search, report and rules read it; the file is left as it was and nothing is made beside it', () => {
    const before = sha(db);
    const s = asReader(['search', '--store', db, '--text', 'read-only']);
    assert.equal(s.status, 0, s.stderr);
    assert.match(s.stdout, /irc alice -> #ops: the archive is read-only/);
    const rep = asReader(['report', '--store', db, '--since', '2000-01-01', '--format', 'json']);
    assert.equal(rep.status, 0, rep.stderr);
    assert.ok(JSON.stringify(JSON.parse(rep.stdout)).includes('"irc"'), rep.stdout.slice(0, 400));
    const rules = asReader(['rules', '--store', db, '--format', 'iptables']);
    assert.equal(rules.status, 0, rules.stderr);
    assert.match(rules.stdout, /198\.51\.100\.7/, 'the observed IRC server is in the export');
    assert.equal(sha(db), before);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['archive.db', 'irc.pcap']);
  });

  it('with writes still in its -wal: one line naming the file and what to do, exit 2', () => {
    fs.chmodSync(dir, 0o755);
    fs.writeFileSync(`${db}-wal`, Buffer.alloc(4096, 1));
    fs.chmodSync(dir, 0o555);
    try {
      for (const args of [['search', '--store', db], ['rules', '--store', db, '--format', 'nftables']]) {
        const r = asReader(args);
        assert.equal(r.status, 2, `${args[0]}: ${r.stderr}`);
        const lines = r.stderr.trim().split('\n');
        assert.equal(lines.length, 1, r.stderr);
        assert.match(lines[0], /cannot open store .*archive\.db: it is read-only here and its last writes are still in .*archive\.db-wal.*copy it to a directory you can write/);
        assert.equal(r.stdout, '');
      }
    } finally {
      fs.chmodSync(dir, 0o755);
      fs.rmSync(`${db}-wal`);
      fs.chmodSync(dir, 0o555);
    }
  });
});
