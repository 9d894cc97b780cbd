// The dashboard's numbers agree with each other: the overview's severity chart with its totals, its
// unauthorized-use tile with the report's, the users and hosts pages' alert counts with the alert list
// they link to. A store with alerts that repeat across the range's start, against the real `shadowim serve`.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ShadowEvent } from '../../common/events';
import { fillStore } from '../helpers/store';
import { startServe, type Served } from './serve';
import { addUsers, Client, PASSWORDS } from './setup';
import { CHROMIUM, withLoggedInPage } from '../helpers/chromium';

const MIN = 60_000, HOUR = 3600_000, DAY = 86400_000;
// whole minutes, an hour back: the page's "24 h" and the API's from/to below hold the same events
const NOW = Math.floor(Date.now() / MIN) * MIN - HOUR;
const at = (ms: number) => new Date(NOW - ms).toISOString();
const ep = (ip: string, port: number) => ({ ip, port });
const srv1 = ep('198.51.100.7', 6667);

function events(): ShadowEvent[] {
  const alert = (id: string, ago: number, kind: string, severity: string, protocol: string, user: string, ip: string) =>
    ({ type: 'alert', ts: at(ago), sensor: 's1', protocol, id, kind, severity, summary: id, users: [user], client: ep(ip, 40000), server: srv1, count: 1 }) as ShadowEvent;
  return [
    { type: 'session', ts: at(5 * HOUR), sensor: 's1', protocol: 'irc', transport: 'tcp', client: ep('10.0.0.1', 40000), server: srv1, users: ['alice'], start: at(5 * HOUR), end: at(5 * HOUR), packets: 3, bytes: 500, encrypted: false, evidence: [] } as ShadowEvent,
    // unauthorized irc use by alice: 3 days and 2 days ago, and once in the last 24 hours
    alert('rep', 3 * DAY, 'unauthorized_im', 'high', 'irc', 'alice', '10.0.0.1'),
    alert('rep', 2 * DAY, 'unauthorized_im', 'high', 'irc', 'alice', '10.0.0.1'),
    alert('rep', 5 * HOUR, 'unauthorized_im', 'high', 'irc', 'alice', '10.0.0.1'),
    // unauthorized xmpp use by bob, twice in the range
    alert('rep2', 4 * HOUR, 'unauthorized_im', 'medium', 'xmpp', 'bob', '10.0.0.2'),
    alert('rep2', 3 * HOUR, 'unauthorized_im', 'medium', 'xmpp', 'bob', '10.0.0.2'),
    // a card number alice sent twice in the range
    alert('card', 2 * HOUR, 'sensitive_data', 'critical', 'irc', 'alice', '10.0.0.1'),
    alert('card', 1 * HOUR, 'sensitive_data', 'critical', 'irc', 'alice', '10.0.0.1'),
    // alice over xmpp in the range, and an old irc alert of hers
    alert('x1', 6 * HOUR, 'policy_violation', 'low', 'xmpp', 'alice', '10.0.0.1'),
    alert('old', 10 * DAY, 'policy_violation', 'low', 'irc', 'alice', '10.0.0.1'),
  ];
}

