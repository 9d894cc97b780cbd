// Links sent over IM: extracted from message text and checked against URL/domain blocklists (the
// `links:` section of the configuration). A listed link is a `malicious_link` alert (analyzer.ts).
// See docs/analyzer.md "Links".
//
// Message text is hostile: extraction is linear in it whatever it holds (extractLinks says what
// bounds it), MAX_LINK_CHARS read per link, MAX_CHECKED links looked up a message. Matching is a few
// Map lookups per link.
import fs from 'node:fs';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import type { Severity } from '../common/events';
import { configSection } from '../common/configSection';
import { whyCannotRead } from '../common/fsError';
import { ConfigError } from '../common/configError';

export class LinksConfigError extends ConfigError {}

/** links extractLinks gives by default; listed links reported per message */
export const MAX_LINKS = 32;
/** links looked up per message */
export const MAX_CHECKED = 1024;
/** characters of a link read (a longer one is cut here) */
export const MAX_LINK_CHARS = 2048;
/** characters of a listed domain (a DNS name's limit): longer parents of a link's host are not looked up */
const MAX_DOMAIN = 253;
/** entries of all lists together */
export const MAX_ENTRIES = 10_000_000;

const SEVERITIES: readonly Severity[] = ['low', 'medium', 'high', 'critical'];
const DEFAULT_PORTS: Record<string, number> = { http: 80, https: 443, ftp: 21 };

export interface Link {
  /** [start, end) of the link in the text, trailing punctuation left out */
  start: number;
  end: number;
  /** http, https or ftp (http for www.) */
  scheme: string;
  /** canonical host: lower case, punycode for IDN, IPv4 dotted decimal, IPv6 in brackets; no trailing dot */
  host: string;
  /** a port other than the scheme's default */
  port?: number;
  /** [hostStart, authEnd): host[:port] as typed (userinfo is before hostStart and never reported) */
  hostStart: number;
  authEnd: number;
  /** path and query as typed, '\' read as '/', fragment left out */
  path: string;
}

// ---- extraction ----

// scheme candidates; the character before must not be a word character ("sftp://", "xhttp://")
const CANDIDATE = /(?:https?|ftp):\/\/|www\./gi;
const WWW = /www\./gi;

function isWordChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;
}

/** "www." must start a host: not inside one ("mail.www.x"), a path or an address */
function wwwBlocked(c: number): boolean {
  // . - / @ : % + ~ \
  return isWordChar(c) || c === 0x2e || c === 0x2d || c === 0x2f || c === 0x40 || c === 0x3a || c === 0x25 || c === 0x2b || c === 0x7e || c === 0x5c;
}

/** where a link typed in chat ends: spaces, controls, quotes and angle brackets */
function isTerminator(c: number): boolean {
  if (c <= 0x20) return true;
  if (c < 0x7f) return c === 0x22 || c === 0x3c || c === 0x3e || c === 0x60; // " < > `
  if (c <= 0xa0) return true; // DEL, C1 controls, no-break space
  return c === 0xab || c === 0xbb || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff || c === 0x201c || c === 0x201d;
}

/** punctuation people put after a link: . , ; : ! ? ' * and their full-width forms, … */
function isTrailing(c: number): boolean {
  return c === 0x2e || c === 0x2c || c === 0x3b || c === 0x3a || c === 0x21 || c === 0x3f || c === 0x27 || c === 0x2a || c === 0x2026 || c === 0x2019 || c === 0x3002 || c === 0xff0c || c === 0xff0e || c === 0xff01 || c === 0xff1f || c === 0xff1a || c === 0x3001;
}

/** what the end of a link may lose: trailing punctuation and closing brackets */
function isDroppable(c: number): boolean {
  return c === 0x29 || c === 0x5d || isTrailing(c);
}

/** where the authority ends: / ? # or \ (browsers read \ as / in http, https and ftp URLs) */
function isDelimiter(c: number): boolean {
  return c === 0x2f || c === 0x3f || c === 0x23 || c === 0x5c;
}

/** characters extractLinks examined (`chars`): what the work bound in its comment counts */
export interface LinkWork {
  chars: number;
}

/**
 * The links in a text, in order, at most `max`, each once (the same host[:port] and path; paths are
 * compared by two 26-bit polynomial hashes with bases drawn per process: two different paths pass
 * for one with a chance of about 2^-52).
 *
 * Linear in the text whatever it holds, so junk before a link cannot make the search give up.
 * Candidates come in text order and what they share only moves forward (Scan): the end of the run
 * of non-terminators, the stretch of droppable characters before a link's end with its closing
 * brackets, bracket balances at the authority and at that stretch, the next / ? # or \, the next
 * '#', the www. candidates ahead, the path hashes; each passes a character at most once. A
 * candidate then reads its authority (userinfo, host, port) and, if it is a new link, copies its
 * path. Scheme authorities never overlap (a later "://" ends an earlier one); a www. candidate
 * whose authority holds at most NESTED_FREE other www. candidates is always read, so a character
 * is in at most NESTED_FREE + 2 such authorities. Only www. candidates nested deeper in one host
 * ("!www.!www.!www.…", each reading the same run again; their hosts hold the others' junk) share
 * a budget, NESTED_BUDGET characters a message. Bound, counted in `work.chars`: 10 x text (the
 * shared scans and the candidate search) + 2 x (NESTED_FREE + 2) x text + 2 x (NESTED_BUDGET +
 * MAX_LINK_CHARS) (authorities read, then their hosts canonicalised) + max x MAX_LINK_CHARS (paths).
 */
