// The dashboard over HTTP, as a script or an attacker would use it: the real `shadowim serve` on a
// loopback port over a store filled by `shadowim analyze --store`.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { shadowim } from '../helpers/run';
import { startServe, type Served } from './serve';
import { Client, makeFixture, PASSWORDS, type Fixture } from './setup';
import { FORMULA_TEXT, XSS_NICK } from './fixture';

/** Every API route the server has: the API router's routes plus those on the app under /api. */
function apiRoutes(store: string): Array<{ method: string; path: string }> {
  const { openStore } = require('../../storage/store') as typeof import('../../storage/store');
  const { createDashboard } = require('../../dashboard/server') as typeof import('../../dashboard/server');
  const db = openStore(store);
  try {
    const d = createDashboard({ db, storePath: store });
    const out: Array<{ method: string; path: string }> = [];
    const collect = (stack: any[], prefix: string) => {
      for (const layer of stack) {
        if (!layer.route) continue;
        for (const m of Object.keys(layer.route.methods)) if (m !== '_all') out.push({ method: m.toUpperCase(), path: prefix + layer.route.path });
      }
    };
    collect((d.api as any).stack, '/api');
    collect((d.app as any).router.stack.filter((l: any) => l.route && String(l.route.path).startsWith('/api')), '');
    return out;
  } finally {
    db.close();
  }
}

const concrete = (p: string) => p.replace(/:(\w+)/g, 'x').replace(/\*\w+/g, 'x');

