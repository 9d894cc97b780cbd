// dashboard.login_notice: an operator's "authorized use only, activity is monitored" text above the
// login form, in headless Chromium. It is the operator's text, but still shown only as text (markup in
// it is not rendered), keeps its line breaks, and is absent when not configured. The config check
// refuses an empty or oversized notice with the file and line.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startServe, type Served } from './serve';
import { makeFixture, type Fixture } from './setup';
import { shadowim } from '../helpers/run';
import { CHROMIUM, launchChromium } from '../helpers/chromium';

const NOTICE = 'Authorized use only.\nActivity on this console is logged. <img src=x onerror="window.pwned=1">';

describe('dashboard: login notice (dashboard.login_notice)', function () {
  this.timeout(120000);
  let fx: Fixture;
  let cfg: string;
  before(async () => {
    fx = await makeFixture();
    cfg = path.join(fx.dir, 'notice.yaml');
    fs.writeFileSync(cfg, `dashboard:\n  login_notice: ${JSON.stringify(NOTICE)}\n`);
  });
  after(() => fx?.cleanup());

  it('a bad notice is one line naming the file and line', () => {
    const bad = path.join(fx.dir, 'bad.yaml');
    fs.writeFileSync(bad, 'dashboard:\n  login_notice: ""\n');
    const r = shadowim(['serve', '--store', fx.store, '--port', '0'], { env: { SHADOWIM_CONFIG: bad }, timeout: 20000 });
    assert.equal(r.status, 2);
    assert.match(r.stderr.trim(), /bad\.yaml:2: dashboard\.login_notice must be text of 1 to 2,000 characters/);
  });

  (fs.existsSync(CHROMIUM) ? it : it.skip)('shown above the login form as text, with its lines; absent without the setting', async () => {
    const browser = await launchChromium();
    const servers: Served[] = [];
    try {
      for (const [env, want] of [[{ SHADOWIM_CONFIG: cfg }, NOTICE], [{ SHADOWIM_CONFIG: '' }, null]] as const) {
        const srv = await startServe(['--store', fx.store], { env });
        servers.push(srv);
        const page = await (await browser.newContext()).newPage();
        await page.goto(srv.url + '/');
        await page.waitForSelector('#login-form');
        const seen = await page.evaluate(() => {
          const n = document.getElementById('login-notice')!;
          return { hidden: n.hidden, text: n.textContent, lines: n.innerText.split('\n').length, imgs: n.querySelectorAll('img').length, pwned: (window as any).pwned ?? 0 };
        });
        if (want === null) assert.equal(seen.hidden, true, 'no notice without the setting');
        else {
          assert.equal(seen.hidden, false);
          assert.equal(seen.text, want, 'the text as configured');
          assert.equal(seen.lines, 2, 'its line break kept');
          assert.equal(seen.imgs, 0, 'markup is not rendered');
          assert.equal(seen.pwned, 0);
        }
      }
    } finally {
      await browser.close();
      for (const s of servers) await s.stop();
    }
  });
});
