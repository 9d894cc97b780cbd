// MSRP (RFC 4975) over TCP: SEND chunks carry message text or file bytes; a message spans chunks
// (continuation flag '+', complete '$', aborted '#') and Byte-Range tells where each chunk belongs.
import type { Dir } from '../../sensor/types';
import type { FileWriter, KnowledgeBase, SessionContext, StreamDecoder } from '../types';
import { imText } from './body';
import { ByteQueue } from '../text';
import { canonicalIp } from '../../sensor/addr';
import { normalizeHost } from '../lookup';
import { msrpAuthority } from './sdp';

const MAX_CHUNK = 1024 * 1024;
const MAX_TEXT_MESSAGE = 256 * 1024;
const MAX_OPEN_MESSAGES = 64;

export interface MsrpChunk {
  tid: string;
  method?: string;
  status?: number;
  headers: Map<string, string>;
  body: Buffer;
  flag: '$' | '+' | '#';
}

export function looksLikeMsrp(b: Buffer): boolean | 'more' {
  // both patterns start with "M": every other first byte is decided before any search or string
  if (b[0] !== 0x4d) return false;
  const nl = b.indexOf('\r\n');
  if (nl < 0) return b.length < 256 && /^M(S(R(P( \S*)?)?)?)?$/.test(b.toString('latin1')) ? 'more' : false;
  return /^MSRP [A-Za-z0-9.+%=-]{1,64} ([A-Z]{1,16}|\d{3}( .*)?)$/.test(b.subarray(0, nl).toString('latin1'));
}

/** bytes of a first MSRP request's head an announced path waits for, at most (the engine waits 1 KiB) */
const MAX_OPENING_HEAD = 1000;

/** an MSRP URI compared as RFC 4975 §6.1 says: scheme, host and transport without case, the user part and session id as written */
function msrpUriKey(u: string): string {
  // scheme://[user@]host[:port]/session-id;transport — the user part and the session id as written
  const m = /^([a-z][a-z0-9+.-]*:\/\/)(?:([^@/]*)@)?([^/;]*)(\/[^;]*)?(;.*)?$/i.exec(u);
  return m ? `${m[1].toLowerCase()}${m[2] !== undefined ? `${m[2]}@` : ''}${m[3].toLowerCase()}${m[4] ?? ''}${(m[5] ?? '').toLowerCase()}` : u;
}

/**
 * The verifier of the connection an SDP `a=path` announced: MSRP, whose first request names that path
 * in its To-Path (the side that connected sends to it) or From-Path (the listener spoke first) — two
 * sessions a client accepts on one port are told apart by their session ids. A head without either
 * header decides by its MSRP line alone.
 */
export function msrpOpeningFor(path: string, claim?: MsrpPathOwner): (d: Buffer) => boolean | 'more' {
  const want = msrpUriKey(path);
  return (d) => {
    if (claim?.revoked) return false;
    const v = looksLikeMsrp(d);
    if (v !== true) return v;
    const head = d.toString('latin1', 0, Math.min(d.length, MAX_OPENING_HEAD));
    const end = head.indexOf('\r\n\r\n');
    const block = end >= 0 ? head.slice(0, end) : head;
    if (end < 0 && !/\r\n-------/.test(head) && d.length < MAX_OPENING_HEAD) return 'more';
    let named = false;
    for (const line of block.split('\r\n').slice(1)) {
      const m = /^(?:to|from)-path:[ \t]*(.*)$/i.exec(line);
      if (!m) continue;
      named = true;
      if (m[1].split(/[ \t]+/).some((u) => msrpUriKey(u) === want)) return true;
    }
    return !named;
  };
}

export class MsrpFramer {
  /** bytes not framed yet (one growable buffer: a 1 MiB chunk is not re-copied on every segment) */
  private q = new ByteQueue();
  /** the chunk whose end line has not arrived: its start line, and where the end-line search goes on */
  private waiting: { nl: number; start: RegExpMatchArray; endLine: Buffer; from: number } | null = null;
  malformed = 0;

