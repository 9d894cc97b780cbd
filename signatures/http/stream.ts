// A bounded HTTP/1.x message framer for one direction of a TCP stream: heads, Content-Length and
// chunked bodies (streamed, never buffered whole), keep-alive and pipelining, CONNECT tunnels, and the
// switch to raw bytes after a head the owner says so of (a 101 upgrade), at the exact byte where the
// head ends. Bounded: a head ≤ 16 KiB, a chunk-size line ≤ 1 KiB. Used by the MSN HTTP gateway, the
// Yahoo HTTP forms (YMSG over /notify, the Y7 file relay) and XMPP over BOSH/WebSocket (HttpSide).
// Also the detection helpers those modules share. Pure, no I/O.
import { ByteQueue } from '../text';

export interface HttpHead {
  /** 'request' or 'response' */
  kind: 'request' | 'response';
  method: string;
  target: string;
  status: number;
  /** header names lower-cased; repeated headers keep the first value */
  headers: Map<string, string>;
}

export interface HttpEvents {
  /** the owner may set `switchAfterHead` on the stream during this call */
  head(h: HttpHead): void;
  /** valid during the call only (a view of the caller's buffer or of the stream's queue): copy to keep */
  body(chunk: Buffer): void;
  /** the message's body ended; `whole` false when bytes of it were lost (only with `resync`) */
  end(whole: boolean): void;
  /** bytes after a successful CONNECT or a switch: the tunnel's payload (valid during the call only, as body) */
  raw?(data: Buffer): void;
  malformed(reason: string): void;
}

/** How the framer copes with hostile or lost bytes; the defaults give up on the first error. */
export interface HttpStreamOptions {
  /** this direction carries only requests or only responses: a head of the other kind is not HTTP */
  side?: 'request' | 'response';
  /** after a malformed message or a gap, end the message as not whole and look for the next start line
   *  of `side` (needed) at a line start; without it the stream stops framing (and gaps are not taken) */
  resync?: boolean;
  /** a 2xx answer to CONNECT turns both sides into a tunnel (default true) */
  tunnels?: boolean;
  /** bound terminated chunk lines too ('HTTP chunk line longer than 1 KiB'); else only a line still
   *  unterminated after 1 KiB ('HTTP chunk line too long') */
  boundChunkLines?: boolean;
  /** blanks allowed between the chunk size and its extension */
  chunkSizeBlanks?: boolean;
}

const MAX_HEAD = 16384;
const MAX_CHUNK_LINE = 1024;
const CRLFCRLF = Buffer.from('\r\n\r\n');
const CHUNK_SIZE = /^([0-9a-fA-F]{1,8})(;.*)?$/;
const CHUNK_SIZE_BLANKS = /^([0-9a-fA-F]{1,8})[ \t]*(?:;.*)?$/;

const enum S { Head, Body, ChunkSize, ChunkData, ChunkCrlf, Trailer, UntilClose, Raw, Resync, Dead }

export class HttpStream {
  private st = S.Head;
  /** an incomplete head or chunk line, held for the next segment */
  private q = new ByteQueue();
  private remaining = 0;
  private whole = true;
  /** the held head was searched up to here already */
  private headHint = 0;
  /** methods of requests still waiting for a response (responses need them: HEAD, CONNECT) */
  readonly pendingMethods: string[] = [];
  /** the peer direction's stream, to learn request methods / switch both sides to a tunnel */
  peer?: HttpStream;
  /** set by the owner during `head`: the bytes after this head are raw (an upgrade) */
  switchAfterHead = false;
  private readonly resync: boolean;
  private readonly isResponse: boolean | undefined;

  constructor(
    private readonly ev: HttpEvents,
    private readonly opts: HttpStreamOptions = {},
  ) {
    this.isResponse = opts.side === undefined ? undefined : opts.side === 'response';
    this.resync = !!opts.resync && opts.side !== undefined;
  }

  /** past a CONNECT tunnel's start or a switch: every byte goes to `raw` */
  get raw(): boolean {
    return this.st === S.Raw;
  }