describe('dashboard HTTP API', function () {
  this.timeout(120000);
  let fx: Fixture;
  let srv: Served;
  let admin: Client, analyst: Client, viewer: Client;

  before(async () => {
    fx = await makeFixture();
    srv = await startServe(['--store', fx.store, '--trust-proxy', 'loopback', '--quarantine', fx.quarantine]);
    admin = new Client(srv.url);
    analyst = new Client(srv.url);
    viewer = new Client(srv.url);
    assert.equal(await admin.login('admin', PASSWORDS.admin), 200);
    assert.equal(await analyst.login('analyst', PASSWORDS.analyst), 200);
    assert.equal(await viewer.login('viewer', PASSWORDS.viewer), 200);
  });
  after(async () => {
    await srv?.stop();
    fx?.cleanup();
  });

  it('refuses every API route without a login (401), enumerated from the router', async () => {
    const routes = apiRoutes(fx.store);
    assert.ok(routes.length >= 20, `only ${routes.length} routes found`);
    const anon = new Client(srv.url);
    for (const r of routes) {
      if (r.method === 'POST' && r.path === '/api/login') continue; // the one door in; tested below
      const res = await anon.req(r.method, concrete(r.path), { body: r.method === 'GET' ? undefined : {} });
      assert.equal(res.status, 401, `${r.method} ${r.path} answered ${res.status} without a login`);
      assert.ok(!/sensitive|6467|svg/.test(res.text), `${r.path} leaked data`);
    }
    // an unknown API path and a bad token as well
    assert.equal((await anon.req('GET', '/api/nope')).status, 401);
    assert.equal((await anon.req('GET', '/api/alerts', { headers: { authorization: 'Bearer sim_000000000000_' + 'A'.repeat(43) } })).status, 401);
    assert.equal((await admin.req('GET', '/api/nope')).status, 404);
  });

  it('sends security headers: CSP without inline script, nosniff, frame-ancestors, referrer policy', async () => {
    for (const p of ['/', '/api/session', '/app.js']) {
      const r = await viewer.req('GET', p);
      const csp = r.headers.get('content-security-policy') ?? '';
      assert.match(csp, /script-src 'self'(;|$)/, p);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
      assert.match(csp, /frame-ancestors 'none'/);
      assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(r.headers.get('x-frame-options'), 'DENY');
      assert.equal(r.headers.get('referrer-policy'), 'no-referrer');
      assert.equal(r.headers.get('x-powered-by'), null);
    }
    const html = (await viewer.req('GET', '/')).text;
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/i, 'no inline script in the page');
    assert.equal((await viewer.req('GET', '/api/alerts')).headers.get('cache-control'), 'no-store');
    // chart.js is served from the local install, not a CDN
    const cj = await viewer.req('GET', '/vendor/chart.umd.js');
    assert.equal(cj.status, 200);
    assert.match(cj.text.slice(0, 300), /Chart\.js/);
  });

  it('the console code never turns data into HTML (no innerHTML and friends, no inline handlers)', () => {
    const dir = path.join(__dirname, '..', '..', 'dashboard', 'public');
    const files: string[] = [];
    const walk = (d: string) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) e.isDirectory() ? walk(path.join(d, e.name)) : files.push(path.join(d, e.name));
    };
    walk(dir);
    assert.ok(files.filter((f) => f.endsWith('.js')).length >= 10);
    for (const f of files) {
      const text = fs.readFileSync(f, 'utf8');
      assert.doesNotMatch(text, /innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function\(/, f);
      if (f.endsWith('.html')) assert.doesNotMatch(text, /\son[a-z]+=|style=/i, f);
    }
  });

  it('session cookie: HttpOnly, SameSite=Strict; Secure only behind TLS (X-Forwarded-Proto from a trusted proxy)', async () => {
    const plain = new Client(srv.url);
    const pre = await plain.req('GET', '/api/session');
    const r = await plain.req('POST', '/api/login', { body: { user: 'viewer', password: PASSWORDS.viewer }, csrf: pre.json.csrf });
    assert.equal(r.status, 200);
    const c = r.setCookies.find((x) => x.startsWith('sim_session='))!;
    assert.match(c, /HttpOnly/);
    assert.match(c, /SameSite=Strict/);
    assert.doesNotMatch(c, /Secure/);
    const tls = new Client(srv.url, { 'x-forwarded-proto': 'https' });
    const pre2 = await tls.req('GET', '/api/session');
    assert.match(pre2.setCookies.join('\n'), /sim_csrf=[^;]+;.*Secure/);
    const r2 = await tls.req('POST', '/api/login', { body: { user: 'viewer', password: PASSWORDS.viewer }, csrf: pre2.json.csrf });
    assert.match(r2.setCookies.find((x) => x.startsWith('sim_session='))!, /; Secure/);
    // logout ends the session
    assert.equal((await plain.req('POST', '/api/logout', { body: {}, csrf: r.json.csrf })).status, 200);
    assert.equal((await plain.req('GET', '/api/alerts')).status, 401);
  });

  it('refuses state changes without the CSRF token; API tokens (Bearer) are exempt', async () => {
    const { rows } = (await analyst.req('GET', '/api/alerts?kind=sensitive_data&acked=false')).json;
    assert.equal(rows.length, 1);
    const id = rows[0].id;
    assert.equal((await analyst.req('POST', `/api/alerts/${id}/ack`, { body: { note: 'x' }, csrf: null })).status, 403);
    assert.equal((await analyst.req('POST', `/api/alerts/${id}/ack`, { body: { note: 'x' }, csrf: 'wrong-token' })).status, 403);
    assert.equal((await analyst.req('GET', `/api/alerts/${id}`)).json.alert.acked, false);
    // login itself needs the pre-login token (double submit)
    const anon = new Client(srv.url);
    await anon.req('GET', '/api/session');
    assert.equal((await anon.req('POST', '/api/login', { body: { user: 'viewer', password: PASSWORDS.viewer }, csrf: null })).status, 403);
    // with the token it works
    const ok = await analyst.req('POST', `/api/alerts/${id}/ack`, { body: { note: 'card number, called the user' } });
    assert.equal(ok.status, 200);
    const a = (await analyst.req('GET', `/api/alerts/${id}`)).json.alert;
    assert.equal(a.acked, true);
    assert.equal(a.acked_by, 'analyst');
    assert.equal(a.ack_note, 'card number, called the user');
    // a token from `shadowim user token` works without cookies or CSRF
    const t = shadowim(['user', 'token', 'analyst', '--label', 'siem', '--store', fx.store]);
    assert.equal(t.status, 0, t.stderr);
    const token = t.stdout.trim();
    assert.match(token, /^sim_[0-9a-f]{12}_/);
    const bearer = new Client(srv.url, { authorization: `Bearer ${token}` });
    assert.equal((await bearer.req('POST', `/api/alerts/${id}/unack`, { body: {} })).status, 200);
    assert.equal((await bearer.req('GET', `/api/alerts/${id}`)).json.alert.acked, false);
    // stored hashed: the token text is nowhere in the store
    const { openStore } = require('../../storage/store') as typeof import('../../storage/store');
    const db = openStore(fx.store);
    const rowsT = db.prepare('SELECT * FROM dash_tokens').all();
    db.close();
    assert.ok(!JSON.stringify(rowsT).includes(token.slice(18)));
  });

  it('roles: a viewer gets alerts and session metadata but no message text (403), no admin pages', async () => {
    assert.equal((await viewer.req('GET', '/api/messages')).status, 403);
    assert.equal((await viewer.req('GET', '/api/messages.csv')).status, 403);
    assert.equal((await viewer.req('GET', '/api/files')).status, 403);
    const { rows } = (await viewer.req('GET', '/api/alerts?kind=sensitive_data')).json;
    const d = (await viewer.req('GET', `/api/alerts/${rows[0].id}`)).json;
    assert.ok(d.messages.length >= 3);
    for (const m of d.messages) {
      assert.equal(m.text, null);
      assert.equal(m.text_hidden, true);
    }
    assert.equal((await viewer.req('POST', `/api/alerts/${rows[0].id}/ack`, { body: {} })).status, 403);
    assert.equal((await viewer.req('GET', `/api/alerts/${rows[0].id}/pcap`)).status, 403);
    for (const p of ['/api/rules?format=iptables', '/api/rules/formats', '/api/policy', '/api/admin/users']) assert.equal((await viewer.req('GET', p)).status, 403, p);
    assert.equal((await analyst.req('GET', '/api/rules?format=iptables')).status, 403);
    const m = (await analyst.req('GET', '/api/messages?range=1d')).json;
    assert.equal(m.total, 4);
    assert.ok(m.rows.some((x: any) => x.from === XSS_NICK));
  });

  it('CSV exports neutralize spreadsheet formulas', async () => {
    const r = await analyst.req('GET', '/api/messages.csv?range=1d');
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /text\/csv/);
    assert.ok(r.text.includes(`"'=HYPERLINK(""http://evil.example/"",""click"")"`), r.text);
    assert.ok(!r.text.split('\r\n').some((line) => line.split(',').some((cell) => cell.startsWith('=') || cell.startsWith('"='))));
    void FORMULA_TEXT;
    const a = await viewer.req('GET', '/api/alerts.csv');
    assert.equal(a.status, 200);
    assert.match(a.text, /^id,first_seen,last_seen/);
  });

  it('evidence: the alert\'s flow as a pcap with exactly that flow\'s packets (capinfos/tshark agree)', async () => {
    const { rows } = (await analyst.req('GET', '/api/alerts?kind=sensitive_data')).json;
    const r = await analyst.req('GET', `/api/alerts/${rows[0].id}/pcap`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers.get('content-type'), 'application/vnd.tcpdump.pcap');
    const out = path.join(fx.dir, 'evidence.pcap');
    fs.writeFileSync(out, r.buf);
    const count = Number(/Number of packets:\s+(\d+)/.exec(execFileSync('capinfos', ['-c', out], { encoding: 'utf8' }))![1]);
    assert.equal(count, fx.flowAPackets);
    const total = Number(/Number of packets:\s+(\d+)/.exec(execFileSync('capinfos', ['-c', fx.pcap], { encoding: 'utf8' }))![1]);
    assert.ok(total > count, 'the capture holds other packets too');
    // every packet is the flow's, either direction
    const ports = execFileSync('tshark', ['-r', out, '-T', 'fields', '-e', 'tcp.srcport', '-e', 'tcp.dstport'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().split('\n');
    assert.equal(ports.length, fx.flowAPackets);
    for (const l of ports) assert.deepEqual(l.split('\t').sort(), ['40001', '6667']);
    // the session route gives the same packets
    const sess = (await analyst.req('GET', `/api/alerts/${rows[0].id}`)).json.sessions[0];
    assert.equal(sess.pcap, true);
    const r2 = await analyst.req('GET', `/api/sessions/${sess.id}/pcap`);
    assert.ok(r2.buf.equals(r.buf));
  });

  it('files: the quarantine listed for analysts and downloaded as an attachment; not for viewers', async () => {
    const l = (await analyst.req('GET', '/api/files')).json;
    assert.equal(l.source, 'quarantine');
    assert.equal(l.rows.length, 1);
    assert.equal(l.rows[0].sha256, fx.carved.sha256);
    const d = await analyst.req('GET', `/api/files/${fx.carved.sha256}/download`);
    assert.equal(d.status, 200);
    assert.ok(d.buf.equals(fx.carved.bytes));
    assert.equal(d.headers.get('content-type'), 'application/octet-stream');
    assert.match(d.headers.get('content-disposition') ?? '', /^attachment; filename="[\w.-]+"$/);
    assert.equal((await analyst.req('GET', '/api/files/..%2F..%2Fetc%2Fpasswd/download')).status, 400);
    assert.equal((await analyst.req('GET', '/api/files/not-a-hash/download')).status, 400);
    assert.equal((await viewer.req('GET', `/api/files/${fx.carved.sha256}/download`)).status, 403);
  });

  it('evidence of a live session: 404 with the reason', async () => {
    const r = await analyst.req('GET', '/api/alerts/live-alert-0001/pcap');
    assert.equal(r.status, 404);
    assert.match(r.json.error, /packets of live sessions are not kept/);
  });

  it('overview, users, hosts, sensors answer from the store', async () => {
    const o = (await viewer.req('GET', '/api/overview?range=24h')).json;
    assert.equal(o.totals.irc.sessions, 2);
    assert.equal(o.totals.irc.messages, 4);
    assert.ok(o.unauthorized.reduce((a: number, p: any) => a + p.count, 0) >= 2);
    assert.equal(o.severity.critical.alerts, 1);
    const u = (await viewer.req('GET', '/api/users?range=1d')).json.rows;
    assert.ok(u.some((x: any) => x.name === XSS_NICK && x.protocol === 'irc'));
    const h = (await viewer.req('GET', '/api/hosts?range=1d')).json.rows;
    assert.deepEqual(h.filter((x: any) => x.protocol === 'irc').map((x: any) => x.name).sort(), ['10.0.0.5', '10.0.0.9']);
    const s = (await viewer.req('GET', '/api/sensors')).json.rows;
    const ts = s.find((x: any) => x.name === 'test-sensor');
    assert.equal(ts.packets, 21);
    assert.equal((await viewer.req('GET', '/api/overview?range=banana')).status, 400);
  });

  it('admin: rules preview/download per format, policy check with the error line', async () => {
    const f = (await admin.req('GET', '/api/rules/formats')).json.formats;
    assert.ok(f.some((x: any) => x.id === 'nftables'));
    const r = (await admin.req('GET', '/api/rules?format=iptables')).json;
    assert.match(r.text, /shadowim firewall export/);
    assert.match(r.text, /198\.51\.100\.7/, 'the observed IRC server is in the rules');
    const d = await admin.req('GET', '/api/rules/download?format=nftables');
    assert.match(d.headers.get('content-disposition') ?? '', /attachment; filename="shadowim-nftables.rules"/);
    assert.equal((await admin.req('GET', '/api/rules?format=nope')).status, 400);
    const good = (await admin.req('POST', '/api/policy/check', { body: { text: 'version: 1\ngroups:\n  eng:\n    networks: [10.0.0.0/8]\n    allow:\n      - protocols: [xmpp]\n' } })).json;
    assert.equal(good.ok, true, JSON.stringify(good));
    assert.match(good.explanation, /eng/);
    assert.match(good.explanation, /^Policy policy\.yaml: valid/, 'the name given, not the server path');
    const empty = (await admin.req('POST', '/api/policy/check', { body: { text: ' \n' } })).json;
    assert.deepEqual(empty, { ok: false, error: 'nothing to check: paste a policy (analyzer/policy.example.yaml is an annotated one)', line: null });
    const bad = (await admin.req('POST', '/api/policy/check', { body: { text: 'version: 1\ngroups:\n  eng:\n    networks: [10.0.0.0/8]\n    colour: blue\n' } })).json;
    assert.equal(bad.ok, false);
    assert.equal(bad.line, 5);
    assert.match(bad.error, /colour/);
    assert.equal((await admin.req('POST', '/api/policy/check', { body: { text: 'x' }, csrf: null })).status, 403);
    // a pasted policy cannot read other files of the server through people.csv or people.ldif
    for (const key of ['csv', 'ldif']) {
      for (const p of ['/etc/passwd', '../../../../etc/passwd', '[ok.ldif, /etc/shadow]']) {
        const r = (await admin.req('POST', '/api/policy/check', { body: { text: `version: 1\npeople:\n  ${key}: ${p}\n` } })).json;
        assert.equal(r.ok, false);
        assert.match(r.error, new RegExp(`^people\\.${key} '.*': .*may only name files in the policy's own directory`));
      }
    }
    // nor through the name it is checked under: '.' or '..' would resolve its paths a level or two up
    const up = path.basename(process.cwd()); // the server's cwd is the policy's directory here
    for (const name of ['.', '..', '']) {
      const r = (await admin.req('POST', '/api/policy/check', { body: { name, text: `version: 1\npeople:\n  csv: ${up}/package.json\n` } })).json;
      assert.equal(r.ok, false, JSON.stringify(r));
      assert.match(r.error, /cannot read people CSV '.*package\.json': no such file; the path is relative to the policy file$/, `name ${JSON.stringify(name)}: ${r.error}`);
    }
    const users = (await admin.req('GET', '/api/admin/users')).json.rows.map((x: any) => x.name);
    assert.deepEqual(users, ['admin', 'analyst', 'limited', 'viewer']);
    assert.ok(!JSON.stringify((await admin.req('GET', '/api/admin/users')).json).includes('scrypt$'));
  });

  it('rate-limits logins per user and per address (5 failures, then locked out with Retry-After)', async () => {
    // through the trusted proxy each "client" has its own address
    const c = new Client(srv.url, { 'x-forwarded-for': '192.0.2.10' });
    for (let i = 0; i < 5; i++) assert.equal(await c.login('limited', 'wrong password ' + i), 401);
    const pre = await c.req('GET', '/api/session');
    const locked = await c.req('POST', '/api/login', { body: { user: 'limited', password: PASSWORDS.limited }, csrf: pre.json.csrf });
    assert.equal(locked.status, 429);
    assert.ok(Number(locked.headers.get('retry-after')) >= 1);
    // the user is locked from another address too
    const other = new Client(srv.url, { 'x-forwarded-for': '192.0.2.11' });
    assert.equal(await other.login('limited', PASSWORDS.limited), 429);
    // an address that guessed at many names is locked for every name
    const spray = new Client(srv.url, { 'x-forwarded-for': '192.0.2.12' });
    for (let i = 0; i < 5; i++) assert.equal(await spray.login('nobody' + i, 'x'), 401);
    assert.equal(await spray.login('viewer', PASSWORDS.viewer), 429);
    // guesses sent in parallel are not all checked before the lockout: at most 5 get an answer
    const par = new Client(srv.url, { 'x-forwarded-for': '192.0.2.14' });
    const pre2 = await par.req('GET', '/api/session');
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => par.req('POST', '/api/login', { body: { user: 'admin', password: 'parallel guess ' + i }, csrf: pre2.json.csrf })));
    const checked = answers.filter((a) => a.status === 401).length;
    assert.ok(checked >= 1 && checked <= 5, `${checked} guesses checked`);
    assert.ok(answers.every((a) => a.status === 401 || a.status === 429));
    // others are unaffected
    assert.equal(await new Client(srv.url, { 'x-forwarded-for': '192.0.2.13' }).login('viewer', PASSWORDS.viewer), 200);
  });
});

