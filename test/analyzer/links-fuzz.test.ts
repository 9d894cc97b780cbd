// Seeded differential fuzz of link extraction and blocklist matching (analyzer/links.ts) against
// the WHATWG URL parser in Node (`URL.parse`, what browsers do). Each case is a message holding
// one link built from random parts (scheme or www., the scheme's slashes as a browser reads them:
// "//" or any run of / and \, userinfo, host: names in mixed case, IDN,
// full-width letters and dots, percent-escapes, IPv4 in every radix and part count, IPv6 literals;
// ports, default ones and leading zeros too; paths, queries and fragments with non-ASCII, escapes and
// '\'), with prose, brackets and the punctuation people type after a link around it.
//
// Oracle, from docs/analyzer.md "Links": the link is the text up to the terminator after it, cut at
// 2,048 characters, its trailing punctuation and the closing brackets it did not open dropped; a
// www. link reads as http://. Where URL.parse reads that text, the link found there has URL's
// hostname (a trailing dot dropped), its port (none for the scheme's default), its scheme, and the
// path as typed ('\' as '/', no fragment) that URL reads as the same pathname and search; where
// URL.parse refuses it, no link is found there (the same link found earlier in the text counts: the
// docs check a link once a message). Documented differences from a browser, taken from the docs:
// the 2,048-character cut, the punctuation dropped, '\' read as '/' in the query too, www. needing
// a name after it, list lines read as comments or *. forms. Then its host, a parent domain of it or
// its URL (the whole path or a prefix of it ending before / ? &), in a list the product loads, lists the link; a
// look-alike (one label changed, a longer label ending in the listed one, another port, a path that
// goes on past the listed one without a boundary, a subdomain of a URL entry's host) is not listed.
// Last: 100 KB texts of near-links glued together are worked through within the bound scanLinks
// states and a listed link after them is found.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { extractLinks, LinkBlocklist, LinkFilter, MAX_LINK_CHARS, NESTED_BUDGET, type Link } from '../../analyzer/links';
import { boundedIt } from '../helpers/bounded';
import { fuzzCases, fuzzSeconds, fuzzSeed, xorshift32 } from '../helpers/fuzz';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-links-fuzz-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** URL.parse, or new URL in a try (Node 20 before 20.18) */
function parse(u: string): URL | null {
  try {
    return new URL(u);
  } catch {
    return null;
  }
}

type R = ReturnType<typeof gen>;

function gen(seed: number) {
  const next = xorshift32(seed);
  const u = () => next() / 0x100000000;
  const int = (n: number) => Math.floor(u() * n);
  const chance = (p: number) => u() < p;
  const pick = <T>(a: readonly T[]): T => a[int(a.length)];
  const str = (pool: readonly string[], n: number) => Array.from({ length: n }, () => pick(pool)).join('');
  return { u, int, chance, pick, str };
}