  /** bytes held, not framed yet */
  get buffered(): number {
    return this.q.length;
  }

  push(data: Buffer, out: (c: MsrpChunk) => void): void {
    this.q.push(data);
    for (let guard = 0; guard < 10000 && this.q.length; guard++) {
      const buf = this.q.view();
      let w = this.waiting;
      if (!w) {
        const nl = buf.indexOf('\r\n');
        if (nl < 0) {
          if (buf.length > 1024) this.resync();
          return;
        }
        const start = buf.toString('latin1', 0, nl).match(/^MSRP ([A-Za-z0-9.+%=-]{1,64}) (?:([A-Z]{1,16})|(\d{3})(?: .*)?)$/);
        if (!start) {
          this.resync();
          continue;
        }
        w = this.waiting = { nl, start, endLine: Buffer.from(`\r\n-------${start[1]}`), from: nl };
      }
      const { nl, start, endLine } = w;
      const tid = start[1];
      // The end line follows the body (or the headers when there is no body); bodies may not contain it.
      const endAt = buf.indexOf(endLine, w.from);
      if (endAt < 0 || buf.length < endAt + endLine.length + 3) {
        // searched up to here: the first end line, when it comes, is not earlier
        w.from = endAt >= 0 ? endAt : Math.max(nl, buf.length - endLine.length + 1);
        if (buf.length > MAX_CHUNK + 64 * 1024) this.resync();
        return;
      }
      this.waiting = null;
      const flag = String.fromCharCode(buf[endAt + endLine.length]) as MsrpChunk['flag'];
      const headAndBody = buf.subarray(nl + 2, endAt);
      const sep = headAndBody.indexOf('\r\n\r\n');
      const headText = (sep < 0 ? headAndBody : headAndBody.subarray(0, sep)).toString('utf8');
      const headers = new Map<string, string>();
      for (const l of headText.split('\r\n').slice(0, 64)) {
        const c = l.indexOf(':');
        if (c > 0) headers.set(l.slice(0, c).trim().toLowerCase(), l.slice(c + 1).trim());
      }
      const body = sep < 0 ? Buffer.alloc(0) : Buffer.from(headAndBody.subarray(sep + 4));
      let next = endAt + endLine.length + 1;
      if (buf[next] === 13 && buf[next + 1] === 10) next += 2;
      if ('$+#'.includes(flag)) out({ tid, method: start[2], status: start[3] ? Number(start[3]) : undefined, headers, body, flag });
      else this.malformed++;
      this.q.consume(next);
    }
  }

  private resync(): void {
    this.malformed++;
    this.waiting = null;
    const buf = this.q.view();
    const i = buf.indexOf('\r\nMSRP ', 1);
    if (i < 0) this.q.clear();
    else this.q.consume(i + 2);
  }
}

export interface MsrpParties {
  /** sender and recipient of what the client sends (the server's side sends the other way) */
  from?: string;
  to?: string;
  file?: { name?: string; size?: number };
}

/** an endpoint's MSRP path as its SDP gave it: the party it belongs to, the party at the other end, the session's file offer */
export interface MsrpPathOwner {
  owner?: string;
  other?: string;
  file?: { name?: string; size?: number };
  /** the call's later leg showed the SDP lied (the path at the address it was sent to): believed nowhere */
  revoked?: boolean;
  /** the call that made the claim */
  callId?: string;
}

/**
 * The endpoints' paths the SDP of each session announced, per engine: one connection may carry several
 * sessions (reused, RFC 4975 §7.1; through a relay, RFC 4976, every session of a client), and the
 * last URI of a chunk's To-Path or From-Path names the session it belongs to. Oldest out first.
 */
const pathsByEngine = new WeakMap<object, Map<string, MsrpPathOwner>>();
/** the same claims by call as well (zone|Call-ID|path): what a later leg of that call can revoke */
const claimsByEngine = new WeakMap<object, Map<string, MsrpPathOwner>>();
const MAX_PATHS = 4096;

