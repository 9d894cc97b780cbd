// Hostile text from the wire in headless Chromium: bidi overrides and invisible characters in screen
// names and file names are shown as visible marks (so 'invoice\u202Efdp.exe' cannot pass for
// 'invoiceexe.pdf', nor 'adm\u200Bin' for 'admin'), and names and texts of hundreds of kilobytes
// without a space wrap instead of widening the page tens of thousands of pixels.
import assert from 'node:assert/strict';
import { startServe, type Served } from './serve';
import { makeFixture, PASSWORDS, type Fixture } from './setup';
import { storeSink } from '../helpers/store';
import { launchChromium, logIn, noChromium, pageWidth } from '../helpers/chromium';

const SPOOF_FILE = 'invoice\u202Efdp.exe';
const SPOOF_NICK = 'adm\u200Bin\u202Eevil';

describe('dashboard in a browser with hostile text', function () {
  this.timeout(180000);
  if (noChromium()) return;
  let fx: Fixture;
  let srv: Served;
  let browser: import('playwright-core').Browser;
  let page: import('playwright-core').Page;
  const errors: string[] = [];

  before(async () => {
    fx = await makeFixture();
    const sink = storeSink(fx.store, 'hostile');
    const t = new Date(Date.now() - 3600_000).toISOString();
    const long = 'W'.repeat(1 << 20);
    const ends = { client: { ip: '10.2.2.2', port: 50001 }, server: { ip: '203.0.113.30', port: 6667 }, flow_id: 'hostile00000001' };
    sink.write({ type: 'session', ts: t, protocol: 'irc', transport: 'tcp', ...ends, users: [SPOOF_NICK, long], start: t, end: t, packets: 4, bytes: 400, encrypted: false, evidence: [] } as any);
    sink.write({ type: 'message', ts: t, protocol: 'irc', from: long, to: SPOOF_NICK, text: long, direction: 'outbound', ...ends } as any);
    sink.write({ type: 'file_transfer', ts: t, protocol: 'irc', from: SPOOF_NICK, to: 'bob', filename: SPOOF_FILE, size: 10, stage: 'offer', ...ends } as any);
    sink.write({ type: 'alert', ts: t, id: 'hostile-alert-1', kind: 'unauthorized_im', severity: 'high', protocol: 'irc', summary: `unauthorized irc use by ${SPOOF_NICK} ${long}`, ...ends, users: [SPOOF_NICK, long] } as any);
    await sink.close();
    srv = await startServe(['--store', fx.store]);
    browser = await launchChromium();
    const ctx = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    page = await ctx.newPage();
    page.on('pageerror', (e) => errors.push(e.message));
    await logIn(page, srv.url + '/', 'admin', PASSWORDS.admin, '#nav-overview');
  });
  after(async () => {
    await browser?.close();
    await srv?.stop();
    fx?.cleanup();
  });

  const width = () => pageWidth(page);
  const bodyText = () => page.evaluate(() => document.body.innerText);

  it('shows bidi overrides and zero-width characters in file and screen names as visible marks', async () => {
    await page.goto(srv.url + '/#/files?range=7d');
    await page.waitForSelector('td:text("fdp.exe")');
    const text = await bodyText();
    assert.ok(text.includes('invoice⟨U+202E⟩fdp.exe'), 'the file name with its override shown');
    assert.ok(text.includes('adm⟨U+200B⟩in⟨U+202E⟩evil'), 'the sender with its invisible characters shown');
    assert.doesNotMatch(text, /[\u202a-\u202e\u2066-\u2069\u200b]/, 'no live bidi control or zero-width space on the page');
  });

  for (const [name, hash, ready] of [
    ['alerts', '#/alerts?acked=&range=7d', '#alerts-table tbody tr'],
    ['conversations', '#/conversations?range=7d', '#messages-table tbody tr'],
    ['users and hosts', '#/people?range=7d', '#users-table tbody tr'],
  ] as const) {
    it(`wraps a megabyte without spaces on the ${name} page instead of widening it`, async () => {
      await page.goto(srv.url + '/' + hash);
      await page.waitForSelector(ready);
      await page.waitForTimeout(300);
      const w = await width();
      assert.ok(w.page <= w.view, `page ${w.page} px wide in a ${w.view} px window`);
    });
  }

  it('wraps it in the alert detail too, and nothing ran or failed', async () => {
    await page.goto(srv.url + '/#/alerts?acked=&range=7d');
    await page.click('#alerts-table tbody tr[data-kind="unauthorized_im"] td.summary:text("adm")');
    await page.waitForSelector('#detail-summary');
    await page.waitForTimeout(300);
    const w = await width();
    assert.ok(w.page <= w.view, `page ${w.page} px wide in a ${w.view} px window`);
    assert.ok((await page.textContent('#detail-summary'))!.includes('adm⟨U+200B⟩in⟨U+202E⟩evil'));
    assert.deepEqual(errors, []);
  });
});
