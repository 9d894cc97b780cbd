// The store worker (ThreadedSqliteSink): batches queued behind each other are committed together, yet an
// alert — and everything written before it — is in the file when write() returns, and close() leaves
// every event stored.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import Sqlite from 'better-sqlite3';
import type { ShadowEvent } from '../../common/events';
import { defaults } from '../../common/config';
import { openStore } from '../../storage/store';
import { ThreadedSqliteSink } from '../../storage/sqlite-thread';
import { searchMessages } from '../../storage/queries';

const T0 = Date.UTC(2024, 0, 15, 9);
const ep = (ip: string, port: number) => ({ ip, port });
const message = (i: number): ShadowEvent => ({ type: 'message', ts: new Date(T0 + i).toISOString(), protocol: 'irc', from: `u${i % 50}`, to: 'bob', text: `hello number${i}`, direction: 'outbound', client: ep('10.0.0.5', 4000), server: ep('198.51.100.7', 6667), flow_id: `f${i % 7}` });

/** what is written on stderr while f runs (the store's lines about a lock) */
async function stderrOf(f: () => Promise<void>): Promise<string> {
  const write = process.stderr.write;
  let out = '';
  (process.stderr as any).write = (s: any) => ((out += String(s)), true);
  try {
    await f();
  } finally {
    process.stderr.write = write;
  }
  return out;
}

describe('storage: the store worker', function () {
  this.timeout(120000);
  let tmp: string;
  before(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-thread-'))));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('an alert and all before it are committed when write() returns; close() stores the rest', async () => {
    const file = path.join(tmp, 't.db');
    const sink = new ThreadedSqliteSink({ file, sensor: 's', archive: defaults().archive, retentionDays: 0, synchronous: 'normal', batch: 100 });
    const reader = openStore(file, { readonly: true });
    const count = (t: string) => (reader.prepare(`SELECT count(*) AS n FROM ${t}`).get() as any).n;
    let written = 0;
    for (let round = 1; round <= 3; round++) {
      // many batches in a row: the worker reads them faster than it commits, so they coalesce
      for (let i = 0; i < 5000; i++) sink.write(message(written++));
      sink.write({ type: 'alert', ts: new Date(T0 + written).toISOString(), id: `a${round}`, kind: 'unauthorized_im', severity: 'high', protocol: 'irc', summary: 'x', users: ['u1'], count: 1 });
      assert.equal(count('alerts'), round, 'the alert is in the file when write() returns');
      assert.equal(count('messages'), written, 'and so is every message written before it');
      assert.equal(searchMessages(reader, { text: `number${written - 1}` }).total, 1, 'and in the full-text index');
    }
    for (let i = 0; i < 2500; i++) sink.write(message(written++));
    await sink.close();
    assert.equal(count('messages'), written);
    assert.equal(searchMessages(reader, { text: 'hello' }).total, written);
    reader.close();
  });
});

// Another connection holding the write lock past SQLite's 5 s busy timeout (an admin's sqlite3 shell,
// another writer) made the store's worker fail for good: every later event was dropped from the store
// and, the store being the first output, from stdout too.
describe('storage: a store locked by another connection', function () {
  this.timeout(120000);
  let tmp: string;
  before(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-locked-'))));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('once the lock is released, every event is stored and stdout got every event', async () => {
    const file = path.join(tmp, 'pipe.db');
    const r = spawnSync(process.execPath, ['--require', 'tsx/cjs', path.join(__dirname, 'fixtures', 'locked-store.ts'), file], { cwd: path.join(__dirname, '..', '..'), encoding: 'utf8', env: { ...process.env, SHADOWIM_CONFIG: '' } });
    assert.equal(r.status, 0, r.stderr);
    const printed = r.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.type === 'message').map((e) => e.text);
    assert.deepEqual(printed, Array.from({ length: 20 }, (_, i) => `message ${i}`));
    const db = openStore(file, { readonly: true });
    const stored = (db.prepare('SELECT text FROM messages ORDER BY id').all() as any[]).map((x) => x.text);
    db.close();
    assert.deepEqual(stored, printed);
    assert.match(r.stderr, /database is locked: another connection holds its write lock; events are kept/);
    assert.match(r.stderr, /written again, the lock released; no event was lost/);
  });

  it('a lock held past the limit is one line saying what to do; write() and close() then throw it', async () => {
    const file = path.join(tmp, 'held.db');
    const sink = new ThreadedSqliteSink({ file, sensor: 's', archive: defaults().archive, retentionDays: 0, synchronous: 'normal', busyLimitMs: 0 });
    // an alert returns once committed: the worker has the store open before the lock is taken
    sink.write({ type: 'alert', ts: new Date(T0).toISOString(), id: 'a0', kind: 'unauthorized_im', severity: 'high', protocol: 'irc', summary: 'x', users: ['u1'], count: 1 });
    const other = new Sqlite(file);
    other.exec('BEGIN IMMEDIATE');
    const err = await stderrOf(async () => {
      sink.write(message(0));
      // the worker tries for SQLite's busy timeout (5 s), then gives up
      let thrown: Error | undefined;
      for (let i = 0; i < 200 && !thrown; i++) {
        await new Promise((r) => setTimeout(r, 100));
        try {
          sink.write(message(i + 1));
        } catch (e) {
          thrown = e as Error;
        }
      }
      assert.match(String(thrown?.message), /^store .*held\.db: database is locked for over 0 s: another connection kept its write lock .* stop that program, then run again$/);
      await assert.rejects(sink.close(), /database is locked/);
    });
    other.exec('ROLLBACK');
    other.close();
    const lines = err.split('\n').filter((l) => l.includes('held.db'));
    assert.equal(lines.filter((l) => /nothing more is stored in this run/.test(l)).length, 1, err);
  });
});

