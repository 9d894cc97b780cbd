// A bounded HTTP/1.x message framer for one direction of a TCP stream: heads, Content-Length and
// chunked bodies (streamed, never buffered whole), keep-alive, CONNECT tunnels. Used by the MSN
// HTTP gateway and the Yahoo HTTP forms (YMSG over /notify, the Y7 file relay). Pure, no I/O.

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
  body(chunk: Buffer): void;
  end(): void;
  /** bytes after a successful CONNECT: the tunnel's payload */
  raw?(data: Buffer): void;
  malformed(reason: string): void;
}

const MAX_HEAD = 16384;
const MAX_CHUNK_LINE = 1024;
const CRLFCRLF = Buffer.from('\r\n\r\n');

const enum S { Head, Body, ChunkSize, ChunkData, ChunkCrlf, Trailer, UntilClose, Raw, Dead }

export class HttpStream {
  private st = S.Head;
  private buf: Buffer = Buffer.alloc(0);
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
    if (this.buf.length) {
      const b = this.buf;
      this.buf = Buffer.alloc(0);
      this.ev.raw?.(b);
    }
  }

  push(data: Buffer): void {
    let b = this.buf.length ? Buffer.concat([this.buf, data]) : data;
    this.buf = Buffer.alloc(0);
    let pos = 0;
    // every iteration consumes bytes or returns: bounded work per byte
    while (pos < b.length) {
      switch (this.st) {
        case S.Dead:
          return;
        case S.Raw:
          this.ev.raw?.(b.subarray(pos));
          return;
        case S.Head: {
          // tolerate stray CRLFs between messages
          while (pos < b.length && (b[pos] === 0x0d || b[pos] === 0x0a)) pos++;
          if (pos >= b.length) return;
          const end = b.indexOf(CRLFCRLF, pos);
          if (end < 0) {
            if (b.length - pos > MAX_HEAD) {
              this.ev.malformed('HTTP head longer than 16 KiB');
              this.st = S.Dead;
              return;
            }
            this.buf = Buffer.from(b.subarray(pos));
            return;
          }
          if (end - pos > MAX_HEAD) {
            this.ev.malformed('HTTP head longer than 16 KiB');
            this.st = S.Dead;
            return;
          }
          const head = parseHead(b.toString('latin1', pos, end));
          pos = end + 4;
          if (!head) {
            this.ev.malformed('not an HTTP message head');
            this.st = S.Dead;
            return;
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
          return;
        case S.ChunkCrlf:
        case S.ChunkSize:
        case S.Trailer: {
          const nl = b.indexOf(0x0a, pos);
          if (nl < 0) {
            if (b.length - pos > MAX_CHUNK_LINE) {
              this.ev.malformed('HTTP chunk line too long');
              this.st = S.Dead;
              return;
            }
            this.buf = Buffer.from(b.subarray(pos));
            return;
          }
          const line = b.toString('latin1', pos, nl).trim();
          pos = nl + 1;
          if (this.st === S.ChunkCrlf) {
            this.st = S.ChunkSize;
            if (line) {
              this.ev.malformed('HTTP chunk not followed by CRLF');
              this.st = S.Dead;
              return;
            }
          } else if (this.st === S.ChunkSize) {
            const m = /^([0-9a-fA-F]{1,8})(;.*)?$/.exec(line);
            if (!m) {
              this.ev.malformed('bad HTTP chunk size');
              this.st = S.Dead;
              return;
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

/** Request line of an HTTP request at the start of `b` (null if it is not one). */
export function requestLine(b: Buffer): { method: string; target: string } | null {
  const nl = b.indexOf(0x0a);
  const line = b.toString('latin1', 0, nl < 0 ? Math.min(b.length, 2048) : Math.min(nl, 2048)).replace(/\r$/, '');
  const m = /^([A-Z]{3,10}) (\S+) HTTP\/1\.[01]/.exec(line);
  return m ? { method: m[1], target: m[2] } : null;
}

/** A header's value within the first bytes of an HTTP message (case-insensitive name). */
export function headerIn(b: Buffer, name: string): string | undefined {
  const end = b.indexOf(CRLFCRLF);
  const text = b.toString('latin1', 0, end < 0 ? Math.min(b.length, MAX_HEAD) : end);
  const re = new RegExp(`\\r\\n${name}:[ \\t]*([^\\r\\n]*)`, 'i');
  const m = re.exec(text);
  return m ? m[1].trim() : undefined;
}