export function extractLinks(text: string, max = MAX_LINKS, work?: LinkWork): Link[] {
  const out: Link[] = [];
  if (typeof text !== 'string' || text.length < 7) return out;
  const s = new Scan(text);
  const re = CANDIDATE;
  re.lastIndex = 0;
  let nested = 0;
  // host[:port] -> hashes of the paths seen with it
  const seen = new Map<string, Set<number>>();
  let lastHp = '';
  let lastPath = -1;
  while (out.length < max && re.test(text)) {
    // the match ends at lastIndex: "www.", or "://" after http, https or ftp (test: no match array)
    const after = re.lastIndex;
    const len = text.charCodeAt(after - 1) === 0x2e ? 4 : (text.charCodeAt(after - 4) | 0x20) === 0x73 ? 8 : (text.charCodeAt(after - 6) | 0x20) === 0x66 ? 6 : 7;
    const at = after - len;
    const www = len === 4;
    const prev = at > 0 ? text.charCodeAt(at - 1) : 0x20;
    if (www ? wwwBlocked(prev) : isWordChar(prev)) continue;
    // the search goes on right after "://" or "www.": a link inside another's query (a redirector) is found too
    const authStart = www ? at : after; // "www." is part of the host
    const end = s.trimEnd(authStart, s.runEnd(at, Math.min(text.length, at + MAX_LINK_CHARS)));
    if (end <= authStart) continue;
    const authEnd = s.authEnd(authStart, end);
    if (www && s.wwwWithin(at + 1, authEnd) > NESTED_FREE) {
      if (nested >= NESTED_BUDGET) continue;
      nested += authEnd - at;
    }
    s.chars += 2 * (authEnd - authStart); // the authority, then its host again in canonicalHost
    const h = readHost(text, authStart, authEnd, www ? '' : len === 6 ? 'ftp' : len === 7 ? 'http' : 'https');
    if (!h) continue;
    // the same host[:port] and path is the same link
    const pathEnd = s.pathEnd(authEnd, end);
    const hp = h.port ? `${h.host}:${h.port}` : h.host;
    const key = s.hash(authEnd, pathEnd);
    if (key === lastPath && hp === lastHp) continue; // a repeat of the last link ("http://" x 150,000) skips the maps
    lastHp = hp;
    lastPath = key;
    let paths = seen.get(hp);
    if (!paths) seen.set(hp, (paths = new Set()));
    if (paths.has(key)) continue;
    paths.add(key);
    s.chars += pathEnd - authEnd;
    out.push({ start: at, end, scheme: h.scheme, host: h.host, port: h.port, hostStart: h.hostStart, authEnd, path: pathOf(text, authEnd, pathEnd) });
  }
  re.lastIndex = 0;
  if (work) work.chars += s.chars + text.length; // + the candidate search
  return out;
}

/** www. candidates whose authority holds more of them than this are read within NESTED_BUDGET */
const NESTED_FREE = 1;
/** characters of such nested authorities read a message (was a budget for every candidate: ~70 "!www." before a 2,000-character word spent it) */
export const NESTED_BUDGET = 128 * MAX_LINK_CHARS;

// path hashes: two polynomial hashes modulo primes below 2^26 (products stay exact in a double), bases
// drawn per process so that text cannot be made to collide; a path of up to MAX_LINK_CHARS
const P1 = 67108859;
const P2 = 67108837;
const B1 = 65537 + Math.floor(Math.random() * (P1 - 65537));
const B2 = 65537 + Math.floor(Math.random() * (P2 - 65537));
const POW1 = new Float64Array(MAX_LINK_CHARS + 1);
const POW2 = new Float64Array(MAX_LINK_CHARS + 1);
POW1[0] = POW2[0] = 1;
for (let i = 1; i <= MAX_LINK_CHARS; i++) {
  POW1[i] = (POW1[i - 1] * B1) % P1;
  POW2[i] = (POW2[i - 1] * B2) % P2;
}
/** prefix hashes kept: a path lies within MAX_LINK_CHARS of its candidate, and candidates only move forward */
const RING = 4096;

function isHash(c: number): boolean {
  return c === 0x23;
}

/**
 * The first character at or after `from` (before `limit`) that `stop` matches, for calls whose `from`
 * never moves back: the search goes on from where the last one stopped, so each character is passed
 * once (counted in the Scan's `chars`).
 */
class Forward {
  /** no match in [the last `from`, to); found: text[to] matches (or the text ends there) */
  private to = 0;
  private found = false;
  constructor(private readonly scan: { readonly text: string; chars: number }, private readonly stop: (c: number) => boolean) {}

  find(from: number, limit: number): number {
    if (from > this.to) {
      this.to = from;
      this.found = false;
    }
    if (!this.found) {
      const t = this.scan.text;
      let i = this.to;
      while (i < limit && !this.stop(t.charCodeAt(i))) i++;
      this.scan.chars += i - this.to;
      this.to = i;
      this.found = i < limit || i === t.length;
    }
    return Math.min(this.to, limit);
  }
}

/**
 * What the candidates of one text share. Every query comes with a position at least that of the
 * query before (candidates are in text order; a link's end never moves back), so each structure
 * moves forward only and passes each character once; `chars` counts what they examined.
 */
class Scan {
  chars = 0;
  constructor(readonly text: string) {}

  // the run of non-terminators, the authority up to / ? # or \, the path up to '#': searched forward only
  private readonly runs = new Forward(this, isTerminator);
  private readonly delims = new Forward(this, isDelimiter);
  private readonly frags = new Forward(this, isHash);

  /** where the run of non-terminators from `at` ends, or `limit` if it goes on that far */
  runEnd(at: number, limit: number): number {
    return this.runs.find(at, limit);
  }

