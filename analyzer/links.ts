// Links sent over IM: extracted from message text and checked against URL/domain blocklists (the
// `links:` section of the configuration). A listed link is a `malicious_link` alert (analyzer.ts).
// See docs/analyzer.md "Links".
//
// Message text is hostile: extraction is linear in it whatever it holds (scanLinks says what bounds
// it), MAX_LINK_CHARS read per link, and every link is looked up: a few table probes each
// (LinkBlocklist.lookup), so that no number of links before a listed one can hide it.
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

// scheme candidates; the character before must not be a word character ("sftp://", "xhttp://").
// A browser reads these schemes followed by any run of / and \ alike ("http:/x", "http:\\x",
// "https:///x" all go to x), so one or more of them make a candidate; a scheme followed by a letter
// ("use http: it's faster", "http:evil") is prose.
const CANDIDATE = /(?:https?|ftp):(?=[/\\])|www\./gi;
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

/** punctuation people put after a link: . , ; : ! ? ' * and their full-width forms (U+FF01-FF1F), … ’ and the ideographic 。 、 ｡ */
function isTrailing(c: number): boolean {
  if (c < 0x80) return c === 0x2e || c === 0x2c || c === 0x3b || c === 0x3a || c === 0x21 || c === 0x3f || c === 0x27 || c === 0x2a;
  return c === 0x2026 || c === 0x2019 || c === 0x3002 || c === 0x3001 || c === 0xff61 || c === 0xff0e || c === 0xff0c || c === 0xff1b || c === 0xff1a || c === 0xff01 || c === 0xff1f || c === 0xff07 || c === 0xff0a;
}

/** what the end of a link may lose: trailing punctuation and closing brackets */
function isDroppable(c: number): boolean {
  return c === 0x29 || c === 0x5d || isTrailing(c);
}

/** where the authority ends: / ? # or \ (browsers read \ as / in http, https and ftp URLs) */
function isDelimiter(c: number): boolean {
  return c === 0x2f || c === 0x3f || c === 0x23 || c === 0x5c;
}

/** what extractLinks or LinkFilter.check did (added to): what the work bounds in their comments count */
export interface LinkWork {
  /** characters examined: the text's scans, authorities, paths copied, host characters hashed for lookups */
  chars: number;
  /** blocklist table probes */
  probes?: number;
}

/**
 * A link found by scanLinks, before its path is copied: one object, refilled for each link.
 * `key` is the hash of its path (Scan.hash), `hp` its host[:port].
 */
interface Found {
  at: number;
  end: number;
  authEnd: number;
  pathEnd: number;
  scheme: string;
  host: string;
  port: number | undefined;
  hostStart: number;
  hp: string;
  key: number;
}

/**
 * The links in a text, in order, at most `max`, each once (the same host[:port] and path; paths are
 * compared by two 26-bit polynomial hashes with bases drawn per process: two different paths pass
 * for one with a chance of about 2^-52). Work (`work.chars`): what scanLinks states, plus max x
 * MAX_LINK_CHARS (the paths copied).
 */
export function extractLinks(text: string, max = MAX_LINKS, work?: LinkWork): Link[] {
  const out: Link[] = [];
  if (max <= 0) return out;
  // host[:port] -> hashes of the paths seen with it
  const seen = new Map<string, Set<number>>();
  scanLinks(
    text,
    (f, s) => {
      let paths = seen.get(f.hp);
      if (!paths) seen.set(f.hp, (paths = new Set()));
      if (paths.has(f.key)) return false;
      paths.add(f.key);
      s.chars += f.pathEnd - f.authEnd;
      return out.push(linkOf(text, f)) >= max;
    },
    work,
  );
  return out;
}

function linkOf(text: string, f: Found): Link {
  return { start: f.at, end: f.end, scheme: f.scheme, host: f.host, port: f.port, hostStart: f.hostStart, authEnd: f.authEnd, path: pathOf(text, f.authEnd, f.pathEnd) };
}