const LOWER = 'abcdefghijklmnopqrstuvwxyz'.split('');
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ'.split('');
const DIGITS = '0123456789'.split('');
const ALNUM = [...LOWER, ...LOWER, ...UPPER, ...DIGITS];
// letters a host may hold that are not ASCII: IDN, case pairs, mappings of UTS #46 (full-width,
// ligatures, circled digits, soft hyphen and zero-width space mapped to nothing, final sigma,
// dotted I), scripts, an emoji; none is a terminator of the product or the docs
const UNICODE = ['ü', 'é', 'ß', 'ö', 'Ä', 'ñ', 'ç', 'ж', 'Д', 'σ', 'Λ', 'ς', '中', '文', '日', '한', 'ı', 'İ', 'ﬀ', 'Ａ', 'ｂ', '１', '①', 'ℌ', 'ǅ', '\u00ad', '\u200b', '😀', 'ا', 'א'];
// ASCII a browser keeps in a host (not a forbidden host code point)
const HOST_PUNCT = ['-', '-', '_', '!', '$', '&', "'", '(', ')', '*', '+', ',', ';', '=', '~'];
const SEPARATORS = ['.', '.', '.', '.', '.', '.', '.', '.', '.', '.', '.', '.', '.', '.', '.', '.', '。', '．', '｡'];
const TLDS = ['example', 'test', 'com', 'org', 'co', 'de', 'xn--p1ai', 'рф', 'co1', 'a1', 'x9', 'online', 'ÄÖ'];
// what a path, query or fragment holds: no terminator (docs: white space, controls, " < > ` curly
// quotes) and none of the full-width punctuation dropped at a link's end
const PATH_CHARS = [...ALNUM, ...ALNUM, '-', '.', '_', '~', '!', '$', '&', "'", '(', ')', '[', ']', '*', '+', ',', ';', '=', ':', '@', '%', '|', '^', '{', '}', 'é', '中', '😀', 'ж', '\u00e9', '%41', '%2e', '%C3%A9', '%zz', '/', '\\'];
const PROSE = ['see', 'look at', 'ok', 'lol', 'check this:', 'über', '日本語', 'mail.www.x', 'sftp://nope', 'xhttp://nope', 'http://', 'www.', 'a@b', '(note)', ':)', '...', 'hxxp://evil[.]example', 'www.!x', '100%'];
// the docs: trailing . , ; : ! ? ' * … (and ，．！？：；＇＊’。、｡) are dropped, and ) ] the link did not open
const TRAILING = ['', '', '', '.', ',', '!', '?', '...', '…', ')', ').', ']', "'", ':', ';', '*', '!?', '?!', '),', '。', '｡', '，', '；', '＊', '＇', '！？'];
// what ends a link (docs: white space, a control character, " < > ` or curly quotes)
const ENDS = [' ', ' ', ' ', '\n', '\t', '"', '>', '<', '`', '\u201d', '\u3000', '\u00a0', '\u2028', '\r\n'];
const BEFORE = ['', '', '', '(', '[', '"', '<', "'", '\u201c', '\n', '\u3000'];
const DEFAULT_PORT: Record<string, number> = { http: 80, https: 443, ftp: 21 };

/** a label's characters, one of them percent-escaped now and then */
function escapeSome(r: R, label: string[]): string {
  if (label.length && r.chance(0.12)) {
    const i = r.int(label.length);
    const c = label[i];
    if (r.chance(0.1)) label[i] = r.pick(['%', '%zz', '%2', '%00', '%2f', '%3a', '%2e']);
    else {
      const esc = Array.from(Buffer.from(c, 'utf8'), (b) => `%${b.toString(16).padStart(2, '0')}`).join('');
      label[i] = r.chance(0.5) ? esc.toUpperCase() : esc;
    }
  }
  return label.join('');
}

function label(r: R, firstPlain = false): string {
  const n = 1 + r.int(r.chance(0.1) ? 30 : 8);
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const x = r.u();
    out.push(x < 0.75 ? r.pick(ALNUM) : x < 0.9 ? r.pick(UNICODE) : r.pick(HOST_PUNCT));
  }
  if (firstPlain) {
    out[0] = r.pick([...LOWER, ...UPPER, ...DIGITS]);
    const rest = out.slice(1);
    return out[0] + escapeSome(r, rest);
  }
  if (r.chance(0.03)) return `${r.pick(['xn--', 'XN--', 'xn--'])}${r.pick(['bcher-kva', 'tda', 'zca', 'a', '', 'e28h', '9ca', 'BCHER-KVA', 'p1ai', '-', 'aa-'])}`;
  return escapeSome(r, out);
}

function domain(r: R, www: boolean): string {
  const parts: string[] = [];
  if (www) parts.push(r.pick(['www', 'www', 'WWW', 'Www']), label(r, true));
  const n = r.int(www ? 2 : 4) + (www ? 0 : 1);
  for (let i = 0; i < n; i++) parts.push(label(r));
  parts.push(r.chance(0.8) ? r.pick(TLDS) : label(r));
  let h = parts[0];
  // www. is what the candidate search looks for: ASCII dot after it
  for (let i = 1; i < parts.length; i++) h += (www && i === 1 ? '.' : r.pick(SEPARATORS)) + parts[i];
  if (r.chance(0.08)) h += '.';
  // an empty label (not right after www.: the docs want a name there)
  if (r.chance(0.02)) h = www ? h.replace(/^(....[^.]*)\./, '$1..') : h.replace(/\./, '..');
  return h;
}

