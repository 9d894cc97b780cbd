// Getting bytes to a receiver: HTTP(S) POST with a timeout, and syslog over UDP, TCP or TLS
// (RFC 5426 / 6587 octet counting / 5425). A delivery is a success only when the receiver took it:
// any 2xx for HTTP; for TCP/TLS syslog, the bytes were written to an open connection.
import dgram from 'node:dgram';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { whyCannotRead } from '../../common/fsError';

export interface SendResult {
  ok: boolean;
  /** what the receiver answered (status line and a short body), or why it failed */
  detail: string;
  /** retrying will not help (e.g. 400 Bad Request, 401, 410 Gone) */
  permanent?: boolean;
  /** the receiver asked to wait this long before the next try (Retry-After on 429/503) */
  retryAfterMs?: number;
}

/** Retry-After (delta seconds or an HTTP date) in ms from now; undefined when absent or unreadable. */
export function retryAfterMs(v: string | string[] | undefined, now = Date.now()): number | undefined {
  const s = String(Array.isArray(v) ? v[0] : v ?? '').trim();
  if (!s) return undefined;
  if (/^\d+$/.test(s)) return Math.min(Number(s), 1e9) * 1000;
  const t = Date.parse(s);
  return Number.isFinite(t) ? Math.max(0, t - now) : undefined;
}

export function httpPost(url: string, body: string, headers: Record<string, string>, o: { timeoutMs: number; ca?: string; verify: boolean }): Promise<SendResult> {
  return new Promise((resolve) => {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      return resolve({ ok: false, detail: `invalid URL ${url}`, permanent: true });
    }
    // read before the deadline is armed: a throw inside request() would leave it firing on no request
    let ca: Buffer | undefined;
    try {
      ca = u.protocol === 'https:' && o.ca ? fs.readFileSync(o.ca) : undefined;
    } catch (e) {
      return resolve({ ok: false, detail: `cannot read the CA file ${o.ca}: ${whyCannotRead(e)}; fix ca: of the sink` });
    }
    let settled = false;
    const done = (r: SendResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      resolve(r);
    };
    // the whole exchange, not only each idle gap: a receiver trickling or streaming its answer forever
    // would otherwise hold this sink's queue for good
    const deadline = setTimeout(() => {
      if (res) finish(true);
      req?.destroy(new Error(`no answer within ${o.timeoutMs} ms`));
    }, o.timeoutMs);
    let res: http.IncomingMessage | undefined;
    let text = '';
    // the status line is the receiver's answer; at most 500 characters of the body are read for the detail
    const finish = (cut: boolean) => {
      const code = res!.statusCode ?? 0;
      const detail = `HTTP ${code} ${res!.statusMessage ?? ''}`.trim() + (text ? `: ${text.replace(/\s+/g, ' ').slice(0, 200)}` : '') + (cut ? ' (rest of the answer not read)' : '');
      // 4xx other than 408/409/425/429 will fail again the same way: dead-letter at once
      const permanent = code >= 400 && code < 500 && ![408, 409, 425, 429].includes(code);
      const after = code === 429 || code === 503 ? retryAfterMs(res!.headers['retry-after']) : undefined;
      done({ ok: code >= 200 && code < 300, detail, permanent, ...(after !== undefined ? { retryAfterMs: after } : {}) });
    };
    const lib = u.protocol === 'https:' ? https : http;
    let req: http.ClientRequest | undefined;
    try {
      req = lib.request(
        u,
        {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'user-agent': 'shadowim', ...headers },
          timeout: o.timeoutMs,
          ...(u.protocol === 'https:' ? { ca, rejectUnauthorized: o.verify } : {}),
        },
        (r) => {
          res = r;
          r.setEncoding('utf8');
          r.on('data', (d) => {
            text += d;
            if (text.length >= 500) {
              finish(true);
              r.destroy();
            }
          });
          r.on('end', () => finish(false));
          r.on('error', (e) => done({ ok: false, detail: `response error: ${e.message}` }));
        },
      );
    } catch (e) {
      // request() throws at once on a header Node refuses (a character outside Latin-1): that will not
      // change on a retry, and the deadline must not fire on a request never made
      return done({ ok: false, detail: `cannot send: ${(e as Error).message}`, permanent: true });
    }
    const r = req;
    r.on('timeout', () => r.destroy(new Error(`no answer within ${o.timeoutMs} ms`)));
    r.on('error', (e: NodeJS.ErrnoException) => done({ ok: false, detail: e.code ? `${e.code}: ${e.message}` : e.message }));
    r.end(body);
  });
}