/**
 * Calls `visit` with each link of the text in order, until it returns true; a link the same as the
 * one before it (host[:port] and path hash) is not given again.
 *
 * Linear in the text whatever it holds, so junk before a link cannot make the search give up.
 * Candidates come in text order and what they share only moves forward (Scan): the end of the run
 * of non-terminators, the stretch of droppable characters before a link's end with its closing
 * brackets, bracket balances at the authority and at that stretch, the next / ? # or \, the next
 * '#', the next '@', the www. candidates ahead, the path hashes; each passes a character at most
 * once. A www. candidate without a name after "www." ("www.!x") is dropped after reading that label
 * (labels of candidates do not overlap). A candidate then reads its authority (userinfo, host,
 * port). Scheme authorities never overlap (the / or \ after a later scheme ends an earlier one); a www. candidate
 * whose authority holds at most NESTED_FREE other www. candidates is always read, so a character
 * is in at most NESTED_FREE + 2 such authorities. Only www. candidates nested deeper in one host
 * ("äwww.äwww.äwww.…", each reading the same run again; their hosts hold the others' junk) share
 * a budget, NESTED_BUDGET characters a message. Past it, those of one authority (the same end)
 * still read, within the text it adds to those before it (`base`): the first of them (the host a
 * browser goes to; its parent domains are the hosts of the www. nested in it but for their own
 * "www."), then from the innermost out while all those read cost at most GROUP_FACTOR x base. So
 * junk elsewhere, however much, cannot hide a listed host with www. nested in it. Bound, counted in
 * `work.chars`: 12 x text (the shared scans, the labels after "www." and the candidate search) +
 * 2 x (NESTED_FREE + 2 + 1 + GROUP_FACTOR) x text + 2 x (NESTED_BUDGET + MAX_LINK_CHARS)
 * (authorities read, then their hosts canonicalised); what `visit` adds to the Scan's `chars` on top.
 */
function scanLinks(text: string, visit: (f: Found, s: Scan) => boolean, work?: LinkWork): void {
  if (typeof text !== 'string' || text.length < 6) return; // "ftp:/x"
  const re = CANDIDATE;
  re.lastIndex = 0;
  // most messages hold no candidate: nothing more is set up for them
  if (!re.test(text)) {
    re.lastIndex = 0;
    if (work) work.chars += text.length;
    return;
  }
  const s = new Scan(text);
  let nested = 0;
  // nested www. candidates past the budget, by authority (its end `group`): `base` is the text it
  // adds to those before (they covered up to `covered`), `first` whether its first is to come
  let group = -1;
  let covered = 0;
  let base = 0;
  let first = false;
  const f: Found = { at: 0, end: 0, authEnd: 0, pathEnd: 0, scheme: '', host: '', port: undefined, hostStart: 0, hp: '', key: 0 };
  let lastHp = '';
  let lastPath = -1;
  for (let more = true; more; more = re.test(text)) {
    // the match ends at lastIndex: "www.", or the ':' of http, https or ftp before a / or \ (test: no match array)
    const after = re.lastIndex;
    const www = text.charCodeAt(after - 1) === 0x2e;
    const scheme = www ? '' : (text.charCodeAt(after - 2) | 0x20) === 0x73 ? 'https' : (text.charCodeAt(after - 4) | 0x20) === 0x66 ? 'ftp' : 'http';
    const at = after - (www ? 4 : scheme.length + 1);
    // the run of / and \ after the scheme ("www." is part of the host); the search goes on after it, so
    // the candidate search reads it once. A link inside another's query (a redirector) is found too
    let authStart = at;
    if (!www) {
      authStart = after;
      while (authStart < text.length && (text.charCodeAt(authStart) === 0x2f || text.charCodeAt(authStart) === 0x5c)) authStart++;
      re.lastIndex = authStart;
    }
    const prev = at > 0 ? text.charCodeAt(at - 1) : 0x20;
    if (www ? wwwBlocked(prev) : isWordChar(prev)) continue;
    // slashes past two are not counted in the MAX_LINK_CHARS read: "http:" and 3,000 slashes before a host take a browser there
    const limit = at + MAX_LINK_CHARS + Math.max(0, authStart - after - 2);
    const end = s.trimEnd(authStart, s.runEnd(at, Math.min(text.length, limit)));
    if (end <= authStart) continue;
    const authEnd = s.authEnd(authStart, end);
    if (www) {
      // the www. ahead counted first, each candidate a step (one call walking them all ran unoptimised, 3 x slower)
      const within = s.wwwWithin(at + 1, authEnd);
      if (s.noName(at, authEnd)) continue;
      if (within > NESTED_FREE) {
        if (nested < NESTED_BUDGET) nested += authEnd - at;
        else {
          if (authEnd !== group) {
            group = authEnd;
            base = Math.max(0, authEnd - Math.max(at, covered));
            covered = Math.max(covered, authEnd);
            first = true;
          }
          // the first of the authority (the host a browser goes to), and the innermost within GROUP_FACTOR x base
          const firstOne = first;
          first = false;
          if (!(firstOne && authEnd - at <= base) && s.nestedCost(at, authEnd) > GROUP_FACTOR * base) continue;
        }
      }
    }
    s.chars += 2 * (authEnd - authStart); // the authority, then its host again in canonicalHost
    const h = readHost(text, authStart, authEnd, scheme);
    if (!h) continue;
    // the same host[:port] and path is the same link
    const pathEnd = s.pathEnd(authEnd, end);
    const hp = h.port ? `${h.host}:${h.port}` : h.host;
    const key = s.hash(authEnd, pathEnd);
    if (key === lastPath && hp === lastHp) continue; // a repeat of the last link ("http://" x 150,000) is not given again
    lastHp = hp;
    lastPath = key;
    f.at = at;
    f.end = end;
    f.authEnd = authEnd;
    f.pathEnd = pathEnd;
    f.scheme = h.scheme;
    f.host = h.host;
    f.port = h.port;
    f.hostStart = h.hostStart;
    f.hp = hp;
    f.key = key;
    if (visit(f, s)) break;
  }
  re.lastIndex = 0;
  if (work) work.chars += s.chars + text.length; // + the candidate search
}