function num(r: R, v: number): string {
  const x = r.u();
  if (x < 0.6) return String(v);
  if (x < 0.85) {
    const hex = v.toString(16);
    const digits = r.chance(0.5) ? hex.toUpperCase() : hex;
    return `${r.pick(['0x', '0X'])}${'0'.repeat(r.chance(0.2) ? r.int(4) : 0)}${digits}`;
  }
  return v === 0 ? r.pick(['0', '00', '0x']) : `0${v.toString(8)}`;
}

function ipv4(r: R): string {
  const a = r.chance(0.1) ? r.pick([0, 0x7f000001, 0xc0a80101, 0xffffffff, 0x0a000001]) : Math.floor(r.u() * 0x100000000);
  const b = [a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255];
  const n = r.pick([4, 4, 4, 4, 4, 3, 2, 1]);
  const vals: number[] = n === 4 ? b : n === 3 ? [b[0], b[1], a & 0xffff] : n === 2 ? [b[0], a & 0xffffff] : [a];
  const parts = vals.map((v) => num(r, v));
  const bad = r.u();
  if (bad < 0.03) parts.push(String(r.int(256)));
  else if (bad < 0.06) parts[0] = String(256 + r.int(1000));
  else if (bad < 0.08) parts[parts.length - 1] = `0${r.pick(['8', '9', '18'])}`;
  else if (bad < 0.1) parts[parts.length - 1] += r.pick(['a', 'x', '0x']);
  let h = parts.join('.');
  if (r.chance(0.1)) h += '.';
  return h;
}

function ipv6(r: R): string {
  const groups = Array.from({ length: 8 }, () => (r.chance(0.35) ? 0 : r.chance(0.3) ? r.int(16) : r.int(0x10000)));
  let txt = groups.map((g) => {
    let s = g.toString(16);
    if (r.chance(0.2)) s = s.padStart(4, '0');
    return r.chance(0.3) ? s.toUpperCase() : s;
  });
  if (r.chance(0.15)) {
    const v4 = [r.int(256), r.int(256), r.int(256), r.int(256)].join('.');
    txt = [...txt.slice(0, 6), v4];
    if (r.chance(0.5)) txt = ['', '', '', '', '', 'ffff', v4].map((x, i) => (i < 5 ? '0' : x));
  }
  let s = txt.join(':');
  if (r.chance(0.7)) {
    // compress a run (of any groups: URL says what it reads)
    const from = r.int(txt.length);
    const to = Math.min(txt.length, from + 1 + r.int(4));
    s = `${txt.slice(0, from).join(':')}::${txt.slice(to).join(':')}`;
  }
  const bad = r.u();
  if (bad < 0.03) s += ':1:2';
  else if (bad < 0.05) s = s.replace(/[0-9a-f]/i, 'g');
  else if (bad < 0.07) s += '%25eth0';
  return `[${s}]`;
}

function port(r: R, scheme: string): string {
  if (!r.chance(0.35)) return '';
  const x = r.u();
  if (x < 0.1) return ':';
  if (x < 0.3) return `:${DEFAULT_PORT[scheme]}`;
  if (x < 0.45) return `:${'0'.repeat(1 + r.int(12))}${r.chance(0.5) ? DEFAULT_PORT[scheme] : 1 + r.int(65535)}`;
  if (x < 0.5) return `:${r.pick([65536 + r.int(30000), '8o', '-1', '+80', '1:2', '٣'])}`;
  return `:${1 + r.int(65535)}`;
}

function userinfo(r: R): string {
  if (!r.chance(0.25)) return '';
  const pool = [...ALNUM, '.', '_', '~', '!', '$', '&', "'", '(', ')', '*', '+', ',', ';', '=', ':', '%40', 'é', '@', '[', ']'];
  return `${r.str(pool, 1 + r.int(12))}@`;
}

