// XMPP session decoder: stanzas of both directions → users (JIDs), messages, credentials (never the
// secret), STARTTLS/compression (stop), and file transfers offered with XEP-0096 SI and carried in
// XEP-0047 in-band bytestreams (carved).
import type { Dir } from '../../sensor/types';
import type { FileWriter, SessionContext, StreamDecoder } from '../types';
import { DEFAULT_LIMITS, XmlStream, child, ns, type XmlElement } from './xml';
import { S5bDecoder, socks5To, streamHashes } from './s5b';
import { MAX_TEXT as SHARED_MAX_TEXT } from '../text';
import { clip } from '../../analyzer/clip';

const NS_SASL = 'urn:ietf:params:xml:ns:xmpp-sasl';
const NS_TLS = 'urn:ietf:params:xml:ns:xmpp-tls';
const NS_FRAMING = 'urn:ietf:params:xml:ns:xmpp-framing';
const NS_IBB = 'http://jabber.org/protocol/ibb';
const NS_SI = 'http://jabber.org/protocol/si';
const NS_SI_FT = 'http://jabber.org/protocol/si/profile/file-transfer';
// a body's text is bounded by the stanza (max_stanza, 64 KiB): no cut of its own below that, which
// hid the end of a long message (a pasted log) from the event and DLP
const MAX_TEXT = SHARED_MAX_TEXT;
const KINDS = new Set(['chat', 'groupchat', 'normal', 'headline']);
const MAX_TRANSFERS = 16;
const NS_S5B = 'http://jabber.org/protocol/bytestreams';
/** streamhosts / candidates followed per offer */
const MAX_STREAMHOSTS = 8;

interface Offer {
  filename: string;
  from: string;
  to: string;
  size?: number;
  transfer_id: string;
}

interface Ibb {
  writer: FileWriter;
  dir: Dir;
  nextSeq: number;
  blockSize: number;
  size?: number;
  written: number;
}

export class XmppDecoder implements StreamDecoder {
  private readers: [XmlStream, XmlStream];
  private ts = 0;
  /** our client's full JID (bind result), or bare JID from the stream header */
  private jid = '';
  private domain = '';
  private startTlsAsked = false;
  private compressAsked = false;
  /** SASL mechanism whose payload comes in the next <response/> (empty initial response) */
  private saslPending = '';
  private stopped = false;
  private offers = new Map<string, Offer>();
  private ibb = new Map<string, Ibb>();

  /** bosh: the XML comes in BOSH <body> wrappers (XEP-0124/0206), one document per HTTP body */
  constructor(private readonly ctx: SessionContext, opts: { bosh?: boolean } = {}) {
    const limits = {
      ...DEFAULT_LIMITS,
      maxStanza: clamp(Number(ctx.data.max_stanza), 4096, 1 << 20, DEFAULT_LIMITS.maxStanza),
      maxDepth: clamp(Number(ctx.data.max_depth), 4, 256, DEFAULT_LIMITS.maxDepth),
    };
    // handlers as methods, not arrow properties: the transpiler's keepNames would name each arrow with
    // an Object.defineProperty, per flow
    const self = this;
    this.readers = [0, 1].map(
      (d) =>
        new XmlStream(
          {
            streamOpen(a) {
              self.streamOpen(d as Dir, a);
            },
            streamClose() {},
            stanza(el) {
              self.stanza(d as Dir, el);
            },
            malformed(r) {
              ctx.malformed(r);
            },
          },
          limits,
          !!opts.bosh,
        ),
    ) as [XmlStream, XmlStream];
  }

  /** one XML document of `dir` ended (a BOSH body, a WebSocket message) */
  endDocument(dir: Dir): void {
    if (!this.stopped) this.readers[dir].endDocument();
  }

  onData(dir: Dir, data: Buffer, ts: number): void {
    if (this.stopped) return;
    this.ts = ts;
    this.readers[dir].push(data);
  }

