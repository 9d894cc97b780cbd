// API tokens' last use: written to the store at most once a minute per token, so a client polling the
// API does not turn every read into a write, while `user tokens` stays right to the minute. The
// dashboard runs in this process with its clock injected; writes are counted by the store itself:
// SQLite's total_changes() on the dashboard's connection (rows written) and PRAGMA data_version seen
// from a second connection (commits).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { shadowim } from '../helpers/run';

describe('dashboard: API token last use is written at most once a minute', function () {
  this.timeout(60000);
  const { openStore } = require('../../storage/store') as typeof import('../../storage/store');
  const { createDashboard } = require('../../dashboard/server') as typeof import('../../dashboard/server');
  const { UserStore } = require('../../dashboard/auth') as typeof import('../../dashboard/auth');
  let dir: string, store: string, url: string, token: string;
  let db: import('better-sqlite3').Database, observer: import('better-sqlite3').Database;
  let server: import('node:http').Server;
  let clock = Date.UTC(2024, 0, 15, 9, 0);

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-tokens-'));
    store = path.join(dir, 'store.db');
    db = openStore(store);
    const users = new UserStore(db);
    users.add('siem', 'viewer', 'siem-pass-0123');
    token = users.newToken('siem', 'poller').token;
    server = createDashboard({ db, storePath: store, now: () => clock }).app.listen(0, '127.0.0.1');
    await new Promise<void>((r) => server.once('listening', () => r()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    observer = openStore(store, { readonly: true });
  });
  after(async () => {
    await new Promise<void>((r) => {
      server.close(() => r());
      server.closeAllConnections();
    });
    observer?.close();
    db?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const call = async () => {
    const r = await fetch(`${url}/api/alerts`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(r.status, 200);
    await r.arrayBuffer();
  };
  const rowsWritten = () => (db.prepare('SELECT total_changes() AS n').get() as { n: number }).n;
  const commits = () => observer.pragma('data_version', { simple: true }) as number;
  const lastUsed = () => (db.prepare('SELECT last_used_ms FROM dash_tokens').get() as { last_used_ms: number | null }).last_used_ms;

  it('100 calls in a row: one write (the first use); a call a minute after it writes again', async () => {
    assert.equal(lastUsed(), null);
    const rows0 = rowsWritten();
    let version = commits(), changed = 0;
    const t0 = clock;
    for (let i = 0; i < 100; i++) {
      clock = t0 + i * 500; // 100 calls over 49.5 s
      await call();
      const v = commits();
      if (v !== version) changed++;
      version = v;
    }
    assert.equal(rowsWritten() - rows0, 1, 'one row written for 100 calls');
    assert.equal(changed, 1, 'one commit for 100 calls');
    assert.equal(lastUsed(), t0);
    clock = t0 + 59_999;
    await call();
    assert.equal(lastUsed(), t0, 'not within the minute');
    clock = t0 + 60_000;
    await call();
    assert.equal(lastUsed(), t0 + 60_000, 'written once the minute is over');
    assert.equal(rowsWritten() - rows0, 2);
    // a clock set back by more than the interval is written too, not stuck until it catches up
    clock = t0 - 3600_000;
    await call();
    assert.equal(lastUsed(), t0 - 3600_000);
  });

  it('`user tokens` shows the last use to the minute', () => {
    const r = shadowim(['user', 'tokens', 'siem', '--store', store], { env: { SHADOWIM_CONFIG: '' } });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`siem +poller +created \\S+ +last used ${new Date(lastUsed()!).toISOString().replace(/\./g, '\\.')}\\n`));
  });
});
