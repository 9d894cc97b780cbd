// Links in IM messages: extraction from hostile text, blocklist formats and matching, the
// `links:` configuration, malicious_link alerts from the analyzer, and the real command line on a
// generated IRC capture (with a SIEM sink filtered to the new kind).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { ShadowEvent } from '../../common/events';
import { createAnalyzer } from '../../analyzer';
import { defaultPolicy, parsePolicy } from '../../analyzer/policy';
import { canonicalHost, extractLinks, LinkBlocklist, LinkFilter, LinksConfigError, parseLinksConfig, MAX_LINKS, MAX_LINK_CHARS, NESTED_BUDGET, type Link } from '../../analyzer/links';
import { parseConfig } from '../../common/config';
import { Capture } from '../helpers/pcapgen';
import { shadowim, shadowimAsync } from '../helpers/run';
import { boundedIt } from '../helpers/bounded';
import { Collect } from '../helpers/collect';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-links-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function list(name: string, text: string): string {
  const f = path.join(tmp, name);
  fs.writeFileSync(f, text);
  return f;
}

/** [host, port, path, the text the link was read from] of each link */
function links(text: string): Array<[string, number | undefined, string, string]> {
  return extractLinks(text).map((l) => [l.host, l.port, l.path, text.slice(l.start, l.end)]);
}

function one(text: string): Link {
  const l = extractLinks(text);
  assert.equal(l.length, 1, `${JSON.stringify(text)} → ${JSON.stringify(l)}`);
  return l[0];
}