  onGap(dir: Dir): void {
    // lost IBB blocks show up as a jump in their seq numbers
    this.readers[dir].gap();
  }

  onEnd(ts: number): void {
    for (const t of this.ibb.values()) t.writer.end(ts || this.ts);
    this.ibb.clear();
  }

  private stop(evidence: { signature: string; reason: string }, encrypted: boolean): void {
    if (encrypted) this.ctx.setEncrypted(evidence);
    else this.ctx.addEvidence(evidence);
    this.stopped = true;
    this.readers[0].stop();
    this.readers[1].stop();
    for (const t of this.ibb.values()) t.writer.end(this.ts);
    this.ibb.clear();
    this.ctx.stopInspecting();
  }

  private streamOpen(dir: Dir, a: Record<string, string>): void {
    // client → server: to = the service domain, from = the account (optional); server → client: from = domain
    const domain = dir === 0 ? a.to : a.from;
    if (domain && !this.domain) {
      this.domain = domain.slice(0, 253);
      this.ctx.setServerName(this.domain);
    }
    const user = dir === 0 ? a.from : a.to;
    if (user && user.includes('@')) {
      this.ctx.addUser(user);
      if (!this.jid) this.jid = user;
    }
  }

  private stanza(dir: Dir, el: XmlElement): void {
    if (this.stopped) return;
    // picked up mid-session: what the server delivers is addressed to our client
    if (dir === 1 && !this.jid && el.attrs.to?.includes('@')) this.jid = el.attrs.to.slice(0, 256);
    switch (el.local) {
      case 'open':
        // RFC 7395 (XMPP over WebSocket): <open/> is the stream header
        if (ns(el) === NS_FRAMING) this.streamOpen(dir, el.attrs);
        break;
      case 'message':
        this.message(dir, el);
        break;
      case 'iq':
        this.iq(dir, el);
        break;
      case 'presence':
        this.jids(el);
        break;
      case 'auth':
        if (dir === 0 && (ns(el) === NS_SASL || el.attrs.mechanism)) this.saslAuth(el);
        break;
      case 'response':
        if (dir === 0 && ns(el) === NS_SASL) this.saslResponse(el.text);
        break;
      case 'starttls':
        if (dir === 0) this.startTlsAsked = true;
        break;
      case 'proceed':
        if (dir === 1 && (this.startTlsAsked || ns(el) === NS_TLS)) this.stop({ signature: 'xmpp.starttls', reason: 'STARTTLS: server said <proceed/>, the rest is TLS' }, true);
        break;
      case 'compress':
        if (dir === 0) this.compressAsked = true;
        break;
      case 'compressed':
        if (dir === 1 && this.compressAsked) this.stop({ signature: 'xmpp.compressed', reason: 'stream compression (XEP-0138) negotiated: not decoded' }, false);
        break;
    }
  }

  private jids(el: XmlElement): void {
    for (const k of ['from', 'to']) {
      const j = el.attrs[k];
      if (j && j.includes('@')) this.ctx.addUser(j);
    }
  }

  // ---- messages --------------------------------------------------------------------------

  private message(dir: Dir, el: XmlElement): void {
    this.jids(el);
    // XEP-0280 carbons / XEP-0297 forwarded copies carry the real message inside
    const fwd = child(child(child(el, 'sent') ?? child(el, 'received'), 'forwarded'), 'message');
    if (fwd) {
      this.message(dir, fwd);
      return;
    }
    const data = child(el, 'data');
    if (data && ns(data) === NS_IBB) {
      this.ibbData(dir, data);
      return;
    }
    const type = el.attrs.type ?? 'normal';
    if (type === 'error') return;
    const body = el.children.find((c) => c.local === 'body' && !c.attrs['xml:lang']) ?? child(el, 'body');
    // chat states (<composing/>, <active/>), receipts, subjects: not chat text
    if (!body) return;
    const text = body.text.slice(0, MAX_TEXT);
    if (!text.trim()) return;
    const from = el.attrs.from ?? (dir === 0 ? this.jid || '?' : this.domain || '?');
    const to = el.attrs.to ?? (dir === 1 ? this.jid || '?' : '?');
    const kind = KINDS.has(type) ? type : 'normal';
    this.ctx.message(this.ts, dir, { from: ident(from), to: ident(to), text, kind });
  }