// The worker's SqliteSink ran its own rollup timer (2 s) and hourly purge: a flush() from that timer
// while another connection held the lock threw SQLITE_BUSY after the 5 s busy timeout where nothing
// caught it; the worker died, the main thread recorded nothing (the cloned error has a code, no
// message), later writes went to a dead worker, close() resolved: events and rollups lost in silence.
describe('storage: the store worker drives its rollups and purge', function () {
  this.timeout(120000);
  let tmp: string;
  before(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-rolltimer-'))));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('a lock met by the rollup write (no event coming) is waited out: every event and its rollup counts are stored', async () => {
    const file = path.join(tmp, 'roll.db');
    let thrown: unknown;
    const err = await stderrOf(async () => {
      const sink = new ThreadedSqliteSink({ file, sensor: 's', archive: defaults().archive, retentionDays: 0, synchronous: 'normal' });
      for (let i = 0; i < 10; i++) sink.write(message(i));
      await new Promise((r) => setTimeout(r, 500)); // committed; the rollups are due 2 s after the sink opened
      const other = new Sqlite(file);
      other.exec('BEGIN IMMEDIATE');
      // the rollup write meets the lock at ~2 s and waits SQLite's 5 s busy timeout: SQLITE_BUSY at ~7 s
      await new Promise((r) => setTimeout(r, 9000));
      other.exec('COMMIT');
      other.close();
      try {
        for (let i = 10; i < 20; i++) sink.write(message(i));
        await sink.close();
      } catch (e) {
        thrown = e;
      }
    });
    assert.equal(thrown, undefined, err);
    const db = openStore(file, { readonly: true });
    const n = (db.prepare('SELECT count(*) AS n FROM messages').get() as any).n;
    const rolled = (db.prepare("SELECT sum(messages) AS n FROM rollup_1m WHERE dim = 0").get() as any).n;
    db.close();
    assert.equal(n, 20, err);
    assert.equal(rolled, 20, 'the rollups count every message');
    assert.match(err, /database is locked: another connection holds its write lock; events are kept/);
    assert.match(err, /written again, the lock released; no event was lost/);
  });

  it('a worker that dies is one line on stderr; write() and close() then throw (the run ends with exit 1)', async () => {
    const file = path.join(tmp, 'dies.db');
    const sink = new ThreadedSqliteSink({ file, sensor: 's', archive: defaults().archive, retentionDays: 0, synchronous: 'normal' });
    sink.write({ type: 'alert', ts: new Date(T0).toISOString(), id: 'a0', kind: 'unauthorized_im', severity: 'high', protocol: 'irc', summary: 'x', users: ['u1'], count: 1 });
    const err = await stderrOf(async () => {
      await (sink as any).worker.terminate(); // as if it had died (exit code 1)
      assert.throws(() => sink.write(message(1)), /: store .*dies\.db: the store writer stopped \(exit code 1\); nothing more is stored in this run/);
      await assert.rejects(sink.close(), /the store writer stopped/);
    });
    assert.equal(err.split('\n').filter((l) => /dies\.db: the store writer stopped \(exit code 1\)/.test(l)).length, 1, err);
  });

  it("a worker's error cloned without a message (an SQLite error: its code only) is said by its code", async () => {
    const file = path.join(tmp, 'code.db');
    const sink = new ThreadedSqliteSink({ file, sensor: 's', archive: defaults().archive, retentionDays: 0, synchronous: 'normal' });
    const err = await stderrOf(async () => {
      (sink as any).worker.emit('error', { code: 'SQLITE_BUSY' }); // what 'error' gets for an uncaught SqliteError
      assert.throws(() => sink.write(message(1)), /code\.db: SQLITE_BUSY; nothing more is stored in this run/);
      await assert.rejects(sink.close(), /SQLITE_BUSY/);
    });
    assert.match(err, /code\.db: SQLITE_BUSY; nothing more is stored in this run/);
  });
});