/** One syslog destination; TCP/TLS connections are kept open and re-opened after an error. */
export class SyslogClient {
  private sock: net.Socket | tls.TLSSocket | undefined;
  private udp: dgram.Socket | undefined;

  constructor(private readonly o: { transport: 'udp' | 'tcp' | 'tls'; host: string; port: number; timeoutMs: number; ca?: string; verify: boolean }) {}

  send(message: string): Promise<SendResult> {
    const payload = Buffer.from(message, 'utf8');
    if (this.o.transport === 'udp') {
      this.udp ??= dgram.createSocket(net.isIPv6(this.o.host) ? 'udp6' : 'udp4');
      // RFC 5426: one message per datagram; stay under the common 64 KiB limit
      const dg = payload.subarray(0, 65000);
      return new Promise((resolve) =>
        this.udp!.send(dg, this.o.port, this.o.host, (e) => resolve(e ? { ok: false, detail: e.message } : { ok: true, detail: `sent ${dg.length} bytes by UDP to ${this.o.host}:${this.o.port}` })),
      );
    }
    // RFC 6587 / 5425 octet counting: "LEN SP MSG"
    const framed = Buffer.concat([Buffer.from(`${payload.length} `), payload]);
    return this.connect().then(
      (sock) =>
        new Promise<SendResult>((resolve) => {
          // a receiver that stops reading fills the socket buffers, and the write never completes:
          // give up on the connection after the timeout (the alert stays queued and is sent again)
          let timedOut = false;
          const t = setTimeout(() => {
            timedOut = true;
            if (this.sock === sock) this.close();
            else sock.destroy();
            resolve({ ok: false, detail: `the receiver took no bytes for ${this.o.timeoutMs} ms (not reading); connection closed` });
          }, this.o.timeoutMs);
          sock.write(framed, (e) => {
            clearTimeout(t);
            if (timedOut) return;
            if (e) {
              this.close();
              resolve({ ok: false, detail: e.message });
            } else resolve({ ok: true, detail: `sent ${framed.length} bytes by ${this.o.transport.toUpperCase()} to ${this.o.host}:${this.o.port}` });
          });
        }),
      (e: Error) => ({ ok: false, detail: e.message }),
    );
  }

  private connect(): Promise<net.Socket> {
    if (this.sock && !this.sock.destroyed && (this.sock as any).connecting === false) return Promise.resolve(this.sock);
    return new Promise((resolve, reject) => {
      const opts = { host: this.o.host, port: this.o.port };
      let ca: Buffer | undefined;
      try {
        ca = this.o.transport === 'tls' && this.o.ca ? fs.readFileSync(this.o.ca) : undefined;
      } catch (e) {
        return reject(new Error(`cannot read the CA file ${this.o.ca}: ${whyCannotRead(e)}; fix ca: of the sink`));
      }
      const onError = (e: NodeJS.ErrnoException) => {
        this.close();
        reject(new Error(e.code ? `${e.code}: ${e.message}` : e.message));
      };
      const sock =
        this.o.transport === 'tls'
          ? tls.connect({ ...opts, servername: net.isIP(this.o.host) ? undefined : this.o.host, ca, rejectUnauthorized: this.o.verify }, () => resolve(sock))
          : net.connect(opts, () => resolve(sock));
      sock.setTimeout(this.o.timeoutMs, () => sock.destroy(new Error(`no connection within ${this.o.timeoutMs} ms`)));
      sock.once('error', onError);
      sock.on('close', () => {
        if (this.sock === sock) this.sock = undefined;
      });
      sock.once(this.o.transport === 'tls' ? 'secureConnect' : 'connect', () => {
        sock.setTimeout(0);
        sock.removeListener('error', onError);
        sock.on('error', () => this.close());
      });
      this.sock = sock;
    });
  }

  close(): void {
    this.sock?.destroy();
    this.sock = undefined;
    this.udp?.close();
    this.udp = undefined;
  }
}