function bounded<V>(kb: object, maps: WeakMap<object, Map<string, V>>): Map<string, V> {
  let m = maps.get(kb);
  if (!m) maps.set(kb, (m = new Map()));
  if (m.size >= MAX_PATHS) m.delete(m.keys().next().value as string);
  return m;
}

/**
 * `uri` (an endpoint's own, the last of its SDP's a=path) belongs to `who`, in tunnel zone `zone`, as
 * call `callId` says; the claim (the same object for a copy of the call's SDP seen again) is returned
 * for the announced connection to hold. The first session to name a path keeps it in the shared store
 * (its session id is random): a later INVITE naming the same path, with other From/To, does not rename
 * the parties of a connection already open.
 */
export function rememberMsrpPath(kb: object, zone: string | undefined, callId: string, uri: string, who: MsrpPathOwner): MsrpPathOwner {
  const key = `${zone ?? ''}|${msrpUriKey(uri)}`, ck = `${zone ?? ''}|${callId}|${msrpUriKey(uri)}`;
  const had = claimsByEngine.get(kb)?.get(ck);
  if (had) return had;
  who.callId = callId;
  bounded(kb, claimsByEngine).set(ck, who);
  if (!pathsByEngine.get(kb)?.has(key)) bounded(kb, pathsByEngine).set(key, who);
  return who;
}

/**
 * Call `callId`'s claim of `uri` was a lie: a later leg of the call (to the party, after the leg to a
 * proxy) shows the SDP gave it at the address of the party it went to — a peer naming the user's
 * address as its own would make its chunks the user's. That claim is believed nowhere again (its
 * announced connection, the store); another call's claim of the same path (the user's own) stands.
 */
export function revokeMsrpPath(kb: object, zone: string | undefined, callId: string, uri: string): void {
  const key = `${zone ?? ''}|${msrpUriKey(uri)}`;
  const c = claimsByEngine.get(kb)?.get(`${zone ?? ''}|${callId}|${msrpUriKey(uri)}`);
  if (c) c.revoked = true;
  // (the store's entry, when this call made it, also once other calls' claims pushed it out of the
  // by-call map: it is the object the call's announced connection holds)
  const m = pathsByEngine.get(kb);
  const stored = m?.get(key);
  if (stored && (stored === c || stored.callId === callId)) {
    stored.revoked = true;
    m!.delete(key);
  }
}

/** whether a path's host names address `ip`: the address itself, or a name DNS answered for it (in `zone`) */
export function hostIs(kb: KnowledgeBase, zone: string | undefined, host: string, ip: string): boolean {
  const a = canonicalIp(host);
  if (a !== undefined) return a === ip;
  const name = normalizeHost(host);
  return name !== '' && kb.namesFor(ip, zone).includes(name);
}

/** the endpoint's URI a To-Path or From-Path ends with (relays stand before it); undefined past 2 KiB (never remembered) */
function lastUri(pathHeader: string | undefined): string | undefined {
  if (!pathHeader) return undefined;
  const v = pathHeader.trimEnd();
  const uri = v.slice(Math.max(v.lastIndexOf(' '), v.lastIndexOf('\t')) + 1);
  return uri && uri.length <= 2048 ? uri : undefined;
}

interface OpenMessage {
  contentType: string;
  /** a text message's bytes so far (at most MAX_TEXT_MESSAGE), in one growable buffer: a Buffer per chunk cost ~110 bytes for a 1-byte chunk */
  text?: ByteQueue;
  file?: FileWriter;
  written: number;
}

/** Decodes SEND requests of one MSRP connection into messages and carved files. */
export class MsrpDecoder implements StreamDecoder {
  private framers: [MsrpFramer, MsrpFramer] = [new MsrpFramer(), new MsrpFramer()];
  /** messages being sent, by direction and Message-ID: a peer's chunk cannot add to the user's */
  private open = new Map<string, OpenMessage>();
  private openCount: [number, number] = [0, 0];
  /** the parties named by the sessions' paths, told to the session once each */
  private users = new Set<string>();
  /** paths this connection resolved, as first resolved: a later INVITE cannot rename them */
  private pinned = new Map<string, MsrpPathOwner | null>();
  /** the flow's side that connected to the announced path (the side `parties.from` writes from) */
  private readonly connector: Dir;