describe('shadowim user', function () {
  this.timeout(60000);
  let fx: Fixture;
  before(async () => (fx = await makeFixture()));
  after(() => fx?.cleanup());

  it('adds, lists, changes and deletes users; passwords hashed with scrypt and a per-user salt', () => {
    const add = shadowim(['user', 'add', 'dana', '--role', 'analyst', '--password-stdin', '--store', fx.store], { input: 'correct horse battery\n' });
    assert.equal(add.status, 0, add.stderr);
    const list = shadowim(['user', 'list', '--format', 'json', '--store', fx.store]);
    const dana = JSON.parse(list.stdout).find((u: any) => u.name === 'dana');
    assert.equal(dana.role, 'analyst');
    const { openStore } = require('../../storage/store') as typeof import('../../storage/store');
    const db = openStore(fx.store);
    const hashes = (db.prepare('SELECT pw_hash FROM dash_users').all() as any[]).map((r) => r.pw_hash);
    db.close();
    assert.ok(hashes.every((h) => /^scrypt\$\d+\$8\$1\$/.test(h)));
    assert.equal(new Set(hashes.map((h) => h.split('$')[4])).size, hashes.length, 'salts differ');
    assert.ok(!hashes.some((h) => h.includes('correct horse')));
    const dup = shadowim(['user', 'add', 'dana', '--role', 'viewer', '--password-stdin', '--store', fx.store], { input: 'another password 1\n' });
    assert.equal(dup.status, 2);
    assert.match(dup.stderr, /already exists/);
    assert.doesNotMatch(dup.stderr, /\n\s+at /);
    const weak = shadowim(['user', 'add', 'eve', '--role', 'viewer', '--password-stdin', '--store', fx.store], { input: 'short\n' });
    assert.equal(weak.status, 2);
    assert.match(weak.stderr, /too short/);
    const badRole = shadowim(['user', 'add', 'eve', '--role', 'root', '--password-stdin', '--store', fx.store], { input: 'long enough pw\n' });
    assert.match(badRole.stderr, /role must be one of viewer, analyst, admin/);
    // a mistake creates no store file
    const fresh = path.join(fx.dir, 'fresh.db');
    assert.equal(shadowim(['user', 'add', 'eve', '--role', 'root', '--password-stdin', '--store', fresh], { input: 'long enough pw\n' }).status, 2);
    assert.equal(shadowim(['user', 'add', 'eve', '--role', 'viewer', '--password-stdin', '--store', fresh], { input: 'short\n' }).status, 2);
    assert.equal(fs.existsSync(fresh), false);
    assert.equal(shadowim(['user', 'passwd', 'dana', '--password-stdin', '--store', fx.store], { input: 'new password 1234\n' }).status, 0);
    assert.equal(shadowim(['user', 'role', 'dana', 'admin', '--store', fx.store]).status, 0);
    assert.equal(shadowim(['user', 'del', 'dana', '--store', fx.store]).status, 0);
    assert.ok(!shadowim(['user', 'list', '--store', fx.store]).stdout.includes('dana'));
  });

  it('a password or role change, or deleting the user, ends that user\'s running sessions', async () => {
    shadowim(['user', 'add', 'fay', '--role', 'analyst', '--password-stdin', '--store', fx.store], { input: 'fay-password-123\n' });
    shadowim(['user', 'add', 'gil', '--role', 'analyst', '--password-stdin', '--store', fx.store], { input: 'gil-password-123\n' });
    const srv = await startServe(['--store', fx.store]);
    try {
      const fay = new Client(srv.url), gil = new Client(srv.url);
      assert.equal(await fay.login('fay', 'fay-password-123'), 200);
      assert.equal(await gil.login('gil', 'gil-password-123'), 200);
      await new Promise((r) => setTimeout(r, 5));
      assert.equal(shadowim(['user', 'role', 'fay', 'viewer', '--store', fx.store]).status, 0);
      assert.equal((await fay.req('GET', '/api/messages')).status, 401, 'logged out after the role change');
      assert.equal(await fay.login('fay', 'fay-password-123'), 200);
      assert.equal((await fay.req('GET', '/api/messages')).status, 403, 'now a viewer');
      assert.equal((await gil.req('GET', '/api/messages')).status, 200);
      assert.equal(shadowim(['user', 'del', 'gil', '--store', fx.store]).status, 0);
      assert.equal((await gil.req('GET', '/api/messages')).status, 401);
    } finally {
      await srv.stop();
    }
  });

  it('serve without a store says how to make one', () => {
    const r = shadowim(['serve', '--store', path.join(fx.dir, 'missing.db'), '--port', '0']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /no store at .*shadowim analyze CAPTURE --store/);
  });
});