describe('links: extraction from message text', () => {
  it('drops the punctuation people type after a link, keeps brackets the link opened', () => {
    assert.deepEqual(links('see http://evil.example/a/b.'), [['evil.example', undefined, '/a/b', 'http://evil.example/a/b']]);
    assert.deepEqual(links('(http://evil.example/x), then'), [['evil.example', undefined, '/x', 'http://evil.example/x']]);
    assert.deepEqual(links('look: https://en.wikipedia.org/wiki/Foo_(bar)!'), [['en.wikipedia.org', undefined, '/wiki/Foo_(bar)', 'https://en.wikipedia.org/wiki/Foo_(bar)']]);
    assert.deepEqual(links("it's 'http://evil.example/q?a=1';"), [['evil.example', undefined, '/q?a=1', 'http://evil.example/q?a=1']]);
    assert.deepEqual(links('"http://evil.example/"'), [['evil.example', undefined, '/', 'http://evil.example/']]);
    assert.deepEqual(links('<http://evil.example/p>'), [['evil.example', undefined, '/p', 'http://evil.example/p']]);
    assert.deepEqual(links('[link](http://evil.example/md) and http://evil.example/q?…'), [
      ['evil.example', undefined, '/md', 'http://evil.example/md'],
      ['evil.example', undefined, '/q', 'http://evil.example/q'],
    ]);
    assert.deepEqual(links('www.evil.example/x?!'), [['www.evil.example', undefined, '/x', 'www.evil.example/x']]);
    // full-width and ideographic sentence punctuation (Chinese and Japanese prose), half-width ｡ too
    for (const p of ['。', '｡', '、', '，', '；', '：', '！', '？', '＇', '＊', '．', '！？']) {
      assert.deepEqual(links(`看 http://evil.example/a${p}\n好`), [['evil.example', undefined, '/a', 'http://evil.example/a']], p);
      assert.deepEqual(links(`見て https://evil.example${p}`), [['evil.example', undefined, '', 'https://evil.example']], p);
    }
    // links in one run share its end, each with its own brackets
    assert.deepEqual(links('((http://a.example/x_(y)),http://b.example/(z))).'), [
      ['a.example', undefined, '/x_(y)),http://b.example/(z', 'http://a.example/x_(y)),http://b.example/(z'],
      ['b.example', undefined, '/(z)', 'http://b.example/(z)'],
    ]);
    assert.deepEqual(links('[http://a.example/[1]](http://b.example/c)]'), [
      ['a.example', undefined, '/[1]](http://b.example/c)', 'http://a.example/[1]](http://b.example/c)'],
      ['b.example', undefined, '/c', 'http://b.example/c'],
    ]);
    assert.deepEqual(links('www.a.example,www.b.example,www.c.example!').map((l) => l[3]), ['www.a.example,www.b.example,www.c.example', 'www.b.example,www.c.example', 'www.c.example']);
  });

  it('never reports userinfo (user:pass@) and reads the host after the last @ as a browser does', () => {
    const text = 'try http://admin:hunter2@Evil.Example:8080/login now';
    const l = one(text);
    assert.equal(l.host, 'evil.example');
    assert.equal(l.port, 8080);
    assert.equal(l.path, '/login');
    assert.equal(text.slice(l.hostStart, l.authEnd), 'Evil.Example:8080');
    const shown = new LinkFilter(new LinkBlocklist()).show(text, l, [], 65536, () => []);
    assert.equal(shown.url, 'hxxp://evil[.]example:8080/login');
    assert.ok(!shown.url.includes('hunter2') && !shown.url.includes('admin'));
    // the host a browser goes to is after the last @
    assert.equal(one('http://paypal.com@evil.example/').host, 'evil.example');
    assert.equal(one('http://a@b@evil.example/').host, 'evil.example');
    // an @ in the path is not userinfo
    assert.deepEqual(links('http://evil.example/@user'), [['evil.example', undefined, '/@user', 'http://evil.example/@user']]);
  });

  it('ports: the scheme default is dropped, others kept, a bad port is not a link', () => {
    assert.equal(one('http://evil.example:80/').port, undefined);
    assert.equal(one('https://evil.example:443/').port, undefined);
    assert.equal(one('ftp://evil.example:21/pub').port, undefined);
    assert.equal(one('https://evil.example:80/').port, 80);
    assert.equal(one('http://evil.example:0080/').port, undefined, 'leading zeros');
    assert.equal(one('http://evil.example:8443').port, 8443);
    assert.equal(one('http://evil.example:/x').port, undefined, 'empty port');
    assert.deepEqual(links('http://evil.example:99999/ http://evil.example:8o/ http://evil.example:1:2/'), []);
    assert.equal(one('go to http://evil.example: it is bad').host, 'evil.example', 'a colon after the host is punctuation');
  });

  // found by links-fuzz.test.ts: a port of more than 10 characters was no link, so a listed host
  // typed with leading zeros before its port (which browsers read as the number) went unseen
  it('a port with any number of leading zeros is read as a browser reads it, and a listed link with one is found', () => {
    assert.equal(one('http://evil.example:000000000080/x').port, undefined, 'the default port');
    assert.equal(one('https://evil.example:0000000000000008443/').port, 8443);
    assert.deepEqual(links('http://evil.example:0000000000065536/ http://evil.example:0000000000008o/'), [], 'still too large, not digits');
    const b = blocklist('zeros.txt', 'evil.example\nhttp://dl.example/bin\n');
    assert.deepEqual(hits(b, 'get http://evil.example:00000000080/x and ftp://dl.example:000000000000000021/bin/a'), ['zeros', 'zeros']);
  });

  it('IPv6 literal hosts, in canonical form, with and without a port; IPv4 in the spellings browsers accept', () => {
    assert.deepEqual(links('http://[2001:DB8:0:0::1]:8080/x and http://[::1]/'), [
      ['[2001:db8::1]', 8080, '/x', 'http://[2001:DB8:0:0::1]:8080/x'],
      ['[::1]', undefined, '/', 'http://[::1]/'],
    ]);
    assert.deepEqual(links('http://[2001:db8::1/ http://[zz::1]/ http://[::1]x/'), [], 'unclosed, not hex, junk after ]');
    assert.equal(one('http://0x7f.1/').host, '127.0.0.1');
    assert.equal(one('http://3232235777/').host, '192.168.1.1');
    assert.equal(one('http://010.0.0.1/').host, '8.0.0.1', 'octal, as browsers read it');
    assert.equal(one('http://198.51.100.7:8080/bin.sh').host, '198.51.100.7');
  });

  it('host case, IDN and escapes as a browser resolves them; the path keeps its case', () => {
    const l = one('HTTP://WWW.Evil.EXAMPLE/Path/File.EXE');
    assert.equal(l.scheme, 'http');
    assert.equal(l.host, 'www.evil.example');
    assert.equal(l.path, '/Path/File.EXE');
    assert.equal(one('http://BÜCHER.example/').host, 'xn--bcher-kva.example');
    assert.equal(one('http://xn--BCHER-kva.example/').host, 'xn--bcher-kva.example');
    assert.equal(one('http://ｅｖｉｌ．example/').host, 'evil.example', 'full-width letters and dot');
    assert.equal(one('http://%65vil.example/').host, 'evil.example');
    assert.equal(one('http://evil.example./x').host, 'evil.example', 'trailing dot');
    assert.equal(one('http://evil.example\\x\\y').path, '/x/y', 'backslash reads as slash');
    assert.equal(one('http://evil.example/a#frag').path, '/a', 'the fragment is not sent to the server');
  });

  // found by links-fuzz.test.ts: a plain ASCII host was taken as it was typed, xn-- labels too, so a
  // host browsers refuse (its xn-- label no punycode) was a link to it
  it('an xn-- label that is no punycode makes it no link, as browsers refuse it; real punycode stays', () => {
    assert.deepEqual(links('http://xn--a.example/ http://www.xn--.example/ ftp://a.XN--a.test/ www.xn--a.example'), []);
    assert.equal(canonicalHost('xn--a.example'), undefined);
    assert.deepEqual(links('http://XN--BCHER-KVA.example/ http://www.xn--p1ai/').map((l) => l[0]), ['xn--bcher-kva.example', 'www.xn--p1ai']);
  });

  // URL.canParse, once optimised, reads a short one-byte string's U+0080-U+00FF as UTF-8 (Node 20)
  it('a host with é or ü reads the same after many hosts went through the URL parser', () => {
    for (let i = 0; i < 200_000; i++) canonicalHost(`!${i}`);
    assert.equal(canonicalHost('é.x'), 'xn--9ca.x');
    assert.equal(one('see http://ü.x/').host, 'xn--tda.x');
    assert.equal(canonicalHost('bücher.example'), 'xn--bcher-kva.example');
  });

  it('http, https, ftp and www. only, not inside a word, a host or another scheme', () => {
    assert.deepEqual(links('sftp://evil.example/ xhttp://evil.example/ mail.www.evil.example hxxp://evil[.]example'), []);
    assert.deepEqual(links('file:///etc/passwd mailto:a@evil.example javascript:alert(1)'), []);
    assert.deepEqual(links('www. www.x www.evil.example'), [['www.x', undefined, '', 'www.x'], ['www.evil.example', undefined, '', 'www.evil.example']]);
    assert.deepEqual(links('ftp://files.evil.example/pub/x.zip'), [['files.evil.example', undefined, '/pub/x.zip', 'ftp://files.evil.example/pub/x.zip']]);
    assert.deepEqual(links('http:// evil.example'), [], 'no host');
    // a browser reads any run of / and \ after the scheme: new URL('http:///x') has host x (this
    // asserted no link until 27 November, so "https:///evil.example" went past the lists)
    assert.deepEqual(links('http:///x'), [['x', undefined, '', 'http:///x']]);
    // a link inside another link's query (a redirector) is a link too
    assert.deepEqual(
      links('https://safe.example/r?u=http://evil.example/x').map((l) => l[0]),
      ['safe.example', 'evil.example'],
    );
    // the same link twice is one link
    assert.equal(extractLinks('http://evil.example/a http://EVIL.example/a').length, 1);
  });

  // until 27 November only "scheme://" was read: a dropped, doubled or turned slash took a listed host past the lists
  it('a scheme with one or more / or \\ after it is a link, as a browser reads it; a scheme before a letter is prose', () => {
    const typed = ['http:/evil.example', 'http:\\\\evil.example', 'http:\\evil.example', 'https:///evil.example', 'HTTP:/\\evil.example', 'ftp:\\/\\evil.example/x', `http:${'/'.repeat(3000)}evil.example/p`];
    const f = new LinkFilter(blocklist('slashes.txt', 'evil.example\n'));
    for (const t of typed) {
      assert.equal(new URL(t).hostname, 'evil.example', t);
      const text = `see ${t}.`;
      assert.deepEqual(extractLinks(text).map((l) => [l.host, text.slice(l.start, l.end)]), [['evil.example', t]], t);
      assert.equal(f.check(text).length, 1, `${t} is listed`);
    }
    assert.equal(one('HTTP:/\\evil.example\\a/b').path, '/a/b');
    assert.equal(one('https:\\evil.example:443').port, undefined);
    // prose, and a scheme inside a word
    assert.deepEqual(links("use http: it's faster, http:evil.example, https:evil and xhttp:/evil.example"), []);
  });

  it('a very long link is read to 2,048 characters and still matched by its host', () => {
    const text = `x http://evil.example/${'a'.repeat(100_000)} y http://next.example/`;
    const l = extractLinks(text);
    assert.equal(l.length, 2);
    assert.equal(l[0].end - l[0].start, MAX_LINK_CHARS);
    assert.equal(l[1].host, 'next.example');
    const f = new LinkFilter(blocklist('long.txt', 'evil.example\n'));
    assert.equal(f.check(text).length, 1);
    const longHost = `http://${'a.'.repeat(5000)}evil.example/`;
    assert.deepEqual(extractLinks(longHost).map((x) => x.end - x.start), [MAX_LINK_CHARS], 'cut, not rejected');
  });

  it('very many links: extractLinks gives the first 32', () => {
    const text = Array.from({ length: 1000 }, (_, i) => `http://h${i}.example/`).join(' ');
    const l = extractLinks(text);
    assert.equal(l.length, MAX_LINKS);
    assert.equal(l[31].host, 'h31.example');
  });

  // at most 1,024 distinct links were looked up a message: with every link looked up, an overlapping
  // path (backslashes rewritten) or a listed path was read again for each link (10 s a message)
  boundedIt(__filename, 'hostile text: bounded work whatever the message', 60, () => {
    const K = 1 << 20;
    const distinct = (unit: (i: number) => string) => {
      const parts: string[] = [];
      for (let i = 0, n = 0; n < K; i++) n += parts[parts.push(unit(i)) - 1].length;
      return parts.join('');
    };
    const many = [
      distinct((i) => `www.a${i.toString(36)} `), // ~110,000 distinct short links
      distinct((i) => `http://${i.toString(36)}/ `),
      `x${distinct((i) => `http://a.example\\i${i.toString(36)}\\`)}`, // each path the rest of one word
      `x${distinct((i) => `http://u.example/${i.toString(36)}/`)}`, // a host with 200 listed path lengths
      distinct((i) => `http://u.example${'/p'.repeat(201)}/${i.toString(36)} `), // each following its listed paths
    ];
    const texts = [
      'http://'.repeat(K / 7),
      'www.'.repeat(K / 4),
      'https://x'.repeat(K / 9),
      `http://${'a'.repeat(K)}`,
      `http://${'@'.repeat(K)}`,
      `http://[${':'.repeat(K)}`,
      `http://evil.example/${'('.repeat(K / 2)}${')'.repeat(K / 2)}`,
      `http://evil.example/${'.'.repeat(K)}`,
      `http://${'1.'.repeat(K / 2)}1`,
      `http://${'0x'.repeat(K / 2)}`,
      `${'a.'.repeat(K / 2)}http://evil.example`,
      'http://evil.example/ '.repeat(K / 20),
      `http://${'%'.repeat(K)}`,
      `http://${'é'.repeat(K)}.example`,
      'ftp://a:b@c:d@e:f@'.repeat(K / 18),
      ...many,
    ];
    const paths = Array.from({ length: 200 }, (_, i) => `http://u.example/${'p/'.repeat(i + 1)}x`).join('\n');
    const f = new LinkFilter(blocklist('hostile.txt', `evil.example\nhttp://a.example/x\n${paths}\n`));
    for (const t of texts) {
      for (let i = 0; i < 20; i++) {
        const r = extractLinks(t);
        assert.ok(r.length <= MAX_LINKS);
        for (const l of r) assert.ok(l.end - l.start <= MAX_LINK_CHARS);
        f.check(t);
      }
    }
    // what can be found in them is found
    assert.equal(f.check(`http://evil.example/${'('.repeat(K / 2)}${')'.repeat(K / 2)}`).length, 1);
    assert.equal(f.check('http://evil.example/ '.repeat(K / 20)).length, 1, 'one link however often it is repeated');
    for (const t of many) assert.deepEqual(f.check(`${t} www.evil.example`).map((h) => h.link.host), ['www.evil.example'], t.slice(0, 20));
  });

  // a budget of 128 x 2,048 characters read bounded the work and was spent by such texts long before
  // their end: the listed link after them was not looked at
  boundedIt(__filename, 'hostile text: work is linear in the text and a listed link after 1 MiB of it is found', 60, () => {
    const K = 1 << 20;
    const fill = (unit: string) => unit.repeat(Math.floor(K / unit.length));
    const texts = [
      fill('!www.'), // one run of candidates, each reading to the run's end
      fill('www.'), // www.www.www.…
      `x${fill('http://')}`, // "http://" inside one word: each link's path is the rest of the word
      fill(`${'!www.'.repeat(70)}${'a'.repeat(2000)} `),
      fill('\u{e000}www.'), // hosts the URL parser refuses
      fill('!www.a.example/'), // the same link over and over, overlapping
      `${fill('(www.')}${')'.repeat(K / 2)}`,
      fill(`${'!www.'.repeat(400)}@${'ä'.repeat(2000)} `), // one userinfo for 400 candidates
      fill('ftp://a:b@c:d@'),
      fill('www.a1 '), // one link, the same, ~150,000 times
      `${Array.from({ length: K / 8 }, (_, i) => `www.a${i.toString(36)}`).join(' ')} `, // ~130,000 distinct links
    ];
    const f = new LinkFilter(blocklist('linear.txt', 'evil.example\nhttp://u.example/a/b/c\n'));
    for (const t of texts) {
      const what = JSON.stringify(t.slice(0, 12));
      for (const tail of [' http://evil.example/x', '!www.evil.example', 'http://evil.example/']) {
        const text = t + tail;
        assert.ok(f.check(text).some((l) => l.link.host === 'evil.example' || l.link.host.endsWith('.evil.example')), `${what}${tail}: the listed link is found`);
        const work = { chars: 0 };
        extractLinks(text, 1024, work);
        // the bound scanLinks states: 12 x text for the shared scans, 10 x text for authorities, the budget for nested ones; the paths copied
        const bound = 22 * text.length + 2 * (NESTED_BUDGET + MAX_LINK_CHARS);
        assert.ok(work.chars > text.length && work.chars <= bound + 1024 * MAX_LINK_CHARS, `${what}${tail}: ${work.chars} characters examined, bound ${bound}`);
        // every link looked up: a few probes each, their hosts hashed once (2 x text at most here)
        const checked = { chars: 0, probes: 0 };
        f.check(text, checked);
        assert.ok(checked.chars <= bound + 2 * text.length + MAX_LINKS * MAX_LINK_CHARS, `${what}${tail}: ${checked.chars} characters examined by check, bound ${bound} + 2 x text`);
        assert.ok(checked.probes <= text.length, `${what}${tail}: ${checked.probes} probes`);
      }
    }
  });
});