  // ---- iq: bind, legacy auth, SI offers, IBB -----------------------------------------------

  private iq(dir: Dir, el: XmlElement): void {
    this.jids(el);
    const type = el.attrs.type;
    const q = el.children[0];
    if (!q) return;
    if (q.local === 'bind' && type === 'result') {
      const jid = child(q, 'jid')?.text.trim();
      if (jid) {
        this.jid = jid.slice(0, 256);
        this.ctx.addUser(this.jid);
      }
      return;
    }
    if (q.local === 'query' && ns(q) === 'jabber:iq:auth' && type === 'set' && dir === 0) {
      const user = child(q, 'username')?.text.trim() ?? '?';
      if (child(q, 'password')) this.ctx.credential(this.ts, 0, { user: this.withDomain(user), mechanism: 'xmpp-iq-auth-plaintext' });
      if (user !== '?') this.ctx.addUser(this.withDomain(user));
      return;
    }
    if (q.local === 'si' && type === 'set' && (q.attrs.profile === NS_SI_FT || ns(q) === NS_SI)) {
      this.siOffer(dir, el, q);
      return;
    }
    if (q.local === 'query' && ns(q) === NS_S5B && type === 'set') {
      this.streamhosts(dir, el, q.attrs.sid ?? '', q.children.filter((c) => c.local === 'streamhost'), q.attrs.dstaddr);
      return;
    }
    if (q.local === 'jingle' && type === 'set' && q.attrs.action === 'session-initiate') {
      this.jingleOffer(dir, el, q);
      return;
    }
    if (ns(q) === NS_IBB && type === 'set') {
      if (q.local === 'open') this.ibbOpen(dir, el, q);
      else if (q.local === 'data') this.ibbData(dir, q);
      else if (q.local === 'close') this.ibbClose(q);
    }
  }

  private withDomain(user: string): string {
    const u = user.slice(0, 128);
    return u.includes('@') || !this.domain ? u : `${u}@${this.domain}`;
  }

  private siOffer(dir: Dir, iq: XmlElement, si: XmlElement): void {
    const file = child(si, 'file');
    const sid = si.attrs.id;
    if (!file || !sid || this.offers.size >= MAX_TRANSFERS) return;
    this.offer(dir, iq, sid, file.attrs.name ?? '', Number(file.attrs.size), `si/${sid.slice(0, 64)}`);
  }

  /** keeps a file offered in `iq` under `key` (for the transfer that follows) and reports it */
  private offer(dir: Dir, iq: XmlElement, key: string, name: string, size: number, id: string): Offer {
    const offer: Offer = {
      filename: safeName(name),
      from: this.party(iq.attrs.from, dir === 0),
      to: this.party(iq.attrs.to, dir === 1),
      ...(Number.isSafeInteger(size) && size >= 0 ? { size } : {}),
      transfer_id: `${this.ctx.flow.id}/${id}`,
    };
    this.offers.set(key, offer);
    this.ctx.fileTransfer(this.ts, dir, { from: offer.from, to: offer.to, filename: offer.filename, ...(offer.size !== undefined ? { size: offer.size } : {}), stage: 'offer', transfer_id: offer.transfer_id });
    return offer;
  }

  /** a transfer (in-band or SOCKS5) set up without an offer seen: named after its sid */
  private unoffered(dir: Dir, iq: XmlElement, kind: 'ibb' | 's5b', sid: string): Offer {
    return {
      filename: `${kind}-${safeName(sid)}`,
      from: this.party(iq.attrs.from, dir === 0),
      to: this.party(iq.attrs.to, dir === 1),
      transfer_id: `${this.ctx.flow.id}/${kind}/${sid.slice(0, 64)}`,
    };
  }