/** www. candidates whose authority holds more of them than this are read within NESTED_BUDGET */
const NESTED_FREE = 1;
/** characters of such nested authorities read a message (was a budget for every candidate: ~70 "!www." before a 2,000-character word spent it) */
export const NESTED_BUDGET = 128 * MAX_LINK_CHARS;
/**
 * past NESTED_BUDGET, the nested candidates of one authority read from the innermost out up to this
 * many times the text it adds (its first one besides): junk elsewhere cannot spend it
 */
const GROUP_FACTOR = 1;

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
// the rings and the sums of www. positions, shared by all Scans: a typed array costs ~1-2 µs to make,
// more than a message without a listed link takes; scans never run inside one another
const RING1 = new Float64Array(RING);
const RING2 = new Float64Array(RING);
let wwwSums: Float64Array = new Float64Array(1024);

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
  constructor(readonly text: string) {
    if (wwwSums.length > 1 << 16) wwwSums = new Float64Array(1024); // not kept large after a hostile message
    this.wwwSum = wwwSums;
    wwwSums[0] = 0;
  }

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
  /** sums of the positions in `www` before each index (differences only are used; a typed array: as a JS array, leaving small integers took the loop below out of optimised code) */
  private wwwSum: Float64Array;
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
      if (p === 0 || !wwwBlocked(t.charCodeAt(p - 1))) {
        const n = this.www.push(p);
        if (n === this.wwwSum.length) this.wwwSum = wwwSums = grow(this.wwwSum, n * 2);
        this.wwwSum[n] = this.wwwSum[n - 1] + p;
      }
      WWW.lastIndex = p + 4; // occurrences of "www." cannot overlap
      this.wwwNext = WWW.test(t) ? WWW.lastIndex - 4 : t.length;
      this.chars += this.wwwNext - p;
    }
    const w = this.www;
    while (this.wwwHead < w.length && w[this.wwwHead] < from) this.wwwHead++;
    if (this.wwwHead > 1024 && this.wwwHead * 2 > w.length) {
      this.wwwSum.copyWithin(0, this.wwwHead, w.length + 1);
      w.splice(0, this.wwwHead);
      this.wwwHead = 0;
    }
    let n = 0;
    for (let i = this.wwwHead; i < w.length && w[i] < to && n <= NESTED_FREE; i++) n++;
    return n;
  }

  /**
   * For the nested www. candidate at `from` whose authority ends at `to`, right after
   * wwwWithin(from + 1, to): the characters that it and the candidates after it in its authority
   * holding more than NESTED_FREE others read, Σ (to - start). A binary search, no character read.
   */
  nestedCost(from: number, to: number): number {
    const w = this.www;
    const lo = this.wwwHead; // the first after `from`
    let hi = w.length;
    for (let a = lo; a < hi; ) {
      const mid = (a + hi) >>> 1;
      if (w[mid] < to) a = mid + 1;
      else hi = mid;
    }
    // the k-th of the m candidates in (from, to) holds m - 1 - k others
    const c = Math.max(0, hi - lo - 1 - NESTED_FREE);
    return to - from + c * to - (this.wwwSum[lo + c] - this.wwwSum[lo]);
  }

  // where an '@' is: a www. authority without one has its host after "www."
  private readonly ats = new Forward(this, (c) => c === 0x40);

  /**
   * Whether the www. candidate at `from` (its authority ending at `to`) has no name after "www."
   * ("www.!x", "www.(a.b"), as readHost would find, without reading its authority: no '@', and the
   * label after "www." starts with ASCII other than a letter, digit, _ or % and holds neither % nor
   * other than ASCII (any of which can make it a name: "www.(ä" is www.xn--(-... ). The labels
   * read do not overlap (the next candidate's "www." ends this one's), `from` never moves back.
   */
  noName(from: number, to: number): boolean {
    const t = this.text;
    let i = from + 4;
    if (i < to) {
      const c = t.charCodeAt(i);
      if (c >= 0x80 || isWordChar(c) || c === 0x25) return false;
      const start = i;
      for (; i < to; i++) {
        const d = t.charCodeAt(i);
        if (d === 0x2e || d === 0x3a) break;
        if (d >= 0x80 || d === 0x25 || d === 0x40) return false;
      }
      this.chars += i - start;
    }
    return this.ats.find(from, to) >= to;
  }

  // prefix hashes of the text from where hashing last started, up to hashTo, in rings
  private readonly h1 = RING1;
  private readonly h2 = RING2;
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
    return this.sub(from, to);
  }

  /** hash() of text[from, to) within what hash() last read (from its `from` to its `to`): no character read */
  sub(from: number, to: number): number {
    if (to <= from) return 0;
    const n = to - from;
    const x = mod(this.h1[to & (RING - 1)] + P1 * P1 - this.h1[from & (RING - 1)] * POW1[n], P1);
    const y = mod(this.h2[to & (RING - 1)] + P2 * P2 - this.h2[from & (RING - 1)] * POW2[n], P2);
    return x * P2 + y; // < 2^53
  }
}

