// One direction of an HTTP/1.x connection carrying XMPP (BOSH bodies, or a WebSocket upgrade): heads,
// Content-Length and chunked bodies streamed (never buffered whole), keep-alive and pipelining, and
// the switch to raw bytes after a 101 upgrade, at the exact byte where the head ends. Like
// msn/httpstream.ts (which has no 101 switch), bounded: a head ≤ 16 KiB, a chunk-size line ≤ 1 KiB
// (chunk extensions included). After a gap or a head that is not HTTP it looks for the next message
// start at a line start instead of giving up. Pure, no I/O.
import { ByteQueue } from '../text';
import { parseHead, type HttpHead } from '../msn/httpstream';

export type { HttpHead };

export interface HttpSideEvents {
  head(h: HttpHead): void;
  /** a piece of the current message's body (valid during the call only) */
  body(chunk: Buffer): void;
  /** the message's body ended; `whole` false when bytes of it were lost */
  end(whole: boolean): void;
  /** bytes after the switch (valid during the call only) */
  raw(data: Buffer): void;
  malformed(reason: string): void;
}

const MAX_HEAD = 16384;
const MAX_CHUNK_LINE = 1024;
const CRLFCRLF = Buffer.from('\r\n\r\n');

const enum S { Head, Body, ChunkSize, ChunkData, ChunkCrlf, Trailer, UntilClose, Raw, Resync, Dead }

export class HttpSide {
  private st = S.Head;
  private q = new ByteQueue();
  private remaining = 0;
  private whole = true;
  private headHint = 0;
  /** request methods waiting for their responses (a response to HEAD has no body) */
  readonly pending: string[] = [];
  peer?: HttpSide;
  /** set by the owner on a head: the bytes after this head are raw (upgrade) */
  switchAfterHead = false;

  constructor(private readonly ev: HttpSideEvents, private readonly isResponse: boolean) {}

  get raw(): boolean {
    return this.st === S.Raw;
  }

  push(data: Buffer): void {
    if (this.st === S.Raw && !this.q.length) {
      this.ev.raw(data);
      return;
    }
    const b = this.q.feed(data);
    this.q.keepFrom(b, this.frame(b));
  }

  /** `n` bytes lost: skipped inside a body of known length, else the next message start is looked for */
  gap(n: number): void {
    if (this.st === S.Raw || this.st === S.Dead) return;
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

  /** the connection ended: a body read until close ends here */
  close(): void {
    if (this.st === S.UntilClose) {
      this.st = S.Head;
      this.ev.end(this.whole);
    }
  }

  private frame(b: Buffer): number {
    let pos = 0;
    while (pos < b.length) {
      switch (this.st) {
        case S.Dead:
          return b.length;
        case S.Raw:
          this.ev.raw(b.subarray(pos));
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
          while (pos < b.length && (b[pos] === 0x0d || b[pos] === 0x0a)) pos++;
          if (pos >= b.length) return b.length;
          // the held head was searched up to headHint already: go on from there (no rescans)
          const from = pos === 0 ? this.headHint : pos;
          this.headHint = 0;
          const end = b.subarray(0, Math.min(b.length, pos + MAX_HEAD + 4)).indexOf(CRLFCRLF, from);
          if (end < 0) {
            if (b.length - pos > MAX_HEAD) {
              // no head ends within 16 KiB: skip them all (no message can start there and end in time)
              this.ev.malformed('HTTP head longer than 16 KiB');
              this.st = S.Resync;
              pos += MAX_HEAD;
              break;
            }
            this.headHint = Math.max(0, b.length - pos - 3);
            return pos;
          }
          const head = parseHead(b.toString('latin1', pos, end));
          if (!head || (head.kind === 'response') !== this.isResponse) {
            this.ev.malformed('not an HTTP message head');
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
          if (nl < 0 ? b.length - pos > MAX_CHUNK_LINE : nl - pos > MAX_CHUNK_LINE) {
            // endless chunk extensions or trailer lines: the body is lost, look for the next message
            this.ev.malformed('HTTP chunk line longer than 1 KiB');
            this.abort();
            break;
          }
          if (nl < 0) return pos;
          const line = b.toString('latin1', pos, nl).trim();
          pos = nl + 1;
          if (this.st === S.ChunkCrlf) {
            if (line) {
              this.ev.malformed('HTTP chunk not followed by CRLF');
              this.abort();
              break;
            }
            this.st = S.ChunkSize;
          } else if (this.st === S.ChunkSize) {
            const m = /^([0-9a-fA-F]{1,8})[ \t]*(?:;.*)?$/.exec(line);
            if (!m) {
              this.ev.malformed('bad HTTP chunk size');
              this.abort();
              break;
            }
            this.remaining = parseInt(m[1], 16);
            this.st = this.remaining === 0 ? S.Trailer : S.ChunkData;
          } else if (!line) this.finish();
          break;
        }
      }
    }
    return b.length;
  }

  private abort(): void {
    this.ev.end(false);
    this.st = S.Resync;
  }

  /**
   * Offset of the next line at or after `from` that starts an HTTP message of this direction (a start
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
    if (h.kind === 'request' && this.peer && this.peer.pending.length < 64) this.peer.pending.push(h.method);
    const te = (h.headers.get('transfer-encoding') ?? '').toLowerCase();
    const cl = h.headers.get('content-length');
    if (h.kind === 'response') {
      const method = this.pending.shift() ?? '';
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
        this.ev.end(false);
        this.st = S.Resync;
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
