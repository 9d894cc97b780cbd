// XMPP carried in cleartext HTTP: BOSH (XEP-0124/0206: stanzas inside <body xmlns='…httpbind'>
// wrappers of POST bodies and their responses) and XMPP over WebSocket (RFC 7395: an upgrade with
// Sec-WebSocket-Protocol: xmpp, then <open/>, stanzas and <close/> in text frames). Detection reads
// the HTTP head and the start of the body (never the path alone, never a namespace mentioned deeper
// in other XML); the decoder frames HTTP (../http/stream.ts) and WebSocket (websocket.ts) and hands the
// XML to the plain XMPP decoder, so everything comes out as for a plain XMPP stream.
import type { Dir } from '../../sensor/types';
import type { DetectInput, DetectResult, SessionContext, StreamDecoder } from '../types';
import { HeadBytes, HttpSide, offeredHead, offeredRequestLine, requestLine, type HttpHead } from '../http/stream';
import { usableServerName } from '../tls/parser';
import { XmppDecoder } from './decoder';
import { WsReader } from './websocket';
import { Collector, InflateBudget, PmdInflater, inflateBody, pmdParams, type PmdCounts } from './inflate';
import { ByteQueue } from '../text';
import { clip } from '../../analyzer/clip';

/** detection looks at this many bytes of a direction (the engine keeps 8 KiB) */
const SCAN = 8192;
/** bytes of a body read before deciding whether it is a BOSH wrapper */
const SNIFF = 2048;
/** CORS preflights (OPTIONS) skipped before the BOSH POST */
const MAX_PREFLIGHTS = 4;
/** BOSH requests: XML, or text/plain, which XMLHttpRequest sends for a string body when the client sets
 *  no type (Strophe.js before 1.2, strophe/strophejs#67) or chooses it to avoid CORS preflights (#203) */
const BOSH_REQUEST_TYPE = /^\s*(?:(?:text|application)\/xml|text\/plain)\s*(?:;|$)/i;
/**
 * The body's real content coding, if any. libpurple's BOSH (jabber/bosh.c, every version) sends
 * "Content-Encoding: text/xml; charset=utf-8" and no Content-Type: a media type there is a
 * mislabelled type, not a coding (codings are tokens: gzip, deflate, br, identity).
 */