function blocklist(name: string, text: string, label?: string): LinkBlocklist {
  return LinkBlocklist.load([{ file: list(name, text), label }]);
}

/** the list name and entry label a text's links are listed under */
function hits(b: LinkBlocklist, text: string): string[] {
  return new LinkFilter(b).check(text).map((h) => `${h.entry.list.name}${h.entry.label ? `:${h.entry.label}` : ''}`);
}

describe('links: blocklists', () => {
  it('a bare domain matches itself and its subdomains, not look-alikes', () => {
    const b = blocklist('domains.txt', '# phishing domains\nevil.example\n\n*.bad.example\n.worse.example\nBÜCHER.example\n');
    assert.equal(b.size, 4);
    for (const t of ['http://evil.example/', 'https://a.b.EVIL.example:8443/x', 'www.evil.example', 'http://x.bad.example/', 'http://bad.example/', 'http://worse.example/', 'http://xn--bcher-kva.example/', 'http://bücher.example/'])
      assert.deepEqual(hits(b, t), ['domains'], t);
    for (const t of ['http://notevil.example/', 'http://evil.example.com/', 'http://example/', 'http://evil-example/', 'http://safe.example/evil.example'])
      assert.deepEqual(hits(b, t), [], t);
  });

  // every parent domain of a link's host was hashed and looked up: a 2,000-character host of
  // 1,000 labels cost ~1 M characters hashed a link, 32 links a message (~70 ms a message)
  // at most 128 places and 32 links were looked at: 130 "www. " (650 bytes) or 40 ordinary links
  // before a listed link hid it; then at most 1,024 distinct links: 1,030 (9 KB of www.a1 www.a2 …)
  it('a flood of cheap candidates or ordinary links before a listed link does not hide it', () => {
    const b = blocklist('flood.txt', 'evil.example\n');
    const ordinary = (n: number) => Array.from({ length: n }, (_, i) => `http://x${i}.example/`).join(' ');
    const short = (n: number) => Array.from({ length: n }, (_, i) => `www.a${i}`).join(' ');
    for (const prefix of ['www. '.repeat(130), 'http://a'.repeat(130), `${ordinary(40)} `, `${ordinary(1000)} `, `${ordinary(1030)} `, `${short(1030)} `, `${short(100_000)} `])
      assert.deepEqual(hits(b, `${prefix} see http://evil.example/x`), ['flood'], prefix.slice(0, 20));
    // what is reported stays bounded: 32 listed links a message
    const many = Array.from({ length: 100 }, (_, i) => `http://a${i}.evil.example/`).join(' ');
    assert.equal(new LinkFilter(b).check(many).length, MAX_LINKS);
  });

  // each candidate read up to 2,048 characters from a budget of 128 x 2,048 for all: 70 "!www."
  // before one 2,000-character word (2.35 KB) had each "www." read the same word again and spend it
  it('www. candidates nested in one long word before a listed link do not hide it', () => {
    const b = blocklist('nested.txt', 'evil.example\n');
    const word = 'a'.repeat(2000);
    for (const n of [70, 200, 2000]) {
      for (const junk of [`${'!www.'.repeat(n)}${word}`, `${'\u{e000}www.'.repeat(n)}${word}`, `${'(www.'.repeat(n)}${word}${')'.repeat(n)}`]) {
        const what = `${n} x ${JSON.stringify(junk.slice(0, 5))}`;
        assert.deepEqual(hits(b, `${junk} see http://evil.example/x`), ['nested'], what);
        assert.deepEqual(hits(b, `${junk} www.evil.example`), ['nested'], what);
        // in the same word: the last www. (its host is the listed one) is read whatever came before
        const same = hits(b, `${junk}!www.evil.example`);
        assert.ok(same.length >= 1 && same.every((h) => h === 'nested'), `${what}: ${same}`);
      }
    }
  });

  // past the budget for www. nested in one host (spent by junk anywhere in the message), a www. whose
  // host held two more was not read: listed names with "www" after a non-ASCII letter, or typed with
  // ideographic full stops before their "www" labels, went unseen
  it('www. nested in a listed host are read after junk spent the budget for nested ones', () => {
    const b = blocklist('nested-idn.txt', 'äwww.äwww.evil.example\npaypal.com.www.login.www.evil.example\n');
    const links = ['www.äwww.äwww.evil.example', 'www.paypal.com。www.login。www.evil.example', 'https://safe.example/r?u=www.äwww.äwww.evil.example', '(www.äwww.äwww.evil.example)'];
    // nested authorities of ~500,000 characters: hosts the URL parser refuses, or names
    for (const junk of [`${'\u{e000}www.'.repeat(200)}${'a'.repeat(2000)} `, `${'äwww.'.repeat(200)}${'a'.repeat(2000)} `]) {
      const spent = { chars: 0 };
      extractLinks(junk, Infinity, spent);
      assert.ok(spent.chars > 2 * NESTED_BUDGET, `${spent.chars}: the budget is spent`);
      for (const link of links) {
        for (const before of ['', junk, junk.repeat(4), `${junk}http://evil.example.org/?${junk}`]) assert.deepEqual(hits(b, `${before}${link}`), ['nested-idn'], `${before.length} characters before ${link}`);
      }
      // in the same word: www. whose host the parser refuses or that are no link, or hosts whose parent it is
      for (const glued of ['!www.!www.', '\u{e000}www.\u{e000}www.\u{e000}www.', 'www.a!www.a!']) {
        const found = hits(b, `${junk}${glued}www.äwww.äwww.evil.example`);
        assert.ok(found.length >= 1 && found.every((h) => h === 'nested-idn'), `${glued}: ${found}`);
      }
    }
  });

  // each parent domain was hashed on its own: 127 x 253 characters a link (32 links, 2-8 ms a message)
  it('a host of 1,000 labels: only parents as short as a domain name are looked up, and a listed one is found', () => {
    const b = blocklist('deep.txt', 'evil.example\n');
    const deep = 'a.'.repeat(1000);
    const text = `http://${deep}x.example/ http://${deep}evil.example/`;
    const work = { chars: 0, probes: 0 };
    assert.deepEqual(new LinkFilter(b).check(text, work).map((h) => h.entry.list.name), ['deep']);
    const scan = { chars: 0 };
    extractLinks(text, MAX_LINKS, scan);
    // the parents of up to 253 characters, their hashes in one pass over at most 254 characters a link
    assert.ok(work.probes >= 2 && work.probes <= 2 * 127, `${work.probes} probes`);
    assert.ok(work.chars - scan.chars <= 2 * 254, `${work.chars - scan.chars} characters hashed`);
  });

  it('a full URL matches itself and what is below its path, whatever the scheme, host case, default port or trailing slash', () => {
    const b = blocklist('urlhaus.txt', '# URLhaus\nhttp://198.51.100.7:8080/bins/mozi.m\nhttps://Evil.Example:443/dl/\nhttp://files.example/get.php?id=5\nhttp://whole.example\n');
    assert.equal(b.size, 4);
    const yes = [
      'http://198.51.100.7:8080/bins/mozi.m',
      'https://198.51.100.7:8080/bins/mozi.m/',
      'http://evil.example/dl',
      'http://EVIL.example:80/dl/',
      'https://evil.example/dl/payload.exe?x=1',
      'https://evil.example/dl?x',
      'http://files.example/get.php?id=5',
      'http://files.example/get.php?id=5&y=2',
      'http://whole.example/anything/at/all',
      'http://whole.example',
    ];
    for (const t of yes) assert.deepEqual(hits(b, t), ['urlhaus'], t);
    const no = [
      'http://198.51.100.7/bins/mozi.m', // another port
      'http://198.51.100.7:8080/bins/mozi.mips', // not below the path
      'http://198.51.100.7:8080/bins/',
      'http://evil.example/dlx',
      'http://evil.example/DL', // paths are case-sensitive
      'http://evil.example/',
      'http://sub.evil.example/dl', // a URL entry is that host only
      'http://files.example/get.php?id=50',
      'http://sub.whole.example/',
    ];
    for (const t of no) assert.deepEqual(hits(b, t), [], t);
  });

  it('hosts-file lines, with several names, tabs and comments; localhost lines are not entries', () => {
    const b = blocklist('hosts', '127.0.0.1 localhost\n::1 localhost ip6-localhost\n255.255.255.255 broadcasthost\n0.0.0.0 0.0.0.0\n0.0.0.0 ads.evil.example  # tracker\n127.0.0.1\ttrack.evil.example\tpixel.evil.example\r\n');
    assert.equal(b.size, 3);
    assert.deepEqual(hits(b, 'http://ads.evil.example/ http://x.pixel.evil.example/ http://track.evil.example/'), ['hosts', 'hosts', 'hosts']);
    assert.deepEqual(hits(b, 'http://localhost/ http://evil.example/ http://0.0.0.0/ http://127.0.0.1/'), []);
  });

  it('labels: ",label" and a tab column name the entry; the list is named by its file, or its configured label', () => {
    const b = LinkBlocklist.load([
      { file: list('phish.txt', 'evil.example,Phishing.Bank\nhttp://dl.example/x\tEmotet\nplain.example\nhttp://c.example/a,b\n') },
      { file: list('other.list', 'other.example\n'), label: 'intel-2' },
    ]);
    assert.deepEqual(hits(b, 'http://evil.example/'), ['phish:Phishing.Bank']);
    assert.deepEqual(hits(b, 'http://dl.example/x/y'), ['phish:Emotet']);
    assert.deepEqual(hits(b, 'http://plain.example/'), ['phish']);
    assert.deepEqual(hits(b, 'http://c.example/a'), ['phish:b'], 'a trailing ",word" is a label');
    assert.deepEqual(hits(b, 'http://other.example/'), ['intel-2']);
    // labels become safe tokens (they reach summaries and SIEM lines)
    const odd = blocklist('odd name!.txt', 'x.example,Bad Label+1\n0.0.0.0 y.example,Bad Label+1\n');
    assert.deepEqual(hits(odd, 'http://x.example/ http://y.example/'), ['odd_name_:Bad_Label_1', 'odd_name_:Bad_Label_1'], 'a hosts-file line\'s label too');
  });

  it('an IP address entry matches that address only; IPv6 entries bare or in brackets', () => {
    const b = blocklist('ips.txt', '198.51.100.7\n2001:db8::66\n[2001:DB8::77]\n');
    assert.deepEqual(hits(b, 'http://198.51.100.7/ http://0xc6336407/hex http://[2001:db8:0::66]/ http://[2001:db8::77]:81/'), ['ips', 'ips', 'ips', 'ips']);
    assert.deepEqual(hits(b, 'http://1.198.51.100.7/ http://98.51.100.7/ http://[2001:db8::6]/'), []);
  });

  // found by links-fuzz.test.ts: a host whose last character was a digit was taken for an address
  // and looked up as itself only, so sub.evil.co1 was not found with evil.co1 listed
  it('a name ending in a digit is a name: its parent domains are looked up', () => {
    const b = blocklist('digit.txt', 'evil.co1\n7.x9\n');
    assert.deepEqual(hits(b, 'http://sub.evil.co1/ www.a.b.evil.co1 http://evil.co1/ http://www.7.x9/'), ['digit', 'digit', 'digit', 'digit']);
    assert.deepEqual(hits(b, 'http://notevil.co1/ http://evil.co1.example/ http://evil.co12/ http://17.x9/'), []);
  });

  it('URLhaus CSV lines (quoted columns): the URL column is the entry', () => {
    const b = blocklist('urlhaus.csv', '# id,dateadded,url,url_status,last_online,threat,tags,urlhaus_link,reporter\n"3034577","2024-06-01 10:11:12","http://203.0.113.9:3333/i","online","2024-06-01 10:11:12","malware_download","elf,mozi","https://urlhaus.abuse.ch/url/3034577/","lrz_urlhaus"\n');
    assert.equal(b.size, 1);
    assert.deepEqual(hits(b, 'wget http://203.0.113.9:3333/i'), ['urlhaus']);
    assert.deepEqual(hits(b, 'https://urlhaus.abuse.ch/url/3034577/'), [], 'only the first URL column');
  });

  it('host/path and host:port entries without a scheme are URLs', () => {
    const b = blocklist('noscheme.txt', 'evil.example/dl/\nbad.example:8080\n');
    assert.deepEqual(hits(b, 'http://evil.example/dl/x https://bad.example:8080/y'), ['noscheme', 'noscheme']);
    assert.deepEqual(hits(b, 'http://evil.example/ http://bad.example/y http://x.evil.example/dl'), []);
  });

  // found by links-fuzz.test.ts: "[2001:db8::1]:8080" was read as the address alone (its port dropped),
  // so a link to that address on any port was reported as listed
  it('an IPv6 literal with a port and no scheme is that address on that port only', () => {
    const b = blocklist('v6port.txt', '[2001:db8::1]:8080\n[2001:db8::2]:8443/dl\n');
    assert.deepEqual(hits(b, 'http://[2001:DB8::1]:8080/x http://[2001:db8::2]:8443/dl/a'), ['v6port', 'v6port']);
    assert.deepEqual(hits(b, 'http://[2001:db8::1]/ http://[2001:db8::1]:8081/x http://[2001:db8::2]/dl'), []);
  });

  it('a list that cannot be read, or holds nothing usable, is one line naming the file', () => {
    assert.throws(() => LinkBlocklist.load([{ file: path.join(tmp, 'missing.txt') }]), (e: Error) => e instanceof LinksConfigError && /^cannot read link blocklist .*missing\.txt: no such file; fix the path in links\.blocklists$/.test(e.message));
    assert.throws(() => LinkBlocklist.load([{ file: tmp }]), (e: Error) => /^cannot read link blocklist .*: is a directory; fix the path in links\.blocklists$/.test(e.message));
    const junk = list('junk.txt', '# only comments\n\n!adblock header\n"a","b"\nnot a host!\n');
    assert.throws(() => LinkBlocklist.load([{ file: junk }]), (e: Error) => /^link blocklist .*junk\.txt holds no URL or domain/.test(e.message) && !e.message.includes('\n'));
    assert.throws(() => LinkBlocklist.load([{ file: list('empty.txt', '') }]), /empty\.txt holds no URL or domain/);
  });

  it('reads lists larger than its 4 MiB chunks, lines cut at chunk borders included, CRLF or not', () => {
    const n = 300_000;
    const lines = Array.from({ length: n }, (_, i) => `host-${i}.evil${i % 7}.example${i % 2 ? '\r' : ''}`);
    const b = blocklist('big.txt', lines.join('\n'));
    assert.equal(b.size, n);
    for (const i of [0, 1, 123_457, 199_999, n - 1]) assert.deepEqual(hits(b, `http://x.host-${i}.evil${i % 7}.example/`), ['big'], String(i));
    assert.deepEqual(hits(b, `http://host-${n}.evil0.example/`), []);
  });
});

