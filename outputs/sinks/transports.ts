// Getting bytes to a receiver: HTTP(S) POST with a timeout, and syslog over UDP, TCP or TLS
// (RFC 5426 / 6587 octet counting / 5425). A delivery is a success only when the receiver took it:
// any 2xx for HTTP; for TCP/TLS syslog, the bytes were written to an open connection.
import dgram from 'node:dgram';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';

export interface SendResult {
  ok: boolean;
  /** what the receiver answered (status line and a short body), or why it failed */
  detail: string;
  /** retrying will not help (e.g. 400 Bad Request, 401, 410 Gone) */
  permanent?: boolean;
}

export function httpPost(url: string, body: string, headers: Record<string, string>, o: { timeoutMs: number; ca?: string; verify: boolean }): Promise<SendResult> {
  return new Promise((resolve) => {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      return resolve({ ok: false, detail: `invalid URL ${url}`, permanent: true });
    }
    const lib = u.protocol === 'https:' ? https : http;
    const req = lib.request(
      u,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'user-agent': 'shadowim', ...headers },
        timeout: o.timeoutMs,
        ...(u.protocol === 'https:' ? { ca: o.ca ? fs.readFileSync(o.ca) : undefined, rejectUnauthorized: o.verify } : {}),
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => {
          if (text.length < 500) text += d;
        });
        res.on('end', () => {
          const code = res.statusCode ?? 0;
          const detail = `HTTP ${code} ${res.statusMessage ?? ''}`.trim() + (text ? `: ${text.replace(/\s+/g, ' ').slice(0, 200)}` : '');
          // 4xx other than 408/409/425/429 will fail again the same way: dead-letter at once
          const permanent = code >= 400 && code < 500 && ![408, 409, 425, 429].includes(code);
          resolve({ ok: code >= 200 && code < 300, detail, permanent });
        });
        res.on('error', (e) => resolve({ ok: false, detail: `response error: ${e.message}` }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${o.timeoutMs} ms`)));
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ ok: false, detail: e.code ? `${e.code}: ${e.message}` : e.message }));
    req.end(body);
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
          sock.write(framed, (e) => {
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
      const onError = (e: NodeJS.ErrnoException) => {
        this.close();
        reject(new Error(e.code ? `${e.code}: ${e.message}` : e.message));
      };
      const sock =
        this.o.transport === 'tls'
          ? tls.connect({ ...opts, servername: net.isIP(this.o.host) ? undefined : this.o.host, ca: this.o.ca ? fs.readFileSync(this.o.ca) : undefined, rejectUnauthorized: this.o.verify }, () => resolve(sock))
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