describe('dashboard: alert delivery page data (the sinks outbox)', function () {
  this.timeout(60000);
  let fx: Fixture;
  let srv: Served;
  before(async () => {
    fx = await makeFixture();
    // the outbox as the sinks module creates it, in the same store
    const { openOutbox } = require('../../outputs/sinks/outbox') as typeof import('../../outputs/sinks/outbox');
    const db = openOutbox(fx.store);
    const ins = db.prepare('INSERT INTO alert_outbox (alert_id, sink, alert, state, attempts, next_at, created_at, updated_at, last_error) VALUES (?,?,?,?,?,?,?,?,?)');
    const now = Date.now();
    ins.run('a1', 'siem-syslog', JSON.stringify({ kind: 'unauthorized_im', severity: 'high', summary: 'x' }), 'delivered', 1, now, now, now, null);
    ins.run('a2', 'siem-syslog', JSON.stringify({ kind: 'sensitive_data', severity: 'critical', summary: '<b>y</b>' }), 'dead', 8, now, now, now, 'connection refused');
    ins.run('a3', 'webhook', JSON.stringify({ kind: 'sensitive_data', severity: 'critical', summary: 'z' }), 'pending', 2, now + 60000, now, now, 'HTTP 503');
    db.close();
    srv = await startServe(['--store', fx.store]);
  });
  after(async () => {
    await srv?.stop();
    fx?.cleanup();
  });

  it('shows pending and dead-lettered alerts per sink; only an admin requeues', async () => {
    const v = new Client(srv.url);
    assert.equal(await v.login('viewer', PASSWORDS.viewer), 200);
    const d = (await v.req('GET', '/api/delivery')).json;
    assert.equal(d.available, true);
    assert.deepEqual(d.summary.map((s: any) => `${s.sink}/${s.state}/${s.count}`), ['siem-syslog/dead/1', 'siem-syslog/delivered/1', 'webhook/pending/1']);
    assert.equal(d.rows.find((r: any) => r.alert_id === 'a2').last_error, 'connection refused');
    assert.equal((await v.req('POST', '/api/delivery/retry', { body: {} })).status, 403);
    const a = new Client(srv.url);
    assert.equal(await a.login('admin', PASSWORDS.admin), 200);
    assert.equal((await a.req('POST', '/api/delivery/retry', { body: {} })).json.retried, 1);
    const after = (await a.req('GET', '/api/delivery?state=dead')).json.rows;
    assert.equal(after.length, 0);
  });
});

