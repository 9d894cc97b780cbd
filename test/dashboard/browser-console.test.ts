// Findings of the console audit, in headless Chromium: the conversations and alerts pages keep their page
// in the URL and say where they are; a flow filter is shown and can be cleared; alert kinds read as words; the alerts
// table at 1280 px wraps words at word boundaries while a 5,000-character name still cannot widen it.
import assert from 'node:assert/strict';
import { startServe, type Served } from './serve';
import { makeFixture, Client, PASSWORDS, type Fixture } from './setup';
import { storeSink } from '../helpers/store';
import { launchChromium, logIn, noChromium, pageWidth } from '../helpers/chromium';

const PAGER_USER = 'pager-user';
const PAGER_MESSAGES = 230;
const PAGER_FLOW = 'pager00000000001';
const ODD_KIND = '<b>odd_kind</b>';
const LONG_NAME = 'N'.repeat(5000);
const PAGER_ALERTS_USER = 'pager-alerts';
const PAGER_ALERTS = 60;

describe('dashboard console (audit findings) in a browser', function () {
  this.timeout(180000);
  if (noChromium()) return;
  let fx: Fixture;
  let srv: Served;
  let browser: import('playwright-core').Browser;
  let page: import('playwright-core').Page;
  const errors: string[] = [];

  before(async () => {
    fx = await makeFixture();
    const sink = storeSink(fx.store, 'audit');
    const t0 = Date.now() - 3600_000;
    const ends = { client: { ip: '10.3.3.3', port: 50003 }, server: { ip: '203.0.113.40', port: 6667 }, flow_id: PAGER_FLOW };
    for (let i = 0; i < PAGER_MESSAGES; i++) {
      sink.write({ type: 'message', ts: new Date(t0 + i * 1000).toISOString(), protocol: 'irc', from: PAGER_USER, to: 'bob', text: `line ${i}`, direction: 'outbound', ...ends } as any);
    }
    const far = { client: { ip: '10.4.4.4', port: 50004 }, server: { ip: '203.0.113.50', port: 6667 } };
    sink.write({ type: 'alert', ts: new Date(t0).toISOString(), id: 'odd-kind-alert', kind: ODD_KIND, severity: 'low', protocol: 'irc', summary: 'an alert of a kind this console does not know', ...far, users: ['dave'] } as any);
    sink.write({ type: 'alert', ts: new Date(t0).toISOString(), id: 'long-name-alert', kind: 'unauthorized_im', severity: 'high', protocol: 'irc', summary: `unauthorized irc use by ${LONG_NAME}`, ...far, users: [LONG_NAME] } as any);
    // kind and protocol as long as the store keeps them (64 and 1,024 characters); acknowledged below, so
    // only the acknowledged list shows it
    sink.write({ type: 'alert', ts: new Date(t0).toISOString(), id: 'oversized-alert', kind: 'K'.repeat(64), severity: 'low', protocol: 'P'.repeat(1024), summary: 'oversized kind and protocol', ...far, users: ['erin'] } as any);
    // alerts enough for two pages of the list, weeks old so that they sort after every other one
    for (let i = 0; i < PAGER_ALERTS; i++) {
      sink.write({ type: 'alert', ts: new Date(t0 - 40 * 86400_000 + i * 60_000).toISOString(), id: `pager-alert-${i}`, kind: 'policy_violation', severity: 'low', protocol: 'irc', summary: `paging alert ${i}`, ...far, users: [PAGER_ALERTS_USER] } as any);
    }
    await sink.close();
    // the SIEM outbox (as the sinks create it in the store): a known kind, one this console does not know, none
    const { openOutbox } = require('../../outputs/sinks/outbox') as typeof import('../../outputs/sinks/outbox');
    const outbox = openOutbox(fx.store);
    const queue = outbox.prepare('INSERT INTO alert_outbox (alert_id, sink, alert, state, attempts, next_at, created_at, updated_at, last_error) VALUES (?,?,?,?,?,?,?,?,?)');
    const now = Date.now();
    queue.run('out-1', 'siem-syslog', JSON.stringify({ kind: 'sensitive_data', severity: 'critical', summary: 'a card number' }), 'dead', 8, now, now, now, 'connection refused');
    queue.run('out-2', 'webhook', JSON.stringify({ kind: ODD_KIND, severity: 'low', summary: 'odd' }), 'pending', 2, now + 60000, now, now, 'HTTP 503');
    queue.run('out-3', 'webhook', 'not json', 'pending', 1, now + 60000, now, now, 'HTTP 503');
    outbox.close();
    srv = await startServe(['--store', fx.store, '--quarantine', fx.quarantine]);
    const api = new Client(srv.url);
    assert.equal(await api.login('analyst', PASSWORDS.analyst), 200);
    assert.equal((await api.req('POST', '/api/alerts/oversized-alert/ack', { body: { note: '' } })).status, 200);
    browser = await launchChromium();
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await ctx.newPage();
    page.on('pageerror', (e) => errors.push(e.message));
    await logIn(page, srv.url + '/', 'analyst', PASSWORDS.analyst, '#nav-overview');
  });
  after(async () => {
    await browser?.close();
    await srv?.stop();
    fx?.cleanup();
  });

  const width = () => pageWidth(page);
  /** a hash route in the address bar, as a reload or a shared link would open it */
  const open = async (hash: string) => {
    await page.goto('about:blank');
    await page.goto(srv.url + '/' + hash);
  };

  // (a string, so the test runner's transpiler adds nothing to the code run in the page)
  /** the ordinary words in the elements `sel` finds that are split across lines */
  const splitWords = (sel: string) => `(() => {
    const split = [];
    for (const cell of document.querySelectorAll(${JSON.stringify(sel)})) {
      const walk = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
      for (let n = walk.nextNode(); n; n = walk.nextNode()) {
        for (const m of n.data.matchAll(/\\S+/g)) {
          // an ordinary word: letters, digits, ordinary punctuation (not markup like '<b>x</b>', which
          // may break after its '/')
          if (m[0].length > 24 || /[^\\p{L}\\p{N}_.,:;()*'-]/u.test(m[0])) continue;
          const r = document.createRange();
          r.setStart(n, m.index);
          r.setEnd(n, m.index + m[0].length);
          const lines = new Set([...r.getClientRects()].filter((x) => x.width > 0).map((x) => Math.round(x.top)));
          if (lines.size > 1) split.push(m[0]);
        }
      }
    }
    return split;
  })()`;

  describe('conversations paging', () => {
    const total = () => page.textContent('#messages-total');
    const offsetInUrl = () => new URLSearchParams(page.url().split('?')[1] ?? '').get('offset');
    const firstText = () => page.textContent('#messages-table tbody tr:first-child td.msg-text');

    // was: the offset lived only in the page's memory; a reload went back to page 1 with just "230 messages"
    it('keeps the page in the URL, opens it again on reload, and shows the position', async () => {
      await open(`#/conversations?user=${PAGER_USER}&range=7d`);
      await page.waitForSelector('#messages-table tbody tr');
      assert.equal(await total(), '1–100 of 230 messages');
      assert.equal(offsetInUrl(), null);
      await page.click('button:text("older ›")');
      await page.waitForFunction(() => document.getElementById('messages-total')?.textContent?.startsWith('101–'));
      assert.equal(await total(), '101–200 of 230 messages');
      assert.equal(offsetInUrl(), '100');
      const onPage2 = await firstText();
      assert.equal(onPage2, 'line 129'); // newest first: lines 229…130 on page 1
      await page.reload();
      await page.waitForSelector('#messages-table tbody tr');
      assert.equal(await total(), '101–200 of 230 messages');
      assert.equal(await firstText(), onPage2);
      await page.click('button:text("older ›")');
      await page.waitForFunction(() => document.getElementById('messages-total')?.textContent?.startsWith('201–'));
      assert.equal(await total(), '201–230 of 230 messages');
      assert.equal(await page.isDisabled('button:text("older ›")'), true);
    });

    it('clamps an offset in the URL to a page that exists, and says 0 messages when nothing matches', async () => {
      for (const [offset, shown] of [['999999999', '201–230'], ['150', '101–200'], ['-100', '1–100'], ['1e2', '1–100'], ['%3Cb%3E', '1–100'], ['99999999999999999999', '201–230']]) {
        await open(`#/conversations?user=${PAGER_USER}&range=7d&offset=${offset}`);
        await page.waitForSelector('#messages-table tbody tr');
        assert.equal(await total(), `${shown} of 230 messages`, `offset=${offset}`);
      }
      await open('#/conversations?user=nobody-at-all&range=7d&offset=300');
      await page.waitForSelector('#messages-total');
      assert.equal(await total(), '0 messages');
      assert.equal(offsetInUrl(), null);
    });
  });

  describe('a flow filter', () => {
    const HOSTILE_FLOW = '<img src=x onerror=window.__xss=1>';
    const notice = () => page.textContent('#flow-filter');

    // was: only the conversation's messages, with no sign that a filter was on nor a way to remove it
    it('is shown, labelled, and its button clears it', async () => {
      await open(`#/conversations?flow=${PAGER_FLOW}&range=all`);
      await page.waitForSelector('#messages-table tbody tr');
      assert.ok(await page.isVisible('#flow-filter'));
      assert.match((await notice()) ?? '', new RegExp(`One conversation only.*flow ${PAGER_FLOW}`));
      assert.equal(await page.textContent('#messages-table tbody tr:first-child td.msg-text'), 'line 0'); // oldest first
      await page.click('#flow-clear');
      await page.waitForSelector('#flow-filter', { state: 'detached' });
      await page.waitForFunction(() => /of (23[1-9]|2[4-9]\d|[3-9]\d\d)/.test(document.getElementById('messages-total')?.textContent ?? ''));
      assert.ok(!page.url().includes('flow='), page.url());
      // and a reload stays unfiltered
      await page.reload();
      await page.waitForSelector('#messages-table tbody tr');
      assert.equal(await page.$('#flow-filter'), null);
    });

    it('is cleared by a new search, and a hostile flow id in the URL is shown as text', async () => {
      await open(`#/conversations?flow=${encodeURIComponent(HOSTILE_FLOW)}&range=all`);
      await page.waitForSelector('#flow-filter');
      assert.equal(await page.textContent('#flow-filter code'), HOSTILE_FLOW);
      assert.equal(await page.textContent('#messages-total'), '0 messages');
      await page.fill('#f-user', PAGER_USER);
      await page.click('#search-form button[type=submit]');
      await page.waitForSelector('#flow-filter', { state: 'detached' });
      await page.waitForSelector('#messages-table tbody tr');
      assert.equal(await page.textContent('#messages-total'), '1–100 of 230 messages');
      assert.equal(await page.evaluate(() => (window as any).__xss), undefined);
    });
  });

  describe('alerts paging', () => {
    const pager = () => page.textContent('#alert-list .pager');

    // was: Number(offset) || 0, so offset=-5 paged from -5: '60 alerts ‹ newer -4–45 older ›'
    it('takes only a whole page from the URL, clamps it to the last, and says where it is', async () => {
      for (const [offset, shown] of [['-5', '1–50'], ['17', '1–50'], ['1e2', '1–50'], ['%3Cb%3E', '1–50'], ['55', '51–60'], ['999999999', '51–60'], ['99999999999999999999', '51–60']]) {
        await open(`#/alerts?user=${PAGER_ALERTS_USER}&acked=&offset=${offset}`);
        await page.waitForSelector('#alerts-table tbody tr');
        assert.equal(await pager(), `${shown} of 60 alerts‹ newerolder ›`, `offset=${offset}`);
      }
      await open(`#/alerts?user=${PAGER_ALERTS_USER}&acked=`);
      await page.waitForSelector('#alerts-table tbody tr');
      assert.equal(await page.textContent('#alerts-total'), '1–50 of 60 alerts');
      await page.click('#alert-list button:text("older ›")');
      await page.waitForFunction(() => document.getElementById('alerts-total')?.textContent?.startsWith('51–'));
      assert.equal(new URLSearchParams(page.url().split('?')[1]).get('offset'), '50');
      assert.equal((await page.$$('#alerts-table tbody tr')).length, 10);
      await open('#/alerts?user=nobody-at-all&acked=&offset=-5');
      await page.waitForSelector('#alerts-total');
      assert.equal(await page.textContent('#alerts-total'), '0 alerts');
    });
  });

  describe('alert kinds', () => {
    const kindCell = (id: string) => `#alerts-table tbody tr[data-id="${id}"] td.kind`;

    // was: unauthorized_im, sensitive_data, cleartext_credentials as stored
    it('read as words in the list and the kind filter, with the stored kind in the title and the detail', async () => {
      await open('#/alerts?acked=');
      await page.waitForSelector('#alerts-table tbody tr');
      const cells = await page.$$eval('#alerts-table tbody tr', (rows) => rows.map((r) => [(r as HTMLElement).dataset.kind, r.children[1].textContent, r.children[1].getAttribute('title')]));
      const shown = new Map(cells.map(([k, text, title]) => [k, [text, title]]));
      assert.deepEqual(shown.get('unauthorized_im'), ['Unauthorized IM', 'unauthorized_im']);
      assert.deepEqual(shown.get('sensitive_data'), ['Sensitive data', 'sensitive_data']);
      assert.deepEqual(shown.get('cleartext_credentials'), ['Cleartext credentials', 'cleartext_credentials']);
      const options = await page.$$eval('#f-kind option', (o) => o.map((x) => [(x as HTMLOptionElement).value, x.textContent]));
      assert.deepEqual(options, [['', 'any kind'], ['unauthorized_im', 'Unauthorized IM'], ['sensitive_data', 'Sensitive data'], ['file_transfer', 'File transfer'], ['cleartext_credentials', 'Cleartext credentials'], ['policy_violation', 'Policy violation'], ['malicious_link', 'Malicious link']]);
      await page.click('#alerts-table tbody tr[data-kind="sensitive_data"]');
      await page.waitForSelector('#detail-summary');
      const kv = await page.$$eval('#alert-detail dl.kv dt', (dts) => Object.fromEntries(dts.map((dt) => [dt.textContent, dt.nextElementSibling!.textContent])));
      assert.equal(kv.Kind, 'Sensitive data sensitive_data');
    });

    it('shows a kind it does not know as it is, as text', async () => {
      await open('#/alerts?acked=');
      await page.waitForSelector(kindCell('odd-kind-alert'));
      assert.equal(await page.textContent(kindCell('odd-kind-alert')), ODD_KIND);
      assert.equal(await page.$$eval('#alerts-table b, #alert-detail b', (b) => b.length), 0);
      await page.click(kindCell('odd-kind-alert'));
      await page.waitForSelector('#detail-summary');
      const kv = await page.$$eval('#alert-detail dl.kv dt', (dts) => Object.fromEntries(dts.map((dt) => [dt.textContent, dt.nextElementSibling!.textContent])));
      assert.equal(kv.Kind, ODD_KIND);
      assert.equal(await page.$$eval('#alert-detail b', (b) => b.length), 0);
    });

    // was: the raw kinds, 'critical sensitive_data: a card number'
    it('the delivery page shows alert kinds as words, the stored kind as their title', async () => {
      await open('#/delivery');
      // (the table after the summary: the pending and dead-lettered alerts; the 4th column is the alert)
      await page.waitForSelector('#delivery-summary ~ table tbody tr');
      const cells = await page.$$eval('#delivery-summary ~ table tbody td:nth-child(4)', (tds) => tds.map((td) => [td.textContent, td.querySelector('.kind')?.getAttribute('title') ?? null]).sort());
      assert.deepEqual(cells, [
        ['critical Sensitive data: a card number', 'sensitive_data'],
        [`low ${ODD_KIND}: odd`, ODD_KIND],
        ['out-3', null],
      ]);
      assert.equal(await page.$$eval('#delivery-summary ~ table b', (b) => b.length), 0);
    });
  });

  describe('alerts table at 1280 px', () => {
    // was: overflow-wrap:anywhere on every cell let the table squeeze kind, protocol and time to 8ch:
    // 'Unauthori|zed', '2026-|11-27'
    it('wraps ordinary words at word boundaries, and a 5,000-character screen name does not widen the page', async () => {
      await open('#/alerts');
      await page.waitForSelector('#alerts-table tbody tr[data-id="long-name-alert"]');
      await page.waitForTimeout(200);
      const w = await width();
      assert.ok(w.page <= w.view, `page ${w.page} px wide in a ${w.view} px window`);
      assert.ok((await page.$$('#alerts-table tbody tr')).length >= 5);
      assert.deepEqual(await page.evaluate(splitWords('#alerts-table th, #alerts-table td')), [], 'words split across lines');
    });

    it('a kind and a protocol as long as the store keeps them do not widen it either', async () => {
      await open('#/alerts?acked=true');
      await page.waitForSelector('#alerts-table tbody tr[data-id="oversized-alert"]');
      await page.waitForTimeout(200);
      const w = await width();
      assert.ok(w.page <= w.view, `page ${w.page} px wide in a ${w.view} px window`);
      assert.ok((await page.textContent('#alerts-table tbody tr[data-id="oversized-alert"] td.proto'))!.startsWith('PPPP'));
    });

    // was: word-break:break-all on the detail's values cut times, kinds and addresses anywhere: '03:39:53' / 'Z'
    it('the alert detail (also at 1024 and 600 px) wraps times, kinds and addresses between words; a 5,000-character name does not widen it', async () => {
      await open('#/alerts?acked=');
      await page.waitForSelector('#alerts-table tbody tr[data-id="long-name-alert"]');
      const ids = await page.$$eval('#alerts-table tbody tr', (trs) => trs.map((tr) => (tr as HTMLElement).dataset.id!).filter((id) => !id.startsWith('pager-alert-')));
      assert.ok(ids.includes('oversized-alert') && ids.includes('odd-kind-alert') && ids.length >= 5, ids.join());
      // at 1280 px, and at 1024 px, where the values have less room (the dates broke after a '-' there), and
      // at 600 px, where the detail sits below the list (the list was 667 px wide there)
      for (const [vw, id] of [1280, 1024, 600].flatMap((vw) => ids.map((id) => [vw, id] as const))) {
        await page.setViewportSize({ width: vw, height: 900 });
        await page.click(`#alerts-table tbody tr[data-id="${id}"]`);
        await page.waitForFunction((id) => document.querySelector('#alerts-table tr.selected')?.getAttribute('data-id') === id && document.getElementById('detail-summary'), id);
        await page.waitForTimeout(50);
        assert.deepEqual(await page.evaluate(splitWords('#alert-detail dd')), [], `words split across lines in the detail of ${id} at ${vw} px`);
        const w = await width();
        assert.ok(w.page <= w.view, `${id} at ${vw} px: page ${w.page} px wide in a ${w.view} px window`);
        const detail = await page.$eval('#alert-detail', (d) => ({ scroll: d.scrollWidth, client: d.clientWidth }));
        assert.ok(detail.scroll <= detail.client, `${id} at ${vw} px: the detail is ${detail.scroll} px wide in ${detail.client} px`);
      }
      await page.setViewportSize({ width: 1280, height: 900 });
    });
  });

  describe('every page at 600 px', () => {
    // (strings, as splitWords above)
    /** the outermost elements that reach past the window's right edge: what makes the page scroll sideways */
    const tooWide = `(() => {
      const out = [];
      for (const e of document.querySelectorAll('body *')) {
        const r = e.getBoundingClientRect();
        if (r.width > 0 && r.right > innerWidth + 0.5 && !(e.parentElement.getBoundingClientRect().right > innerWidth + 0.5)) {
          out.push(e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + ' ' + Math.round(r.right) + ' px');
        }
      }
      return out;
    })()`;
    /** the cards whose content is wider than they are (and so scrolls inside them) */
    const scrollingCards = `[...document.querySelectorAll('.card')].filter((c) => c.scrollWidth > c.clientWidth).map((c) => (c.querySelector('table[id]')?.id ?? c.id) + ' ' + c.scrollWidth + ' px in ' + c.clientWidth)`;
    // the two tables of nine and ten columns, which scroll inside their card on a narrow screen
    const SCROLL_IN_CARD = ['#/sensors', '#/files'];

    // was: at 600 px the alerts page with the detail of the 5,000-character name open was 667 px wide (the
    // alerts table: its seven columns at their least width, with 8 px of padding each side of every cell);
    // the sensors' table (725 px) and the overview's totals (621 px) widened their pages too
    it('no page of the console is wider than a 600 px window (admin; the alerts page with the long-name detail open)', async () => {
      const ctx = await browser.newContext({ viewport: { width: 600, height: 900 } });
      const narrow = await ctx.newPage();
      narrow.on('pageerror', (e) => errors.push(e.message));
      try {
        await logIn(narrow, srv.url + '/', 'admin', PASSWORDS.admin, '#nav-settings');
        const pages: [string, string][] = [
          ['#/overview', '#totals-table'],
          ['#/alerts/long-name-alert?acked=', '#detail-summary'],
          ['#/people?range=all', '#users-table'],
          ['#/conversations?range=all', '#messages-table'],
          ['#/sensors', '#sensors-table'],
          ['#/files', '#files-table'],
          ['#/delivery', '#delivery-summary'],
          ['#/rules', '#rules-text'],
          ['#/settings', '#policy-text'],
        ];
        assert.deepEqual(await narrow.$$eval('nav a', (as) => as.map((a) => a.getAttribute('href'))), pages.map(([h]) => h.split(/[/?]/)[0] + '/' + h.split(/[/?]/)[1]), 'every page of the console');
        const wide: string[] = [];
        for (const [hash, ready] of pages) {
          await narrow.goto('about:blank');
          await narrow.goto(srv.url + '/' + hash);
          await narrow.waitForSelector(ready);
          await narrow.waitForFunction(() => !document.getElementById('page')!.textContent!.includes('Loading…'));
          await narrow.waitForTimeout(200);
          const w = await narrow.evaluate(([a, b]) => ({ page: document.documentElement.scrollWidth, view: window.innerWidth, wide: eval(a), cards: eval(b) }), [tooWide, scrollingCards]);
          assert.equal(w.view, 600);
          if (w.page > w.view) wide.push(`${hash}: ${w.page} px (${w.wide.join(', ')})`);
          // a card that scrolls sideways hides part of its table: only the widest two may
          if (!SCROLL_IN_CARD.includes(hash) && w.cards.length) wide.push(`${hash}: ${w.cards.join(', ')}`);
        }
        assert.deepEqual(wide, [], 'pages or cards wider than the window');
        // the alerts page again: the long name is all there, wrapped within the detail; the list's headings,
        // kinds and protocols are not cut inside a word (the summary, which takes the rest of the width,
        // may be: an address in it is wider than that rest at 600 px)
        await narrow.goto(srv.url + '/#/alerts/long-name-alert?acked=');
        await narrow.waitForSelector('#detail-summary');
        const s = await narrow.$eval('#detail-summary', (p) => ({ text: p.textContent!, scroll: p.scrollWidth, client: p.clientWidth }));
        const stored = await narrow.evaluate(() => fetch('/api/alerts/long-name-alert').then((r) => r.json()).then((d) => d.alert.summary as string));
        assert.ok(stored.includes('N'.repeat(1000)) && s.text === stored && s.scroll <= s.client, `detail summary: ${s.text.length} characters, ${s.scroll} px wide in ${s.client} px`);
        assert.deepEqual(await narrow.evaluate(splitWords('#alerts-table th, #alerts-table td.kind, #alerts-table td.proto')), [], 'words split across lines');
      } finally {
        await ctx.close();
      }
    });
  });

  // (a describe of its own: mocha runs an it beside describes before them)
  describe('afterwards', () => {
    it('raised no page errors', () => {
      assert.deepEqual(errors, []);
    });
  });
});
