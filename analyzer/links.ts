// Links sent over IM: extracted from message text and checked against URL/domain blocklists (the
// `links:` section of the configuration). A listed link is a `malicious_link` alert (analyzer.ts).
// See docs/analyzer.md "Links".
//
// Message text is hostile: one pass over it, at most MAX_CANDIDATES places examined and
// MAX_LINK_CHARS read per place, MAX_LINKS links per message. Matching is a few Map lookups per link.
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
/**
 * places a scheme or "www." is seen, per message, when each reads MAX_LINK_CHARS: the budget is
 * MAX_CANDIDATES x MAX_LINK_CHARS characters read, and a place costs 16 plus twice what it reads. Was a
 * count of places: 130 "www. " (650 bytes) or 40 ordinary links hid a listed link after them.
 */
export const MAX_CANDIDATES = 128;
/** characters of a link read (a longer one is cut here) */
export const MAX_LINK_CHARS = 2048;
const READ_BUDGET = MAX_CANDIDATES * MAX_LINK_CHARS;
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

/**
 * The links in a text, in order, at most `max`, each once. Linear: the candidate search is one pass,
 * each candidate reads at most MAX_LINK_CHARS characters, at most MAX_CANDIDATES are examined.
 */
export function extractLinks(text: string, max = MAX_LINKS): Link[] {
  const out: Link[] = [];
  if (typeof text !== 'string' || text.length < 7) return out;
  const re = CANDIDATE;
  re.lastIndex = 0;
  let spent = 0;
  const seen = new Set<string>();
  let m: RegExpExecArray | null;
  while (out.length < max && spent < READ_BUDGET && (m = re.exec(text)) !== null) {
    spent += 16;
    const at = m.index;
    const www = m[0].length === 4;
    const prev = at > 0 ? text.charCodeAt(at - 1) : 0x20;
    if (www ? wwwBlocked(prev) : isWordChar(prev)) continue;
    // the search goes on right after "://" or "www.": a link inside another's query (a redirector) is found too
    const link = parseAt(text, at, www ? '' : m[0].slice(0, -3).toLowerCase(), true);
    spent += 2 * lastRead;
    if (!link) continue;
    const key = `${link.host}:${link.port ?? ''}${link.path}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push(link);
    }
  }
  re.lastIndex = 0;
  return out;
}

/** characters the last parseAt scanned for the link's end (what a candidate costs) */
let lastRead = 0;

/**
 * A link starting at `at`: `scheme` lower case, '' for a www. link. `chat`: the end is where the
 * typed link ends (trailing punctuation dropped); else (a blocklist entry) the end of the text.
 */
function parseAt(text: string, at: number, scheme: string, chat: boolean): Link | undefined {
  const limit = Math.min(text.length, at + MAX_LINK_CHARS);
  const authStart = scheme ? at + scheme.length + 3 : at;
  let end = authStart;
  let open = 0;
  let close = 0;
  let openSq = 0;
  let closeSq = 0;
  if (chat) {
    for (; end < limit; end++) {
      const c = text.charCodeAt(end);
      if (isTerminator(c)) break;
      if (c === 0x28) open++;
      else if (c === 0x29) close++;
      else if (c === 0x5b) openSq++;
      else if (c === 0x5d) closeSq++;
    }
    lastRead = end - at; // the rest (trailing punctuation, authority, host) reads within this again
    // "(see http://x/a)" and "http://x/wiki/A_(b)": a closing bracket stays only when the link opened it
    while (end > authStart) {
      const c = text.charCodeAt(end - 1);
      if (isTrailing(c)) end--;
      else if (c === 0x29 && close > open) {
        close--;
        end--;
      } else if (c === 0x5d && closeSq > openSq) {
        closeSq--;
        end--;
      } else break;
    }
  } else end = limit;
  if (end <= authStart) return undefined;
  // authority: up to / ? # or \ (browsers read \ as / in http, https and ftp URLs)
  let authEnd = authStart;
  let lastAt = -1;
  for (; authEnd < end; authEnd++) {
    const c = text.charCodeAt(authEnd);
    if (c === 0x2f || c === 0x3f || c === 0x23 || c === 0x5c) break;
    if (c === 0x40) lastAt = authEnd;
  }
  const hostStart = lastAt >= 0 ? lastAt + 1 : authStart;
  if (hostStart >= authEnd) return undefined;
  let hostEnd: number;
  if (text.charCodeAt(hostStart) === 0x5b) {
    const rb = text.indexOf(']', hostStart);
    if (rb < 0 || rb >= authEnd) return undefined;
    hostEnd = rb + 1;
    if (hostEnd < authEnd && text.charCodeAt(hostEnd) !== 0x3a) return undefined;
  } else {
    const colon = text.indexOf(':', hostStart);
    hostEnd = colon >= 0 && colon < authEnd ? colon : authEnd;
  }
  let port: number | undefined;
  if (hostEnd < authEnd - 1) {
    const digits = text.slice(hostEnd + 1, authEnd);
    if (digits.length > 10 || !/^\d+$/.test(digits)) return undefined;
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
  let p = authEnd < end ? text.slice(authEnd, end) : '';
  if (p) {
    const hash = p.indexOf('#');
    if (hash >= 0) p = p.slice(0, hash);
    if (p.includes('\\')) p = p.replace(/\\/g, '/');
  }
  return { start: at, end, scheme, host, port, hostStart, authEnd, path: p };
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
  let h: string;
  try {
    h = new URL(`http://${raw}/`).hostname;
  } catch {
    return undefined;
  }
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
      const l = parseAt(entry, 0, scheme, false);
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
      const l = parseAt(`http://${entry}`, 0, 'http', false);
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
