// SIP message framing and header parsing (RFC 3261 §7): start line, headers with folding and compact
// forms, body by Content-Length. Pure: bytes in, messages out; every length bounded.
import { ByteQueue } from '../text';

export const MAX_HEADER_BYTES = 64 * 1024;
export const MAX_BODY_BYTES = 1024 * 1024;

const COMPACT: Record<string, string> = {
  f: 'from', t: 'to', i: 'call-id', l: 'content-length', c: 'content-type', m: 'contact', v: 'via',
  e: 'content-encoding', s: 'subject', k: 'supported', o: 'event', u: 'allow-events', r: 'refer-to', x: 'session-expires',
};

export const METHODS = ['INVITE', 'ACK', 'BYE', 'CANCEL', 'OPTIONS', 'REGISTER', 'MESSAGE', 'SUBSCRIBE', 'NOTIFY', 'PUBLISH', 'INFO', 'REFER', 'UPDATE', 'PRACK'];
// the Request-URI is any run of bytes above space: \S also stops at U+00A0, which the latin1 view of a
// UTF-8 à (C3 A0) holds, so such a MESSAGE was not taken for SIP
const REQUEST_LINE = new RegExp(`^(${METHODS.join('|')}) ([^\\x00-\\x20]{1,2048}) SIP/2\\.0$`);
const STATUS_LINE = /^SIP\/2\.0 ([1-6]\d\d) ?(.{0,256})$/;

export interface SipMessage {
  method?: string;
  uri?: string;
  status?: number;
  reason?: string;
  /** lower-case full header names; repeated headers joined in order */
  headers: Map<string, string[]>;
  body: Buffer;
  /** Content-Length lied or the body was cut (UDP) */
  truncated: boolean;
}

export function header(m: SipMessage, name: string): string | undefined {
  return m.headers.get(name)?.[0];
}

/** the bytes a request or status line starts with */
const LINE_STARTS = [...METHODS.map((m) => `${m} `), 'SIP/2.0 '].map((s) => Buffer.from(s, 'latin1'));
const SIP_SLASH = Buffer.from('SIP/');
/** longer than any line REQUEST_LINE or STATUS_LINE can match */
const MAX_START_LINE = 2100;

/** Is this the start of a SIP message? 'more' when the first line is not complete yet. */
export function startsSip(b: Buffer): boolean | 'more' {
  // every start line and every prefix worth waiting for begins with a capital: other first bytes (binary,
  // TLS, DNS) are decided before any search or string
  if (!(b[0] >= 0x41 && b[0] <= 0x5a)) return false;
  // "SIP/" or a word of 1–9 capitals then a space (or the end): what both the line patterns and the
  // 'more' prefix need, checked before the search for the line's end
  let k = 1;
  while (k < b.length && k < 10 && b[k] >= 0x41 && b[k] <= 0x5a) k++;
  if (!(k <= 9 && (k === b.length || b[k] === 0x20)) && !startsWith(b, SIP_SLASH)) return false;
  const nl = firstCrlf(b, MAX_START_LINE + 2);
  if (nl < 0 && b.length > MAX_START_LINE) return false;
  if (nl >= 0 && !startsWithAny(b, LINE_STARTS)) return false;
  return startsSipSlow(b, nl);
}

/** index of the first CRLF that starts before `max`, or -1 */
function firstCrlf(b: Buffer, max: number): number {
  const end = Math.min(b.length, max + 1);
  for (let i = 1; i < end; i++) if (b[i] === 0x0a && b[i - 1] === 0x0d) return i - 1;
  return -1;
}

/** startsWith for any of `list` (a loop, not a closure per call: this runs for every HTTP request) */
function startsWithAny(b: Buffer, list: Buffer[]): boolean {
  for (const s of list) if (startsWith(b, s)) return true;
  return false;
}

function startsWith(b: Buffer, s: Buffer): boolean {
  if (b.length < s.length) return false;
  for (let i = 0; i < s.length; i++) if (b[i] !== s[i]) return false;
  return true;
}

function startsSipSlow(b: Buffer, nl: number): boolean | 'more' {
  const line = (nl < 0 ? b.subarray(0, 2100) : b.subarray(0, nl)).toString('latin1');
  if (nl < 0) {
    if (b.length > 2100) return false;
    // a prefix of a request or status line may still become one
    return /^(SIP\/|[A-Z]{1,9}( |$))/.test(line) ? 'more' : false;
  }
  return REQUEST_LINE.test(line) || STATUS_LINE.test(line);
}