  /** the other side answered CONNECT with 2xx: everything from now on is tunnel payload */
  startTunnel(): void {
    this.st = S.Raw;
    if (this.q.length) {
      this.ev.raw?.(this.q.view());
      this.q.clear();
    }
  }

  push(data: Buffer): void {
    if (this.st === S.Raw && !this.q.length) {
      this.ev.raw?.(data);
      return;
    }
    const b = this.q.feed(data);
    this.q.keepFrom(b, this.frame(b));
  }

  /** `n` bytes lost (with `resync`): skipped inside a body of known length, else the next message start is looked for */
  gap(n: number): void {
    if (!this.resync || this.st === S.Raw || this.st === S.Dead) return;
    if ((this.st === S.Body || this.st === S.ChunkData) && n < this.remaining) {
      this.remaining -= n;
      this.whole = false;
      return;
    }
    if (this.st !== S.Head && this.st !== S.Resync) this.ev.end(false);
    this.q.clear();
    this.headHint = 0;
    this.st = S.Resync;
  }

  /** the stream ended: a body read until close ends here */
  close(): void {
    if (this.st === S.UntilClose) this.finish();
  }

  /** Frames `b` as far as it goes; the offset of the bytes to hold for the next segment (b.length: none). */
  private frame(b: Buffer): number {
    let pos = 0;
    // every iteration consumes bytes or returns: bounded work per byte
    while (pos < b.length) {
      switch (this.st) {
        case S.Dead:
          return b.length;
        case S.Raw:
          this.ev.raw?.(b.subarray(pos));
          return b.length;
        case S.Resync: {
          const at = this.messageStart(b, pos);
          // hold the last, unfinished line: it may be a start line still arriving
          if (at < 0) return Math.max(pos, b.lastIndexOf(0x0a) + 1, b.length - 2048);
          pos = at;
          this.st = S.Head;
          break;
        }
        case S.Head: {
          // tolerate stray CRLFs between messages
          while (pos < b.length && (b[pos] === 0x0d || b[pos] === 0x0a)) pos++;
          if (pos >= b.length) return b.length;
          const from = pos === 0 ? this.headHint : pos;
          this.headHint = 0;
          // a head ending later than 16 KiB is not looked for: it is too long either way
          const end = b.subarray(0, Math.min(b.length, pos + MAX_HEAD + 4)).indexOf(CRLFCRLF, from);
          if (end < 0) {
            if (b.length - pos > MAX_HEAD) {
              this.ev.malformed('HTTP head longer than 16 KiB');
              if (!this.resync) return this.die(b);
              // no message can start in these 16 KiB and end in time: skip them all
              this.st = S.Resync;
              pos += MAX_HEAD;
              break;
            }
            this.headHint = Math.max(0, b.length - pos - 3);
            return pos;
          }
          const head = parseHead(b.toString('latin1', pos, end));
          if (!head || (this.isResponse !== undefined && (head.kind === 'response') !== this.isResponse)) {
            this.ev.malformed('not an HTTP message head');
            if (!this.resync) return this.die(b);
            this.st = S.Resync;
            pos++;
            break;
          }
          pos = end + 4;
          this.switchAfterHead = false;
          this.ev.head(head);
          if (this.switchAfterHead) {
            this.st = S.Raw;
            break;
          }
          this.afterHead(head);
          break;
        }
        case S.Body:
        case S.ChunkData: {
          const n = Math.min(this.remaining, b.length - pos);
          if (n > 0) this.ev.body(b.subarray(pos, pos + n));
          pos += n;
          this.remaining -= n;
          if (this.remaining === 0) {
            if (this.st === S.Body) this.finish();
            else this.st = S.ChunkCrlf;
          }
          break;
        }
        case S.UntilClose:
          this.ev.body(b.subarray(pos));
          return b.length;
        case S.ChunkCrlf:
        case S.ChunkSize:
        case S.Trailer: {
          const nl = b.indexOf(0x0a, pos);
          if (this.opts.boundChunkLines ? (nl < 0 ? b.length - pos : nl - pos) > MAX_CHUNK_LINE : nl < 0 && b.length - pos > MAX_CHUNK_LINE) {
            // endless chunk extensions or trailer lines
            this.ev.malformed(this.opts.boundChunkLines ? 'HTTP chunk line longer than 1 KiB' : 'HTTP chunk line too long');
            if (!this.abort()) return this.die(b);
            break;
          }
          if (nl < 0) return pos;
          const line = b.toString('latin1', pos, nl).trim();
          pos = nl + 1;
          if (this.st === S.ChunkCrlf) {
            if (line) {
              this.ev.malformed('HTTP chunk not followed by CRLF');
              if (!this.abort()) return this.die(b);
              break;
            }
            this.st = S.ChunkSize;
          } else if (this.st === S.ChunkSize) {
            const m = (this.opts.chunkSizeBlanks ? CHUNK_SIZE_BLANKS : CHUNK_SIZE).exec(line);
            if (!m) {
              this.ev.malformed('bad HTTP chunk size');
              if (!this.abort()) return this.die(b);
              break;
            }
            this.remaining = parseInt(m[1], 16);
            this.st = this.remaining === 0 ? S.Trailer : S.ChunkData;
          } else if (!line) {
            this.finish();
          }
          break;
        }
      }
    }
    return b.length;
  }