  // droppable characters only in [dropFrom, dropTo), and dropTo is the last end asked about;
  // the ')' and ']' in it, and the first of each at or after the last start asked about
  private dropFrom = 0;
  private dropTo = 0;
  private closes: number[] = [];
  private closesSq: number[] = [];
  private nextClose = 0;
  private nextCloseSq = 0;
  // bracket balances (')' less '(', ']' less '[') from a common origin to the last authority start and to the
  // last stretch start (atDrop is never behind atAuth)
  private readonly atAuth = { pos: 0, round: 0, square: 0 };
  private readonly atDrop = { pos: 0, round: 0, square: 0 };

  /**
   * Where a link read from authStart to `end` ends once trailing punctuation is dropped, and a ')'
   * or ']' the link did not open: as dropping them one by one from the end while the link has more
   * closing than opening brackets ("(see http://x/a)" and "http://x/wiki/A_(b)").
   */
  trimEnd(authStart: number, end: number): number {
    if (end <= authStart) return end;
    const t = this.text;
    if (end !== this.dropTo) {
      if (end < this.dropTo) this.dropTo = this.dropFrom = 0; // never happens: read again from the start
      let x = end;
      while (x > this.dropTo && isDroppable(t.charCodeAt(x - 1))) x--;
      if (x > this.dropTo) {
        this.dropFrom = x;
        this.closes = [];
        this.closesSq = [];
        this.nextClose = this.nextCloseSq = 0;
      }
      for (let i = x; i < end; i++) {
        const c = t.charCodeAt(i);
        if (c === 0x29) this.closes.push(i);
        else if (c === 0x5d) this.closesSq.push(i);
      }
      this.chars += 2 * (end - x);
      this.dropTo = end;
    }
    // the stretch holds no '(' or '[': the k-th ')' in it (from 0) is dropped when the link has more
    // closing than opening ones up to it, i.e. unless k < the '(' left open before the stretch
    const from = Math.max(this.dropFrom, authStart);
    // only the difference of the two balances counts: both start again where the authority starts
    // when neither has got there (what lies between candidates is not counted)
    if (this.atDrop.pos <= authStart) {
      this.atAuth.pos = this.atDrop.pos = authStart;
      this.atAuth.round = this.atAuth.square = this.atDrop.round = this.atDrop.square = 0;
    }
    this.balance(this.atAuth, authStart);
    this.balance(this.atDrop, from);
    let cut = from;
    const open = this.atAuth.round - this.atDrop.round;
    if (open > 0) {
      while (this.nextClose < this.closes.length && this.closes[this.nextClose] < from) this.nextClose++;
      const n = Math.min(open, this.closes.length - this.nextClose);
      if (n > 0) cut = Math.max(cut, this.closes[this.nextClose + n - 1] + 1);
    }
    const openSq = this.atAuth.square - this.atDrop.square;
    if (openSq > 0) {
      while (this.nextCloseSq < this.closesSq.length && this.closesSq[this.nextCloseSq] < from) this.nextCloseSq++;
      const n = Math.min(openSq, this.closesSq.length - this.nextCloseSq);
      if (n > 0) cut = Math.max(cut, this.closesSq[this.nextCloseSq + n - 1] + 1);
    }
    return cut;
  }

  private balance(b: { pos: number; round: number; square: number }, to: number): void {
    if (to < b.pos) b.pos = b.round = b.square = 0; // never happens: count again from the start
    const t = this.text;
    for (let i = b.pos; i < to; i++) {
      const c = t.charCodeAt(i);
      if (c === 0x28) b.round--;
      else if (c === 0x29) b.round++;
      else if (c === 0x5b) b.square--;
      else if (c === 0x5d) b.square++;
    }
    this.chars += to - b.pos;
    b.pos = to;
  }

  /** where the authority from `from` ends: at the first / ? # or \, or at `end` */
  authEnd(from: number, end: number): number {
    return this.delims.find(from, end);
  }

  /** where the path from `from` ends: at the first '#' (the fragment is not sent), or at `end` */
  pathEnd(from: number, end: number): number {
    if (from >= end) return end; // no path (else `from` is a delimiter, and delimiters come in order)
    return this.frags.find(from, end);
  }

  // valid www. candidates found ahead (their positions, from wwwHead on), and the next "www." not yet looked at
  private www: number[] = [];
  private wwwHead = 0;
  private wwwNext = -1;

  /** how many www. candidates start in [from, to), counted up to NESTED_FREE + 1 */
  wwwWithin(from: number, to: number): number {
    const t = this.text;
    if (this.wwwNext < 0) {
      WWW.lastIndex = 0;
      this.wwwNext = WWW.test(t) ? WWW.lastIndex - 4 : t.length;
      this.chars += this.wwwNext;
    }
    while (this.wwwNext < to) {
      const p = this.wwwNext;
      if (p === 0 || !wwwBlocked(t.charCodeAt(p - 1))) this.www.push(p);
      WWW.lastIndex = p + 4; // occurrences of "www." cannot overlap
      this.wwwNext = WWW.test(t) ? WWW.lastIndex - 4 : t.length;
      this.chars += this.wwwNext - p;
    }
    const w = this.www;
    while (this.wwwHead < w.length && w[this.wwwHead] < from) this.wwwHead++;
    if (this.wwwHead > 1024 && this.wwwHead * 2 > w.length) {
      w.splice(0, this.wwwHead);
      this.wwwHead = 0;
    }
    let n = 0;
    for (let i = this.wwwHead; i < w.length && w[i] < to && n <= NESTED_FREE; i++) n++;
    return n;
  }

  // prefix hashes of the text from where hashing last started, up to hashTo, in rings
  private readonly h1 = new Float64Array(RING);
  private readonly h2 = new Float64Array(RING);
  private hashTo = -1;

