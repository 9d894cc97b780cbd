// `shadowim serve --demo` (what `npm start` runs): demo data generated through the analyzer and the store
// sink, marked as demo, a fresh one-time admin password on every start, never a fixed one.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { startServe } from './serve';
import { Client } from './setup';

describe('serve --demo', function () {
  this.timeout(180000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-demo-'));
  const store = path.join(dir, 'demo.db');
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('generates a demo store, prints the URL, a one-time password and how to use real data', async () => {
    const a = await startServe(['--demo', '--store', store]);
    let pw1: string;
    try {
      const out = a.output();
      assert.match(out, /DEMO DATA/);
      assert.match(out, /shadowim analyze FILE\.pcap --store/);
      assert.match(out, /shadowim sensor --interface/);
      pw1 = a.password!;
      assert.ok(pw1 && pw1.length >= 12);
      const c = new Client(a.url);
      assert.equal(await c.login('admin', 'admin'), 401, 'no default password');
      assert.equal(await c.login('admin', pw1), 200);
      const s = (await c.req('GET', '/api/session')).json;
      assert.equal(s.demo, true);
      const o = (await c.req('GET', '/api/overview?range=7d')).json;
      const protos = Object.keys(o.totals);
      assert.ok(protos.length >= 8, protos.join(','));
      assert.ok(o.totals.irc.messages > 0 && o.totals.whatsapp.sessions > 0);
      // alerts come from the real analyzer: unauthorized use, DLP (redacted), credentials
      const kinds = new Set((await c.req('GET', '/api/alerts?limit=1000&acked=false')).json.rows.map((r: any) => r.kind));
      for (const k of ['unauthorized_im', 'sensitive_data', 'cleartext_credentials']) assert.ok(kinds.has(k), k);
      const dlp = (await c.req('GET', '/api/alerts?kind=sensitive_data&limit=1000')).json.rows;
      assert.ok(dlp.every((r: any) => !/\d{13,}/.test(r.summary.replace(/[ -]/g, ''))), 'card numbers redacted');
      assert.equal((await c.req('GET', '/api/sensors')).json.rows.length, 3);
      // the demo capture went through the real analyze: its card alert has the flow's packets as evidence
      const card = (await c.req('GET', '/api/alerts?kind=sensitive_data&q=%23ops&acked=')).json.rows[0];
      assert.ok(card, 'the alert from the demo capture');
      const det = (await c.req('GET', `/api/alerts/${card.id}`)).json;
      assert.equal(det.sessions[0].pcap, true);
      const pcap = await c.req('GET', `/api/alerts/${card.id}/pcap`);
      assert.equal(pcap.status, 200);
      const evFile = path.join(dir, 'ev.pcap');
      fs.writeFileSync(evFile, pcap.buf);
      const got = execFileSync('tshark', ['-r', evFile], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().split('\n').length;
      const port = det.sessions[0].client.port;
      const want = execFileSync('tshark', ['-r', path.join(dir, 'demo.pcap'), '-Y', `tcp.port == ${port}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().split('\n').length;
      assert.equal(got, want);
      assert.ok(want >= 10);
      // the settings page shows the demo policy
      assert.match((await c.req('GET', '/api/policy')).json.explanation, /engineering/);
    } finally {
      await a.stop();
    }
    const gen = fs.statSync(store).mtimeMs;
    const b = await startServe(['--demo', '--store', store]);
    try {
      assert.notEqual(b.password, pw1, 'a new password on every start');
      assert.doesNotMatch(b.output(), /generating demo data/, 'a fresh demo store is reused');
      const c = new Client(b.url);
      assert.equal(await c.login('admin', pw1), 401);
      assert.equal(await c.login('admin', b.password!), 200);
    } finally {
      await b.stop();
    }
    assert.ok(fs.statSync(store).mtimeMs >= gen);
  });

  it('refuses to overwrite a store that is not a demo store', async () => {
    const real = path.join(dir, 'real.db');
    const { openStore } = require('../../storage/store') as typeof import('../../storage/store');
    openStore(real).close();
    const { shadowim } = require('../helpers/run') as typeof import('../helpers/run');
    const r = shadowim(['serve', '--demo', '--store', real, '--port', '0']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /is not a demo store/);
  });
});