/** Parse one message from `b` (headers complete). Returns null when the head is malformed. */
export function parseHead(head: string): Omit<SipMessage, 'body' | 'truncated'> | null {
  const lines = head.split('\r\n');
  const start = lines.shift() ?? '';
  const msg: Omit<SipMessage, 'body' | 'truncated'> = { headers: new Map() };
  let m = start.match(REQUEST_LINE);
  if (m) {
    msg.method = m[1];
    msg.uri = m[2];
  } else if ((m = start.match(STATUS_LINE))) {
    msg.status = Number(m[1]);
    msg.reason = m[2];
  } else return null;
  // unfold continuation lines (RFC 3261 §7.3.1)
  const unfolded: string[] = [];
  for (const l of lines) {
    if ((l.startsWith(' ') || l.startsWith('\t')) && unfolded.length) unfolded[unfolded.length - 1] += ' ' + l.trim();
    else if (l.length) unfolded.push(l);
  }
  if (unfolded.length > 200) return null;
  for (const l of unfolded) {
    const c = l.indexOf(':');
    if (c <= 0) continue;
    let name = l.slice(0, c).trim().toLowerCase();
    name = COMPACT[name] ?? name;
    const value = l.slice(c + 1).trim();
    const list = msg.headers.get(name);
    if (list) {
      if (list.length < 32) list.push(value);
    } else msg.headers.set(name, [value]);
  }
  return msg;
}

/**
 * Stream framer for SIP over TCP (one per direction). Feed bytes; complete messages come out.
 * A Content-Length over the bound, or a head that does not parse, is counted malformed and the
 * framer resynchronises on the next start line.
 */
export class SipFramer {
  /** bytes not framed yet (one growable buffer: a 1 MiB body is not re-copied on every segment) */
  private q = new ByteQueue();
  /** bytes at the front already searched for the end of the head without finding it */
  private scanned = 0;
  /** the parsed head of the message whose body is still arriving (the front of `q` does not change meanwhile) */
  private waiting: { head: Omit<SipMessage, 'body' | 'truncated'>; bodyStart: number; cl: number } | null = null;
  malformed = 0;

  /** bytes held, not framed yet */
  get buffered(): number {
    return this.q.length;
  }

  push(data: Buffer, out: (m: SipMessage) => void): void {
    this.q.push(data);
    for (let guard = 0; guard < 10000 && this.q.length; guard++) {
      let buf = this.q.view();
      if (!this.waiting) {
        // skip keep-alive CRLFs between messages (RFC 5626)
        let skip = 0;
        while (skip + 1 < buf.length && buf[skip] === 13 && buf[skip + 1] === 10) skip += 2;
        if (skip) {
          this.drop(skip);
          buf = this.q.view();
        }
        const end = buf.indexOf(CRLFCRLF, Math.max(0, this.scanned - 3));
        if (end < 0) {
          this.scanned = buf.length;
          if (buf.length > MAX_HEADER_BYTES) this.resync();
          return;
        }
        const head = parseHead(buf.toString('utf8', 0, end));
        if (!head) {
          this.resync();
          continue;
        }
        const clText = head.headers.get('content-length')?.[0];
        // over TCP a missing Content-Length means no body (RFC 3261 §18.3 makes it mandatory)
        const cl = clText !== undefined && /^\d{1,10}$/.test(clText) ? Number(clText) : 0;
        if (cl > MAX_BODY_BYTES) {
          this.resync();
          continue;
        }
        this.waiting = { head, bodyStart: end + 4, cl };
      }
      const { head, bodyStart, cl } = this.waiting;
      if (buf.length < bodyStart + cl) {
        if (buf.length > MAX_HEADER_BYTES + MAX_BODY_BYTES) this.resync();
        return;
      }
      this.waiting = null;
      // the head is this message's alone: completed in place (a spread costs ~1 µs a property)
      const msg = head as SipMessage;
      msg.body = Buffer.from(buf.subarray(bodyStart, bodyStart + cl));
      msg.truncated = false;
      out(msg);
      this.drop(bodyStart + cl);
    }
  }

  private drop(n: number): void {
    this.q.consume(n);
    // what was searched stays searched (a resync storm over a long head does not rescan it)
    this.scanned = Math.max(0, this.scanned - n);
    this.waiting = null;
  }

  /** drop bytes up to the next plausible start line (a CRLF, at 1 or later, before a request or status line) */
  private resync(): void {
    this.malformed++;
    const buf = this.q.view();
    for (let i = 1; i + 1 < buf.length; i++) {
      if (buf[i] === 13 && buf[i + 1] === 10 && startLineAt(buf, i + 2)) {
        this.drop(i + 2);
        return;
      }
    }
    this.q.clear();
    this.scanned = 0;
    this.waiting = null;
  }
}

const CRLFCRLF = Buffer.from('\r\n\r\n');
const SIP_VERSION_SP = Buffer.from('SIP/2.0 ');
const SP_SIP_VERSION_CRLF = Buffer.from(' SIP/2.0\r\n');
const METHOD_SP = METHODS.map((m) => Buffer.from(`${m} `));
/** first bytes of the start lines */
const START_BYTE = new Uint8Array(256);
for (const w of [...METHOD_SP, SIP_VERSION_SP]) START_BYTE[w[0]] = 1;