function bodyCoding(enc: string | undefined): string | undefined {
  return enc && !enc.includes('/') && !/^\s*identity\s*$/i.test(enc) ? enc : undefined;
}
/** the codings we inflate (x-gzip is gzip, RFC 9110 §8.4.1.3) */
function inflatable(coding: string): 'gzip' | 'deflate' | undefined {
  const c = coding.trim().toLowerCase();
  return c === 'gzip' || c === 'x-gzip' ? 'gzip' : c === 'deflate' ? 'deflate' : undefined;
}
/** the body's type: Content-Type, else libpurple's type given as Content-Encoding */
function bodyType(type: string | undefined, enc: string | undefined): string {
  return type ?? (enc?.includes('/') ? enc : '');
}
const HTTPBIND_XMLNS = /\sxmlns\s*=\s*(['"])http:\/\/jabber\.org\/protocol\/httpbind\1/;
/** the start of a request line still arriving */
const PARTIAL_REQUEST_LINE = /^[A-Z]{1,10}(?: \S*(?: [A-Z/0-9.]{0,8})?)?$/;

const HTTP1 = Buffer.from('HTTP/1.', 'latin1');

export const SIG_BOSH = 'xmpp.bosh';
export const SIG_WEBSOCKET = 'xmpp.websocket';

/**
 * XMPP over HTTP? undefined when the direction does not start with an HTTP message (the plain XMPP
 * detector decides then); else like any detector: a detection, 'more', or null.
 */
export function detectXmppHttp(input: DetectInput): DetectResult | undefined {
  if (input.transport !== 'tcp') return undefined;
  const d = input.data;
  if (!d.length || d[0] < 0x41 || d[0] > 0x5a) return undefined;
  if (input.dir === 1) {
    for (let i = 0; i < 7 && i < d.length; i++) if (d[i] !== HTTP1[i]) return undefined;
    if (d.length < 7) return 'more';
    return webSocketAnswer(input.other, d);
  }
  const line = offeredRequestLine(input);
  if (!line) {
    const s = d.toString('latin1', 0, Math.min(d.length, 2048));
    return d.length < 2048 && !s.includes('\n') && PARTIAL_REQUEST_LINE.test(s) ? 'more' : undefined;
  }
  let off = 0;
  let head = offeredHead(input);
  let method = line.method;
  for (let n = 0; ; n++) {
    if (head.end < 0) return d.length - off < SCAN && d.length < SCAN ? 'more' : null;
    const bodyAt = off + head.end + 4;
    const te = (head.header('transfer-encoding') ?? '').toLowerCase();
    const cl = head.header('content-length');
    const hasBody = te.includes('chunked') || (cl !== undefined && cl !== '0');
    if (method === 'GET' && !hasBody && /websocket/i.test(head.header('upgrade') ?? '')) {
      if (!hasToken(head.header('sec-websocket-protocol'), 'xmpp')) return null;
      if (!input.other.length) return d.length < SCAN ? 'more' : null;
      return webSocketAnswer(d.subarray(off), input.other);
    }
    if (method === 'OPTIONS' && !hasBody && n < MAX_PREFLIGHTS) {
      // a browser's CORS preflight before the cross-origin BOSH POST: look at the next request
      const rest = d.subarray(bodyAt);
      if (!rest.length) return d.length < SCAN ? 'more' : null;
      const next = requestLine(rest);
      if (!next) {
        const s = rest.toString('latin1', 0, Math.min(rest.length, 2048));
        return rest.length < 2048 && !s.includes('\n') && PARTIAL_REQUEST_LINE.test(s) ? 'more' : null;
      }
      off = bodyAt;
      head = new HeadBytes(rest);
      method = next.method;
      continue;
    }
    if (method !== 'POST' || !hasBody) return null;
    const enc = head.header('content-encoding');
    if (!BOSH_REQUEST_TYPE.test(bodyType(head.header('content-type'), enc))) return null;
    if (bodyCoding(enc)) return null;
    const body = te.includes('chunked') ? dechunkPrefix(d.subarray(bodyAt)) : d.subarray(bodyAt, bodyAt + Math.min(Number(cl) || 0, SNIFF));
    const complete = !te.includes('chunked') && body.length >= (Number(cl) || 0);
    const tag = boshTag(body, complete);
    if (tag === 'more') return d.length < SCAN ? 'more' : null;
    if (!tag) return null;
    const host = usableServerName(head.header('host')?.replace(/:\d+$/, ''));
    const to = usableServerName(/\sto\s*=\s*(['"])([^'"]{1,253})\1/.exec(tag)?.[2]);
    const serverName = to ?? host;
    return {
      protocol: 'xmpp',
      ...(serverName ? { serverName } : {}),
      evidence: { signature: SIG_BOSH, reason: `HTTP POST ${clip(line.target, 80)} with a BOSH <body xmlns='http://jabber.org/protocol/httpbind'> (XEP-0124/0206)` },
    };
  }
}

/** `req` (a WebSocket upgrade asking for xmpp) answered by `res`: 101 with Sec-WebSocket-Protocol: xmpp */
function webSocketAnswer(req: Buffer, res: Buffer): DetectResult {
  const rl = requestLine(req);
  if (!rl || rl.method !== 'GET') return null;
  const rq = new HeadBytes(req);
  if (rq.end < 0 || !/websocket/i.test(rq.header('upgrade') ?? '') || !hasToken(rq.header('sec-websocket-protocol'), 'xmpp')) return null;
  const rs = new HeadBytes(res);
  if (rs.end < 0) return res.length < SCAN ? 'more' : null;
  if (!/^HTTP\/1\.[01] 101[ \r]/.test(res.toString('latin1', 0, 13))) return null;
  if ((rs.header('sec-websocket-protocol') ?? '').toLowerCase() !== 'xmpp') return null;
  const host = usableServerName(rq.header('host')?.replace(/:\d+$/, ''));
  return {
    protocol: 'xmpp',
    ...(host ? { serverName: host } : {}),
    evidence: { signature: SIG_WEBSOCKET, reason: `WebSocket upgrade of ${clip(rl.target, 80)} with Sec-WebSocket-Protocol: xmpp, answered 101 (RFC 7395)` },
  };
}

function hasToken(list: string | undefined, token: string): boolean {
  if (!list) return false;
  return list.split(',').some((t) => t.trim().toLowerCase() === token);
}

/** the first bytes of a chunked body, de-chunked (bounded by SNIFF) */
function dechunkPrefix(b: Buffer): Buffer {
  const parts: Buffer[] = [];
  let pos = 0, got = 0;
  while (got < SNIFF && pos < b.length) {
    const nl = b.indexOf(0x0a, pos);
    if (nl < 0 || nl - pos > 1024) break;
    const m = /^([0-9a-fA-F]{1,8})[ \t]*(?:;.*)?$/.exec(b.toString('latin1', pos, nl).trim());
    if (!m) break;
    const n = parseInt(m[1], 16);
    if (n === 0) break;
    const s = nl + 1;
    const take = Math.min(n, b.length - s, SNIFF - got);
    parts.push(b.subarray(s, s + take));
    got += take;
    if (take < n) break;
    pos = s + n + 2;
  }
  return Buffer.concat(parts);
}

/** bytes of body prefixes boshTag read: a work count for tests */
export const sniffWork = { bytes: 0 };

/** how far boshTag read a root tag that was not complete: `at` in the text after the prologue (its first `skip` bytes), inside `quote` */
export interface BoshScan {
  at: number;
  quote: number;
  skip: number;
}

/**
 * The root start tag of a BOSH body: optional whitespace and XML declaration, then <body …> carrying
 * the httpbind namespace itself. The tag (string) when it is one, false when not, 'more' when the
 * tag is not complete yet (and `complete` is false).
 */
export function boshTag(body: Buffer, complete: boolean, scan?: BoshScan): string | false | 'more' {
  const more = complete ? false : 'more';
  if (scan && scan.at > 5) {
    // the same bytes and more, the root tag read up to scan.at already: only the new bytes are read
    // (a body in 1-byte segments was read again from its start each time). The text is body[scan.skip..].
    const n = Math.min(body.length, SNIFF);
    let q = scan.quote;
    sniffWork.bytes += Math.max(0, n - scan.at - scan.skip);
    for (let i = scan.at + scan.skip; i < n; i++) {
      const c = body[i];
      if (q) {
        if (c === q) q = 0;
      } else if (c === 0x22 || c === 0x27) q = c;
      else if (c === 0x3c) return false;
      else if (c === 0x3e) {
        const tag = body.toString('latin1', scan.skip, i + 1);
        return HTTPBIND_XMLNS.test(tag) ? tag : false;
      }
    }
    scan.at = n - scan.skip;
    scan.quote = q;
    return scan.at >= SNIFF ? false : more;
  }
  let s = body.toString('latin1', 0, Math.min(body.length, SNIFF));
  sniffWork.bytes += s.length;
  if (s.startsWith('\xef\xbb\xbf')) s = s.slice(3);
  s = s.replace(/^\s+/, '');
  if (!s) return more;
  if (s.startsWith('<?')) {
    if (s.length >= 6 && !/^<\?xml[\s?]/.test(s)) return false;
    const e = s.indexOf('?>');
    if (e < 0) return s.length >= SNIFF ? false : more;
    s = s.slice(e + 2).replace(/^\s+/, '');
    if (!s) return more;
  }
  if (!'<body'.startsWith(s.slice(0, 5))) return false;
  if (s.length < 6) return more;
  if (!/^<body[\s/>]/.test(s)) return false;
  let q = 0;
  for (let i = 5; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (q) {
      if (c === q) q = 0;
    } else if (c === 0x22 || c === 0x27) q = c;
    else if (c === 0x3c) return false;
    else if (c === 0x3e) {
      const tag = s.slice(0, i + 1);
      return HTTPBIND_XMLNS.test(tag) ? tag : false;
    }
  }
  if (scan) {
    scan.at = s.length;
    scan.quote = q;
    scan.skip = Math.min(body.length, SNIFF) - s.length;
  }
  return s.length >= SNIFF ? false : more;
}

/** Coded: a gzip/deflate body, collected (bounded) and inflated at its end, then sniffed */
const enum G { Sniff, Bosh, Skip, Coded }

interface BoshCoded {
  decoded: number;
  /** a coding we do not inflate (br, compress, several) */
  coding: number;
  corrupt: number;
  oversized: number;
  budget: number;
  cut: number;
}

/**
 * One flow of XMPP in HTTP: BOSH bodies of both directions, or WebSocket frames after the upgrade,
 * into one XmppDecoder (BOSH mode: the <body> wrappers stand for the stream header).
 */
export class XmppHttpDecoder implements StreamDecoder {
  private readonly xmpp: XmppDecoder;
  private readonly sides: [HttpSide, HttpSide];
  private readonly ws: [WsReader | null, WsReader | null] = [null, null];
  private readonly gate: [G, G] = [G.Skip, G.Skip];
  /** a body's first bytes while it is sniffed (at most SNIFF), in one growable buffer, and how far the sniff read them */
  private readonly held: [ByteQueue, ByteQueue] = [new ByteQueue(), new ByteQueue()];
  private readonly heldScan: [BoshScan, BoshScan] = [{ at: 0, quote: 0, skip: 0 }, { at: 0, quote: 0, skip: 0 }];
  private wsAsked = false;
  private readonly coded: BoshCoded = { decoded: 0, coding: 0, corrupt: 0, oversized: 0, budget: 0, cut: 0 };
  /** the coding of each direction's body in progress (G.Coded), its compressed bytes so far */
  private readonly coding: ['gzip' | 'deflate', 'gzip' | 'deflate'] = ['gzip', 'gzip'];
  private readonly codedBody: [Collector, Collector];
  private ts = 0;
  private readonly maxFrame: number;
  private readonly budget: InflateBudget;

  constructor(private readonly ctx: SessionContext) {
    this.xmpp = new XmppDecoder(ctx, { bosh: true });
    const mf = Number(ctx.data.max_ws_frame);
    this.maxFrame = Number.isFinite(mf) && mf >= 1024 ? Math.min(mf, 64 << 20) : 1 << 20;
    const total = Number(ctx.data.max_inflated);
    const ratio = Number(ctx.data.max_inflate_ratio);
    this.budget = new InflateBudget(
      this.maxFrame,
      Number.isFinite(total) && total >= this.maxFrame ? total : 256 << 20,
      Number.isFinite(ratio) && ratio >= 4 ? Math.min(ratio, 1032) : 64,
      this.maxFrame,
    );
    this.codedBody = [new Collector(this.maxFrame), new Collector(this.maxFrame)];
    const self = this;
    const events = (d: Dir) => ({
      head(h: HttpHead) {
        self.head(d, h);
      },
      body(chunk: Buffer) {
        self.body(d, chunk);
      },
      end(whole: boolean) {
        self.end(d, whole);
      },
      raw(data: Buffer) {
        self.ws[d]?.push(data);
      },
      malformed(r: string) {
        ctx.malformed(r);
      },
    });
    this.sides = [new HttpSide(events(0), false), new HttpSide(events(1), true)];
    this.sides[0].peer = this.sides[1];
    this.sides[1].peer = this.sides[0];
  }

  onData(dir: Dir, data: Buffer, ts: number): void {
    this.ts = ts;
    this.sides[dir].push(data);
  }

  onGap(dir: Dir, length: number): void {
    const side = this.sides[dir];
    if (side.raw) {
      this.ws[dir]?.gap(length);
      return;
    }
    if (this.gate[dir] === G.Bosh) this.xmpp.onGap(dir);
    side.gap(length);
  }

  onEnd(ts: number): void {
    this.sides[1].close();
    const say = (signature: string, n: number, what: string) => {
      if (n) this.ctx.addEvidence({ signature, reason: `${n} ${what}` });
    };
    const pmd: PmdCounts = { decoded: 0, corrupt: 0, windowLost: 0, oversized: 0, budget: 0, cut: 0, losses: 0 };
    let compressed = 0;
    for (const w of this.ws) {
      if (!w) continue;
      compressed += w.counters.compressedMessages;
      for (const k of Object.keys(pmd) as (keyof PmdCounts)[]) pmd[k] += w.deflate?.counts[k] ?? 0;
      say('xmpp.websocket-binary', w.counters.binaryMessages, 'binary WebSocket message(s) ignored (RFC 7395 uses text frames)');
      say('xmpp.websocket-oversized', w.counters.oversizedFrames, `WebSocket frame(s) over ${this.maxFrame} bytes refused`);
    }
    say('xmpp.websocket-inflated', pmd.decoded, 'permessage-deflate compressed WebSocket message(s) decoded');
    const why = (parts: [number, string][]) => parts.filter(([n]) => n).map(([n, w]) => `${n} ${w}`).join(', ');
    const lost = compressed - pmd.decoded;
    say('xmpp.websocket-compressed', lost, `permessage-deflate compressed WebSocket message(s) not decoded (${why([[pmd.corrupt, 'corrupt'], [pmd.windowLost, 'referring into a lost window'], [pmd.oversized, `over ${this.maxFrame} bytes`], [pmd.budget, "over the flow's inflate budget"], [pmd.cut, 'cut off or with bytes lost'], [lost - pmd.corrupt - pmd.windowLost - pmd.oversized - pmd.budget - pmd.cut, 'without permessage-deflate']]) || 'none'})`);
    say('xmpp.websocket-window-lost', pmd.losses, `time(s) the context-takeover window was lost (a message lost or not decoded): ${pmd.windowLost} later message(s) referred back into it and were not decoded`);
    const c = this.coded;
    say('xmpp.bosh-inflated', c.decoded, 'gzip/deflate content-encoded BOSH bodies decoded');
    say('xmpp.bosh-encoded', c.coding + c.corrupt + c.oversized + c.budget + c.cut, `content-encoded BOSH bodies not decoded (${why([[c.coding, 'in a coding other than gzip or deflate'], [c.corrupt, 'corrupt'], [c.oversized, `over ${this.maxFrame} bytes`], [c.budget, "over the flow's inflate budget"], [c.cut, 'with bytes lost']])})`);
    this.xmpp.onEnd(ts || this.ts);
  }

  private head(d: Dir, h: HttpHead): void {
    this.gate[d] = G.Skip;
    this.unheld(d);
    const upgrade = /websocket/i.test(h.headers.get('upgrade') ?? '');
    if (d === 0) {
      if (h.method === 'GET' && upgrade && hasToken(h.headers.get('sec-websocket-protocol'), 'xmpp')) {
        // the client's next bytes are frames (RFC 6455: it waits for the 101 before sending any)
        this.wsAsked = true;
        this.sides[0].switchAfterHead = true;
        this.ws[0] = this.reader(0);
        return;
      }
    } else if (h.status === 101) {
      this.sides[1].switchAfterHead = true;
      if (this.wsAsked && upgrade) {
        this.ws[1] = this.reader(1);
        const pmd = pmdParams(h.headers.get('sec-websocket-extensions'));
        if (pmd) {
          this.ws[0]?.deflate?.configure(pmd.client);
          this.ws[1].deflate?.configure(pmd.server);
          const say = (p: { takeover: boolean; bits: number }) => `${p.takeover ? 'context takeover' : 'no context takeover'}, ${p.bits}-bit window`;
          this.ctx.addEvidence({ signature: 'xmpp.websocket-deflate', reason: `permessage-deflate negotiated (client: ${say(pmd.client)}; server: ${say(pmd.server)}): compressed messages are inflated` });
        }
      }
      return;
    }
    const coding = bodyCoding(h.headers.get('content-encoding'));
    if (coding) {
      // only XML (or text/plain, as BOSH requests may be) is worth inflating: not the site's scripts
      if (!BOSH_REQUEST_TYPE.test(h.headers.get('content-type') ?? '')) return;
      const c = inflatable(coding);
      if (!c) {
        this.coded.coding++;
        return;
      }
      this.coding[d] = c;
      this.gate[d] = G.Coded;
      return;
    }
    this.gate[d] = G.Sniff;
  }

  private reader(d: Dir): WsReader {
    const self = this;
    const r = new WsReader(
      {
        text(chunk) {
          self.xmpp.onData(d, chunk, self.ts);
        },
        messageEnd() {
          self.xmpp.endDocument(d);
        },
        messageAbort() {
          self.xmpp.endDocument(d);
        },
        malformed(r) {
          self.ctx.malformed(r);
        },
      },
      this.maxFrame,
    );
    // until the 101 says otherwise: RFC 7692's defaults (context takeover, 15-bit windows)
    r.deflate = new PmdInflater(this.budget, this.maxFrame);
    return r;
  }

  private body(d: Dir, chunk: Buffer): void {
    const g = this.gate[d];
    if (g === G.Bosh) {
      this.xmpp.onData(d, chunk, this.ts);
      return;
    }
    if (g === G.Coded) {
      this.codedBody[d].add(chunk);
      return;
    }
    if (g !== G.Sniff) return;
    const take = chunk.subarray(0, SNIFF - this.held[d].length);
    this.held[d].push(take);
    const held = this.held[d].view();
    const tag = boshTag(held, held.length >= SNIFF, this.heldScan[d]);
    if (tag === 'more') return;
    this.unheld(d); // (`held` keeps the storage it is a view of)
    if (!tag) {
      this.gate[d] = G.Skip;
      return;
    }
    this.gate[d] = G.Bosh;
    this.xmpp.onData(d, held, this.ts);
    if (take.length < chunk.length) this.xmpp.onData(d, chunk.subarray(take.length), this.ts);
  }

  private end(d: Dir, whole: boolean): void {
    if (this.gate[d] === G.Coded) {
      const body = this.codedBody[d];
      const len = body.size;
      this.gate[d] = G.Skip;
      const out = whole && !len ? undefined : !whole ? 'cut' : body.over ? 'oversized' : inflateBody(this.coding[d], body.room.subarray(0, len), this.budget);
      body.reset();
      if (out === undefined) return; // an empty body (a 204, Content-Length: 0) has nothing to inflate
      if (!Buffer.isBuffer(out)) {
        this.coded[out]++;
        if (out === 'corrupt' || out === 'oversized') this.ctx.malformed(`${this.coding[d]} BOSH body ${out === 'corrupt' ? 'corrupt' : `over ${this.maxFrame} bytes`}: not decoded`);
        return;
      }
      this.coded.decoded++;
      // the decoded body goes the way of a plain one: sniffed, then read if it is a BOSH wrapper
      this.gate[d] = G.Sniff;
      if (out.length) this.body(d, out);
      this.end(d, true);
      return;
    }
    if (this.gate[d] === G.Bosh) {
      if (!whole) this.xmpp.onGap(d);
      this.xmpp.endDocument(d);
    }
    this.gate[d] = G.Skip;
    this.unheld(d);
  }

  /** a new body (or none) is sniffed from its start */
  private unheld(d: Dir): void {
    if (this.held[d].length) this.held[d] = new ByteQueue();
    this.heldScan[d].at = 0;
  }
}
