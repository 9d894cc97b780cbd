// Hostile query strings against the real `shadowim serve`: every GET route with each of its parameters
// set to values a script or an attacker might send. None may answer 500 (a 500 is an unhandled path:
// the server log gets a stack, the client a useless answer).
import assert from 'node:assert/strict';
import { startServe, type Served } from './serve';
import { Client, makeFixture, PASSWORDS, type Fixture } from './setup';

const ROUTES: Array<[string, string[]]> = [
  ['/api/overview', ['range', 'from', 'to', 'sensor', 'bucket']],
  ['/api/report', ['range', 'from', 'to', 'sensor', 'format', 'top']],
  ['/api/alerts', ['kind', 'severity', 'protocol', 'acked', 'user', 'host', 'q', 'sort', 'order', 'limit', 'offset', 'range', 'from', 'to', 'sensor']],
  ['/api/alerts.csv', ['sort', 'q', 'range']],
  ['/api/sessions', ['range', 'from', 'to', 'user', 'host', 'protocol', 'limit', 'offset', 'sensor']],
  ['/api/users', ['range', 'protocol', 'sort', 'limit', 'offset', 'sensor']],
  ['/api/hosts', ['range', 'protocol', 'sort', 'limit', 'offset', 'sensor']],
  ['/api/messages', ['text', 'user', 'protocol', 'flow', 'range', 'limit', 'offset', 'order']],
  ['/api/messages.csv', ['text', 'user', 'range']],
  ['/api/files', ['range', 'from', 'to']],
  ['/api/delivery', ['state']],
  ['/api/rules', ['format', 'action']],
];

// prototype keys (a lookup table indexed with them finds Object.prototype's members), numbers out of
// range, FTS and LIKE syntax, unicode, NUL
const VALUES = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', '-1', '1e12', '-1e308', 'NaN', 'Infinity', '0x10', '"', "'", '%', '\\', '*', 'NEAR(', 'a OR', '\u202e\u200b', '\u0000', '😀'.repeat(100), 'x'.repeat(5000)];

describe('dashboard API with hostile query strings', function () {
  this.timeout(180000);
  let fx: Fixture;
  let srv: Served;
  let admin: Client;

  before(async () => {
    fx = await makeFixture();
    srv = await startServe(['--store', fx.store, '--quarantine', fx.quarantine]);
    admin = new Client(srv.url);
    assert.equal(await admin.login('admin', PASSWORDS.admin), 200);
  });
  after(async () => {
    await srv?.stop();
    fx?.cleanup();
  });

  it('answers every GET route with each parameter set to a hostile value without a 500', async () => {
    const failures: string[] = [];
    let n = 0;
    for (const [route, params] of ROUTES) {
      for (const p of params) {
        for (const v of VALUES) {
          const q = `${route}?${p}=${encodeURIComponent(v)}${route === '/api/rules' && p !== 'format' ? '&format=iptables' : ''}`;
          const r = await admin.req('GET', q);
          n++;
          if (r.status >= 500) failures.push(`${r.status} GET ${route}?${p}=${JSON.stringify(v).slice(0, 40)}`);
        }
        // the same parameter twice (express makes it an array) and as an object
        for (const q of [`${route}?${p}=1&${p}=2`, `${route}?${p}[a]=1`, `${route}?${p}[]=1`]) {
          const r = await admin.req('GET', q);
          n++;
          if (r.status >= 500) failures.push(`${r.status} GET ${q}`);
        }
      }
    }
    assert.deepEqual(failures, [], `${failures.length} of ${n} requests answered 5xx`);
    assert.doesNotMatch(srv.output(), /error: /, 'nothing reached the server log as an error');
  });

  it('sorts by the allowed keys and falls back to the default for any other, prototype keys included', async () => {
    const dflt = (await admin.req('GET', '/api/alerts')).json.rows.map((a: any) => a.id);
    assert.ok(dflt.length >= 3);
    for (const s of ['constructor', '__proto__', 'toString', 'nonsense']) {
      const r = await admin.req('GET', `/api/alerts?sort=${s}`);
      assert.equal(r.status, 200, `sort=${s}: ${r.text}`);
      assert.deepEqual(r.json.rows.map((a: any) => a.id), dflt, `sort=${s} orders as the default`);
      for (const route of ['/api/users?range=7d', '/api/hosts?range=7d']) {
        const u = await admin.req('GET', `${route}&sort=${s}`);
        assert.equal(u.status, 200, `${route} sort=${s}: ${u.text}`);
        assert.deepEqual(u.json, (await admin.req('GET', route)).json);
      }
    }
  });
});