  /**
   * `parties`: the announced session's, when the connection was expected at an endpoint's own path
   * (`listener`, the path's host and port): what the connecting side sends is `from` → `to`. `paths`:
   * that session's two paths (the announced one, `own`, is `to`'s; `peer` is `from`'s), which keep
   * those parties whatever the shared store later says.
   */
  constructor(
    private readonly ctx: SessionContext,
    private readonly parties: MsrpParties = {},
    listener?: { host: string; port: number },
    paths: { own?: string; ownClaim?: MsrpPathOwner; peer?: string; peerClaim?: MsrpPathOwner } = {},
  ) {
    ctx.setService('msrp');
    const zone = ctx.flow.zone ?? '';
    // (the claims themselves when known: a revoked one is believed no more)
    if (paths.own) this.pinned.set(`${zone}|${msrpUriKey(paths.own)}`, paths.ownClaim ?? { owner: parties.to, other: parties.from, file: parties.file });
    if (paths.peer) this.pinned.set(`${zone}|${msrpUriKey(paths.peer)}`, paths.peerClaim ?? { owner: parties.from, other: parties.to, file: parties.file });
    // the sensor has the sides the other way round when it missed the SYN: the listener is its client
    const f = ctx.flow;
    // (the same port on both sides: the listener's host tells, when only one side has it)
    this.connector = listener && f.client.port === listener.port && (f.server.port !== listener.port || !this.onSide(listener.host, 1)) && this.onSide(listener.host, 0) ? 1 : 0;
  }

  onData(dir: Dir, data: Buffer, ts: number): void {
    const f = this.framers[dir];
    const before = f.malformed;
    f.push(data, (c) => this.chunk(dir, c, ts));
    for (let i = before; i < f.malformed; i++) this.ctx.malformed('msrp framing');
  }

  onGap(dir: Dir, length: number): void {
    for (const [k, m] of this.open) if (k.charCodeAt(0) === 48 + dir) m.file?.gap(length);
    this.framers[dir] = new MsrpFramer();
  }

  onEnd(ts: number): void {
    for (const m of this.open.values()) m.file?.end(ts, false);
    this.open.clear();
    this.openCount = [0, 0];
  }

  /** whether a path's host (an address, or a name DNS answered for it) is side `side` of this connection */
  private onSide(host: string, side: Dir): boolean {
    return hostIs(this.ctx.kb, this.ctx.flow.zone, host, (side === 0 ? this.ctx.flow.client : this.ctx.flow.server).ip);
  }

  /** the session a path belongs to, when its host is side `side` of this connection */
  private ownerOn(uri: string | undefined, side: Dir): MsrpPathOwner | undefined {
    if (!uri) return undefined;
    const a = msrpAuthority(uri);
    if (!a || !this.onSide(a.host, side)) return undefined;
    const key = `${this.ctx.flow.zone ?? ''}|${msrpUriKey(uri)}`;
    let o = this.pinned.get(key);
    if (o === undefined) {
      o = pathsByEngine.get(this.ctx.kb)?.get(key) ?? null;
      if (this.pinned.size < 64) this.pinned.set(key, o);
    }
    return o && !o.revoked ? o : undefined;
  }