/** hash() of each prefix of a path (already read as '/' for '\'): `to` on, prefix(n) is that of p[0, n) */
class PathPrefixes {
  private a = 0;
  private b = 0;
  private to = 0;
  constructor(private readonly p: string) {}
  prefix(n: number): number {
    if (n < this.to) {
      this.a = this.b = this.to = 0;
    }
    for (let i = this.to; i < n; i++) {
      const c = this.p.charCodeAt(i);
      this.a = mod(this.a * B1 + c + 1, P1);
      this.b = mod(this.b * B2 + c + 1, P2);
    }
    this.to = n;
    return this.a * P2 + this.b;
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
    // digits of any number (a browser reads :000000000080 as 80), the value at most 65535
    port = 0;
    for (let i = hostEnd + 1; i < authEnd; i++) {
      const d = text.charCodeAt(i) - 0x30;
      if (d < 0 || d > 9) return undefined;
      port = port * 10 + d;
      if (port > 65535) return undefined;
    }
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
const XN_LABEL = /(?:^|\.)xn--/i;

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
    // a numeric last label makes it an IPv4 address, which has other spellings, and an xn-- label
    // may be no punycode (xn--a.example, refused by browsers): the URL parser decides
    if (!NUMERIC_LABEL.test(dot >= 0 ? h.slice(dot + 1) : h) && !XN_LABEL.test(h)) {
      h = h.toLowerCase();
      return h;
    }
  }
  const url = parseUrl(`http://${raw}/`);
  if (!url) return undefined;
  let h = url.hostname;
  if (h.endsWith('.')) h = h.slice(0, -1);
  return h || undefined;
}