describe('links: configuration', () => {
  it('accepts a links: section; list paths are relative to the config file', () => {
    const cfg = parseConfig('links:\n  severity: critical\n  blocklists:\n    - intel/urlhaus.txt\n    - { file: /abs/phish.txt, label: phish, severity: medium }\n', '/etc/shadowim/shadowim.yaml');
    const c = parseLinksConfig(cfg.extra.links, '/etc/shadowim', cfg.file);
    assert.deepEqual(c, {
      severity: 'critical',
      blocklists: [{ file: '/etc/shadowim/intel/urlhaus.txt' }, { file: '/abs/phish.txt', label: 'phish', severity: 'medium' }],
    });
    assert.equal(parseLinksConfig(undefined, '/x'), undefined, 'no section: nothing');
    assert.equal(parseConfig('sensor: a\n', 'c.yaml').extra.links, undefined);
  });

  it('a mistake is one line naming the config file and the setting', () => {
    const bad: Array<[unknown, RegExp]> = [
      [{}, /^c\.yaml: links\.blocklists is required/],
      [{ blocklists: [] }, /^c\.yaml: links\.blocklists is empty/],
      [{ blocklists: ['a.txt'], severity: 'urgent' }, /^c\.yaml: links\.severity must be one of low, medium, high, critical/],
      [{ blocklists: ['a.txt'], lists: 1 }, /^c\.yaml: links\.lists is not a setting/],
      [{ blocklists: [{ file: 'a.txt', label: 'a b' }] }, /^c\.yaml: links\.blocklists\[0\]\.label must be a word/],
      [{ blocklists: [{ path: 'a.txt' }] }, /^c\.yaml: links\.blocklists\[0\]\.path is not a setting/],
      [{ blocklists: [3] }, /^c\.yaml: links\.blocklists\[0\] must be a mapping/],
      ['yes', /^c\.yaml: links\.links must be a mapping/],
    ];
    for (const [raw, re] of bad) assert.throws(() => parseLinksConfig(raw, '/x', 'c.yaml'), (e: Error) => e instanceof LinksConfigError && re.test(e.message) && !e.message.includes('\n'), JSON.stringify(raw));
  });
});

