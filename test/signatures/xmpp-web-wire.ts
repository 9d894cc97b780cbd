// Builders for XMPP over HTTP test traffic: BOSH (XEP-0124/0206) requests and responses with
// Content-Length or chunked bodies, and RFC 6455 WebSocket frames (masked for the client) carrying
// RFC 7395 XMPP. Used by xmpp-web.test.ts.

export const HTTPBIND = 'http://jabber.org/protocol/httpbind';

export function boshWrap(attrs: string, inner = ''): string {
  return inner ? `<body ${attrs} xmlns='${HTTPBIND}'>${inner}</body>` : `<body ${attrs} xmlns='${HTTPBIND}'/>`;
}

function chunked(body: Buffer, size: number, ext = ''): Buffer {
  const parts: Buffer[] = [];
  for (let o = 0; o < body.length; o += size) {
    const c = body.subarray(o, o + size);
    parts.push(Buffer.from(c.length.toString(16) + ext + '\r\n'), c, Buffer.from('\r\n'));
  }
  parts.push(Buffer.from('0\r\n\r\n'));
  return Buffer.concat(parts);
}

export interface BodyOpts {
  /** chunk size: Transfer-Encoding chunked instead of Content-Length */
  chunk?: number;
  /** chunk extension written after every chunk size */
  ext?: string;
  contentType?: string;
  headers?: Record<string, string>;
}

export function boshPost(body: string, o: BodyOpts = {}, path = '/http-bind', host = 'xmpp.example.org'): Buffer {
  const b = Buffer.from(body);
  const h = [`POST ${path} HTTP/1.1`, `Host: ${host}`, 'User-Agent: Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/115.0', `Content-Type: ${o.contentType ?? 'text/xml; charset=utf-8'}`];
  for (const [k, v] of Object.entries(o.headers ?? {})) h.push(`${k}: ${v}`);
  if (o.chunk) return Buffer.concat([Buffer.from(h.concat('Transfer-Encoding: chunked').join('\r\n') + '\r\n\r\n'), chunked(b, o.chunk, o.ext)]);
  h.push(`Content-Length: ${b.length}`);
  return Buffer.concat([Buffer.from(h.join('\r\n') + '\r\n\r\n'), b]);
}

export function boshReply(body: string, o: BodyOpts = {}): Buffer {
  const b = Buffer.from(body);
  const h = ['HTTP/1.1 200 OK', `Content-Type: ${o.contentType ?? 'text/xml; charset=utf-8'}`, 'Access-Control-Allow-Origin: *'];
  for (const [k, v] of Object.entries(o.headers ?? {})) h.push(`${k}: ${v}`);
  if (o.chunk) return Buffer.concat([Buffer.from(h.concat('Transfer-Encoding: chunked').join('\r\n') + '\r\n\r\n'), chunked(b, o.chunk, o.ext)]);
  h.push(`Content-Length: ${b.length}`);
  return Buffer.concat([Buffer.from(h.join('\r\n') + '\r\n\r\n'), b]);
}

export function preflight(path = '/http-bind'): Buffer {
  return Buffer.from(`OPTIONS ${path} HTTP/1.1\r\nHost: xmpp.example.org\r\nOrigin: https://chat.example.org\r\nAccess-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: content-type\r\n\r\n`);
}

export function preflightReply(): Buffer {
  return Buffer.from('HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin: *\r\nAccess-Control-Allow-Methods: GET, POST, OPTIONS\r\nAccess-Control-Allow-Headers: Content-Type\r\nContent-Length: 0\r\n\r\n');
}

export function wsUpgrade(protocol = 'xmpp', path = '/xmpp-websocket', extensions?: string): Buffer {
  return Buffer.from(
    `GET ${path} HTTP/1.1\r\nHost: xmpp.example.org\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ${protocol}\r\nOrigin: https://chat.example.org\r\n` +
      (extensions ? `Sec-WebSocket-Extensions: ${extensions}\r\n` : '') + '\r\n',
  );
}

export function wsAccept(protocol: string | null = 'xmpp', extensions?: string): Buffer {
  return Buffer.from(
    'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n' +
      (protocol ? `Sec-WebSocket-Protocol: ${protocol}\r\n` : '') + (extensions ? `Sec-WebSocket-Extensions: ${extensions}\r\n` : '') + '\r\n',
  );
}

export interface FrameOpts {
  fin?: boolean;
  /** 1 text, 2 binary, 0 continuation, 8 close, 9 ping, 10 pong */
  opcode?: number;
  /** client frames are masked (RFC 6455 §5.3) */
  mask?: Buffer | null;
  rsv?: number;
}

/** one WebSocket frame; a client frame gets a mask */
export function wsFrame(payload: Buffer | string, o: FrameOpts = {}): Buffer {
  const p = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const fin = o.fin ?? true;
  const opcode = o.opcode ?? 1;
  const mask = o.mask ?? null;
  const h: number[] = [(fin ? 0x80 : 0) | ((o.rsv ?? 0) << 4) | opcode];
  const m = mask ? 0x80 : 0;
  if (p.length < 126) h.push(m | p.length);
  else if (p.length < 65536) h.push(m | 126, p.length >> 8, p.length & 255);
  else {
    h.push(m | 127);
    const l = Buffer.alloc(8);
    l.writeBigUInt64BE(BigInt(p.length));
    h.push(...l);
  }
  if (!mask) return Buffer.concat([Buffer.from(h), p]);
  const x = Buffer.alloc(p.length);
  for (let i = 0; i < p.length; i++) x[i] = p[i] ^ mask[i & 3];
  return Buffer.concat([Buffer.from(h), mask, x]);
}

let maskSeed = 7;
/** a client frame: masked with a fresh key */
export function clientFrame(payload: Buffer | string, o: FrameOpts = {}): Buffer {
  const mask = Buffer.alloc(4);
  for (let i = 0; i < 4; i++) mask[i] = (maskSeed = (maskSeed * 1103515245 + 12345) & 0x7fffffff) & 255;
  return wsFrame(payload, { ...o, mask });
}

export const sasl = (user: string, secret: string) => Buffer.from(`\0${user}\0${secret}`).toString('base64');