describe('dashboard: the numbers agree', function () {
  this.timeout(180000);
  let tmp: string;
  let srv: Served;
  let viewer: Client;
  const range = `from=${new Date(NOW - DAY).toISOString()}&to=${new Date(NOW).toISOString()}`;

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-dash-numbers-'));
    const store = path.join(tmp, 'store.db');
    await fillStore(store, events());
    addUsers(store, ['viewer']);
    srv = await startServe(['--store', store]);
    viewer = new Client(srv.url);
    assert.equal(await viewer.login('viewer', PASSWORDS.viewer), 200);
  });
  after(async () => {
    await srv?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  // Was: the chart counted every occurrence of each alert active in the range, also those days before
  // it (8 here), beside totals that count the range's own (6)
  it("overview: the severity chart counts the range's occurrences, as the totals beside it do", async () => {
    const o = (await viewer.req('GET', `/api/overview?${range}`)).json;
    const totals = Object.values(o.totals as Record<string, { alerts: number }>).reduce((a, t) => a + t.alerts, 0);
    assert.equal(totals, 6);
    const chart = Object.fromEntries(Object.entries(o.severity as Record<string, { occurrences: number }>).map(([s, v]) => [s, v.occurrences]));
    assert.deepEqual(chart, { critical: 2, high: 1, medium: 2, low: 1 });
    // the table beside it: distinct alerts active in the range, as the alerts list shows them
    for (const s of ['critical', 'high', 'medium', 'low']) {
      const list = (await viewer.req('GET', `/api/alerts?severity=${s}&acked=&${range}`)).json;
      assert.equal(o.severity[s].alerts, list.total, s);
    }
  });

  // Was: the rollups' occurrences in the range (alice on irc: 3, the card number twice), while the name
  // opened the list of her alerts of every protocol and all time (4)
  it("users and hosts: a row's alerts are the alerts the list shows for that name, protocol and range", async () => {
    for (const [kind, name] of [['users', 'user'], ['hosts', 'host']]) {
      const rows = (await viewer.req('GET', `/api/${kind}?${range}`)).json.rows;
      assert.ok(rows.length >= 2, kind);
      for (const r of rows) {
        const list = (await viewer.req('GET', `/api/alerts?${name}=${encodeURIComponent(r.name)}&protocol=${r.protocol}&acked=&${range}`)).json;
        assert.equal(r.alerts, list.total, `${kind} ${r.name} ${r.protocol}`);
      }
      const alice = rows.find((r: any) => r.name === (name === 'user' ? 'alice' : '10.0.0.1') && r.protocol === 'irc');
      assert.equal(alice.alerts, 2, `${kind}: the unauthorized use and the card number`);
      // sorted by that number
      const byAlerts = (await viewer.req('GET', `/api/${kind}?${range}&sort=alerts`)).json.rows;
      assert.deepEqual(byAlerts.map((r: any) => r.alerts), rows.map((r: any) => r.alerts).sort((a: number, b: number) => b - a));
    }
  });

  it('users and hosts page: a name links to the alerts of its protocol and the range shown (headless Chromium)', async function () {
    if (!fs.existsSync(CHROMIUM)) this.skip();
    await withLoggedInPage(srv.url + '/#/people?range=24h', 'viewer', PASSWORDS.viewer, '#users-table tbody tr', async (page) => {
      const links = await page.$$eval('#users-table tbody tr, #hosts-table tbody tr', (trs) =>
        trs.map((tr) => [tr.querySelector('td a')!.getAttribute('href'), tr.children[1].textContent, tr.children[5].textContent]));
      // [link, protocol, alerts] of the row whose link names `who`
      const row = (who: string, proto: string) => links.find(([h, p]) => p === proto && h!.startsWith(`#/alerts?${who}&`));
      assert.deepEqual(row('user=alice', 'irc'), ['#/alerts?user=alice&protocol=irc&range=24h&acked=', 'irc', '2']);
      assert.deepEqual(row('host=10.0.0.1', 'xmpp'), ['#/alerts?host=10.0.0.1&protocol=xmpp&range=24h&acked=', 'xmpp', '1']);
    });
  });

  // Was: the list ignored the link's range=24h and opened all time: alice's irc alerts 3 (her old one too)
  // beside the 2 the row counts, the range chooser absent
  it("users page: a name's link opens the alerts of the row's range, as many as the row counts (headless Chromium)", async function () {
    if (!fs.existsSync(CHROMIUM)) this.skip();
    await withLoggedInPage(srv.url + '/#/people?range=24h', 'viewer', PASSWORDS.viewer, '#users-table tbody tr', async (page) => {
      const api = (await viewer.req('GET', '/api/users?range=24h')).json.rows.find((r: any) => r.name === 'alice' && r.protocol === 'irc');
      assert.equal(api.alerts, 2);
      const rows = await page.$$eval('#users-table tbody tr', (trs) => trs.map((tr) => [tr.querySelector('td a')!.getAttribute('href')!, tr.children[5].textContent]));
      const [href, count] = rows.find(([h]) => h.startsWith('#/alerts?user=alice&protocol=irc&'))!;
      assert.equal(count, '2');
      await page.click(`#users-table a[href="${href}"]`);
      await page.waitForSelector('#alerts-table');
      // the list's total, however the pager words it ('2 alerts', '1–2 of 2 alerts')
      const total = () => page.evaluate(() => Number(/(\d+) alerts?$/.exec(document.getElementById('alerts-total')?.textContent ?? '')?.[1]));
      const shown = async () => ({
        total: await total(),
        ids: await page.$$eval('#alerts-table tbody tr', (trs) => trs.map((tr) => (tr as HTMLElement).dataset.id).sort()),
        range: (await page.$$eval('#f-range option:checked', (o) => o.map((x) => x.textContent))).join(),
      });
      assert.deepEqual(await shown(), { total: api.alerts, ids: ['card', 'rep'], range: 'Last 24 hours' });
      // a filter changed on the list keeps the range, in the list and in the URL
      await page.selectOption('#f-severity', 'critical');
      await page.waitForFunction(() => document.querySelectorAll('#alerts-table tbody tr').length === 1);
      assert.equal(new URLSearchParams(page.url().split('?')[1]).get('range'), '24h');
      await page.reload();
      await page.waitForSelector('#alerts-table tbody tr');
      assert.deepEqual(await shown(), { total: 1, ids: ['card'], range: 'Last 24 hours' });
      // and "All time" lists the old one too
      await page.selectOption('#f-severity', '');
      await page.selectOption('#f-range', 'all');
      await page.waitForFunction(() => document.querySelectorAll('#alerts-table tbody tr').length === 3);
      assert.deepEqual((await shown()).ids, ['card', 'old', 'rep']);
    });
  });

  /** the value and label of the report's tile `id` */
  const reportTile = (html: string, id: string) => {
    const m = new RegExp(`<div class="tile" id="tile-${id}"><div class="v">([^<]*)</div><div class="k">([^<]*)</div>`).exec(html);
    assert.ok(m, `tile ${id} in the report`);
    return { v: m[1], k: m[2] };
  };

  // Was: the overview's tile summed the range's occurrences from the rollups (3), the report's the whole
  // counts of the alerts active in the range (5), both "Unauthorized-use alerts"
  it('unauthorized-use alerts: the overview and the report count the same, the distinct alerts the alert list shows', async () => {
    const list = (await viewer.req('GET', `/api/alerts?kind=unauthorized_im&acked=&${range}`)).json;
    assert.equal(list.total, 2);
    const tile = reportTile((await viewer.req('GET', `/api/report?${range}&format=html`)).text, 'unauthorized');
    assert.deepEqual(tile, { v: '2', k: 'Unauthorized-use alerts (distinct)' });
    const o = (await viewer.req('GET', `/api/overview?${range}`)).json;
    assert.equal(o.unauthorized_alerts, 2);
  });

  it('the overview page shows that number under the label the report uses (headless Chromium)', async function () {
    if (!fs.existsSync(CHROMIUM)) this.skip();
    await withLoggedInPage(srv.url + '/#/overview?range=24h', 'viewer', PASSWORDS.viewer, '#tile-unauthorized', async (page) => {
      const report = reportTile((await viewer.req('GET', `/api/report?range=24h&format=html`)).text, 'unauthorized');
      assert.deepEqual({ v: await page.textContent('#tile-unauthorized .v'), k: await page.textContent('#tile-unauthorized .k') }, report);
      assert.equal(report.v, '2');
    });
  });
});