const C = { ip: '10.1.2.3', port: 40001 };
const S = { ip: '198.51.100.7', port: 6667 };
const T0 = Date.UTC(2024, 0, 15, 14, 30);
function message(text: string, over: Partial<any> = {}): ShadowEvent {
  return { type: 'message', ts: new Date(T0 + 1000).toISOString(), protocol: 'irc', from: 'mallory', to: 'alice', text, direction: 'inbound', client: C, server: S, flow_id: 'f1', ...over } as ShadowEvent;
}

describe('links: malicious_link alerts', () => {
  const filter = new LinkFilter(LinkBlocklist.load([{ file: list('a-urlhaus.txt', 'evil.example,Emotet\nhttp://198.51.100.9/bins/\n') }, { file: list('a-phish.txt', 'phish.example\n'), label: 'phishing', severity: 'medium' }]));
  function run(events: ShadowEvent[], policy?: string, links: LinkFilter | null = filter): Collect {
    const out = new Collect();
    const a = createAnalyzer(out, { policy: policy ? parsePolicy(policy, 'p.yaml') : defaultPolicy(), links });
    for (const e of events) a.write(e);
    a.close();
    return out;
  }

  it('one alert per listed link, with the list, the defanged link and who sent it to whom; the message goes on unchanged', () => {
    const text = 'hey check https://login:secret@Login.EVIL.example/reset?u=alice, and http://safe.example/ too';
    const out = run([message(text)], 'people:\n  map: { alice: Alice Example }\n');
    const links = out.alerts.filter((a) => a.kind === 'malicious_link');
    assert.equal(links.length, 1, JSON.stringify(out.alerts));
    const a = links[0];
    assert.equal(a.severity, 'high');
    assert.equal(a.detector, 'a-urlhaus');
    assert.equal(a.match, 'hxxps://login[.]evil[.]example/reset?u=alice');
    assert.equal(a.summary, 'link to login[.]evil[.]example listed in a-urlhaus (Emotet) sent over irc from mallory to alice (inbound)');
    assert.deepEqual(a.users, ['mallory', 'alice']);
    assert.equal(a.person, 'Alice Example', 'the local user of an inbound message');
    assert.deepEqual([a.client, a.server, a.flow_id, a.protocol], [C, S, 'f1', 'irc']);
    assert.match(a.id, /^[0-9a-f]{24}$/);
    assert.ok(!JSON.stringify(out.alerts).includes('secret'), 'userinfo never reported');
    const m = out.events.find((e) => e.type === 'message') as any;
    assert.equal(m.text, text, 'the message event is forwarded as it was');
    assert.equal(m.links, undefined);
  });

  it('a listed host typed with one, three or turned slashes after the scheme raises the alert', () => {
    const out = run([message('try http:/evil.example/a'), message('or HTTPS:\\\\\\Phish.example', { from: 'eve' }), message('or https:///evil.example/b', { from: 'bob' })]);
    const links = out.alerts.filter((a) => a.kind === 'malicious_link');
    assert.deepEqual(links.map((a) => a.match), ['hxxp://evil[.]example/a', 'hxxps://phish[.]example', 'hxxps://evil[.]example/b']);
  });

  it('severity per list or from the policy; a policy cannot lower what it does not name', () => {
    const out = run([message('http://phish.example/x'), message('http://198.51.100.9/bins/x86', { from: 'eve' })]);
    const by = Object.fromEntries(out.alerts.filter((a) => a.kind === 'malicious_link').map((a) => [a.detector, a.severity]));
    assert.deepEqual(by, { phishing: 'medium', 'a-urlhaus': 'high' });
  });

  it('the same host from the same sender to the same receiver is one alert, counted; another receiver is another', () => {
    const ev = [
      message('http://evil.example/a'),
      message('http://evil.example/b', { ts: new Date(T0 + 2000).toISOString() }),
      message('again http://EVIL.example/c', { ts: new Date(T0 + 3000).toISOString() }),
      message('http://evil.example/a', { to: 'bob', ts: new Date(T0 + 4000).toISOString() }),
    ];
    const links = run(ev).alerts.filter((a) => a.kind === 'malicious_link');
    // alice's alert, bob's alert, then alice's update at close with the count
    assert.deepEqual(links.map((a) => [a.summary.replace(/ sent over.*? to (\w+).*?( \[seen \d+ times\])?$/, ' $1$2'), a.count]), [
      ['link to evil[.]example listed in a-urlhaus (Emotet) alice', 1],
      ['link to evil[.]example listed in a-urlhaus (Emotet) bob', 1],
      ['link to evil[.]example listed in a-urlhaus (Emotet) alice [seen 3 times]', 3],
    ]);
    assert.equal(links[0].id, links[2].id);
    assert.notEqual(links[0].id, links[1].id);
  });

  it('what DLP masks in the message is masked in the link shown, also past the scanned length', () => {
    const card = '4539148803436467';
    const out = run([message(`pay at http://evil.example/pay?cc=${card}&ssn=536-22-5598 now`)]);
    const a = out.alerts.find((x) => x.kind === 'malicious_link')!;
    assert.ok(a, JSON.stringify(out.alerts));
    assert.ok(!JSON.stringify(out.events).includes(card) && !JSON.stringify(out.events).includes('536-22-5598'), JSON.stringify(out.events));
    assert.match(a.match!, /^hxxp:\/\/evil\[\.\]example\/pay\?cc=\*+&ssn=\*+-\*+-\*+$/);
    const far = run([message(`${'x '.repeat(200)} http://evil.example/pay?cc=${card}`)], 'dlp:\n  max_scan_bytes: 256\n');
    const b = far.alerts.find((x) => x.kind === 'malicious_link')!;
    assert.ok(b && !b.match!.includes(card), b?.match);
  });

  it('without a links: section nothing looks at links', () => {
    const out = run([message('http://evil.example/')], undefined, null);
    assert.equal(out.alerts.filter((a) => a.kind === 'malicious_link').length, 0);
    assert.ok(out.alerts.some((a) => a.kind === 'unauthorized_im'));
  });

  it('messages without links, or with links not listed, raise nothing', () => {
    const out = run([message('lunch at noon?'), message('http://safe.example/evil.example www.notevil.example'), message(''), message(undefined as any)]);
    assert.equal(out.alerts.filter((a) => a.kind === 'malicious_link').length, 0);
  });
});