function pathPart(r: R): string {
  let p = '';
  const x = r.u();
  if (x < 0.25) return r.chance(0.3) ? r.pick(['/', '?', '#', '\\']) : '';
  const segs = r.int(5);
  for (let i = 0; i < segs; i++) {
    p += r.chance(0.1) ? '\\' : '/';
    p += r.chance(0.05) ? r.pick(['.', '..', '%2e', '']) : r.str(PATH_CHARS, r.int(12));
  }
  if (r.chance(0.3)) {
    p += '?';
    const pairs = 1 + r.int(3);
    for (let i = 0; i < pairs; i++) p += `${i ? '&' : ''}${r.str(ALNUM, 1 + r.int(5))}=${r.str([...PATH_CHARS, '?'], r.int(10))}`;
  }
  if (r.chance(0.15)) p += `#${r.str([...PATH_CHARS, '#', '?'], r.int(10))}`;
  if (r.chance(0.03)) p += `/${r.str(PATH_CHARS, 2000 + r.int(2000))}`; // longer than a link is read
  return p;
}

interface Built {
  /** the link as typed, before the punctuation after it */
  link: string;
  www: boolean;
  /** http, https, ftp (http for www.) */
  scheme: string;
  kind: 'name' | 'ipv4' | 'ipv6';
}

function buildLink(r: R): Built {
  const www = r.chance(0.2);
  const scheme = www ? 'http' : r.pick(['http', 'https', 'ftp']);
  const kind = www ? 'name' : r.pick(['name', 'name', 'name', 'ipv4', 'ipv6'] as const);
  const host = kind === 'name' ? domain(r, www) : kind === 'ipv4' ? ipv4(r) : ipv6(r);
  const typedScheme = r.chance(0.15) ? scheme.toUpperCase() : r.chance(0.1) ? scheme[0].toUpperCase() + scheme.slice(1) : scheme;
  const ui = userinfo(r);
  // www. must start the link: its userinfo comes after "www."
  const auth = www && ui ? `${host.slice(0, 4)}${ui}${host.slice(4)}` : `${ui}${host}`;
  return { link: `${www ? '' : `${typedScheme}:${slashes(r)}`}${auth}${port(r, scheme)}${pathPart(r)}`, www, scheme, kind };
}

/** what follows the scheme: mostly "//", else a browser's other spellings of it (any run of / and \, now and then a long one) */
function slashes(r: R): string {
  if (r.chance(0.7)) return '//';
  if (r.chance(0.02)) return r.str(['/', '\\'], 2000 + r.int(2000));
  return r.str(['/', '/', '\\'], 1 + r.int(r.chance(0.2) ? 12 : 3));
}

/** the docs' reading of where a link typed at the start of `run` ends (slashes after the scheme past two not counted in its 2,048 characters) */
function linkText(run: string): string {
  const slashRun = /^(?:https?|ftp):([/\\]*)/i.exec(run)?.[1].length ?? 0;
  let t = run.slice(0, MAX_LINK_CHARS + Math.max(0, slashRun - 2));
  const count = (c: string) => t.split(c).length - 1;
  for (;;) {
    const c = t[t.length - 1];
    // as docs/analyzer.md lists them: ASCII, a few full-width forms, ’ and the ideographic full stop and comma
    if (c !== undefined && '.,;:!?\'*…，．！？：；＇＊’。、｡'.includes(c)) t = t.slice(0, -1);
    else if (c === ')' && count(')') > count('(')) t = t.slice(0, -1);
    else if (c === ']' && count(']') > count('[')) t = t.slice(0, -1);
    else return t;
  }
}