  /** framing is lost for good: nothing of `b` is held */
  private die(b: Buffer): number {
    this.st = S.Dead;
    return b.length;
  }

  /** with `resync`: the message ends cut short and the next one is looked for (true); else false */
  private abort(): boolean {
    if (!this.resync) return false;
    this.ev.end(false);
    this.st = S.Resync;
    return true;
  }

  /**
   * Offset of the next line at or after `from` that starts an HTTP message of this side (a start
   * line parseHead accepts), or -1. One look per line start: bounded by the bytes.
   */
  private messageStart(b: Buffer, from: number): number {
    let i = from;
    while (i < b.length) {
      const eol = b.indexOf(0x0a, i);
      if (eol < 0) return -1;
      if ((i === 0 || b[i - 1] === 0x0a) && eol - i <= 2048 && b[eol - 1] === 0x0d) {
        const line = b.toString('latin1', i, eol - 1);
        if (this.isResponse ? /^HTTP\/1\.[01] \d{3}/.test(line) : /^[A-Z]{3,10} \S+ HTTP\/1\.[01]$/.test(line)) return i;
      }
      i = eol + 1;
    }
    return -1;
  }

  private afterHead(h: HttpHead): void {
    this.whole = true;
    if (h.kind === 'request' && this.peer && this.peer.pendingMethods.length < 64) this.peer.pendingMethods.push(h.method);
    const te = (h.headers.get('transfer-encoding') ?? '').toLowerCase();
    const cl = h.headers.get('content-length');
    if (h.kind === 'response') {
      const method = this.pendingMethods.shift() ?? '';
      if (method === 'CONNECT' && h.status >= 200 && h.status < 300 && this.opts.tunnels !== false) {
        this.ev.end(true);
        this.st = S.Raw;
        this.peer?.startTunnel();
        return;
      }
      if (method === 'HEAD' || (h.status >= 100 && h.status < 200) || h.status === 204 || h.status === 304) {
        this.finish();
        return;
      }
    }
    if (te.includes('chunked')) {
      this.st = S.ChunkSize;
      return;
    }
    if (cl !== undefined) {
      const n = /^\d{1,15}$/.test(cl.trim()) ? Number(cl.trim()) : NaN;
      if (!Number.isFinite(n)) {
        this.ev.malformed('bad Content-Length');
        if (!this.abort()) this.st = S.Dead;
        return;
      }
      this.remaining = n;
      if (n === 0) this.finish();
      else this.st = S.Body;
      return;
    }
    if (h.kind === 'request') this.finish();
    else this.st = S.UntilClose;
  }

  private finish(): void {
    this.st = S.Head;
    this.ev.end(this.whole);
  }
}

