// Yahoo! Messenger (YMSG): sessions on any port (also picked up mid-stream), YMSG inside HTTP
// (shttp /notify bodies, CONNECT tunnels, the <Session><Ymsg Command=…> proxy form) and the Y7
// file relay (/relay?token=), whose uploads and downloads are carved. Also YCHT, the protocol of
// Yahoo's chat rooms (ycht.ts), on any port.

import { declineOnThrow, type Detection, type DetectInput, type DetectResult, type FileWriter, type SessionContext, type SignatureModule, type StreamDecoder, UNKNOWN_ID } from '../types';
import type { Dir } from '../../sensor/types';
import { HeadBytes, HTTP1, HttpStream, httpPair, httpPairFeed, offeredHead, offeredRequestLine, startsWithBytes } from '../http/stream';
import { HEADER, parseFields, pduAt, YmsgFramer } from './parser';
import { relayFile, YmsgSession } from './session';
import { ychtHeader, YCHT_HEADER, YchtFramer, YchtSession } from './ycht';
import { clip } from '../../analyzer/clip';

const MAGIC = Buffer.from('YMSG');
const MIDSTREAM_SCAN = 4096;
/** HTTP targets whose bodies are a Y7 file: the relay, and the peer-to-peer URL a client serves itself */
// (the relay URL with its sender and recver parameters, as Yahoo clients and libpurple build it: a
// bare /relay?token= is any web service's webhook relay)
const FILE_TARGET = /^(https?:\/\/[^/\s]+)?\/(relay\?token=(?=[^\s#]*&sender=)(?=[^\s#]*&recver=)|Messenger\.[^?\s]{1,512}\?AppID=Messenger&)/i;

function det(signature: string, reason: string, serverName?: string): Detection {
  return { protocol: 'yahoo', evidence: { signature, reason }, ...(serverName ? { serverName } : {}) };
}

/** A complete, well-formed PDU at `off` (and a chained one after it, when bytes follow). */
function consistentAt(d: Buffer, off: number): boolean | 'more' {
  if (d.length - off < HEADER) return 'more';
  const len = d.readUInt16BE(off + 8);
  const end = off + HEADER + len;
  const body = d.subarray(off + HEADER, Math.min(end, d.length));
  if (len > 0) {
    const pre = bodyPrefix(body);
    if (pre !== true) return pre;
  }
  if (end > d.length) return 'more';
  if (len > 0 && parseFields(body).fields.length === 0) return false;
  if (end === d.length) return true;
  const next = d.subarray(end, end + 4);
  return MAGIC.subarray(0, next.length).equals(next);
}

/**
 * Do the bytes before `off` end a YMSG PDU? Every key and value is followed by C0 80 (libpurple's
 * yahoo_packet_write, and every PDU in the shared captures), so a body ends with C0 80, sometimes with
 * NUL padding after it; an empty PDU is its bare header. A PDU quoted elsewhere — a pcap file being
 * downloaded, whose TCP header comes before it — is not preceded so; without this, one whose end fell
 * on a segment's end read as a session (near-miss seeds 20261212, 20261230 and others).
 */
function afterPdu(d: Buffer, off: number): boolean {
  let j = off;
  while (j > 0 && off - j < 4 && d[j - 1] === 0) j--;
  if (j >= 2 && d[j - 2] === 0xc0 && d[j - 1] === 0x80) return true;
  return off >= HEADER && magicHead(d.subarray(off - HEADER)) && d.readUInt16BE(off - HEADER + 8) === 0;
}

/** the first bytes of a body: ASCII digits then C0 80 ('more' while only digits have arrived) */
function bodyPrefix(body: Buffer): boolean | 'more' {
  let i = 0;
  while (i < body.length && i < 6 && body[i] >= 0x30 && body[i] <= 0x39) i++;
  if (i === body.length) return i < 6 ? 'more' : false;
  if (i === 0 || i > 5 || body[i] !== 0xc0) return false;
  if (i + 1 === body.length) return 'more';
  return body[i + 1] === 0x80;
}

/**
 * An HTTP body that starts with "YMSG" is YMSG when a PDU header follows whose body starts as YMSG
 * bodies do (digits, C0 80), as the stream check requires: a text file beginning "YMSG is the Yahoo
 * Messenger protocol…" is not. 'more' while the header or the body's first bytes are missing.
 */
function pduHeadAt(body: Buffer): boolean | 'more' {
  if (body.length < HEADER) return 'more';
  const len = body.readUInt16BE(8);
  return len === 0 ? true : bodyPrefix(body.subarray(HEADER, HEADER + len));
}

/** the first min(4, d.length) bytes of d are those of "YMSG" */
function magicHead(d: Buffer): boolean {
  const n = d.length < 4 ? d.length : 4;
  for (let i = 0; i < n; i++) if (d[i] !== MAGIC[i]) return false;
  return true;
}

/** scan.indexOf("YMSG", from), by way of the byte search for "Y" (a 4-byte pattern search costs more per call) */
function nextMagic(scan: Buffer, from: number): number {
  for (let i = scan.indexOf(0x59, from); i >= 0 && i + 4 <= scan.length; i = scan.indexOf(0x59, i + 1)) {
    if (scan[i + 1] === 0x4d && scan[i + 2] === 0x53 && scan[i + 3] === 0x47) return i;
  }
  return -1;
}

/**
 * A YCHT packet at `off` as a detection reads it: a header the sources write with a service they
 * name, a body without NULs (every source writes C strings), and after it the end of the bytes or
 * the start of another header. A body of 4 KiB or more without NULs is enough (a big room's member
 * list). 'more' while that cannot be told.
 */
function ychtAt(d: Buffer, off: number): boolean | 'more' {
  const h = ychtHeader(d, off, true);
  if (h !== true) return h;
  const end = off + YCHT_HEADER + d.readUInt16BE(off + 14);
  if (d.subarray(off + YCHT_HEADER, Math.min(end, d.length)).includes(0)) return false;
  if (end > d.length) return d.length - off - YCHT_HEADER >= 4096 ? true : 'more';
  return end === d.length || ychtHeader(d, end, false) !== false;
}

/** YCHT from the first byte, or (a flow picked up without its SYN) a whole packet within the first 4 KiB */
function detectYcht(input: DetectInput): DetectResult | undefined {
  const d = input.data;
  if (d[0] === 0x59 && (d.length < 2 || d[1] === 0x43)) {
    const r = ychtAt(d, 0);
    if (r === true) return det('ycht.header', `YCHT header (Yahoo chat rooms), version 0x${d.readUInt32BE(4).toString(16)}, service 0x${d.readUInt32BE(8).toString(16)}`);
    if (r === 'more') return d.length < 8192 ? 'more' : null;
  }
  const by = input.flow?.clientBy;
  if (by !== 'port' && by !== 'first') return undefined;
  const scan = d.length > MIDSTREAM_SCAN + YCHT_HEADER ? d.subarray(0, MIDSTREAM_SCAN + YCHT_HEADER) : d;
  // a text protocol's header block before it (an HTTP or mail body holding a packet) is not a chat
  // line's tail: Yahoo chat text is one line
  const headers = scan.indexOf('\r\n\r\n', 0, 'latin1');
  const last = headers < 0 ? MIDSTREAM_SCAN : Math.min(MIDSTREAM_SCAN, headers);
  for (let off = scan.indexOf('YCHT', 1, 'latin1'); off > 0 && off < last; off = scan.indexOf('YCHT', off + 1, 'latin1')) {
    // whole: the packet ends within the bytes (ychtAt's 4 KiB rule is for the first byte only)
    if (d.length - off >= YCHT_HEADER && off + YCHT_HEADER + d.readUInt16BE(off + 14) <= d.length && ychtAt(d, off) === true) {
      return det('ycht.midstream', 'YCHT packet with consistent length after a partial one');
    }
  }
  return undefined;
}

export function detectYmsg(input: DetectInput): DetectResult {
  const d = input.data;
  if (!d.length) return 'more';
  const ycht = detectYcht(input);
  if (ycht !== undefined) return ycht;
  if (d.length < 4 && magicHead(d)) return 'more';
  if (d.length >= 4 && magicHead(d)) {
    const r = consistentAt(d, 0);
    if (r === true) return det('ymsg.header', `YMSG header with consistent length, service 0x${d.readUInt16BE(10).toString(16)}`);
    // bounded by bytes, not segments: a PDU written a byte per segment is still read (tiny-segments.test.ts)
    if (r === 'more') return d.length < 8192 ? 'more' : null;
    return null;
  }
  const http = detectHttp(input);
  if (http !== null) return http;
  // picked up mid-stream: a whole, well-formed PDU further in
  // (a view only when there is more than the scan may read: this runs for most TCP flows' first bytes)
  const scan = d.length > MIDSTREAM_SCAN + HEADER ? d.subarray(0, MIDSTREAM_SCAN + HEADER) : d;
  for (let off = nextMagic(scan, 1); off > 0 && off < MIDSTREAM_SCAN; off = nextMagic(scan, off + 1)) {
    const n = pduAt(d, off);
    if (n > HEADER && afterPdu(d, off) && consistentAt(d, off) === true) return det('ymsg.midstream', 'YMSG PDU with consistent length after a partial one');
  }
  // a flow picked up without its SYN: the first whole PDU may not have arrived yet (the first
  // segments may all be the tail of one), so wait for it within the scan window
  const by = input.flow?.clientBy;
  if ((by === 'port' || by === 'first') && d.length < MIDSTREAM_SCAN + HEADER) return 'more';
  return null;
}

/** the Host value ('' when none): read only for a detection that reports it */
function hostOf(head: HeadBytes): string {
  return head.header('host') ?? '';
}

/**
 * /<Session[\s>][\s\S]*<Ymsg Command=/.test(s), without reading to the end from every `<Session `
 * (2 KiB of them: 0.4 ms a call, O(n²)): the first opening leaves the most room for the command.
 */
function sessionForm(s: string): boolean {
  const m = /<Session[\s>]/.exec(s);
  return m !== null && s.indexOf('<Ymsg Command=', m.index + m[0].length) >= 0;
}

function detectHttp(input: DetectInput): DetectResult {
  const d = input.data;
  // HTTP starts with a capital: anything else (TLS, binary) is not, without a look further in
  if (!(d[0] >= 0x41 && d[0] <= 0x5a)) return null;
  const rl = offeredRequestLine(input);
  if (rl) {
    const head = offeredHead(input);
    const headEnd = head.end;
    const ua = head.header('user-agent') ?? '';
    if (FILE_TARGET.test(rl.target)) return det('ymsg.http-relay', `HTTP ${rl.method} ${/relay\?token=/i.test(rl.target) ? '/relay?token= (Y7 file relay)' : '/Messenger.…?AppID=Messenger (Y7 peer-to-peer file)'}`, hostOf(head) || undefined);
    if (rl.method === 'CONNECT' && /(msg\.yahoo\.com|yahoo\.com):\d+$/i.test(rl.target)) {
      return det('ymsg.http-connect', `CONNECT tunnel to ${clip(rl.target, 100)}`, rl.target.replace(/:\d+$/, ''));
    }
    // to another host, port 5050 alone is a guess: the tunnel's first bytes must be YMSG
    if (rl.method === 'CONNECT' && /:5050$/.test(rl.target)) {
      const end = offeredHead(input).end;
      const tunnel = end < 0 ? Buffer.alloc(0) : d.subarray(end + 4);
      if (tunnel.length < 4) return d.length > 8192 ? null : tunnel.length === 0 || magicHead(tunnel) ? 'more' : null;
      const r = magicHead(tunnel) ? pduHeadAt(tunnel) : false;
      if (r === 'more') return d.length > 8192 ? null : 'more';
      return r ? det('ymsg.http-connect', `CONNECT tunnel to ${clip(rl.target, 100)} carrying YMSG`, rl.target.replace(/:\d+$/, '')) : null;
    }
    if (/^https?:\/\/[^/\s]*msg\.yahoo\.com(:\d+)?\/notify/i.test(rl.target)) return det('ymsg.http', `HTTP ${rl.method} to the Yahoo HTTP gateway (${clip(rl.target, 60)})`, rl.target.split('/')[2]?.replace(/:\d+$/, ''));
    if (/^(YahooMobileMessenger\/|Y!%20Messenger\/)/.test(ua)) return det('ymsg.http', `User-Agent ${clip(ua, 40)}`, hostOf(head) || undefined);
    if (headEnd < 0) return d.length > 8192 ? null : 'more';
    const body = d.subarray(headEnd + 4);
    const inBody = body.length >= 4 && magicHead(body) ? pduHeadAt(body) : false;
    if (inBody === true) return det('ymsg.http', `YMSG in an HTTP ${rl.method} body`, hostOf(head) || undefined);
    if (inBody === 'more') return d.length < 8192 ? 'more' : null;
    const bodyText = body.toString('latin1', 0, Math.min(body.length, 2048));
    if (sessionForm(bodyText)) return det('ymsg.http-proxy', 'HTTP proxy chat form <Session><Ymsg Command=…>', hostOf(head) || undefined);
    if (/\/notify/i.test(rl.target) && /(^|\.)msg\.yahoo\.com(:\d+)?$/i.test(hostOf(head))) return det('ymsg.http', `HTTP ${rl.method} /notify to ${clip(hostOf(head), 60)}`, hostOf(head));
    // a body of 64 bytes or more is enough either way: the length header is read only when short
    if (body.length >= 64) return null;
    const cl = Number(head.header('content-length') ?? 0);
    return body.length < Math.min(cl, 64) && d.length < 8192 ? 'more' : null;
  }
  if (startsWithBytes(d, HTTP1)) {
    const head = offeredHead(input);
    const headEnd = head.end;
    if (headEnd < 0) return d.length > 8192 ? null : 'more';
    const body = d.subarray(headEnd + 4);
    const inBody = body.length >= 4 && magicHead(body) ? pduHeadAt(body) : false;
    if (inBody === true) return det('ymsg.http', 'YMSG in an HTTP response body');
    if (inBody === 'more') return d.length < 8192 ? 'more' : null;
    if (body.length >= 4) return null;
    const cl = Number(head.header('content-length') ?? 0);
    return body.length < Math.min(cl, 4) && d.length < 8192 ? 'more' : null;
  }
  if (d.length < 8 && /^[A-Z]+$/.test(d.toString('latin1'))) return 'more';
  if (partialRelayLine(d)) return 'more';
  return null;
}

/**
 * A request line still arriving (no line end yet) whose target may yet be the file relay's: wait for
 * the rest. Without this, a relay upload whose head came in small segments was never claimed, so
 * its file was not carved.
 */
function partialRelayLine(d: Buffer): boolean {
  if (d.length >= 2048 || d.includes(0x0a)) return false;
  const m = /^[A-Z]{3,10} (\S*)(?: [A-Z0-9/.]*)?$/.exec(d.toString('latin1'));
  if (!m) return false;
  const t = m[1].toLowerCase();
  if ('http://'.startsWith(t) || 'https://'.startsWith(t) || /^https?:\/\/[^/]*$/.test(t)) return true;
  const p = t.replace(/^https?:\/\/[^/]*/, '');
  return ['/relay?token=', '/messenger.'].some((w) => w.startsWith(p) || p.startsWith(w));
}

interface Framer {
  push(data: Buffer): void;
  resync(): void;
  readonly buffered: number;
}

/** One framer per direction feeding one session: the shape YMSG and YCHT share. */
function framedDecoder(ctx: SessionContext, make: (dir: Dir, now: () => number) => Framer, header: number, unit: string): StreamDecoder {
  let ts = 0;
  const framers = ([0, 1] as Dir[]).map((dir) => make(dir, () => ts));
  return {
    onData(dir, data, t) {
      ts = t;
      framers[dir].push(data);
    },
    onGap(dir) {
      framers[dir].resync();
    },
    onEnd() {
      // a unit whose length promised more than the stream held (lying length, or a cut capture)
      for (const f of framers) if (f.buffered >= header) ctx.malformed(`stream ended inside a ${unit}`);
    },
  };
}

function ychtDecoder(ctx: SessionContext, midstream: boolean): StreamDecoder {
  const session = new YchtSession(ctx);
  return framedDecoder(ctx, (dir, now) => new YchtFramer((p) => session.handle(dir, p, now()), (r) => ctx.malformed(r), !midstream), YCHT_HEADER, 'YCHT packet');
}

function tcpDecoder(ctx: SessionContext, midstream: boolean): StreamDecoder {
  const session = new YmsgSession(ctx);
  return framedDecoder(ctx, (dir, now) => new YmsgFramer((p) => session.handle(dir, p, now()), (r) => ctx.malformed(r), !midstream), HEADER, 'YMSG PDU');
}

function queryParam(target: string, name: string): string | undefined {
  const q = target.indexOf('?');
  if (q < 0) return undefined;
  for (const kv of target.slice(q + 1).split('&')) {
    const [k, v = ''] = kv.split('=');
    if (k === name) {
      try {
        return decodeURIComponent(v.replace(/\+/g, '%20')).slice(0, 512);
      } catch {
        return v.slice(0, 512);
      }
    }
  }
  return undefined;
}

/** YMSG in HTTP bodies / tunnels, and the Y7 relay (whose bodies are the file itself). */
function httpDecoder(ctx: SessionContext): StreamDecoder {
  const session = new YmsgSession(ctx);
  let ts = 0;
  const tunnel = ([0, 1] as Dir[]).map((dir) => new YmsgFramer((p) => session.handle(dir, p, ts), (r) => ctx.malformed(r)));
  /** the file a relay request (dir 0, POST) or its response (dir 1, GET) carries */
  const relayQueue: ({ target: string; method: string } | null)[] = [];
  const writers: (FileWriter | null)[] = [null, null];
  const streams = httpPair((dir) => {
    let framer: YmsgFramer | null = null;
    const openRelay = (target: string, declared: number | undefined) => {
      const token = queryParam(target, 'token');
      const path = target.replace(/^https?:\/\/[^/]+/i, '').split('?')[0];
      const known = token !== undefined ? relayFile(token) ?? relayFile(token.replace(/ /g, '+')) : relayFile(`path:${path}`);
      const meta = known ?? { filename: 'unknown (Yahoo file relay)', from: queryParam(target, 'sender') ?? UNKNOWN_ID, to: queryParam(target, 'recver') ?? queryParam(target, 'UserID') ?? UNKNOWN_ID };
      ctx.setService('file');
      writers[dir] = ctx.openFile(ts, dir, { ...meta, ...(declared !== undefined && meta.size === undefined ? { size: declared } : {}) });
    };
    return {
      head(h) {
        framer = null;
        writers[dir] = null;
        const cl = h.headers.get('content-length');
        const declared = cl && /^\d{1,15}$/.test(cl) ? Number(cl) : undefined;
        if (h.kind === 'request') {
          const relay = FILE_TARGET.test(h.target);
          if (relayQueue.length < 64) relayQueue.push(relay ? { target: h.target, method: h.method } : null);
          if (relay && h.method === 'POST') openRelay(h.target, declared);
          else if (!relay) framer = new YmsgFramer((p) => session.handle(dir, p, ts), (r) => ctx.malformed(r), false);
          const host = h.headers.get('host');
          if (host) ctx.setServerName(host.replace(/:\d+$/, ''));
        } else {
          const req = relayQueue.shift();
          if (req && req.method === 'GET' && h.status >= 200 && h.status < 300) openRelay(req.target, declared);
          else if (!req) framer = new YmsgFramer((p) => session.handle(dir, p, ts), (r) => ctx.malformed(r), false);
        }
      },
      body(chunk) {
        if (writers[dir]) writers[dir]!.write(chunk, ts);
        else framer?.push(chunk);
      },
      end() {
        writers[dir]?.end(ts);
        writers[dir] = null;
        framer = null;
      },
      raw(data) {
        tunnel[dir].push(data);
      },
      malformed(r) {
        ctx.malformed(r);
      },
    };
  });
  return {
    ...httpPairFeed(streams, (t) => (ts = t)),
    onGap(dir, length, t) {
      // a relay body with a hole: the file is incomplete; the HTTP framing is lost for this side
      writers[dir]?.gap(length);
      writers[dir]?.end(t, false);
      writers[dir] = null;
      streams[dir] = new HttpStream({ head() {}, body() {}, end() {}, malformed() {} });
    },
  };
}

export const module: SignatureModule = {
  id: 'ymsg',
  protocols: ['yahoo'],
  transports: ['tcp'],
  detect: declineOnThrow(detectYmsg),
  decoder(ctx, detection) {
    const sig = detection.evidence.signature;
    if (sig.startsWith('ycht.')) return ychtDecoder(ctx, sig === 'ycht.midstream');
    if (sig.startsWith('ymsg.http')) return httpDecoder(ctx);
    return tcpDecoder(ctx, sig === 'ymsg.midstream');
  },
};