/** the path as the docs say the product gives it: from the first / ? # \ after the scheme, as typed, '\' as '/', no fragment */
function typedPath(t: string, www: boolean): string {
  const from = www ? 0 : t.indexOf(':') + 1 + /^[/\\]*/.exec(t.slice(t.indexOf(':') + 1))![0].length;
  const rest = t.slice(from);
  const a = rest.search(/[/?#\\]/);
  if (a < 0) return '';
  const p = rest.slice(a);
  const hash = p.indexOf('#');
  return (hash >= 0 ? p.slice(0, hash) : p).replace(/\\/g, '/');
}

interface Case {
  text: string;
  at: number;
  built: Built;
  /** the link's text as the docs read it */
  t: string;
  url: URL | null;
}

function makeCase(r: R): Case {
  const built = buildLink(r);
  const prose = () => Array.from({ length: r.int(4) }, () => r.pick(PROSE)).join(' ');
  const decoys = Array.from({ length: r.chance(0.1) ? r.int(50) : 0 }, (_, i) => `http://d${i}.decoy-test/x`).join(' ');
  const before = `${decoys}${decoys ? ' ' : ''}${prose()}${r.chance(0.8) ? ' ' : ''}`;
  let prefix = before + (before ? r.pick(BEFORE) : '');
  // a link starts a word: not after a letter (xhttp://), nor www. after . - / @ : % + ~ \
  if (prefix && !/[\s("<'\u201c\u3000[]$/.test(prefix)) prefix += ' ';
  const after = r.pick(TRAILING);
  const end = r.pick(ENDS);
  const tail = r.chance(0.7) ? `${end}${prose()}` : r.chance(0.5) ? end : '';
  const text = `${prefix}${built.link}${after}${tail}`;
  // the run of the link: up to the terminator put after it (or the end of the text)
  const run = `${built.link}${after}`;
  const t = linkText(run);
  return { text, at: prefix.length, built, t, url: parse(built.www ? `http://${t}` : t) };
}

const stripDot = (h: string) => (h.endsWith('.') ? h.slice(0, -1) : h);
const show = (s: string) => JSON.stringify(s.length > 300 ? `${s.slice(0, 300)}…(${s.length})` : s);

/**
 * The product's link of a case: the one found where it starts, or the same link (host, port, path)
 * found before it: the docs' "the same link twice in a message is checked once" ("www.'www.a@b.example"
 * holds two, both to b.example)
 */
function theLink(c: Case, links: Link[]): Link | undefined {
  const here = links.find((l) => l.start === c.at);
  if (here || !c.url) return here;
  const u = c.url;
  const port = u.port ? Number(u.port) : undefined;
  const p = typedPath(c.t, c.built.www);
  return links.find((l) => l.start < c.at && l.host === stripDot(u.hostname) && l.port === port && l.path === p);
}

/** what the product gives for the link of a case, against the oracle; '' when they agree */
function differ(c: Case, found: Link | undefined): string {
  const u = c.url;
  if (!u) return found ? `URL refuses ${show(c.t)}, the product reads host ${found.host}` : '';
  if (!found) return `URL reads ${show(c.t)} as host ${u.hostname}, the product finds no link`;
  const want = {
    host: stripDot(u.hostname),
    port: u.port ? Number(u.port) : undefined,
    scheme: u.protocol.slice(0, -1),
    end: found.start === c.at ? c.at + c.t.length : found.end, // one found earlier ends where its own brackets say
    path: typedPath(c.t, c.built.www),
  };
  const got = { host: found.host, port: found.port, scheme: found.scheme, end: found.end, path: found.path };
  for (const k of Object.keys(want) as Array<keyof typeof want>) if (want[k] !== got[k]) return `${k}: URL ${show(String(want[k]))}, product ${show(String(got[k]))} for ${show(c.t)}`;
  // the path as typed is the one the browser sends. The docs: '\\' reads as '/', in the query too
  // (where URL keeps it), so URL is asked about the link written with '/' (it reads "//.c\\.." as
  // "//" but "//.c/.." as itself)
  const again = parse(`http://h${found.path}`);
  const slashed = parse(`${c.built.www ? 'http://' : ''}${c.t.replace(/\\/g, '/')}`);
  if (!again || !slashed || again.pathname + again.search !== slashed.pathname + slashed.search) return `path ${show(found.path)} reads as ${show(again ? again.pathname + again.search : 'nothing')}, URL ${show(slashed ? slashed.pathname + slashed.search : 'nothing')}`;
  return '';
}

let lists = 0;
function load(lines: string[]): LinkFilter {
  const f = path.join(tmp, `l${lists++}.txt`);
  fs.writeFileSync(f, `# fuzz\n${lines.join('\n')}\n`);
  const b = LinkBlocklist.load([{ file: f, label: 'fuzz' }]);
  fs.rmSync(f);
  return new LinkFilter(b);
}

// entries no generated link is under (the decoy links are not listed: 32 listed links are reported a message)
const DECOY_ENTRIES = ['decoy.invalid', 'a.decoy.invalid', 'http://b.decoy.invalid/x', '203.0.113.250', '[2001:db8::fe]'];

/**
 * An entry listing the case's link (from the oracle's reading), and a link like it that entry must
 * not list.
 */
function entryAndLookAlike(r: R, c: Case, u: URL): { entry: string; what: string; lookAlike?: string } {
  const host = stripDot(u.hostname);
  const isV6 = host.startsWith('[');
  const isV4 = /^[0-9.]+$/.test(host);
  const labels = host.split('.');
  const scheme = u.protocol.slice(0, -1);
  const p = typedPath(c.t, c.built.www);
  const portPart = u.port ? `:${u.port}` : '';
  const lookPath = p.startsWith('/') || p.startsWith('?') ? p : '/';
  if (!isV6 && !isV4 && !host.includes('.')) return { entry: '', what: 'nothing: a name without a dot is no entry' };
  // not a DNS name: "a..b" and "b." are one name to canonicalHost once listed, two in links
  if (!isV6 && !isV4 && labels.some((l) => !l)) return { entry: '', what: 'nothing: an empty label' };
  const x = r.u();
  if (x < 0.35 || (x < 0.7 && (isV6 || isV4 || labels.length < 3))) {
    // the host itself; a look-alike: one label (group, octet) changed
    let entry = host;
    if (isV6) entry = r.chance(0.5) ? host.slice(1, -1) : host.toUpperCase();
    else if (!isV4) entry = domainEntry(r, r.chance(0.3) ? host.toUpperCase() : host);
    let look: string;
    if (isV6 || isV4) look = changeIp(r, host);
    else look = changeLabel(r, labels, 0);
    return { entry, what: 'host', lookAlike: `${scheme}://${typedHost(look)}${portPart}${lookPath}` };
  }
  if (x < 0.7) {
    // a parent domain (two labels at least: a name without a dot is no entry)
    const k = 1 + r.int(labels.length - 2);
    const parent = labels.slice(k);
    const entry = domainEntry(r, parent.join('.'));
    return { entry, what: `parent ${entry}`, lookAlike: `${scheme}://${typedHost(changeLabel(r, labels, k))}${portPart}${lookPath}` };
  }
  // the URL: its whole path or a prefix ending before / ? &; over http or https when on the default port
  const cuts = [p.length];
  for (let i = 1; i < p.length; i++) if ('/?&'.includes(p[i])) cuts.push(i);
  let listed = p.slice(0, r.pick(cuts));
  if (listed && !listed.startsWith('/') && !listed.startsWith('?')) listed = '';
  let s = scheme;
  let port = portPart;
  if (!u.port && scheme !== 'ftp' && r.chance(0.3)) s = scheme === 'http' ? 'https' : 'http';
  else if (!u.port && r.chance(0.3)) port = `:${DEFAULT_PORT[scheme]}`;
  const typedS = r.chance(0.2) ? s.toUpperCase() : s;
  const hp = `${r.chance(0.2) && !isV6 && !isV4 ? host.toUpperCase() : host}${port}`;
  const slash = r.chance(0.2) ? '/' : '';
  // the docs: "evil.example/dl/" and "evil.example:8080" are the same as http URLs
  // (not when a list would read its start otherwise: ! a comment, "*." and "." the domain forms)
  const bare = s === 'http' && (port || (listed.length > 1 && listed.startsWith('/'))) && !/^[!#.*]/.test(hp) && r.chance(0.4);
  const entry = bare ? `${hp}${listed}${slash}` : `${typedS}://${hp}${listed}${slash}`;
  if (entry.length > MAX_LINK_CHARS - 10) return { entry: '', what: 'nothing: the URL is too long to list' };
  // look-alikes: the listed path going on without a boundary, another port, a subdomain
  const trimmed = listed.replace(/\/+$/, '');
  const y = r.u();
  let look: string;
  if (y < 0.4 && trimmed && !/[?&]$/.test(trimmed)) look = `${scheme}://${typedHost(host)}${portPart}${trimmed}x`;
  else if (y < 0.7) look = `${scheme}://${typedHost(host)}:${(u.port ? Number(u.port) : DEFAULT_PORT[scheme]) === 65535 ? 1 : (u.port ? Number(u.port) : DEFAULT_PORT[scheme]) + 1}${lookPath}`;
  else look = isV4 || isV6 ? `${scheme}://${changeIp(r, host)}${portPart}${lookPath}` : `${scheme}://sub.${typedHost(host)}${portPart}${lookPath}`;
  return { entry, what: `URL ${entry}`, lookAlike: look };
}

/**
 * A host as typed into a message: URL's hostname may hold " and ` (a %22 or %60 in the link, decoded;
 * neither is forbidden in a host), which end a link in running text (docs/analyzer.md), so they are
 * typed percent-escaped as the link had them.
 */
function typedHost(h: string): string {
  return h.replace(/["`]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * A domain as a list line: now and then as "*.d" or ".d" (the same, say the docs); always so when
 * it starts with what a list reads otherwise (! a comment, "*." and "." those forms)
 */
function domainEntry(r: R, d: string): string {
  return `${/^[!#.*]/.test(d) || r.chance(0.2) ? r.pick(['*.', '.']) : ''}${d}`;
}

/** the host with one label at or after `from` changed: another letter first, or one glued before it */
function changeLabel(r: R, labels: string[], from: number): string {
  const out = labels.slice();
  const i = from + r.int(out.length - from);
  const l = out[i];
  out[i] = r.chance(0.5) ? `q${l}` : `${l[0] === 'z' ? 'y' : 'z'}${l.slice(1)}`;
  return out.join('.');
}

/** an address with one octet (IPv4) or its last group (IPv6) changed */
function changeIp(r: R, host: string): string {
  if (host.startsWith('[')) {
    const g = host.slice(1, -1);
    if (g.endsWith('::')) return `[${g}1]`;
    const last = parseInt(g.slice(g.lastIndexOf(':') + 1), 16);
    return `[${g.slice(0, g.lastIndexOf(':') + 1)}${((last + 1) & 0xffff).toString(16)}]`;
  }
  const o = host.split('.').map(Number);
  const i = r.int(4);
  o[i] = (o[i] + 1) % 256;
  return o.join('.');
}

describe('links: seeded differential fuzz against the WHATWG URL parser', function () {
  this.timeout(120_000);

  boundedIt(__filename, 'extraction reads each link as URL does, and a blocklist lists it and no look-alike', fuzzSeconds(60), () => {
    const seed = fuzzSeed(0x11e4f00d);
    const r = gen(seed);
    const problems: string[] = [];
    const counts = { cases: 0, links: 0, refused: 0, listed: 0, lookAlikes: 0, long: 0 };
    const note = (i: number, c: Case, why: string) => {
      if (problems.length < 12) problems.push(`case ${i} (seed ${seed}): ${why}\n    text ${show(c.text)} at ${c.at}`);
    };
    for (let i = 0, n = fuzzCases(3000); i < n; i++) {
      const c = makeCase(r);
      counts.cases++;
      if (c.built.link.length > MAX_LINK_CHARS) counts.long++;
      const found = theLink(c, extractLinks(c.text, Infinity));
      const why = differ(c, found);
      if (why) note(i, c, why);
      if (!c.url) {
        counts.refused++;
        continue;
      }
      counts.links++;
      if (why || !found) continue;
      // a third of the cases: the blocklist property (a list loaded from a file for each)
      if (i % 3) continue;
      const { entry, what, lookAlike } = entryAndLookAlike(r, c, c.url);
      if (!entry) continue;
      const f = load([...DECOY_ENTRIES, `${entry},fuzz`]);
      const hit = f.check(c.text).find((h) => h.link.start === found.start);
      if (!hit || hit.entry.label !== 'fuzz') note(i, c, `listed as ${what}, not reported (${hit ? `under ${hit.entry.list.name}:${hit.entry.label}` : 'no hit'})`);
      else counts.listed++;
      if (lookAlike) {
        const lu = parse(lookAlike);
        const text = `see ${lookAlike} ok`;
        const l = extractLinks(text).find((x) => x.start === 4);
        // the look-alike is read as URL reads it too (or refused by both)
        if (lu && (!l || l.host !== stripDot(lu.hostname))) note(i, c, `look-alike ${show(lookAlike)}: URL host ${lu.hostname}, product ${l?.host}`);
        const wrong = f.check(text).filter((h) => h.entry.label === 'fuzz');
        if (wrong.length) note(i, c, `look-alike ${show(lookAlike)} of ${what} reported as listed`);
        counts.lookAlikes++;
      }
    }
    assert.deepEqual(problems, [], `${problems.length} difference(s) from URL; counts ${JSON.stringify(counts)}`);
    // the generator reaches what it is for
    assert.ok(counts.links > counts.cases / 2 && counts.refused > counts.cases / 50 && counts.listed > counts.cases / 6 && counts.lookAlikes > counts.cases / 8 && counts.long > 0, JSON.stringify(counts));
  });

  // 100 KB of near-links glued together: work within the bound scanLinks states (the existing hostile
  // text test's bound), every link looked up, and a listed link after them found
  boundedIt(__filename, '100 KB texts of near-links: bounded work, and a listed link after them is found', fuzzSeconds(60), () => {
    const r = gen(fuzzSeed(0x5eed1ee7));
    const f = load(['evil.example', 'http://u.example/a/b']);
    const pieces = (): string => {
      const x = r.u();
      if (x < 0.3) return buildLink(r).link.slice(0, 200);
      if (x < 0.5) return r.pick(['http://', 'https://', 'ftp://', 'www.', 'WWW.', '://', '@', '[', ']', ':', '%', '(', ')', '.', '。', '\\', '/', '?', '#', '!www.', 'äwww.', '\u{e000}www.']);
      if (x < 0.6) return r.pick(ENDS);
      if (x < 0.8) return label(r);
      return r.pick(PROSE);
    };
    for (let i = 0, n = fuzzCases(8); i < n; i++) {
      let junk = '';
      while (junk.length < 100_000) junk += pieces();
      for (const tail of [' http://evil.example/x', '!www.evil.example', ' http://u.example/a/b/c']) {
        const text = junk + tail;
        const what = `text ${i} (${show(junk.slice(0, 60))}…)${tail}`;
        const listed = f.check(text);
        assert.ok(listed.some((h) => h.link.start > junk.length - 2000 && /(^|\.)(evil|u)\.example$/.test(h.link.host)), `${what}: the listed link is found (${listed.map((h) => h.link.host)})`);
        const work = { chars: 0 };
        const all = extractLinks(text, Infinity, work);
        const bound = 22 * text.length + 2 * (NESTED_BUDGET + MAX_LINK_CHARS);
        assert.ok(work.chars <= bound + all.length * MAX_LINK_CHARS, `${what}: ${work.chars} characters examined, bound ${bound} + the paths of ${all.length} links`);
        const checked = { chars: 0, probes: 0 };
        f.check(text, checked);
        assert.ok(checked.probes <= text.length, `${what}: ${checked.probes} probes`);
      }
    }
  });
});