describe('links: through the command line', function () {
  this.timeout(120000);

  function ircCapture(file: string): void {
    const c = new Capture();
    const t = c.tcp('10.0.0.5:40001', '198.51.100.7:6667');
    t.open();
    t.send('c', 'NICK alice\r\nUSER alice 0 * :Alice\r\n');
    t.send('s', ':irc.example.net 001 alice :Welcome to the net alice\r\n');
    t.send('s', ':mallory!m@203.0.113.5 PRIVMSG alice :your invoice: http://payroll.EVIL.example/inv/2024.pdf.exe (urgent)\r\n');
    t.send('c', 'PRIVMSG mallory :no thanks, see https://www.example.org/docs.\r\n');
    t.close();
    fs.writeFileSync(file, c.pcap());
  }

  it('a listed link in one message and an unlisted one in another: exactly one malicious_link alert', () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'cli-'));
    fs.mkdirSync(path.join(dir, 'intel'));
    fs.writeFileSync(path.join(dir, 'intel', 'urlhaus.txt'), '# test list\nevil.example\tPhish.Payroll\n');
    fs.writeFileSync(path.join(dir, 'shadowim.yaml'), 'links:\n  blocklists: [intel/urlhaus.txt]\n');
    const cap = path.join(dir, 'irc.pcap');
    ircCapture(cap);
    const r = shadowim(['analyze', cap, '--format', 'jsonl', '--config', path.join(dir, 'shadowim.yaml')]);
    assert.equal(r.status, 0, r.stderr);
    const msgs = r.events.filter((e) => e.type === 'message');
    assert.equal(msgs.length, 2, r.stdout);
    const a = r.events.filter((e) => e.type === 'alert' && e.kind === 'malicious_link');
    assert.equal(a.length, 1, JSON.stringify(a));
    assert.equal(a[0].severity, 'high');
    assert.equal(a[0].protocol, 'irc');
    assert.equal(a[0].detector, 'urlhaus');
    assert.equal(a[0].match, 'hxxp://payroll[.]evil[.]example/inv/2024.pdf.exe');
    assert.equal(a[0].summary, 'link to payroll[.]evil[.]example listed in urlhaus (Phish.Payroll) sent over irc from mallory to alice (inbound)');
    assert.deepEqual(a[0].client, { ip: '10.0.0.5', port: 40001 });
    assert.deepEqual(a[0].server, { ip: '198.51.100.7', port: 6667 });
    assert.deepEqual(a[0].users, ['mallory', 'alice']);
    // the alert follows its message
    assert.ok(r.events.indexOf(a[0]) > r.events.indexOf(msgs[0]));
    // without the section: the same events, no malicious_link
    const plain = shadowim(['analyze', cap, '--format', 'jsonl']);
    assert.equal(plain.status, 0, plain.stderr);
    assert.deepEqual(plain.events, r.events.filter((e) => e.kind !== 'malicious_link' && e.type !== 'stats').concat(plain.events.filter((e) => e.type === 'stats')));
    // the text format shows it too
    const t = shadowim(['analyze', cap, '--format', 'text', '--config', path.join(dir, 'shadowim.yaml')]);
    assert.match(t.stdout, /ALERT HIGH malicious_link: link to payroll\[\.\]evil\[\.\]example listed in urlhaus/);
  });

  it('a SIEM sink filtered to kinds: [malicious_link] receives that alert and no other', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'cli-sink-'));
    fs.writeFileSync(path.join(dir, 'list.txt'), 'evil.example\n');
    const got: any[] = [];
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        got.push(JSON.parse(body));
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      const port = (server.address() as import('node:net').AddressInfo).port;
      fs.writeFileSync(
        path.join(dir, 'c.yaml'),
        `links:\n  blocklists: [list.txt]\nsinks:\n  targets:\n    - name: soc\n      type: webhook\n      url: http://127.0.0.1:${port}/hook\n      kinds: [malicious_link]\n  delivery:\n    outbox: ${path.join(dir, 'outbox.db')}\n    drain_ms: 20000\n`,
      );
      const cap = path.join(dir, 'irc.pcap');
      ircCapture(cap);
      const r = await shadowimAsync(['analyze', cap, '--format', 'jsonl', '--config', path.join(dir, 'c.yaml')]);
      assert.equal(r.status, 0, r.stderr);
      const kinds = r.events.filter((e) => e.type === 'alert').map((e) => e.kind).sort();
      assert.deepEqual(kinds, ['malicious_link', 'unauthorized_im'], 'both on stdout');
      assert.equal(got.length, 1, JSON.stringify(got));
      assert.equal(got[0].kind, 'malicious_link');
      assert.equal(got[0].id, r.events.find((e) => e.kind === 'malicious_link').id);
      assert.equal(got[0].match, 'hxxp://payroll[.]evil[.]example/inv/2024.pdf.exe');
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it('a list that cannot be read stops analyze with one line naming it', () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'cli-bad-'));
    fs.writeFileSync(path.join(dir, 'c.yaml'), 'links:\n  blocklists: [nowhere.txt]\n');
    fs.writeFileSync(path.join(dir, 'bad.yaml'), 'links:\n  blocklist: [nowhere.txt]\n');
    const cap = path.join(dir, 'irc.pcap');
    ircCapture(cap);
    const r = shadowim(['analyze', cap, '--format', 'jsonl', '--config', path.join(dir, 'c.yaml')]);
    assert.equal(r.status, 2, 'a configuration mistake');
    assert.equal(r.stderr, `shadowim: cannot read link blocklist ${path.join(dir, 'nowhere.txt')}: no such file; fix the path in links.blocklists\n`);
    assert.equal(r.stdout, '');
    const b = shadowim(['analyze', cap, '--format', 'jsonl', '--config', path.join(dir, 'bad.yaml')]);
    assert.equal(b.status, 2);
    assert.match(b.stderr, /^shadowim: .*bad\.yaml: links\.blocklist is not a setting \(expected one of: blocklists, severity\)\n$/);
  });
});