  /**
   * Who sent a chunk to whom: the session its paths name — the final target's own path (the last
   * URI of To-Path) belongs to the recipient, the original sender's (of From-Path) to the sender —
   * believed only where that path's host is the side of this connection the chunk goes to, or comes
   * from (RFC 4975 §7.3: an endpoint takes only chunks for its own path; so a peer cannot name the
   * user's path as its own sender). Else the announced session by the side of the connection, else the
   * paths as written.
   */
  private partiesOf(dir: Dir, c: MsrpChunk): MsrpParties & { from: string; to: string } {
    const toPath = c.headers.get('to-path'), fromPath = c.headers.get('from-path');
    const other: Dir = dir === 0 ? 1 : 0;
    // each path names its owner: the recipient's the recipient, the sender's the sender (a peer's
    // path used in two sessions names the peer, whatever the other party of its first session)
    const t = this.ownerOn(lastUri(toPath), other), f = this.ownerOn(lastUri(fromPath), dir);
    const named = t || f ? { from: f?.owner ?? t?.other, to: t?.owner ?? f?.other, file: t?.file ?? f?.file } : undefined;
    if (named?.from && named.to) {
      for (const u of [named.from, named.to]) if (!this.users.has(u) && this.users.size < 64) this.users.add(u), this.ctx.addUser(u);
      return { from: named.from, to: named.to, file: named.file };
    }
    const [pf, pt] = dir === this.connector ? [this.parties.from, this.parties.to] : [this.parties.to, this.parties.from];
    return { from: pf ?? fromPath?.slice(0, 256) ?? '', to: pt ?? toPath?.slice(0, 256) ?? '', file: this.parties.file };
  }

  private chunk(dir: Dir, c: MsrpChunk, ts: number): void {
    if (c.method !== 'SEND') return;
    const id = (c.headers.get('message-id') ?? c.tid).slice(0, 128);
    const key = `${dir}${id}`;
    const { from, to, file } = this.partiesOf(dir, c);
    let m = this.open.get(key);
    if (!m) {
      // (a bound per direction: one side's unfinished messages cannot hide the other's)
      if (this.openCount[dir] >= MAX_OPEN_MESSAGES) return this.ctx.malformed('too many open MSRP messages');
      const contentType = (c.headers.get('content-type') ?? '').toLowerCase();
      const isText = /^(text\/plain|text\/html|message\/cpim)/.test(contentType);
      m = { contentType, written: 0 };
      if (isText) m.text = new ByteQueue();
      else if (contentType) {
        const range = c.headers.get('byte-range')?.match(/^\d+-(?:\d+|\*)\/(\d+)$/);
        const size = file?.size ?? (range ? Number(range[1]) : undefined);
        const filename = file?.name ?? c.headers.get('content-disposition')?.match(/filename="?([^";]+)"?/)?.[1] ?? `msrp-${id}`;
        m.file = this.ctx.openFile(ts, dir, { filename, from, to, size, transfer_id: id });
        // the SDP file-selector was already reported as the offer by the SIP session
        if (!file) this.ctx.fileTransfer(ts, dir, { from, to, filename, size, stage: 'offer', transfer_id: id });
      }
      this.open.set(key, m);
      this.openCount[dir]++;
    }
    if (!m.contentType) {
      // a SEND without body (keep-alive) carries nothing
      this.open.delete(key);
      this.openCount[dir]--;
      return;
    }
    if (m.file) {
      const start = Number(c.headers.get('byte-range')?.match(/^(\d+)-/)?.[1] ?? m.written + 1);
      if (start > m.written + 1) m.file.gap(start - m.written - 1);
      if (start >= m.written + 1 || start === 1) m.file.write(c.body.subarray(Math.max(0, m.written + 1 - start)), ts);
      m.written = Math.max(m.written, start - 1 + c.body.length);
    } else if (m.text && m.text.length < MAX_TEXT_MESSAGE) {
      m.text.push(c.body.subarray(0, MAX_TEXT_MESSAGE - m.text.length));
    }
    if (c.flag === '+') return;
    this.open.delete(key);
    this.openCount[dir]--;
    if (m.file) m.file.end(ts, c.flag === '$');
    else if (m.text && c.flag === '$') {
      const body = imText(m.contentType, m.text.view());
      if (body && body.text) this.ctx.message(ts, dir, { from: body.from ?? from, to: body.to ?? to, text: body.text, kind: 'chat' });
    }
  }
}