describe('dashboard: an outbox kept outside the store (sinks.delivery.outbox)', function () {
  this.timeout(60000);
  let fx: Fixture;
  let srv: Served;
  before(async () => {
    fx = await makeFixture();
    const outbox = path.join(fx.dir, 'outbox.db');
    const cfg = path.join(fx.dir, 'shadowim.yaml');
    fs.writeFileSync(cfg, `sinks:\n  targets:\n    - name: soc\n      type: webhook\n      url: http://127.0.0.1:9/hook\n  delivery:\n    outbox: outbox.db\n`);
    const { openOutbox } = require('../../outputs/sinks/outbox') as typeof import('../../outputs/sinks/outbox');
    const db = openOutbox(outbox);
    const now = Date.now();
    db.prepare('INSERT INTO alert_outbox (alert_id, sink, alert, state, attempts, next_at, created_at, updated_at, last_error) VALUES (?,?,?,?,?,?,?,?,?)').run('b1', 'soc', '{}', 'dead', 12, now, now, now, 'HTTP 500');
    db.close();
    srv = await startServe(['--store', fx.store, '--config', cfg]);
  });
  after(async () => {
    await srv?.stop();
    fx?.cleanup();
  });

  it('reads the configured outbox file', async () => {
    const v = new Client(srv.url);
    assert.equal(await v.login('viewer', PASSWORDS.viewer), 200);
    const d = (await v.req('GET', '/api/delivery')).json;
    assert.equal(d.available, true);
    assert.deepEqual(d.summary.map((s: any) => `${s.sink}/${s.state}/${s.count}`), ['soc/dead/1']);
  });
});
