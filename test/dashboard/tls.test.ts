// `shadowim serve --tls-cert --tls-key`: the console over HTTPS without a proxy. A certificate made here
// with openssl; the client trusts only it (no verification switched off). The session cookie is Secure,
// responses carry HSTS, plain HTTP to the port gets no console, and bad key material is one line.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import http from 'node:http';
import path from 'node:path';
import { makeFixture, PASSWORDS, type Fixture } from './setup';
import { startServe, type Served } from './serve';
import { shadowim } from '../helpers/run';
import { haveCommand } from '../helpers/netns';

interface Res { status: number; headers: http.IncomingHttpHeaders; body: string }

function request(url: string, ca: Buffer, o: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: o.method ?? 'GET', headers: o.headers, ca, servername: 'localhost' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(o.body);
  });
}

(haveCommand('openssl') ? describe : describe.skip)('dashboard over HTTPS (serve --tls-cert/--tls-key)', function () {
  this.timeout(120_000);
  let fx: Fixture;
  let srv: Served;
  let cert: Buffer;
  let certFile: string, keyFile: string;

  before(async () => {
    fx = await makeFixture();
    certFile = path.join(fx.dir, 'cert.pem');
    keyFile = path.join(fx.dir, 'key.pem');
    const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
      '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', keyFile, '-out', certFile], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    cert = fs.readFileSync(certFile);
    srv = await startServe(['--store', fx.store, '--tls-cert', certFile, '--tls-key', keyFile]);
  });
  after(async () => {
    await srv?.stop();
    fx?.cleanup();
  });

  it('prints an https URL; a login over TLS sets a Secure session cookie; responses carry HSTS; the API answers', async () => {
    assert.match(srv.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    // not logged in yet: 401, with the security headers all the same
    const pre = await request(`${srv.url}/api/session`, cert);
    assert.equal(pre.status, 401);
    assert.equal(pre.headers['strict-transport-security'], 'max-age=31536000');
    const csrf = JSON.parse(pre.body).csrf;
    const preCookie = (pre.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]).join('; ');
    const login = await request(`${srv.url}/api/login`, cert, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(csrf ? { 'x-csrf-token': csrf } : {}), ...(preCookie ? { cookie: preCookie } : {}) },
      body: JSON.stringify({ user: 'admin', password: PASSWORDS.admin }),
    });
    assert.equal(login.status, 200, login.body);
    const cookies = login.headers['set-cookie'] ?? [];
    assert.ok(cookies.length > 0);
    for (const c of cookies) assert.match(c, /;\s*Secure/i, `cookie without Secure: ${c}`);
    const alerts = await request(`${srv.url}/api/alerts`, cert, { headers: { cookie: cookies.map((c) => c.split(';')[0]).join('; ') } });
    assert.equal(alerts.status, 200, alerts.body);
    assert.ok(Array.isArray(JSON.parse(alerts.body).rows));
  });

  it('a client that does not trust the certificate is refused by TLS; plain HTTP to the port gets no console', async () => {
    await assert.rejects(request(`${srv.url}/api/session`, Buffer.from('')), /self.signed|certificate|unable to verify/i);
    const plain = await new Promise<string>((resolve) => {
      const req = http.get(srv.url.replace('https:', 'http:') + '/', (res) => {
        let b = '';
        res.on('data', (d) => (b += d));
        res.on('end', () => resolve(`status ${res.statusCode} ${b}`));
      });
      req.on('error', (e) => resolve(`error ${(e as NodeJS.ErrnoException).code ?? e.message}`));
      req.setTimeout(5000, () => req.destroy(new Error('timeout')));
    });
    assert.doesNotMatch(plain, /shadowim/i, plain.slice(0, 200));
  });

  it('bad key material or half a pair is one line saying what to give', () => {
    const one = (args: string[]) => {
      const r = shadowim(['serve', '--store', fx.store, '--port', '0', ...args]);
      assert.notEqual(r.status, 0);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      return lines[0];
    };
    assert.match(one(['--tls-cert', certFile]), /--tls-cert and --tls-key go together/);
    assert.match(one(['--tls-cert', certFile, '--tls-key', path.join(fx.dir, 'missing.pem')]), /cannot read the TLS key .*missing\.pem: no such file; give --tls-cert and --tls-key readable PEM files/);
    const other = path.join(fx.dir, 'other-key.pem');
    assert.equal(spawnSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-out', other]).status, 0);
    assert.match(one(['--tls-cert', certFile, '--tls-key', other]), /cannot use --tls-cert .* with --tls-key .*: .*\(PEM files, the key matching the certificate\)/);
    assert.match(one(['--tls-cert', keyFile, '--tls-key', keyFile]), /cannot use --tls-cert/);
  });
});