/** One direction of XMPP over HTTP (BOSH, WebSocket upgrades): requests or responses only, resyncing
 *  after errors and gaps, every chunk line bounded, blanks before a chunk extension, no CONNECT. */
export class HttpSide extends HttpStream {
  constructor(ev: HttpEvents, isResponse: boolean) {
    super(ev, { side: isResponse ? 'response' : 'request', resync: true, tunnels: false, boundChunkLines: true, chunkSizeBlanks: true });
  }
}

/** One connection's two sides (0 client, 1 server), each the other's peer: a response needs its
 *  request's method, and a 2xx to CONNECT turns both sides into a tunnel. */
export function httpPair(events: (dir: 0 | 1) => HttpEvents): HttpStream[] {
  const s = [new HttpStream(events(0)), new HttpStream(events(1))];
  s[0].peer = s[1];
  s[1].peer = s[0];
  return s;
}

/** A flow's bytes into `streams` (read at each call: a decoder may replace a side); `clock` gets each
 *  call's time first. The end closes the server side: a response delimited by the close is whole. */
export function httpPairFeed(streams: HttpStream[], clock: (t: number) => void): { onData(dir: 0 | 1, data: Buffer, t: number): void; onEnd(t: number): void } {
  return {
    onData(dir, data, t) {
      clock(t);
      streams[dir].push(data);
    },
    onEnd(t) {
      clock(t);
      streams[1].close();
    },
  };
}

export function parseHead(text: string): HttpHead | null {
  const lines = text.split('\r\n');
  const first = lines[0];
  const headers = new Map<string, string>();
  for (let i = 1; i < lines.length && i < 200; i++) {
    const c = lines[i].indexOf(':');
    if (c <= 0) continue;
    const k = lines[i].slice(0, c).trim().toLowerCase();
    if (!headers.has(k)) headers.set(k, lines[i].slice(c + 1).trim());
  }
  let m = /^HTTP\/1\.[01] (\d{3})/.exec(first);
  if (m) return { kind: 'response', method: '', target: '', status: Number(m[1]), headers };
  m = /^([A-Z]{3,10}) (\S+) HTTP\/1\.[01]$/.exec(first);
  if (m) return { kind: 'request', method: m[1], target: m[2], status: 0, headers };
  return null;
}

import type { DetectInput } from '../types';

// Detection helpers: they run on the first bytes of every flow that starts with a capital letter, so
// they compare bytes and make strings only of what they return (native Buffer.indexOf with a
// multi-byte needle costs more per call than a JS pass over a typical head).

const isCap = (c: number) => c >= 0x41 && c <= 0x5a;
/** \s of a JavaScript RegExp, for latin1 text */
const isSpace = (c: number) => c === 0x20 || (c >= 0x09 && c <= 0x0d) || c === 0xa0;
/** " HTTP/1." */
const HTTP_VERSION = [0x20, 0x48, 0x54, 0x54, 0x50, 0x2f, 0x31, 0x2e];

/**
 * Request line of an HTTP request at the start of `b` (null if it is not one): within the first 2048
 * bytes, 3–10 capitals, a space, a target without white space, " HTTP/1.0" or " HTTP/1.1".
 */
export function requestLine(b: Buffer): { method: string; target: string } | null {
  let i = 0;
  while (i < b.length && i < 11 && isCap(b[i])) i++;
  if (i < 3 || i > 10 || b[i] !== 0x20) return null;
  const max = Math.min(b.length, 2048);
  let j = i + 1;
  while (j < max && !isSpace(b[j])) j++;
  if (j === i + 1 || j + HTTP_VERSION.length + 1 > max) return null;
  for (let k = 0; k < HTTP_VERSION.length; k++) if (b[j + k] !== HTTP_VERSION[k]) return null;
  const minor = b[j + HTTP_VERSION.length];
  if (minor !== 0x30 && minor !== 0x31) return null;
  return { method: b.toString('latin1', 0, i), target: b.toString('latin1', i + 1, j) };
}

/** "HTTP/1.": the first bytes of a response */
export const HTTP1: readonly number[] = [0x48, 0x54, 0x54, 0x50, 0x2f, 0x31, 0x2e];

