// Login sessions kept in the store: they survive a restart of `shadowim serve`, end on logout, expiry,
// password/role changes and `shadowim user logout-all` (also from the CLI while the server runs), and
// the store holds only hashes of the cookies.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import { shadowim } from '../helpers/run';
import { startServe, type Served } from './serve';
import { Client, makeFixture, PASSWORDS, type Fixture } from './setup';

const HOUR = 3600_000;

/** The same browser (cookies, CSRF token) pointed at a restarted server's new port. */
function follow(c: Client, url: string): Client {
  const n = new Client(url);
  n.cookies = new Map(c.cookies);
  n.csrf = c.csrf;
  return n;
}

function loginRows(store: string, user?: string): Array<{ id_hash: string; user: string; created_ms: number; seen_ms: number }> {
  const { openStore } = require('../../storage/store') as typeof import('../../storage/store');
  const db = openStore(store);
  try {
    return (user ? db.prepare('SELECT * FROM dash_logins WHERE user = ?').all(user) : db.prepare('SELECT * FROM dash_logins').all()) as any[];
  } finally {
    db.close();
  }
}

const sha256 = (s: string) => crypto.createHash('sha256').update(s).digest('hex');

describe('dashboard login sessions in the store', function () {
  this.timeout(180000);
  let fx: Fixture;
  let srv: Served;

  before(async () => {
    fx = await makeFixture();
    srv = await startServe(['--store', fx.store]);
  });
  after(async () => {
    await srv?.stop();
    fx?.cleanup();
  });

  const restart = async () => {
    await srv.stop();
    srv = await startServe(['--store', fx.store]);
  };

  it('a login survives a restart: the cookie and its CSRF token still work', async () => {
    let analyst = new Client(srv.url);
    assert.equal(await analyst.login('analyst', PASSWORDS.analyst), 200);
    const csrf = analyst.csrf!;
    assert.equal((await analyst.req('GET', '/api/session')).json.csrf, csrf);
    await restart();
    analyst = follow(analyst, srv.url);
    const s = await analyst.req('GET', '/api/session');
    assert.equal(s.status, 200);
    assert.equal(s.json.user, 'analyst');
    assert.equal(s.json.role, 'analyst');
    assert.equal(s.json.csrf, csrf, 'the same CSRF token after the restart');
    const { rows } = (await analyst.req('GET', '/api/alerts?acked=false')).json;
    const id = rows[0].id;
    // the CSRF check still holds after the restart …
    assert.equal((await analyst.req('POST', `/api/alerts/${id}/ack`, { body: { note: 'x' }, csrf: null })).status, 403);
    assert.equal((await analyst.req('POST', `/api/alerts/${id}/ack`, { body: { note: 'x' }, csrf: 'A'.repeat(43) })).status, 403);
    assert.equal((await analyst.req('GET', `/api/alerts/${id}`)).json.alert.acked, false);
    // … and the token from before the restart passes it
    assert.equal((await analyst.req('POST', `/api/alerts/${id}/ack`, { body: { note: 'after restart' } })).status, 200);
    const a = (await analyst.req('GET', `/api/alerts/${id}`)).json.alert;
    assert.equal(a.acked, true);
    assert.equal(a.acked_by, 'analyst');
  });

  it('logout ends the stored session: its cookie is refused after a restart, other sessions go on', async () => {
    const gone = new Client(srv.url), kept = new Client(srv.url);
    assert.equal(await gone.login('viewer', PASSWORDS.viewer), 200);
    assert.equal(await kept.login('viewer', PASSWORDS.viewer), 200);
    const cookies = new Map(gone.cookies);
    assert.equal(loginRows(fx.store, 'viewer').length >= 2, true);
    const before = loginRows(fx.store, 'viewer').length;
    assert.equal((await gone.req('POST', '/api/logout', { body: {} })).status, 200);
    assert.equal(loginRows(fx.store, 'viewer').length, before - 1, 'logout deletes the row');
    await restart();
    const old = follow(gone, srv.url);
    old.cookies = cookies; // a copy of the cookie from before the logout
    assert.equal((await old.req('GET', '/api/session')).status, 401);
    assert.equal((await follow(kept, srv.url).req('GET', '/api/session')).status, 200);
  });

  it('the store holds neither session ids nor CSRF tokens, only SHA-256 of the ids', async () => {
    const c = new Client(srv.url);
    assert.equal(await c.login('admin', PASSWORDS.admin), 200);
    const cookie = c.cookies.get('sim_session')!;
    assert.match(cookie, /^[A-Za-z0-9_-]{43}$/);
    const rows = loginRows(fx.store, 'admin');
    assert.ok(rows.some((r) => r.id_hash === sha256(cookie)), 'the row is keyed by the hash of the cookie');
    // the database file and its WAL, byte for byte
    const files = [fx.store, `${fx.store}-wal`, `${fx.store}-shm`].filter((f) => fs.existsSync(f));
    const bytes = Buffer.concat(files.map((f) => fs.readFileSync(f)));
    assert.ok(bytes.includes(Buffer.from(sha256(cookie))), 'sanity: the hash is found where the rows are');
    for (const secret of [Buffer.from(cookie), Buffer.from(cookie, 'base64url'), Buffer.from(c.csrf!), Buffer.from(c.csrf!, 'base64url')]) {
      assert.equal(bytes.includes(secret), false, `found ${secret.length} bytes of a live secret in the store`);
    }
    // what a stolen store yields is no cookie
    const thief = new Client(srv.url);
    thief.cookies.set('sim_session', sha256(cookie));
    assert.equal((await thief.req('GET', '/api/session')).status, 401);
  });

  it('`user passwd` run while the server runs ends that user\'s stored sessions; other users keep theirs over a restart', async () => {
    shadowim(['user', 'add', 'fay', '--role', 'analyst', '--password-stdin', '--store', fx.store], { input: 'fay-password-123\n' });
    const fay = new Client(srv.url), gil = new Client(srv.url);
    assert.equal(await fay.login('fay', 'fay-password-123'), 200);
    assert.equal(await gil.login('analyst', PASSWORDS.analyst), 200);
    assert.equal(loginRows(fx.store, 'fay').length, 1);
    const r = shadowim(['user', 'passwd', 'fay', '--password-stdin', '--store', fx.store], { input: 'fay-password-456\n' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(loginRows(fx.store, 'fay').length, 0, 'the stored session is gone');
    assert.equal((await fay.req('GET', '/api/session')).status, 401);
    assert.equal((await gil.req('GET', '/api/session')).status, 200);
    await restart();
    assert.equal((await follow(fay, srv.url).req('GET', '/api/session')).status, 401);
    assert.equal((await follow(gil, srv.url).req('GET', '/api/session')).status, 200);
    // role change and deletion end the stored sessions too
    const fay2 = new Client(srv.url);
    assert.equal(await fay2.login('fay', 'fay-password-456'), 200);
    assert.equal(shadowim(['user', 'role', 'fay', 'viewer', '--store', fx.store]).status, 0);
    assert.equal(loginRows(fx.store, 'fay').length, 0);
    assert.equal(await fay2.login('fay', 'fay-password-456'), 200);
    assert.equal(shadowim(['user', 'del', 'fay', '--store', fx.store]).status, 0);
    assert.equal(loginRows(fx.store, 'fay').length, 0);
    assert.equal((await fay2.req('GET', '/api/session')).status, 401);
  });

  it('`user logout NAME` and `user logout-all` end sessions while the server runs', async () => {
    const a = new Client(srv.url), b = new Client(srv.url), c = new Client(srv.url);
    assert.equal(await a.login('viewer', PASSWORDS.viewer), 200);
    assert.equal(await b.login('analyst', PASSWORDS.analyst), 200);
    assert.equal(await c.login('admin', PASSWORDS.admin), 200);
    const one = shadowim(['user', 'logout', 'viewer', '--store', fx.store]);
    assert.equal(one.status, 0, one.stderr);
    assert.match(one.stdout, /ended \d+ dashboard sessions? of viewer/);
    assert.equal((await a.req('GET', '/api/session')).status, 401);
    assert.equal((await b.req('GET', '/api/session')).status, 200);
    assert.equal(shadowim(['user', 'logout', 'nobody', '--store', fx.store]).status, 2);
    const all = shadowim(['user', 'logout-all', '--store', fx.store]);
    assert.equal(all.status, 0, all.stderr);
    assert.match(all.stdout, /ended \d+ dashboard sessions?/);
    assert.equal((await b.req('GET', '/api/session')).status, 401);
    assert.equal((await c.req('GET', '/api/session')).status, 401);
    assert.equal(loginRows(fx.store).length, 0);
    assert.equal(await b.login('analyst', PASSWORDS.analyst), 200, 'logging in again works');
  });

  describe('expiry across restarts (the sessions\' clock injected)', () => {
    let clock = 0;
    const now = () => Date.now() + clock;
    let stop: (() => Promise<void>) | undefined;
    const { openStore } = require('../../storage/store') as typeof import('../../storage/store');
    const { createDashboard } = require('../../dashboard/server') as typeof import('../../dashboard/server');

    /** The dashboard in this process on a loopback port, on the fixture's store, with the clock above. */
    async function serve(): Promise<string> {
      await stop?.();
      const db = openStore(fx.store);
      const d = createDashboard({ db, storePath: fx.store, now });
      const server = d.app.listen(0, '127.0.0.1');
      await new Promise<void>((r) => server.once('listening', () => r()));
      stop = () =>
        new Promise<void>((r) => {
          server.close(() => {
            db.close();
            r();
          });
          server.closeAllConnections();
        });
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    }
    after(async () => stop?.());

    it('idle 8 h and 24 h absolute, counted over restarts; expired rows pruned at start', async () => {
      clock = 0;
      let url = await serve();
      let idle = new Client(url), busy = new Client(url);
      assert.equal(await idle.login('viewer', PASSWORDS.viewer), 200);
      assert.equal(await busy.login('analyst', PASSWORDS.analyst), 200);
      // 7 h 59 min later, after a restart: both still valid
      clock = 7 * HOUR + 59 * 60_000;
      url = await serve();
      idle = follow(idle, url);
      busy = follow(busy, url);
      assert.equal((await busy.req('GET', '/api/session')).status, 200);
      // 8 h 2 min: the idle one has expired (not seen since login); the busy one was seen at 7:59
      clock = 8 * HOUR + 2 * 60_000;
      url = await serve();
      idle = follow(idle, url);
      busy = follow(busy, url);
      assert.equal((await idle.req('GET', '/api/session')).status, 401, 'idle for more than 8 h');
      assert.equal((await busy.req('GET', '/api/session')).status, 200);
      for (const h of [15, 22]) {
        clock = h * HOUR;
        url = await serve();
        busy = follow(busy, url);
        assert.equal((await busy.req('GET', '/api/session')).status, 200, `used every 7 h: valid at ${h} h`);
      }
      assert.equal(loginRows(fx.store, 'analyst').length >= 1, true);
      // 24 h 1 min after the login: over, used or not; the row is pruned when the server starts
      clock = 24 * HOUR + 60_000;
      url = await serve();
      assert.equal(loginRows(fx.store).filter((r) => now() - r.created_ms > 24 * HOUR).length, 0, 'expired rows pruned at start');
      assert.equal((await follow(busy, url).req('GET', '/api/session')).status, 401);
    });

    it('`seen` is written at most once a minute per session', async () => {
      clock = 30 * HOUR;
      const url = await serve();
      const c = new Client(url);
      assert.equal(await c.login('viewer', PASSWORDS.viewer), 200);
      const hash = sha256(c.cookies.get('sim_session')!);
      const seen = () => loginRows(fx.store, 'viewer').find((r) => r.id_hash === hash)!.seen_ms;
      const t0 = seen();
      clock += 30_000;
      for (let i = 0; i < 20; i++) assert.equal((await c.req('GET', '/api/session')).status, 200);
      assert.equal(seen(), t0, 'not written within the minute');
      clock += 31_000;
      assert.equal((await c.req('GET', '/api/session')).status, 200);
      assert.ok(seen() >= t0 + 61_000, 'written once the minute is over');
    });
  });
});

describe('Sessions (the store-backed class)', () => {
  const { openStore } = require('../../storage/store') as typeof import('../../storage/store');
  const { Sessions } = require('../../dashboard/security') as typeof import('../../dashboard/security');
  let dir: string;
  before(() => (dir = fs.mkdtempSync(require('node:path').join(require('node:os').tmpdir(), 'shadowim-sess-'))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('keeps at most 10,000 sessions, dropping the least recently seen', function () {
    this.timeout(120000);
    const db = openStore(`${dir}/cap.db`);
    try {
      let t = 1_000_000;
      const s = new Sessions(db, () => t);
      db.prepare("INSERT INTO dash_users (name, role, pw_hash, created_ms, updated_ms) VALUES ('u', 'viewer', 'x', 0, 0)").run();
      const first = s.create('u', 'viewer');
      const second = s.create('u', 'viewer');
      db.transaction(() => {
        for (let i = 2; i < 10_000; i++) {
          t += 1;
          s.create('u', 'viewer');
        }
      })();
      assert.equal(s.size(), 10_000);
      t += 60_000;
      assert.ok(s.get(first.id), 'the first one, seen just now'); // its seen is the newest now
      const next = s.create('u', 'viewer');
      assert.ok(s.size() <= 10_000 && s.size() >= 9_000, `size ${s.size()}`);
      assert.ok(s.get(first.id), 'recently seen: kept');
      assert.ok(s.get(next.id));
      assert.equal(s.get(second.id), undefined, 'the least recently seen: dropped');
      const n = s.size();
      assert.equal(s.destroyAll(), n);
      assert.equal(s.size(), 0);
    } finally {
      db.close();
    }
  });
});
