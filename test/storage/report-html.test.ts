// `shadowim report --format html` and `--out DIR/` through the real CLI, on a store with hostile names
// from the wire: the page holds the numbers of the JSON report, escapes every name, loads nothing and
// runs nothing (checked in headless Chromium), and is written atomically with mode 0640.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { shadowim } from '../helpers/run';
import { CLI } from '../helpers/paths';
import { fillReportStore, IMG_NAME, LONG_NAME, ONLOAD_HOST, RTL_NAME, SCRIPT_NAME } from './report-fixture';
import { CHROMIUM, launchChromium } from '../helpers/chromium';

const UNTIL = '2024-01-16T00:00:00Z';

const decode = (s: string) => s.replace(/<[^>]*>/g, '').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');

/** section id → rows of [cell text, data-v or undefined] */
function tables(html: string): Record<string, Array<Array<{ text: string; v?: number }>>> {
  const out: Record<string, Array<Array<{ text: string; v?: number }>>> = {};
  for (const m of html.matchAll(/<section id="([\w-]+)">([\s\S]*?)<\/section>/g)) {
    const body = /<tbody>([\s\S]*?)<\/tbody>/.exec(m[2]);
    out[m[1]] = body ? [...body[1].matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((r) => [...r[1].matchAll(/<td([^>]*)>([\s\S]*?)<\/td>/g)].map((c) => {
      const v = /data-v="(\d+)"/.exec(c[1]);
      return { text: decode(c[2]), v: v ? Number(v[1]) : undefined };
    })) : [];
  }
  return out;
}

describe('storage: report --format html and --out DIR/', function () {
  this.timeout(120000);
  let tmp: string;
  let store: string;
  let html: string;
  let json: any;

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-report-html-'));
    store = path.join(tmp, 'store.db');
    await fillReportStore(store);
    const j = shadowim(['report', '--store', store, '--since', 'all', '--until', UNTIL, '--format', 'json']);
    assert.equal(j.status, 0, j.stderr);
    json = JSON.parse(j.stdout);
    const h = shadowim(['report', '--store', store, '--since', 'all', '--until', UNTIL, '--format', 'html']);
    assert.equal(h.status, 0, h.stderr);
    html = h.stdout;
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('holds the numbers of the JSON report of the same store, section by section', () => {
    assert.equal(json.protocols.length, 2, 'the fixture has irc and xmpp');
    const t = tables(html);
    const cols = {
      protocols: json.protocols.map((p: any) => [p.protocol, p.sessions, p.users, p.hosts, p.messages, p.files, p.bytes]),
      'top-users': json.top_users.map((u: any) => [u.protocols, u.sessions, u.messages, u.bytes]),
      'top-hosts': json.top_hosts.map((h: any) => [h.host, h.protocols, h.sessions, h.users, h.bytes]),
      'alerts-severity': Object.entries(json.alerts_by_severity).map(([s, a]: [string, any]) => [s, a.alerts, a.occurrences, a.open]),
      'alerts-kind': json.alerts_by_kind.map((a: any) => [a.kind, a.severity, a.alerts, a.occurrences, a.open]),
      unauthorized: json.unauthorized.map((u: any) => [u.protocol, u.alerts, u.occurrences, u.users, u.hosts]),
    };
    for (const [id, want] of Object.entries(cols)) {
      const got = t[id].map((r) => (id === 'top-users' ? r.slice(1) : r).map((c) => c.v ?? c.text));
      assert.deepEqual(got, want, id);
    }
    assert.deepEqual(json.unauthorized.map((u: any) => u.occurrences), [1, 1]);
    assert.match(html, /<p class="period" id="period">From <time datetime="1970-01-01T00:00:00.000Z">.*to <time datetime="2024-01-16T00:00:00.000Z">/);
    const tile = (id: string) => /<div class="tile" id="tile-(\w+)"><div class="v">([^<]*)</.exec(html.slice(html.indexOf(`id="tile-${id}"`) - 18))![2];
    assert.equal(tile('sessions'), String(json.protocols.reduce((a: number, p: any) => a + p.sessions, 0)));
    assert.equal(tile('messages'), '15');
    assert.equal(tile('unauthorized'), '2');
  });

  it('shows every hostile name as escaped text: no markup, no event handler, no hidden characters from the data', () => {
    const tags = [...html.matchAll(/<([a-zA-Z][\w-]*)([^>]*)>/g)];
    assert.deepEqual([...new Set(tags.map((m) => m[1].toLowerCase()))].filter((t) => !['html', 'head', 'meta', 'title', 'style', 'body', 'h1', 'h2', 'p', 'time', 'div', 'section', 'table', 'thead', 'tbody', 'tr', 'th', 'td', 'bdi', 'span', 'footer'].includes(t)), []);
    for (const m of tags) {
      assert.doesNotMatch(m[2], /(^|\s|["'/])on\w+\s*=/i, `an event handler attribute in <${m[1]}${m[2].slice(0, 80)}>`);
      assert.doesNotMatch(m[2], /\b(src|srcset|href|action|style|background)\s*=/i, `self-contained: <${m[1]}${m[2].slice(0, 80)}>`);
    }
    assert.doesNotMatch(html, /<script|<img|<svg/i);
    assert.doesNotMatch(/<style>([\s\S]*?)<\/style>/.exec(html)![1], /url\(|@import/i, 'self-contained: nothing to load');
    assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
    assert.ok(html.includes('&quot;&gt;&lt;img src=x onerror=&quot;window.__pwned=1&quot;&gt;'));
    assert.ok(html.includes('&#39;&gt;&lt;svg/onload=window.__pwned=2&gt;'));
    const rows = tables(html)['top-users'].map((r) => r[0].text);
    assert.ok(rows.includes(SCRIPT_NAME) && rows.includes(IMG_NAME) && rows.includes('alice'));
    assert.ok(rows.includes('bob<U+202E>txt.exe<U+200B>'), 'bidi override and zero-width space shown as code points');
    assert.doesNotMatch(html, /[\u202e\u200b]/);
    const stored = json.top_users.find((u: any) => u.user.startsWith('LLL')).user.length; // the store keeps 1,024 characters of a name
    assert.ok(stored > 200 && LONG_NAME.startsWith('L'.repeat(stored)));
    assert.ok(rows.includes('L'.repeat(200) + ` [… ${stored - 200} more characters]`), 'a long name is cut, and says so');
    assert.ok(!html.includes('L'.repeat(201)));
    assert.ok(tables(html)['top-hosts'].some((r) => r[0].text === ONLOAD_HOST));
    assert.ok(html.length < 20000, `${html.length} bytes`);
    assert.ok(LONG_NAME.length === 10240 && RTL_NAME.includes('\u202e'));
  });

  it('has a Content-Security-Policy meta that allows its own style and nothing else', () => {
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html);
    assert.ok(csp);
    const policy = decode(csp[1]);
    assert.match(policy, /^default-src 'none';/);
    assert.doesNotMatch(policy, /script-src|unsafe|\*|https?:/);
    const style = /<style>([\s\S]*?)<\/style>/.exec(html)![1];
    const hash = require('node:crypto').createHash('sha256').update(style).digest('base64');
    assert.ok(policy.includes(`style-src 'sha256-${hash}'`), 'the hash is the style block');
    assert.ok(html.indexOf('Content-Security-Policy') < html.indexOf('<style>'), 'the policy comes before the style');
    assert.match(style, /@media print/);
  });

  it('in headless Chromium: the names are text, nothing runs, nothing is blocked; injected script would be', async function () {
    if (!fs.existsSync(CHROMIUM)) this.skip();
    const browser = await launchChromium();
    try {
      const load = async (file: string) => {
        const ctx = await browser.newContext({ javaScriptEnabled: true });
        const page = await ctx.newPage();
        const requests: string[] = [];
        page.on('request', (r) => requests.push(r.url()));
        // an init script runs outside the page's CSP: it counts violations and cannot be blocked
        await page.addInitScript('window.__violations = []; document.addEventListener("securitypolicyviolation", (e) => window.__violations.push(e.violatedDirective));');
        await page.goto('file://' + file);
        await page.waitForTimeout(300);
        const r = await page.evaluate(`({ pwned: window.__pwned, violations: window.__violations, scripts: document.querySelectorAll('script,img,svg,iframe,object').length,
          users: [...document.querySelectorAll('#top-users tbody tr td:first-child')].map((td) => td.textContent),
          hosts: [...document.querySelectorAll('#top-hosts tbody tr td:first-child')].map((td) => td.textContent),
          styled: getComputedStyle(document.querySelector('th')).fontWeight })`) as any;
        await ctx.close();
        return { ...r, requests: requests.filter((u) => u !== 'file://' + file) };
      };
      const good = path.join(tmp, 'report.html');
      fs.writeFileSync(good, html);
      const r = await load(good);
      assert.equal(r.pwned, undefined);
      assert.equal(r.scripts, 0);
      assert.deepEqual(r.violations, [], 'its own style is allowed by the hash');
      assert.deepEqual(r.requests, []);
      assert.equal(r.styled, '600', 'the inline style applies');
      assert.ok(r.users.includes(SCRIPT_NAME) && r.users.includes(IMG_NAME));
      assert.ok(r.hosts.includes(ONLOAD_HOST));
      // the policy is what stops markup that escaping had missed; without it the same markup runs
      const evil = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>';
      const tampered = path.join(tmp, 'tampered.html');
      fs.writeFileSync(tampered, html.replace('<h1>', evil + '<h1>'));
      const t = await load(tampered);
      assert.equal(t.pwned, undefined);
      assert.ok(t.violations.includes('script-src-elem') || t.violations.includes('script-src'), JSON.stringify(t.violations));
      const bare = path.join(tmp, 'bare.html');
      fs.writeFileSync(bare, html.replace(/<meta http-equiv="Content-Security-Policy"[^>]*>/, '').replace('<h1>', evil + '<h1>'));
      assert.notEqual((await load(bare)).pwned, undefined, 'the harness sees a script that runs');
    } finally {
      await browser.close();
    }
  });

  // Was: every sensor's report of a period had the same name, so the second replaced the first
  it('--out DIR/ with --sensor names the file after the sensor too, a hostile name made safe', () => {
    const dir = path.join(tmp, 'per-sensor');
    fs.mkdirSync(dir);
    const files: string[] = [];
    for (const sensor of ['hq-core', 'branch.2', '../../evil "x"\n']) {
      const r = shadowim(['report', '--store', store, '--since', '2024-01-15', '--until', '2024-01-16', '--sensor', sensor, '--format', 'html', '--out', dir + '/']);
      assert.equal(r.status, 0, r.stderr);
      files.push(r.stdout.trim());
    }
    assert.deepEqual(files.map((f) => path.dirname(f)), [dir, dir, dir], 'every report inside the directory');
    assert.deepEqual(fs.readdirSync(dir).sort(), [
      'shadowim-report-.._.._evil__x__-2024-01-15T000000Z_2024-01-16T000000Z.html',
      'shadowim-report-branch.2-2024-01-15T000000Z_2024-01-16T000000Z.html',
      'shadowim-report-hq-core-2024-01-15T000000Z_2024-01-16T000000Z.html',
    ]);
  });

  it('--out DIR/ writes shadowim-report-<from>_<to>.<ext> atomically with mode 0640 and prints the path', () => {
    const dir = path.join(tmp, 'reports');
    fs.mkdirSync(dir);
    for (const [out, fmt, ext] of [[dir + '/', 'html', 'html'], [dir, 'csv', 'csv']]) {
      const r = shadowim(['report', '--store', store, '--since', '2024-01-15', '--until', '2024-01-16T09:30:00Z', '--format', fmt, '--out', out]);
      assert.equal(r.status, 0, r.stderr);
      const file = path.join(dir, `shadowim-report-2024-01-15T000000Z_2024-01-16T093000Z.${ext}`);
      assert.equal(r.stdout, file + '\n');
      assert.equal(fs.statSync(file).mode & 0o777, 0o640);
      const same = shadowim(['report', '--store', store, '--since', '2024-01-15', '--until', '2024-01-16T09:30:00Z', '--format', fmt]).stdout;
      assert.equal(fs.readFileSync(file, 'utf8'), same);
    }
    assert.deepEqual(fs.readdirSync(dir).sort(), ['shadowim-report-2024-01-15T000000Z_2024-01-16T093000Z.csv', 'shadowim-report-2024-01-15T000000Z_2024-01-16T093000Z.html'], 'no temp files left');
    // a file name still means that file; mode 0640 even under a permissive umask
    const f = path.join(tmp, 'r.html');
    assert.equal(shadowim(['report', '--store', store, '--since', 'all', '--format', 'html', '--out', f]).status, 0);
    assert.equal(fs.statSync(f).mode & 0o777, 0o640);
    assert.match(fs.readFileSync(f, 'utf8'), /^<!DOCTYPE html>/);
  });

  it('an unwritable or missing directory is one line, exit 2, and leaves nothing behind', function () {
    const ro = path.join(tmp, 'ro');
    fs.mkdirSync(ro, { mode: 0o555 });
    fs.chmodSync(ro, 0o555);
    const args = [CLI, 'report', '--store', store, '--since', 'all', '--format', 'html', '--out', ro + '/'];
    // as root, drop the capabilities that ignore file modes, so the directory's mode applies
    const r = process.getuid?.() === 0
      ? spawnSync('setpriv', ['--bounding-set', '-dac_override,-dac_read_search,-fowner', process.execPath, ...args], { encoding: 'utf8' })
      : spawnSync(process.execPath, args, { encoding: 'utf8' });
    if (r.error) this.skip();
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr, `shadowim: cannot write to ${ro}/: permission denied\n`);
    assert.equal(r.stdout, '');
    assert.deepEqual(fs.readdirSync(ro), []);
    const missing = shadowim(['report', '--store', store, '--format', 'html', '--out', path.join(tmp, 'nope') + '/']);
    assert.equal(missing.status, 2);
    assert.equal(missing.stderr, `shadowim: cannot write to ${path.join(tmp, 'nope')}/: no such directory\n`);
    const bad = shadowim(['report', '--store', store, '--format', 'pdf']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--format must be one of text, json, csv, html\n$/);
  });
});