  /** a hash of text[from, to) with '\' read as '/' (at most MAX_LINK_CHARS; `from` in order); 0 when empty */
  hash(from: number, to: number): number {
    if (to <= from) return 0;
    const t = this.text;
    const h1 = this.h1;
    const h2 = this.h2;
    if (from > this.hashTo) {
      this.hashTo = from;
      h1[from & (RING - 1)] = h2[from & (RING - 1)] = 0;
    }
    if (to > this.hashTo) {
      let a = h1[this.hashTo & (RING - 1)];
      let b = h2[this.hashTo & (RING - 1)];
      for (let i = this.hashTo; i < to; i++) {
        let c = t.charCodeAt(i);
        if (c === 0x5c) c = 0x2f;
        a = mod(a * B1 + c + 1, P1);
        b = mod(b * B2 + c + 1, P2);
        h1[(i + 1) & (RING - 1)] = a;
        h2[(i + 1) & (RING - 1)] = b;
      }
      this.chars += to - this.hashTo;
      this.hashTo = to;
    }
    const n = to - from;
    const x = mod(h1[to & (RING - 1)] + P1 * P1 - h1[from & (RING - 1)] * POW1[n], P1);
    const y = mod(h2[to & (RING - 1)] + P2 * P2 - h2[from & (RING - 1)] * POW2[n], P2);
    return x * P2 + y; // < 2^53
  }
}

/** x mod p for 0 <= x < 2^53 (% on doubles is a slow library call) */
function mod(x: number, p: number): number {
  const r = x - Math.floor(x / p) * p;
  return r < 0 ? r + p : r >= p ? r - p : r;
}

/** a path as typed, '\' read as '/' */
function pathOf(text: string, from: number, to: number): string {
  if (to <= from) return '';
  const p = text.slice(from, to);
  return p.includes('\\') ? p.replace(/\\/g, '/') : p;
}

/**
 * The host and port of the authority text[authStart, authEnd), `scheme` lower case ('' for www.,
 * then http): undefined when it is no host, a bad port, or "www." without a further name.
 */
function readHost(text: string, authStart: number, authEnd: number, scheme: string): { host: string; port?: number; hostStart: number; scheme: string } | undefined {
  let lastAt = -1;
  for (let i = authStart; i < authEnd; i++) if (text.charCodeAt(i) === 0x40) lastAt = i;
  const hostStart = lastAt >= 0 ? lastAt + 1 : authStart;
  if (hostStart >= authEnd) return undefined;
  let hostEnd = hostStart;
  if (text.charCodeAt(hostStart) === 0x5b) {
    let rb = hostStart + 1;
    while (rb < authEnd && text.charCodeAt(rb) !== 0x5d) rb++;
    if (rb >= authEnd) return undefined;
    hostEnd = rb + 1;
    if (hostEnd < authEnd && text.charCodeAt(hostEnd) !== 0x3a) return undefined;
  } else {
    while (hostEnd < authEnd && text.charCodeAt(hostEnd) !== 0x3a) hostEnd++;
  }
  let port: number | undefined;
  if (hostEnd < authEnd - 1) {
    if (authEnd - hostEnd - 1 > 10) return undefined;
    const digits = text.slice(hostEnd + 1, authEnd);
    if (!/^\d+$/.test(digits)) return undefined;
    port = Number(digits);
    if (port > 65535) return undefined;
  }
  const host = canonicalHost(text.slice(hostStart, hostEnd));
  if (!host) return undefined;
  if (!scheme) {
    // "www." alone or "www.x" without a further name is not a link
    if (lastAt < 0 && (host.length < 5 || !isWordChar(host.charCodeAt(4)))) return undefined;
    scheme = 'http';
  }
  if (port === DEFAULT_PORTS[scheme]) port = undefined;
  return { host, port, hostStart, scheme };
}

/** A blocklist entry read as a URL: `scheme` lower case; the link is the rest of the text (up to MAX_LINK_CHARS). */
function parseAt(text: string, at: number, scheme: string): Link | undefined {
  const end = Math.min(text.length, at + MAX_LINK_CHARS);
  const authStart = at + scheme.length + 3;
  if (end <= authStart) return undefined;
  let authEnd = authStart;
  while (authEnd < end && !isDelimiter(text.charCodeAt(authEnd))) authEnd++;
  const h = readHost(text, authStart, authEnd, scheme);
  if (!h) return undefined;
  const hash = text.indexOf('#', authEnd);
  return { start: at, end, scheme: h.scheme, host: h.host, port: h.port, hostStart: h.hostStart, authEnd, path: pathOf(text, authEnd, hash >= 0 && hash < end ? hash : end) };
}

// labels of letters, digits, _ and -, an optional final dot
const PLAIN_HOST = /^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*\.?$/;
const NUMERIC_LABEL = /^(?:0x[0-9a-f]*|\d+)$/i;

/**
 * A host as a browser would resolve it: lower case, IDN to punycode (with UTS #46 mapping, so
 * full-width letters and ideographic dots read as ASCII), percent-escapes decoded, IPv4 in any
 * form a browser accepts (0x7f.1, 3232235777) in dotted decimal. undefined: not a host.
 */
export function canonicalHost(raw: string): string | undefined {
  if (!raw) return undefined;
  if (PLAIN_HOST.test(raw)) {
    let h = raw.charCodeAt(raw.length - 1) === 0x2e ? raw.slice(0, -1) : raw;
    const dot = h.lastIndexOf('.');
    // a numeric last label makes it an IPv4 address, which has other spellings: the URL parser decides
    if (!NUMERIC_LABEL.test(dot >= 0 ? h.slice(dot + 1) : h)) {
      h = h.toLowerCase();
      return h;
    }
  }
  // canParse first: a thrown error costs ~6 µs, 25 times a failed parse, and hostile text has many.
  // Asked with a character past U+00FF in the fragment (a fragment cannot fail a parse): Node 20's
  // optimised canParse reads a one-byte string's U+0080-U+00FF as UTF-8 and fails "http://é/"
  const u = `http://${raw}/`;
  if (!URL.canParse(`${u}#\u0100`)) return undefined;
  let h = new URL(u).hostname;
  if (h.endsWith('.')) h = h.slice(0, -1);
  return h || undefined;
}