/** what ends a Request-URI in REQUEST_LINE */
function isWs(c: number): boolean {
  return c <= 0x20;
}

function bytesAt(b: Buffer, p: number, w: Buffer): boolean {
  if (p + w.length > b.length) return false;
  for (let k = 0; k < w.length; k++) if (b[p + k] !== w[k]) return false;
  return true;
}

/** At `p`: `METHOD <non-blank run> SIP/2.0\r\n`, or `SIP/2.0 ddd ` (the start lines resync looks for). */
function startLineAt(b: Buffer, p: number): boolean {
  if (!START_BYTE[b[p]]) return false;
  if (bytesAt(b, p, SIP_VERSION_SP)) {
    const d = p + SIP_VERSION_SP.length;
    if (d + 3 < b.length && isDigit(b[d]) && isDigit(b[d + 1]) && isDigit(b[d + 2]) && b[d + 3] === 0x20) return true;
  }
  for (const m of METHOD_SP) {
    if (!bytesAt(b, p, m)) continue;
    const q = p + m.length;
    let r = q;
    while (r < b.length && !isWs(b[r])) r++;
    if (r > q && bytesAt(b, r, SP_SIP_VERSION_CRLF)) return true;
  }
  return false;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** One UDP datagram = one message; a body shorter than Content-Length is marked truncated. */
export function parseDatagram(b: Buffer): SipMessage | null {
  const end = b.indexOf('\r\n\r\n');
  const headEnd = end < 0 ? b.length : end;
  if (headEnd > MAX_HEADER_BYTES) return null;
  const head = parseHead(b.subarray(0, headEnd).toString('utf8'));
  if (!head) return null;
  let body = end < 0 ? Buffer.alloc(0) : b.subarray(end + 4);
  const clText = head.headers.get('content-length')?.[0];
  let truncated = false;
  if (clText !== undefined && /^\d{1,10}$/.test(clText)) {
    const cl = Number(clText);
    if (cl < body.length) body = body.subarray(0, cl);
    else if (cl > body.length) truncated = true;
  }
  const msg = head as SipMessage;
  msg.body = Buffer.from(body.subarray(0, MAX_BODY_BYTES));
  msg.truncated = truncated;
  return msg;
}

/** `"Alice" <sip:alice@example.com>;tag=1` → alice@example.com (scheme and parameters dropped). */
export function addressOf(v: string | undefined): string | undefined {
  if (!v) return undefined;
  const inAngle = inAngles(v, 512);
  const uri = bareUri((inAngle ?? v.split(';')[0]).trim());
  if (!uri || uri.length > 256 || /[\s<>"]/.test(uri)) return undefined;
  return uri;
}

/** `sip:alice@example.com;transport=tcp?x=y` → alice@example.com: the scheme (sip, sips, tel, im, pres) and parameters dropped */
export function bareUri(uri: string): string {
  return uri.replace(/^(sips?|tel|im|pres):/i, '').split(';')[0].split('?')[0];
}

/**
 * The URI between the first '<' and the next '>' that are not inside a quoted string (at most `max`
 * characters between them): `"Bob <boss@corp>" <sip:bob@x>` names sip:bob@x, the quoted display name
 * (RFC 3261 §25.1, RFC 3862 Formal-name) may hold any character. In linear time: a RegExp looking from
 * every '<' on to the next '>' cost O(n²) (a CPIM From line of 128 K '<' took 12 s).
 */
export function inAngles(v: string | undefined, max = Infinity): string | undefined {
  if (v === undefined) return undefined;
  let gt = -1;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c === 0x22) {
      // a quoted string: to its closing quote, \-escapes skipped (unterminated: no URI follows)
      for (i++; i < v.length && v.charCodeAt(i) !== 0x22; i++) if (v.charCodeAt(i) === 0x5c) i++;
      continue;
    }
    if (c !== 0x3c) continue;
    if (gt <= i) gt = v.indexOf('>', i + 1);
    if (gt < 0) return undefined;
    const len = gt - i - 1;
    if (len >= 1 && len <= max) return v.slice(i + 1, gt);
  }
  return undefined;
}

export function tagOf(v: string | undefined): string {
  return v?.match(/;\s*tag=([^;\s]{1,128})/i)?.[1] ?? '';
}

export function mediaType(v: string | undefined): { type: string; params: Map<string, string> } {
  const [t, ...ps] = (v ?? '').split(';');
  const params = new Map<string, string>();
  for (const p of ps) {
    const eq = p.indexOf('=');
    if (eq > 0) params.set(p.slice(0, eq).trim().toLowerCase(), p.slice(eq + 1).trim().replace(/^"|"$/g, ''));
  }
  return { type: t.trim().toLowerCase(), params };
}