/** `b` starts with these bytes */
export function startsWithBytes(b: Buffer, bytes: readonly number[]): boolean {
  if (b.length < bytes.length) return false;
  for (let i = 0; i < bytes.length; i++) if (b[i] !== bytes[i]) return false;
  return true;
}

/** Index of the first CRLFCRLF in `b`, or -1. */
export function headEnd(b: Buffer): number {
  for (let i = 3; i < b.length; i++) {
    if (b[i] === 0x0a && b[i - 1] === 0x0d && b[i - 2] === 0x0a && b[i - 3] === 0x0d) return i - 3;
  }
  return -1;
}

/** The first bytes of an HTTP message, scanned once for its end and its header lines. */
export class HeadBytes {
  /** index of the first CRLFCRLF (the end of the head), or -1 */
  readonly end: number;
  private readonly limit: number;
  /** offset after each CRLF up to the end of the head (later ones are never reached: `limit` stops the search) */
  private readonly starts: number[] = [];

  constructor(private readonly b: Buffer) {
    let end = -1;
    for (let i = 1; i < b.length; i++) {
      if (b[i] !== 0x0a || b[i - 1] !== 0x0d) continue;
      if (i >= 3 && b[i - 2] === 0x0a && b[i - 3] === 0x0d) {
        end = i - 3;
        break;
      }
      this.starts.push(i + 1);
    }
    this.end = end;
    this.limit = end < 0 ? Math.min(b.length, MAX_HEAD) : end;
  }

  /**
   * A header's value (case-insensitive name, given in lower-case ASCII): the first "\r\n<name>:" in
   * the head (or in its first 16 KiB while it is incomplete), the rest of that line without leading
   * blanks, trimmed.
   */
  header(name: string): string | undefined {
    const b = this.b;
    const limit = this.limit;
    const n = name.length;
    for (const at of this.starts) {
      if (at + n >= limit) break;
      let k = 0;
      for (; k < n; k++) {
        const c = b[at + k];
        const want = name.charCodeAt(k);
        if (c !== want && !(want >= 0x61 && want <= 0x7a && c === want - 0x20)) break;
      }
      if (k < n || b[at + n] !== 0x3a) continue;
      let p = at + n + 1;
      while (p < limit && (b[p] === 0x20 || b[p] === 0x09)) p++;
      let q = p;
      while (q < limit && b[q] !== 0x0d && b[q] !== 0x0a) q++;
      return b.toString('latin1', p, q).trim();
    }
    return undefined;
  }
}

// The MSN and Yahoo modules both read the request line and head of every HTTP message offered to
// them: made once per offer (DetectInput.offer, of that engine's input), for the second module to reuse.
let memoInput: DetectInput | undefined;
let memoOffer = -1;
let memoData: Buffer | undefined;
let memoLine: { method: string; target: string } | null = null;
let memoLineRead = false;
let memoHead: HeadBytes | undefined;

function memoFor(input: DetectInput): boolean {
  if (input.offer === undefined) return false;
  if (input !== memoInput || input.offer !== memoOffer || input.data !== memoData) {
    memoInput = input;
    memoOffer = input.offer;
    memoData = input.data;
    memoLineRead = false;
    memoLine = null;
    memoHead = undefined;
  }
  return true;
}

/** requestLine(input.data), read once per offer */
export function offeredRequestLine(input: DetectInput): { method: string; target: string } | null {
  if (!memoFor(input)) return requestLine(input.data);
  if (!memoLineRead) {
    memoLine = requestLine(input.data);
    memoLineRead = true;
  }
  return memoLine;
}

/** new HeadBytes(input.data), made once per offer */
export function offeredHead(input: DetectInput): HeadBytes {
  if (!memoFor(input)) return new HeadBytes(input.data);
  return (memoHead ??= new HeadBytes(input.data));
}

/** A header's value within the first bytes of an HTTP message (case-insensitive name); see HeadBytes.header. */
export function headerIn(b: Buffer, name: string): string | undefined {
  return new HeadBytes(b).header(name);
}