/** an address, not a name: checked exactly, never by parent domain */
function isIp(host: string): boolean {
  const c = host.charCodeAt(host.length - 1);
  return host.charCodeAt(0) === 0x5b || (c >= 0x30 && c <= 0x39);
}

// ---- blocklists ----

export interface ListSpec {
  file: string;
  /** detector of its alerts: a safe token; default the file's base name */
  label?: string;
  severity?: Severity;
}

export interface ListInfo {
  /** the list's label (alert `detector`) */
  name: string;
  file: string;
  severity: Severity;
}

export interface Entry {
  list: ListInfo;
  /** the entry's own label ("evil.example,Emotet") */
  label?: string;
  /** its number in the blocklist (what the tables hold) */
  id: number;
}

/**
 * ASCII strings, each with a number, in typed arrays: a list of a million entries is a handful of
 * objects for the garbage collector, not millions (with a 1M-entry Map every full collection of the
 * analysis took ~200 ms more). Open addressing on FNV-1a; a part of a string is looked up without
 * slicing it (parent domains, path prefixes).
 */
export class AsciiTable {
  private bytes = new Uint8Array(1 << 16);
  private used = 0;
  private starts = new Uint32Array(1024);
  private lens = new Uint16Array(1024);
  private hashes = new Int32Array(1024);
  private vals = new Uint32Array(1024);
  /** record index + 1; 0 = empty */
  private slots = new Int32Array(2048);
  size = 0;

  static hash(s: string, from: number, to: number): number {
    let h = 0x811c9dc5 | 0;
    for (let i = from; i < to; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
    return h;
  }

  /** the record of s[from, to), or -1 */
  find(s: string, from = 0, to = s.length, h = AsciiTable.hash(s, from, to)): number {
    const mask = this.slots.length - 1;
    const n = to - from;
    for (let slot = h & mask; ; slot = (slot + 1) & mask) {
      const r = this.slots[slot] - 1;
      if (r < 0) return -1;
      if (this.hashes[r] !== h || this.lens[r] !== n) continue;
      const b = this.starts[r];
      let i = 0;
      while (i < n && this.bytes[b + i] === s.charCodeAt(from + i)) i++;
      if (i === n) return r;
    }
  }

  val(r: number): number {
    return this.vals[r];
  }

  setVal(r: number, v: number): void {
    this.vals[r] = v;
  }

  /** adds an ASCII string (at most 65,535 characters) with a value: its record, or -1 - the record it already has */
  add(s: string, v: number): number {
    const h = AsciiTable.hash(s, 0, s.length);
    const old = this.find(s, 0, s.length, h);
    if (old >= 0) return -1 - old;
    const r = this.size;
    if (r === this.starts.length) {
      this.starts = grow(this.starts, r * 2);
      this.lens = grow(this.lens, r * 2);
      this.hashes = grow(this.hashes, r * 2);
      this.vals = grow(this.vals, r * 2);
    }
    if (this.used + s.length > this.bytes.length) this.bytes = grow(this.bytes, Math.max(this.bytes.length * 2, this.used + s.length));
    for (let i = 0; i < s.length; i++) this.bytes[this.used + i] = s.charCodeAt(i);
    this.starts[r] = this.used;
    this.lens[r] = s.length;
    this.hashes[r] = h;
    this.vals[r] = v;
    this.used += s.length;
    this.size++;
    if (this.size * 2 > this.slots.length) this.rehash(this.slots.length * 2);
    else this.place(r);
    return r;
  }

  /** gives back what growing by doubling left unused (after loading) */
  trim(): void {
    this.bytes = this.bytes.slice(0, this.used);
    this.starts = this.starts.slice(0, this.size);
    this.lens = this.lens.slice(0, this.size);
    this.hashes = this.hashes.slice(0, this.size);
    this.vals = this.vals.slice(0, this.size);
  }

  private place(r: number): void {
    const mask = this.slots.length - 1;
    let slot = this.hashes[r] & mask;
    while (this.slots[slot] !== 0) slot = (slot + 1) & mask;
    this.slots[slot] = r + 1;
  }

  private rehash(n: number): void {
    this.slots = new Int32Array(n);
    for (let r = 0; r < this.size; r++) this.place(r);
  }
}

function grow<T extends Uint8Array | Uint16Array | Int32Array | Uint32Array>(a: T, n: number): T {
  const b = new (a.constructor as new (n: number) => T)(n);
  b.set(a);
  return b;
}

const NON_ASCII = /[^\x00-\x7f]/;

/** ASCII letters, digits, . _ - only: labels end up in detectors, summaries and SIEM lines */
export function safeToken(s: string, max = 64): string {
  return s.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, max);
}

const LABEL = /^[A-Za-z][A-Za-z0-9 ._+-]{0,95}$/;
const HOSTS_ONLY = new Set(['localhost', 'localhost.localdomain', 'local', 'broadcasthost', 'ip6-localhost', 'ip6-loopback', 'ip6-localnet', 'ip6-mcastprefix', 'ip6-allnodes', 'ip6-allrouters', 'ip6-allhosts', '0.0.0.0']);
const IP_TOKEN = /^(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9a-f:]*:[0-9a-f:.]*(?:%\S+)?)$/i;
const SCHEME = /^(?:https?|ftp):\/\//i;
const MULTI = 0x80000000;