  /** one end of a transfer as an iq names it; unnamed: the client's bound JID on the client's side, else '?' */
  private party(jid: string | undefined, client: boolean): string {
    return (jid ?? (client ? this.jid || '?' : '?')).slice(0, 256);
  }

  /** XEP-0234 Jingle file transfer: the offered file, and the IBB sid when the transport is in-band */
  private jingleOffer(dir: Dir, iq: XmlElement, jingle: XmlElement): void {
    for (const content of jingle.children) {
      if (content.local !== 'content' || this.offers.size >= MAX_TRANSFERS) continue;
      const desc = child(content, 'description');
      if (!desc || !ns(desc).startsWith('urn:xmpp:jingle:apps:file-transfer:')) continue;
      const file = child(desc, 'file') ?? child(child(desc, 'offer'), 'file');
      if (!file) continue;
      const transport = child(content, 'transport');
      const sid = transport && ns(transport).startsWith('urn:xmpp:jingle:transports:ibb:') ? transport.attrs.sid : undefined;
      const size = Number(child(file, 'size')?.text.trim() ?? file.attrs.size);
      const key = sid ?? `jingle:${jingle.attrs.sid ?? ''}:${content.attrs.name ?? ''}`;
      const offer = this.offer(dir, iq, key, child(file, 'name')?.text.trim() ?? file.attrs.name ?? '', size, `jingle/${key.slice(0, 96)}`);
      if (transport && ns(transport).startsWith('urn:xmpp:jingle:transports:s5b:')) {
        this.offers.set(transport.attrs.sid ?? key, offer);
        this.streamhosts(dir, iq, transport.attrs.sid ?? key, transport.children.filter((c) => c.local === 'candidate'), transport.attrs.dstaddr);
      }
    }
  }

  /** XEP-0065 streamhosts / Jingle S5B candidates: the next connection to one of them carries the file */
  private streamhosts(dir: Dir, iq: XmlElement, sid: string, hosts: XmlElement[], dstaddr: string | undefined): void {
    const offer = this.offers.get(sid);
    const meta = offer ?? this.unoffered(dir, iq, 's5b', sid);
    // the connection asks the streamhost for SHA-1(sid, requester, target): our client's side of the
    // iq may be left out (the server stamps it), then its full JID from the bind stands in
    const own = this.jid.includes('/') ? this.jid : undefined;
    const verify = socks5To(streamHashes(sid, iq.attrs.from ?? (dir === 0 ? own : undefined), iq.attrs.to ?? (dir === 1 ? own : undefined), dstaddr));
    for (const h of hosts.slice(0, MAX_STREAMHOSTS)) {
      const ip = h.attrs.host ?? '';
      const port = Number(h.attrs.port ?? 1080);
      // (a host name, as Prosody's proxy65 gives it, is matched through the DNS answers the engine learned)
      if (!Number.isInteger(port) || port <= 0 || port > 65535) continue;
      this.ctx.expect(
        { transport: 'tcp', server: { ip, port }, reason: `XMPP SOCKS5 bytestream of ${meta.filename} (sid ${clip(sid, 40)})`, verify, key: sid },
        (sctx) => new S5bDecoder(sctx, meta),
      );
    }
  }

  private ibbOpen(dir: Dir, iq: XmlElement, open: XmlElement): void {
    const sid = open.attrs.sid;
    if (!sid || this.ibb.has(sid) || this.ibb.size >= MAX_TRANSFERS) return;
    const o = this.offers.get(sid);
    const meta = o ?? this.unoffered(dir, iq, 'ibb', sid);
    const writer = this.ctx.openFile(this.ts, dir, meta);
    this.ibb.set(sid, { writer, dir, nextSeq: 0, blockSize: clamp(Number(open.attrs['block-size']), 1, 65535, 4096), size: o?.size, written: 0 });
  }

