// The overview's report download: GET /api/report against the real `shadowim serve` over a store with
// hostile names; the same document as `shadowim report` for the same period, as an attachment, for
// viewers up; and the link on the overview page in headless Chromium.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { shadowim } from '../helpers/run';
import { startServe, type Served } from './serve';
import { addUsers, Client, PASSWORDS } from './setup';
import { fillReportStore, SCRIPT_NAME } from '../storage/report-fixture';
import { CHROMIUM, launchChromium, logIn } from '../helpers/chromium';

const FROM = '2024-01-15T00:00:00Z';
const TO = '2024-01-16T00:00:00Z';

describe('dashboard: report download', function () {
  this.timeout(180000);
  let tmp: string;
  let store: string;
  let srv: Served;
  let viewer: Client;

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-dash-report-'));
    store = path.join(tmp, 'store.db');
    await fillReportStore(store);
    addUsers(store, ['viewer', 'analyst']);
    srv = await startServe(['--store', store]);
    viewer = new Client(srv.url);
    assert.equal(await viewer.login('viewer', PASSWORDS.viewer), 200);
  });
  after(async () => {
    await srv?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('a one-sensor report download is named after the sensor (a hostile name cannot break the header)', async () => {
    for (const [sensor, name] of [['hq-core', 'hq-core'], ['a"; b=c\\', 'a___b_c_']]) {
      const r = await viewer.req('GET', `/api/report?from=${FROM}&to=${TO}&format=csv&sensor=${encodeURIComponent(sensor)}`);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.headers.get('content-disposition'), `attachment; filename="shadowim-report-${name}-2024-01-15T000000Z_2024-01-16T000000Z.csv"`);
    }
  });

  it('answers the HTML and CSV of `shadowim report` for the same period, as attachments', async () => {
    for (const format of ['html', 'csv']) {
      const r = await viewer.req('GET', `/api/report?from=${FROM}&to=${TO}&format=${format}`);
      assert.equal(r.status, 200, r.text);
      const cli = shadowim(['report', '--store', store, '--since', FROM, '--until', TO, '--format', format]);
      assert.equal(cli.status, 0, cli.stderr);
      assert.equal(r.text, cli.stdout, `${format}: the same document as the CLI`);
      assert.equal(r.headers.get('content-disposition'), `attachment; filename="shadowim-report-2024-01-15T000000Z_2024-01-16T000000Z.${format}"`);
      assert.equal(r.headers.get('content-type'), format === 'html' ? 'text/html; charset=utf-8' : 'text/csv; charset=utf-8');
      assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(r.headers.get('cache-control'), 'no-store');
    }
    const html = (await viewer.req('GET', `/api/report?from=${FROM}&to=${TO}`)).text;
    assert.match(html, /^<!DOCTYPE html>/, 'html by default');
    assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;') && !html.includes(SCRIPT_NAME));
    const csp = (await viewer.req('GET', `/api/report?from=${FROM}&to=${TO}`)).headers.get('content-security-policy')!;
    assert.match(csp, /^default-src 'none'; style-src 'sha256-[^']+'; .*frame-ancestors 'none'$/);
    assert.doesNotMatch(csp, /script-src/);
    // the sensor filter and range reach the query
    const s2 = await viewer.req('GET', `/api/report?from=${FROM}&to=${TO}&sensor=nope&format=csv`);
    assert.equal(s2.text, shadowim(['report', '--store', store, '--since', FROM, '--until', TO, '--sensor', 'nope', '--format', 'csv']).stdout);
    assert.doesNotMatch(s2.text, /\r\nprotocol,/);
    const week = await viewer.req('GET', '/api/report?range=7d&format=csv');
    assert.equal(week.status, 200);
    assert.doesNotMatch(week.text, /\r\nprotocol,/, 'the fixture is from 2024, not the last 7 days');
  });

  it('needs a login (401), takes html or csv only (400); viewers may (user names and counts, no message text)', async () => {
    const anon = new Client(srv.url);
    assert.equal((await anon.req('GET', `/api/report?from=${FROM}&to=${TO}`)).status, 401);
    assert.equal((await viewer.req('GET', `/api/report?from=${FROM}&to=${TO}&format=json`)).status, 400);
    assert.equal((await viewer.req('GET', `/api/report?from=${TO}&to=${FROM}`)).status, 400, 'from after to');
    const html = (await viewer.req('GET', `/api/report?from=${FROM}&to=${TO}`)).text;
    assert.ok(!html.includes('4556') && !html.includes('9855 ') && !html.includes('bob</bdi>'), 'no message text or recipients in a report');
    const analyst = new Client(srv.url);
    assert.equal(await analyst.login('analyst', PASSWORDS.analyst), 200);
    assert.equal((await analyst.req('GET', `/api/report?from=${FROM}&to=${TO}`)).text, html);
  });

  it('the overview offers the report of its selected period and sensor as a download (headless Chromium)', async function () {
    if (!fs.existsSync(CHROMIUM)) this.skip();
    const browser = await launchChromium();
    try {
      const ctx = await browser.newContext({ acceptDownloads: true });
      const page = await ctx.newPage();
      await logIn(page, srv.url + '/', 'viewer', PASSWORDS.viewer, '#report-download');
      assert.equal(await page.getAttribute('#report-download', 'href'), '/api/report?range=24h&format=html');
      await page.selectOption('#f-range', '7d');
      assert.equal(await page.getAttribute('#report-download', 'href'), '/api/report?range=7d&format=html');
      assert.equal(await page.getAttribute('#report-csv', 'href'), '/api/report?range=7d&format=csv');
      const [dl] = await Promise.all([page.waitForEvent('download'), page.click('#report-download')]);
      assert.match(dl.suggestedFilename(), /^shadowim-report-\d{4}-\d\d-\d\dT\d{6}Z_\d{4}-\d\d-\d\dT\d{6}Z\.html$/);
      const body = fs.readFileSync((await dl.path())!, 'utf8');
      assert.match(body, /^<!DOCTYPE html>[\s\S]*<h1>shadowim usage report<\/h1>/);
      const [from, to] = dl.suggestedFilename().match(/\d{4}-\d\d-\d\dT\d{6}Z/g)!.map((x) => Date.parse(x.replace(/T(\d\d)(\d\d)(\d\d)Z/, 'T$1:$2:$3Z')));
      assert.ok(Math.abs(to - from - 7 * 86400_000) <= 1000, 'the selected 7 days');
      await ctx.close();
    } finally {
      await browser.close();
    }
  });
});