export class LinkBlocklist {
  /** entries by id */
  private readonly entries: Entry[] = [];
  /** canonical host (always ASCII) → entry id */
  private readonly domains = new AsciiTable();
  /** host[:port] + normalized path (no trailing slash; '' = the whole host) → entry id; paths with other than ASCII in `urlsOther` */
  private readonly urls = new AsciiTable();
  private readonly urlsOther = new Map<string, number>();
  /** host[:port] → the length of its listed path, or MULTI + an index in `lenLists` when it has paths of several lengths */
  private readonly urlLens = new AsciiTable();
  private readonly lenLists: number[][] = [];
  private count = 0;
  /** entries past MAX_ENTRIES, not loaded */
  dropped = 0;

  get size(): number {
    return this.count;
  }

  static load(lists: ListSpec[], defaultSeverity: Severity = 'high'): LinkBlocklist {
    const b = new LinkBlocklist();
    for (const l of lists) b.addFile(l, defaultSeverity);
    b.domains.trim();
    b.urls.trim();
    b.urlLens.trim();
    return b;
  }

  /** Reads a list in 4 MiB chunks (a list may be larger than a string can be). */
  addFile(spec: ListSpec, defaultSeverity: Severity = 'high'): void {
    const file = spec.file;
    let fd: number;
    try {
      fd = fs.openSync(file, 'r');
    } catch (e) {
      throw new LinksConfigError(`cannot read link blocklist ${file}: ${whyCannotRead(e)}; fix the path in links.blocklists`);
    }
    const info: ListInfo = { name: spec.label ?? (safeToken(path.basename(file).replace(/\.[^.]*$/, '')) || 'blocklist'), file, severity: spec.severity ?? defaultSeverity };
    const before = this.count;
    const labels = new Map<string, Entry>();
    const plain: Entry = { list: info, id: this.entries.length };
    this.entries.push(plain);
    const entryFor = (label: string | undefined): Entry => {
      if (!label) return plain;
      let e = labels.get(label);
      if (!e) {
        if (labels.size >= 65536) return plain;
        e = { list: info, label, id: this.entries.length };
        this.entries.push(e);
        labels.set(label, e);
      }
      return e;
    };
    try {
      const buf = Buffer.allocUnsafe(4 << 20);
      const dec = new StringDecoder('utf8');
      let carry = '';
      let skipping = false; // inside a line longer than 1 MiB: not an entry
      for (;;) {
        let n: number;
        try {
          n = fs.readSync(fd, buf, 0, buf.length, null);
        } catch (e) {
          throw new LinksConfigError(`cannot read link blocklist ${file}: ${whyCannotRead(e)}; fix the path in links.blocklists`);
        }
        let text = carry + (n > 0 ? dec.write(buf.subarray(0, n)) : dec.end());
        if (skipping) {
          const nl = text.indexOf('\n');
          text = nl < 0 ? '' : text.slice(nl + 1);
          skipping = nl < 0;
        }
        const last = n > 0 ? text.lastIndexOf('\n') : text.length;
        let pos = 0;
        while (pos < last) {
          let nl = text.indexOf('\n', pos);
          if (nl < 0 || nl > last) nl = last;
          if (nl - pos > 0) this.addLine(text.slice(pos, nl), entryFor);
          pos = nl + 1;
        }
        carry = n > 0 ? text.slice(last + 1) : '';
        if (carry.length > 1 << 20) {
          carry = '';
          skipping = true;
        }
        if (n <= 0) break;
      }
    } finally {
      fs.closeSync(fd);
    }
    if (this.count === before && !this.dropped) throw new LinksConfigError(`link blocklist ${file} holds no URL or domain (one per line: a URL, a domain or a hosts-file line "0.0.0.0 evil.example", optionally ",label")`);
  }