  private ibbData(dir: Dir, data: XmlElement): void {
    const t = this.ibb.get(data.attrs.sid ?? '');
    if (!t || t.dir !== dir) return;
    const seq = Number(data.attrs.seq);
    if (!Number.isInteger(seq) || seq < 0 || seq > 65535) {
      this.ctx.malformed('IBB data without a valid seq');
      return;
    }
    const ahead = (seq - t.nextSeq + 65536) % 65536;
    if (ahead > 32768) return; // a repeat of a block already written
    if (ahead > 0) t.writer.gap(ahead * t.blockSize); // blocks missing: the file is incomplete
    const b64 = data.text.replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) {
      this.ctx.malformed('IBB data is not base64');
      t.writer.gap(t.blockSize);
    } else {
      const bytes = Buffer.from(b64, 'base64');
      t.writer.write(bytes, this.ts);
      t.written += bytes.length;
    }
    t.nextSeq = (seq + 1) % 65536;
  }

  private ibbClose(close: XmlElement): void {
    const sid = close.attrs.sid ?? '';
    const t = this.ibb.get(sid);
    if (!t) return;
    this.ibb.delete(sid);
    // <close/> ends the bytestream: complete when the offered size (if any) arrived
    t.writer.end(this.ts, t.size === undefined ? true : t.written >= t.size);
  }

  // ---- credentials -----------------------------------------------------------------------

  private saslAuth(el: XmlElement): void {
    const mech = (el.attrs.mechanism ?? '').toUpperCase();
    this.saslPending = '';
    if (mech !== 'PLAIN' && mech !== 'X-OAUTH2' && mech !== 'X-GOOGLE-TOKEN') return;
    const b64 = el.text.replace(/\s+/g, '');
    // an empty initial response ('=' or nothing): the payload follows in the next <response/>
    if (b64 === '' || b64 === '=') {
      this.saslPending = mech;
      return;
    }
    this.saslPlain(mech, b64);
  }

  private saslResponse(text: string): void {
    const mech = this.saslPending;
    this.saslPending = '';
    if (mech) this.saslPlain(mech, text.replace(/\s+/g, ''));
    else this.digestUser(text);
  }

  private saslPlain(mech: string, b64: string): void {
    const parts = /^[A-Za-z0-9+/]*={0,2}$/.test(b64) ? Buffer.from(b64, 'base64').toString('utf8').split('\0') : [];
    if (parts.length !== 3) {
      this.ctx.malformed('SASL PLAIN payload not decodable');
      return;
    }
    const user = this.withDomain(parts[1] || parts[0]);
    this.ctx.addUser(user);
    // the account signed in: what this client sends before (or without) a bind result is from it
    if (!this.jid && user.includes('@')) this.jid = user;
    this.ctx.credential(this.ts, 0, { user, mechanism: mech === 'PLAIN' ? 'sasl-plain' : `sasl-${mech.toLowerCase()}` });
  }

  /** DIGEST-MD5 is not a cleartext password, but its response names the account */
  private digestUser(b64: string): void {
    const t = b64.replace(/\s+/g, '');
    if (!t || !/^[A-Za-z0-9+/]*={0,2}$/.test(t)) return;
    const m = /(?:^|,)username="([^"]{1,128})"/.exec(Buffer.from(t, 'base64').toString('utf8'));
    if (!m) return;
    const user = this.withDomain(m[1]);
    this.ctx.addUser(user);
    if (!this.jid && user.includes('@')) this.jid = user;
  }
}

/** JIDs come from the wire: no control characters, bounded */
function ident(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f]/g, '').slice(0, 256) || '?';
}

function clamp(v: number, lo: number, hi: number, dflt: number): number {
  return Number.isFinite(v) && v > 0 ? Math.max(lo, Math.min(hi, Math.floor(v))) : dflt;
}

function safeName(name: string): string {
  // eslint-disable-next-line no-control-regex
  const base = name.replace(/[\u0000-\u001f\u007f]/g, '').split(/[\\/]/).pop() ?? '';
  return base.slice(0, 255) || 'unnamed';
}
