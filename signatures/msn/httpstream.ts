// A bounded HTTP/1.x message framer for one direction of a TCP stream: heads, Content-Length and
// chunked bodies (streamed, never buffered whole), keep-alive, CONNECT tunnels. Used by the MSN
// HTTP gateway and the Yahoo HTTP forms (YMSG over /notify, the Y7 file relay). Pure, no I/O.
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
  head(h: HttpHead): void;
  /** valid during the call only (a view of the caller's buffer or of the stream's queue): copy to keep */
  body(chunk: Buffer): void;
  end(): void;
  /** bytes after a successful CONNECT: the tunnel's payload (valid during the call only, as body) */
  raw?(data: Buffer): void;
  malformed(reason: string): void;
}

const MAX_HEAD = 16384;
const MAX_CHUNK_LINE = 1024;
const CRLFCRLF = Buffer.from('\r\n\r\n');

const enum S { Head, Body, ChunkSize, ChunkData, ChunkCrlf, Trailer, UntilClose, Raw, Dead }

export class HttpStream {
  private st = S.Head;
  /** an incomplete head or chunk line, held for the next segment */
  private q = new ByteQueue();
  private remaining = 0;
  /** methods of requests still waiting for a response (responses need them: HEAD, CONNECT) */
  readonly pendingMethods: string[] = [];
  /** the peer direction's stream, to learn request methods / switch both sides to a tunnel */
  peer?: HttpStream;

  constructor(private readonly ev: HttpEvents) {}

  get tunnel(): boolean {
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
    const b = this.q.feed(data);
    this.q.keepFrom(b, this.frame(b));
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
        case S.Head: {
          // tolerate stray CRLFs between messages
          while (pos < b.length && (b[pos] === 0x0d || b[pos] === 0x0a)) pos++;
          if (pos >= b.length) return b.length;
          const end = b.indexOf(CRLFCRLF, pos);
          if (end < 0) {
            if (b.length - pos > MAX_HEAD) {
              this.ev.malformed('HTTP head longer than 16 KiB');
              this.st = S.Dead;
              return b.length;
            }
            return pos;
          }
          if (end - pos > MAX_HEAD) {
            this.ev.malformed('HTTP head longer than 16 KiB');
            this.st = S.Dead;
            return b.length;
          }
          const head = parseHead(b.toString('latin1', pos, end));
          pos = end + 4;
          if (!head) {
            this.ev.malformed('not an HTTP message head');
            this.st = S.Dead;
            return b.length;
          }
          this.ev.head(head);
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
          if (nl < 0) {
            if (b.length - pos > MAX_CHUNK_LINE) {
              this.ev.malformed('HTTP chunk line too long');
              this.st = S.Dead;
              return b.length;
            }
            return pos;
          }
          const line = b.toString('latin1', pos, nl).trim();
          pos = nl + 1;
          if (this.st === S.ChunkCrlf) {
            this.st = S.ChunkSize;
            if (line) {
              this.ev.malformed('HTTP chunk not followed by CRLF');
              this.st = S.Dead;
              return b.length;
            }
          } else if (this.st === S.ChunkSize) {
            const m = /^([0-9a-fA-F]{1,8})(;.*)?$/.exec(line);
            if (!m) {
              this.ev.malformed('bad HTTP chunk size');
              this.st = S.Dead;
              return b.length;
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

  /** the stream ended: a body read until close ends here */
  close(): void {
    if (this.st === S.UntilClose) this.finish();
  }

  private afterHead(h: HttpHead): void {
    if (h.kind === 'request') {
      if (this.peer && this.peer.pendingMethods.length < 64) this.peer.pendingMethods.push(h.method);
    }
    const te = (h.headers.get('transfer-encoding') ?? '').toLowerCase();
    const cl = h.headers.get('content-length');
    if (h.kind === 'response') {
      const method = this.pendingMethods.shift() ?? '';
      if (method === 'CONNECT' && h.status >= 200 && h.status < 300) {
        this.ev.end();
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
        this.st = S.Dead;
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
    this.ev.end();
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