  /** One line of a list; lines that are not an entry are skipped. */
  addLine(raw: string, entryFor: (label: string | undefined) => Entry): void {
    let line = raw.trim();
    if (!line || line.charCodeAt(0) === 0x23 || line.charCodeAt(0) === 0x21) return; // # comment, ! adblock header
    // "0.0.0.0 evil.example  # comment"
    const hc = line.search(/\s#/);
    if (hc >= 0) line = line.slice(0, hc);
    let label: string | undefined;
    if (line.charCodeAt(0) === 0x22) {
      // quoted CSV (URLhaus csv): the first column that is a URL
      for (const col of line.split(/"\s*[,;]\s*"/)) {
        const v = col.replace(/^"|"$/g, '').trim();
        if (SCHEME.test(v)) return this.addEntry(v, entryFor(undefined));
      }
      return;
    }
    const tab = line.indexOf('\t');
    if (tab >= 0) {
      const rest = line.slice(tab + 1).trim();
      line = line.slice(0, tab).trim();
      if (IP_TOKEN.test(line)) {
        // a hosts file written with tabs
        line = `${line} ${rest}`;
      } else if (LABEL.test(rest)) label = rest;
      else if (rest) {
        const first = rest.split('\t')[0].trim();
        if (LABEL.test(first)) label = first;
      }
    }
    if (!label) {
      const comma = line.lastIndexOf(',');
      if (comma > 0) {
        const tail = line.slice(comma + 1).trim();
        if (LABEL.test(tail) || !tail) {
          label = tail || undefined;
          line = line.slice(0, comma).trim();
        }
      }
    }
    const sp = line.search(/\s/);
    if (sp >= 0) {
      const words = line.split(/\s+/);
      if (IP_TOKEN.test(words[0])) {
        // hosts file: "0.0.0.0 a.example b.example"; its label made a token as on every other line
        const entry = entryFor(label ? safeToken(label, 96) : undefined);
        for (let i = 1; i < words.length; i++) {
          const w = words[i].toLowerCase();
          if (!HOSTS_ONLY.has(w) && !IP_TOKEN.test(w)) this.addDomain(w, entry);
        }
        return;
      }
      // "evil.example Phishing"; more words are prose, not an entry
      if (label || words.length > 2 || !LABEL.test(words[1])) return;
      label = words[1];
      line = words[0];
    }
    if (line) this.addEntry(line, entryFor(label ? safeToken(label, 96) : undefined));
  }

  /** A URL ("matches it and below"), host/path, host:port, or a domain ("matches it and its subdomains"). */
  addEntry(entry: string, e: Entry): void {
    if (entry.length > MAX_LINK_CHARS) return;
    if (SCHEME.test(entry)) {
      const scheme = entry.slice(0, entry.indexOf(':')).toLowerCase();
      const l = parseAt(entry, 0, scheme);
      if (l) this.addUrl(l, e);
      return;
    }
    if (entry.startsWith('*.')) entry = entry.slice(2);
    else if (entry.startsWith('.')) entry = entry.slice(1);
    const slash = entry.search(/[/?\\]/);
    const hostPart = slash >= 0 ? entry.slice(0, slash) : entry;
    const colon = hostPart.indexOf(':');
    const colons = colon < 0 ? 0 : hostPart.indexOf(':', colon + 1) < 0 ? 1 : 2;
    if (colons >= 2 && !hostPart.startsWith('[')) {
      // a bare IPv6 address
      this.addDomain(`[${hostPart}]`, e);
      return;
    }
    if (colons === 1 || (slash >= 0 && slash < entry.length - 1)) {
      const l = parseAt(`http://${entry}`, 0, 'http');
      if (l) this.addUrl(l, e);
      return;
    }
    this.addDomain(hostPart, e);
  }

  private addDomain(raw: string, e: Entry): void {
    const h = canonicalHost(raw);
    // a name without a dot is a header word or a local name, not a listed domain
    if (!h || h.length > MAX_DOMAIN || (!h.includes('.') && !isIp(h))) return;
    if (this.count >= MAX_ENTRIES) {
      this.dropped++;
      return;
    }
    if (NON_ASCII.test(h)) return; // not a host name a URL parser would give
    if (this.domains.add(h, e.id) >= 0) this.count++;
  }

  private addUrl(l: Link, e: Entry): void {
    if (this.count >= MAX_ENTRIES) {
      this.dropped++;
      return;
    }
    let p = l.path;
    let end = p.length;
    while (end > 0 && p.charCodeAt(end - 1) === 0x2f) end--;
    if (end < p.length) p = p.slice(0, end);
    const hp = l.port ? `${l.host}:${l.port}` : l.host;
    const key = hp + p;
    if (NON_ASCII.test(key)) {
      if (NON_ASCII.test(hp) || this.urlsOther.has(key)) return;
      this.urlsOther.set(key, e.id);
    } else if (key.length > 65535 || this.urls.add(key, e.id) < 0) return;
    this.count++;
    let r = this.urlLens.find(hp);
    if (r < 0) r = this.urlLens.add(hp, p.length);
    else {
      const v = this.urlLens.val(r);
      if (v < MULTI) {
        if (v !== p.length) {
          this.urlLens.setVal(r, MULTI + this.lenLists.length);
          this.lenLists.push(v < p.length ? [v, p.length] : [p.length, v]);
        }
      } else {
        const lens = this.lenLists[v - MULTI];
        if (!lens.includes(p.length)) {
          lens.push(p.length);
          lens.sort((a, b) => a - b);
        }
      }
    }
  }

  /** The entry a link is listed under: the longest listed URL prefix, else its host or a parent domain. */
  match(l: Link): Entry | undefined {
    if (this.urls.size || this.urlsOther.size) {
      const hp = l.port ? `${l.host}:${l.port}` : l.host;
      const r = this.urlLens.find(hp);
      if (r >= 0) {
        const v = this.urlLens.val(r);
        const lens = v < MULTI ? undefined : this.lenLists[v - MULTI];
        const p = l.path;
        const key = hp + p;
        // longest listed path first
        for (let i = lens ? lens.length - 1 : 0; i >= 0; i--) {
          const n = lens ? lens[i] : v;
          if (n > p.length) continue;
          // a listed path matches itself and what is below it: "/dl" matches "/dl", "/dl/x", "/dl?x", not "/dlx"
          if (n < p.length) {
            const c = p.charCodeAt(n);
            if (c !== 0x2f && c !== 0x3f && c !== 0x26) continue;
          }
          const u = this.urls.find(key, 0, hp.length + n);
          if (u >= 0) return this.entries[this.urls.val(u)];
          if (this.urlsOther.size) {
            const o = this.urlsOther.get(key.slice(0, hp.length + n));
            if (o !== undefined) return this.entries[o];
          }
        }
      }
    }
    if (this.domains.size) {
      // the host, then each parent domain (an address only as itself)
      const h = l.host;
      const ip = isIp(h);
      let from = 0;
      if (h.length > MAX_DOMAIN) {
        // no listed domain is longer: start at the first parent that could be one (each lookup hashes
        // its suffix: all 1,000 parents of a 2,000-character host were ~1 M characters a link)
        const dot = h.indexOf('.', h.length - MAX_DOMAIN - 1);
        if (ip || dot < 0) return undefined;
        from = dot + 1;
      }
      for (; from < h.length; ) {
        const d = this.domains.find(h, from, h.length);
        if (d >= 0) return this.entries[this.domains.val(d)];
        if (ip) break;
        const dot = h.indexOf('.', from);
        if (dot < 0) break;
        from = dot + 1;
      }
    }
    return undefined;
  }
}

// ---- configuration ----

export interface LinksConfig {
  blocklists: ListSpec[];
  severity: Severity;
}


/** `raw` = cfg.extra.links; `base` = directory relative paths are resolved against; `where` names the config file. */
export function parseLinksConfig(raw: unknown, base: string, where = 'config'): LinksConfig | undefined {
  if (raw === undefined || raw === null) return undefined;
  const { fail, map, keys } = configSection('links', where, LinksConfigError);
  const severity = (v: unknown, what: string): Severity => {
    if (!SEVERITIES.includes(v as Severity)) fail(`${what} must be one of ${SEVERITIES.join(', ')}, not '${String(v).slice(0, 40)}'`);
    return v as Severity;
  };
  const file = (v: unknown, what: string): string => {
    if (typeof v !== 'string' || !v.trim()) fail(`${what} must be a file name`);
    return path.resolve(base, (v as string).trim());
  };
  const m = map(raw, 'links');
  keys(m, '', ['blocklists', 'severity']);
  const c: LinksConfig = { blocklists: [], severity: m.severity === undefined ? 'high' : severity(m.severity, 'severity') };
  if (m.blocklists === undefined || m.blocklists === null) fail('blocklists is required: a list of files of URLs or domains, e.g. blocklists: [intel/urlhaus.txt]');
  const l = Array.isArray(m.blocklists) ? m.blocklists : [m.blocklists];
  if (!l.length) fail('blocklists is empty: name at least one file of URLs or domains');
  l.forEach((v, i) => {
    const what = `blocklists[${i}]`;
    if (typeof v === 'string') return c.blocklists.push({ file: file(v, what) });
    const o = map(v, what);
    keys(o, what, ['file', 'label', 'severity']);
    const spec: ListSpec = { file: file(o.file, `${what}.file`) };
    if (o.label !== undefined) {
      if (typeof o.label !== 'string' || !/^[A-Za-z0-9._-]{1,64}$/.test(o.label)) fail(`${what}.label must be a word of letters, digits, . _ - (at most 64)`);
      spec.label = o.label as string;
    }
    if (o.severity !== undefined) spec.severity = severity(o.severity, `${what}.severity`);
    c.blocklists.push(spec);
  });
  return c;
}

// ---- what the analyzer calls ----

export interface ListedLink {
  link: Link;
  entry: Entry;
}

export class LinkFilter {
  constructor(readonly blocklist: LinkBlocklist) {}