/**
 * A URL, or null, without a thrown error (~6 µs, 25 times a failed parse, and hostile text has
 * many): URL.parse (Node 20.18 on) parses once, half the time of canParse then new URL. canParse
 * is asked with a character past U+00FF in the fragment (a fragment cannot fail a parse): Node 20's
 * optimised canParse reads a one-byte string's U+0080-U+00FF as UTF-8 and fails "http://é/".
 */
const parseUrl: (u: string) => URL | null =
  typeof (URL as { parse?: unknown }).parse === 'function' ? (u) => (URL as unknown as { parse(u: string): URL | null }).parse(u) : (u) => (URL.canParse(`${u}#\u0100`) ? new URL(u) : null);

/**
 * an address, not a name: checked exactly, never by parent domain. A canonical IPv4 address is
 * dotted decimal; a name may end in a digit (evil.co1) but its last label is never all digits (the
 * URL parser reads that as IPv4)
 */
function isIp(host: string): boolean {
  if (host.charCodeAt(0) === 0x5b) return true;
  let i = host.length - 1;
  while (i >= 0 && host.charCodeAt(i) >= 0x30 && host.charCodeAt(i) <= 0x39) i--;
  return i < host.length - 1 && (i < 0 || host.charCodeAt(i) === 0x2e);
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
 * slicing it. A `back` table hashes from the last character to the first, so that the hashes of a
 * host's parent domains (its suffixes) come one after the other in one pass over it.
 */
export class AsciiTable {
  constructor(readonly back = false) {}

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

  /** FNV-1a of s[from, to) read backwards: hashBack(s, i, to) is one step from hashBack(s, i + 1, to) */
  static hashBack(s: string, from: number, to: number): number {
    let h = 0x811c9dc5 | 0;
    for (let i = to - 1; i >= from; i--) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
    return h;
  }

  private hashOf(s: string, from: number, to: number): number {
    return this.back ? AsciiTable.hashBack(s, from, to) : AsciiTable.hash(s, from, to);
  }

  /** the record of s[from, to), or -1 */
  find(s: string, from = 0, to = s.length, h = this.hashOf(s, from, to)): number {
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
    const h = this.hashOf(s, 0, s.length);
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

/** PathTable value of a prefix that is not itself listed */
const PREFIX_ONLY = 0xffffffff;

/**
 * Listed paths by host and Scan.hash: (host record, length, hash) -> entry id, and the same for each
 * shorter prefix of a listed path that ends before a / ? or & (PREFIX_ONLY unless listed too), so that
 * a lookup stops at the first prefix of a link's path that no listed path starts with. A path is not
 * stored: a lookup reads no character of it (the hashes of a link's path prefixes come from the Scan).
 */
class PathTable {
  private hosts = new Uint32Array(1024);
  private lens = new Uint16Array(1024);
  private hashes = new Float64Array(1024);
  private vals = new Uint32Array(1024);
  /** record index + 1; 0 = empty */
  private slots = new Int32Array(2048);
  size = 0;

  private static slot(host: number, n: number, h: number): number {
    // h < 2^53, from hashes with bases drawn per process: text cannot aim at a slot
    const x = Math.imul((h | 0) ^ ((h / 0x100000000) | 0) ^ Math.imul(host + 1, 0x9e3779b1) ^ Math.imul(n + 1, 0x85ebca6b), 0xc2b2ae35);
    return x ^ (x >>> 16);
  }

  /** the record of (host, n, h), or -1 */
  find(host: number, n: number, h: number): number {
    const mask = this.slots.length - 1;
    for (let slot = PathTable.slot(host, n, h) & mask; ; slot = (slot + 1) & mask) {
      const r = this.slots[slot] - 1;
      if (r < 0) return -1;
      if (this.hashes[r] === h && this.hosts[r] === host && this.lens[r] === n) return r;
    }
  }

  val(r: number): number {
    return this.vals[r];
  }

  /**
   * Sets (host, n, h) to v, unless it holds an entry already (the first list wins); PREFIX_ONLY adds
   * the prefix if it is missing. True when an entry was set.
   */
  put(host: number, n: number, h: number, v: number): boolean {
    const old = this.find(host, n, h);
    if (old >= 0) {
      if (v === PREFIX_ONLY || this.vals[old] !== PREFIX_ONLY) return false;
      this.vals[old] = v;
      return true;
    }
    const r = this.size;
    if (r === this.hosts.length) {
      this.hosts = grow(this.hosts, r * 2);
      this.lens = grow(this.lens, r * 2);
      this.hashes = grow(this.hashes, r * 2);
      this.vals = grow(this.vals, r * 2);
    }
    this.hosts[r] = host;
    this.lens[r] = n;
    this.hashes[r] = h;
    this.vals[r] = v;
    this.size++;
    if (this.size * 2 > this.slots.length) this.rehash(this.slots.length * 2);
    else this.place(r);
    return v !== PREFIX_ONLY;
  }

  trim(): void {
    this.hosts = this.hosts.slice(0, this.size);
    this.lens = this.lens.slice(0, this.size);
    this.hashes = this.hashes.slice(0, this.size);
    this.vals = this.vals.slice(0, this.size);
  }

  private place(r: number): void {
    const mask = this.slots.length - 1;
    let slot = PathTable.slot(this.hosts[r], this.lens[r], this.hashes[r]) & mask;
    while (this.slots[slot] !== 0) slot = (slot + 1) & mask;
    this.slots[slot] = r + 1;
  }

  private rehash(n: number): void {
    this.slots = new Int32Array(n);
    for (let r = 0; r < this.size; r++) this.place(r);
  }
}

function grow<T extends Uint8Array | Uint16Array | Int32Array | Uint32Array | Float64Array>(a: T, n: number): T {
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
  /** canonical host (always ASCII) → entry id; hashed backwards, for parent domains */
  private readonly domains = new AsciiTable(true);
  /** (host[:port] record in `urlLens`, normalized path (no trailing slash; '' = the whole host)) → entry id, and their prefixes */
  private readonly paths = new PathTable();
  /** host[:port] → the length of its listed path, or MULTI + an index in `lenLists` when it has paths of several lengths */
  private readonly urlLens = new AsciiTable();
  private readonly lenLists: number[][] = [];
  /** the longest host[:port] with listed paths: a longer one is not looked up */
  private maxHp = 0;
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
    b.paths.trim();
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
    // a port: after the host's one colon, or after the ] of an IPv6 literal ("[2001:db8::1]:8080")
    const port = hostPart.startsWith('[') ? hostPart.includes(']:') : colons === 1;
    if (port || (slash >= 0 && slash < entry.length - 1)) {
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
    if (NON_ASCII.test(hp) || hp.length > 65535) return;
    let r = this.urlLens.find(hp);
    const known = r >= 0;
    if (!known) r = this.urlLens.add(hp, p.length);
    this.maxHp = Math.max(this.maxHp, hp.length);
    // the prefixes a longer listed path is looked up through: those before a / ? or &
    const pre = new PathPrefixes(p);
    for (let i = 1; i < p.length; i++) {
      const c = p.charCodeAt(i);
      if (c === 0x2f || c === 0x3f || c === 0x26) this.paths.put(r, i, pre.prefix(i), PREFIX_ONLY);
    }
    if (!this.paths.put(r, p.length, pre.prefix(p.length), e.id)) return;
    this.count++;
    if (!known) return;
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

  /** The entry a link is listed under: the longest listed URL prefix, else its host or a parent domain. */
  match(l: Link): Entry | undefined {
    return this.lookup(l.host, l.port ? `${l.host}:${l.port}` : l.host, l.path, 0, l.path.length, new PathPrefixes(l.path));
  }

  /**
   * match() for the link whose host is `host`, host[:port] `hp` and path text[from, from + plen) ('\'
   * read as '/'); prefix(n) is the hash of its first n characters. A few table probes: the host's
   * record, the prefixes of the path of its listed lengths up to the first that no listed path
   * starts with (at most one more than the / ? & of the longest listed path it follows), the host
   * and its parent domains (their hashes in one pass over the host, at most 254 characters). The
   * characters hashed are added to `work.chars`, the probes to `work.probes`.
   */
  lookup(host: string, hp: string, text: string, from: number, plen: number, prefixes: { prefix(n: number): number }, work?: LinkWork): Entry | undefined {
    if (hp.length <= this.maxHp) {
      if (work) {
        work.chars += hp.length;
        work.probes = (work.probes ?? 0) + 1;
      }
      const r = this.urlLens.find(hp);
      if (r >= 0) {
        const v = this.urlLens.val(r);
        const lens = v < MULTI ? undefined : this.lenLists[v - MULTI];
        let found = -1;
        // shortest listed length first: the longest listed path the link's path starts with wins
        for (let i = 0, k = lens ? lens.length : 1; i < k; i++) {
          const n = lens ? lens[i] : v;
          if (n > plen) break;
          // a listed path matches itself and what is below it: "/dl" matches "/dl", "/dl/x", "/dl?x", not "/dlx"
          if (n < plen) {
            const c = text.charCodeAt(from + n);
            if (c !== 0x2f && c !== 0x3f && c !== 0x26 && c !== 0x5c) continue;
          }
          if (work) work.probes! += 1;
          const u = this.paths.find(r, n, prefixes.prefix(n));
          // no listed path starts with this prefix: none longer can match
          if (u < 0) break;
          if (this.paths.val(u) !== PREFIX_ONLY) found = u;
        }
        if (found >= 0) return this.entries[this.paths.val(found)];
      }
    }
    if (this.domains.size) {
      // the host, then each parent domain (an address only as itself); the longest listed one wins
      const h = host;
      const ip = isIp(h);
      let start = 0;
      if (h.length > MAX_DOMAIN) {
        // no listed domain is longer: from the first parent that could be one
        const dot = h.indexOf('.', h.length - MAX_DOMAIN - 1);
        if (ip || dot < 0) return undefined;
        start = dot + 1;
      }
      let found = -1;
      let hv = 0x811c9dc5 | 0;
      for (let i = h.length - 1; i >= start; i--) {
        hv = Math.imul(hv ^ h.charCodeAt(i), 0x01000193); // AsciiTable.hashBack(h, i, h.length)
        if (i === start || (!ip && h.charCodeAt(i - 1) === 0x2e)) {
          if (work) work.probes = (work.probes ?? 0) + 1;
          const d = this.domains.find(h, i, h.length, hv);
          if (d >= 0) found = d;
        }
      }
      if (work) work.chars += h.length - start;
      if (found >= 0) return this.entries[this.domains.val(found)];
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

/** the path prefix hashes of the link scanLinks gives, from its Scan's hashes */
class ScanPrefixes {
  private s: Scan | undefined;
  private from = 0;
  private n = 0;
  private key = 0;

  set(s: Scan, f: Found): void {
    this.s = s;
    this.from = f.authEnd;
    this.n = f.pathEnd - f.authEnd;
    this.key = f.key;
  }

  prefix(n: number): number {
    return n === this.n ? this.key : this.s!.sub(this.from, this.from + n);
  }
}

export class LinkFilter {
  constructor(readonly blocklist: LinkBlocklist) {}

  static fromConfig(c: LinksConfig): LinkFilter {
    return new LinkFilter(LinkBlocklist.load(c.blocklists, c.severity));
  }

  /**
   * The listed links of a message text, in order, each once, at most MAX_LINKS. Every link is looked
   * up, however many the text holds (a link the same as the one before it is not looked up again):
   * a few table probes each (LinkBlocklist.lookup), no character of its path read again, and nothing
   * kept of an unlisted one. Work: what scanLinks states, plus the characters of each link's
   * host[:port] hashed (its authority, read already) and MAX_LINKS x MAX_LINK_CHARS (the listed
   * paths copied); `work.probes` counts the probes.
   */
  check(text: string, work?: LinkWork): ListedLink[] {
    const out: Array<ListedLink & { hp: string; key: number }> = [];
    const b = this.blocklist;
    const pre = new ScanPrefixes();
    scanLinks(
      text,
      (f, s) => {
        pre.set(s, f);
        const entry = b.lookup(f.host, f.hp, text, f.authEnd, f.pathEnd - f.authEnd, pre, work);
        if (!entry) return false;
        // the same link again (host[:port] and path hash, as extractLinks tells them apart)
        for (const o of out) if (o.key === f.key && o.hp === f.hp) return false;
        s.chars += f.pathEnd - f.authEnd;
        return out.push({ link: linkOf(text, f), entry, hp: f.hp, key: f.key }) >= MAX_LINKS;
      },
      work,
    );
    return out.map(({ link, entry }) => ({ link, entry }));
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