  static fromConfig(c: LinksConfig): LinkFilter {
    return new LinkFilter(LinkBlocklist.load(c.blocklists, c.severity));
  }

  /** the listed links of a message text (at most MAX_LINKS links are looked at) */
  check(text: string): ListedLink[] {
    const links = extractLinks(text, MAX_CHECKED);
    const out: ListedLink[] = [];
    if (!links.length) return out;
    for (const link of links) {
      const entry = this.blocklist.match(link);
      if (entry && out.push({ link, entry }) >= MAX_LINKS) break;
    }
    return out;
  }

  /**
   * The link as an alert may show it: defanged (hxxp://evil[.]example/…), userinfo left out, and
   * whatever DLP masks in the message masked here too. `findings` are the message's DLP findings
   * (scanned up to `scanned` characters); a link past that is scanned on its own with `scan`.
   */
  show(text: string, l: Link, findings: ReadonlyArray<{ start: number; end: number; redact: boolean }>, scanned: number, scan: (s: string) => ReadonlyArray<{ start: number; end: number; redact: boolean }>): { url: string; host: string } {
    let shown: string;
    if (l.end <= scanned) shown = masked(text, l.hostStart, l.end, findings);
    else {
      const s = text.slice(l.hostStart, l.end);
      shown = masked(s, 0, s.length, scan(s));
    }
    const hostLen = l.authEnd - l.hostStart;
    const typed = shown.slice(0, hostLen);
    // the canonical host, unless DLP masked part of it
    const host = typed === text.slice(l.hostStart, l.authEnd) ? (l.port ? `${l.host}:${l.port}` : l.host) : typed.toLowerCase();
    const h = defangHost(host);
    return { url: `${defangScheme(l.scheme)}://${h}${shown.slice(hostLen)}`, host: h };
  }
}

function masked(text: string, s: number, e: number, findings: ReadonlyArray<{ start: number; end: number; redact: boolean }>): string {
  let out: string[] | undefined;
  for (const f of findings) {
    if (!f.redact || f.end <= s || f.start >= e) continue;
    out ??= text.slice(s, e).split(''); // UTF-16 units: indexes stay those of the text
    for (let i = Math.max(f.start, s); i < Math.min(f.end, e); i++) {
      const c = text.charCodeAt(i);
      if (isWordChar(c) || c > 0x7f) out[i - s] = '*';
    }
  }
  return out ? out.join('') : text.slice(s, e);
}

export function defangScheme(s: string): string {
  return s === 'http' ? 'hxxp' : s === 'https' ? 'hxxps' : s === 'ftp' ? 'fxp' : s;
}

export function defangHost(h: string): string {
  return h.replace(/\./g, '[.]');
}

/** The filter the configuration asks for (`links:` section), or undefined: then messages are not looked at for links. */
export function linkFilterFromProcess(): LinkFilter | undefined {
  const { getConfig } = require('../common/config') as typeof import('../common/config');
  const cfg = getConfig();
  const c = parseLinksConfig(cfg.extra.links, cfg.file ? path.dirname(path.resolve(cfg.file)) : process.cwd(), cfg.file ?? 'config');
  return c && LinkFilter.fromConfig(c);
}
