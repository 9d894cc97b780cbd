// Decoder for one OSCAR connection (BOS, login or any service), both directions.
// dir 0 = client → server. What it reports: screen names, ICBM messages (channel 1 HTML text, ICQ
// channel 4 and type-2 server-relay messages), Send File proposals (offer + the direct/proxied
// connection to expect), Direct IM proposals (the ODC2 connection to expect), cleartext (roasted)
// password sign-ons, ICQ offline messages, chat rooms (family 0x000E, chat.ts) and the chat-server
// connection a BOS redirect announces. Also runs inside an HTTP CONNECT tunnel.
import type { Dir } from '../../sensor/types';
import type { SessionContext, StreamDecoder } from '../types';
import { UNKNOWN_ID } from '../types';
import { FlapReader } from './flap';
import {
  CAP_DIRECT_IM, CAP_ICQ_SERVER_RELAY, CAP_SEND_FILE, MAX_TEXT, parseServerRelay, htmlToText, ipv4, parseCh4, parseFileInfo, parseIcbm, parseIcqOffline,
  icqMetaOwner, parseMessageBlock, parseRendezvous, parseRoomRef, parseSnac, parseTlvs, readBuddyName, roomNameFromCookie, tlv, type Icbm,
} from './parser';
import { OftDecoder } from './oft';
import { flapOpeningFor, peerOpeningFor } from './rendezvous';
import { OdcDecoder } from './odc';
import { ChatRoom } from './chat';
import { ByteQueue } from '../text';

/** shown as from/to when our own screen name never appeared on this connection */
const MAX_OFFERS = 32;
/** an ICQ UIN: AIM screen names cannot start with a digit */
const UIN = /^[0-9]{5,10}$/;
const DEFAULT_PROXY_PORT = 5190;
/** chat-room service requests remembered until their redirect (by SNAC request id) */
const MAX_CHAT_REQUESTS = 16;

/** what the BOS connection knew of a chat-server connection it was redirected to */
export interface ChatPreset {
  room: string;
  self?: string;
}

interface Offer {
  from: string;
  to: string;
  filename?: string;
  size?: number;
  announced: boolean;
}

export class OscarSession implements StreamDecoder {
  private readers: [FlapReader, FlapReader];
  private self: string | undefined;
  private offers = new Map<string, Offer>();
  private credentialSent = false;
  private icq = false;
  private ts = 0;
  /** created by the first family-0x000E SNAC: this is a chat-server connection */
  private chat: ChatRoom | undefined;
  /** 0x0001/0x0004 requests for family 0x000E: request id → the room asked for */
  private chatRequests = new Map<number, string>();

  private tunnel: HttpTunnel | undefined;

  /** `viaConnect`: the flow is an HTTP CONNECT tunnel; the proxy's header lines come first */
  /** `chat`: the connection a BOS redirect for a chat room announced (room, and our name when known) */
  constructor(private readonly ctx: SessionContext, viaConnect = false, chat?: ChatPreset) {
    const bad = (r: string) => ctx.malformed(r);
    if (chat) {
      if (chat.self) this.setSelf(chat.self);
      this.chatRoom(chat.room);
    }
    if (viaConnect) this.tunnel = new HttpTunnel(ctx);
    // picked up mid-connection: the stream may start inside a PDU, so the first header is looked for
    // (and checked against the one after it) rather than read at byte 0
    const mid = !viaConnect && ctx.flow.clientBy !== 'syn';
    this.readers = [
      new FlapReader((ch, _seq, p) => this.pdu(0, ch, p), bad, mid),
      new FlapReader((ch, _seq, p) => this.pdu(1, ch, p), bad, mid),
    ];
  }

  onData(dir: Dir, data: Buffer, ts: number): void {
    this.ts = ts;
    if (this.tunnel) {
      const rest = this.tunnel.strip(dir, data);
      if (!rest || !rest.length) return;
      data = rest;
    }
    this.readers[dir].push(data);
  }

  onGap(dir: Dir): void {
    this.readers[dir].gap();
  }

  onEnd(): void {
    this.chat?.flush();
  }

  // ---- PDUs -------------------------------------------------------------------------------

  private pdu(dir: Dir, channel: number, p: Buffer): void {
    if (channel === 1) this.signon(dir, p);
    else if (channel === 2) this.snac(dir, p);
  }

  /** FLAP channel 1: version u32 (1), then TLVs (screen name, roasted password, cookie, …) */
  private signon(dir: Dir, p: Buffer): void {
    if (p.length < 4) return this.ctx.malformed('FLAP sign-on shorter than its version field');
    if (p.length === 4 || dir !== 0) return;
    const t = parseTlvs(p, 4);
    if (!t.ok) this.ctx.malformed('FLAP sign-on: TLV length past the end');
    this.login(dir, t.tlvs, 'flap');
  }

  /** sign-on TLVs (FLAP channel 1 or BUCP 0x0017/0x0002): user name and password kind */
  private login(dir: Dir, tlvs: ReturnType<typeof parseTlvs>['tlvs'], how: string): void {
    const sn = tlv(tlvs, 0x0001);
    const name = sn && sn.length ? sn.toString('latin1') : undefined;
    if (name) this.setSelf(name);
    if (tlv(tlvs, 0x0002) && !this.credentialSent) {
      // roasted password: XOR with a fixed table, i.e. cleartext-equivalent. The value never leaves here.
      this.credentialSent = true;
      this.ctx.credential(this.ts, dir, { user: this.self ?? name ?? UNKNOWN_ID, mechanism: 'oscar-roasted-password' });
      this.ctx.addEvidence({ signature: 'oscar.roasted-password', reason: `${how} sign-on with a roasted (reversible) password` });
    }
  }

  private snac(dir: Dir, p: Buffer): void {
    const s = parseSnac(p);
    if (!s) return this.ctx.malformed('SNAC shorter than its header');
    if (s.family === 0x0015) this.icqFamily(s.body);
    if (s.family === 0x000e) {
      // 0x0002–0x0006 exist only on a chat-server connection (0x0001 is an error, 7/8 warnings)
      if (s.subtype >= 2 && s.subtype <= 6) this.chatRoom().snac(dir, s.subtype, s.body, this.ts);
      return;
    }
    const key = (s.family << 16) | s.subtype;
    switch (key) {
      case 0x00170002: // BUCP login request
      case 0x00170006: { // BUCP auth key request
        if (dir !== 0) return;
        const t = parseTlvs(s.body);
        if (!t.ok) this.ctx.malformed('BUCP: TLV length past the end');
        if (key === 0x00170006) {
          const sn = tlv(t.tlvs, 0x0001);
          if (sn && sn.length) this.setSelf(sn.toString('latin1'));
        } else this.login(dir, t.tlvs, 'BUCP');
        return;
      }
      case 0x00170003: { // BUCP login reply: screen name echoed
        const sn = tlv(parseTlvs(s.body).tlvs, 0x0001);
        if (sn && sn.length) this.setSelf(sn.toString('latin1'));
        return;
      }
      case 0x00010004: // service request: for a chat room (aim_chat_join), TLV 1 names the room
        if (dir === 0) this.chatRequest(s.reqId, s.body);
        return;
      case 0x00010005: // redirect to the service's server (libpurple family_oservice.c redirect)
        if (dir === 1) this.redirect(s.reqId, s.body);
        return;
      case 0x0001000f: { // own online info
        if (dir !== 1) return;
        const bn = readBuddyName(s.body, 0);
        if (bn) this.setSelf(bn.name);
        return;
      }
      case 0x00040006:
      case 0x00040007: {
        const incoming = s.subtype === 7;
        const m = parseIcbm(s.body, incoming);
        if (!m) return this.ctx.malformed('ICBM: truncated header');
        this.user(m.name);
        // AIM screen names start with a letter; a UIN peer on a connection whose own name was never
        // seen (picked up mid-session) is an ICQ client's
        if (this.self === undefined && UIN.test(m.name)) this.markIcq(`ICBM peer named by a UIN (${m.name}) on a session picked up after sign-on`);
        this.icbm(dir, m, incoming);
        return;
      }
      case 0x00040014: { // typing notification: a name, never a message
        const bn = readBuddyName(s.body, 10);
        if (bn) this.user(bn.name);
        return;
      }
      case 0x00150003: // ICQ meta reply: offline messages
        this.icqMeta(dir, s.body);
        return;
      default:
        return;
    }
  }

  private icbm(dir: Dir, m: Icbm, incoming: boolean): void {
    const me = this.self ?? UNKNOWN_ID;
    const from = incoming ? m.name : me;
    const to = incoming ? me : m.name;
    if (m.channel === 1) {
      const block = tlv(m.tlvs, 0x0002);
      if (!block) return;
      const d = parseMessageBlock(block);
      if (!d) return this.ctx.malformed('ICBM: message block without a text fragment');
      if (d.invalid) this.ctx.malformed('ICBM: text not valid in its character set');
      const text = htmlToText(d.text);
      if (!text) return;
      const kind = tlv(m.tlvs, 0x0004) ? 'auto-response' : tlv(m.tlvs, 0x0006) ? 'offline' : 'chat';
      this.ctx.message(this.ts, dir, { from, to, text, kind });
    } else if (m.channel === 2) {
      const v = tlv(m.tlvs, 0x0005);
      if (v) this.rendezvous(dir, v, from, to);
    } else if (m.channel === 4) {
      const v = tlv(m.tlvs, 0x0005);
      if (!v) return;
      const c = parseCh4(v);
      if (!c) return this.ctx.malformed('ICBM channel 4: message length past the end');
      this.markIcq(`ICQ message on ICBM channel 4 (UIN ${c.uin})`);
      // the UIN in TLV 5 is the sender's
      if (incoming) this.user(c.uin);
      if (c.text && (c.type === 1 || c.type === 4)) {
        this.ctx.message(this.ts, dir, { from: incoming ? c.uin : me, to, text: c.text, kind: c.type === 4 ? 'url' : 'chat' });
      }
    }
  }

  private rendezvous(dir: Dir, v: Buffer, from: string, to: string): void {
    const r = parseRendezvous(v);
    if (!r) return this.ctx.malformed('rendezvous block shorter than its header');
    if (r.msgType === 0 && r.cap.equals(CAP_ICQ_SERVER_RELAY)) return this.serverRelay(dir, r.tlvs, from, to);
    if (r.msgType !== 0) return;
    if (r.cap.equals(CAP_DIRECT_IM)) {
      // Direct IM proposal (family_icbm.c aim_im_sendch2_odc_requestdirect / _requestproxy): no offer
      // event, only the connection to expect; the ODC2 frames on it carry the messages
      const meta = { from, to, cookie: r.cookie.toString('hex') };
      this.expectPeer(r.tlvs, 'Direct IM', meta.cookie, (ctx) => new OdcDecoder(ctx, meta));
      return;
    }
    if (!r.cap.equals(CAP_SEND_FILE)) return;
    const id = r.cookie.toString('hex');
    let offer = this.offers.get(id);
    const info = tlv(r.tlvs, 0x2711);
    const fi = info ? parseFileInfo(info) : null;
    if (!offer) {
      if (this.offers.size >= MAX_OFFERS) this.offers.delete(this.offers.keys().next().value as string);
      offer = { from, to, announced: false };
      this.offers.set(id, offer);
    }
    if (fi) {
      offer.filename = fi.filename;
      offer.size = fi.size;
    }
    if (!offer.announced && offer.filename) {
      offer.announced = true;
      this.ctx.fileTransfer(this.ts, dir, {
        from: offer.from, to: offer.to, filename: offer.filename, size: offer.size, stage: 'offer', transfer_id: id,
      });
    }
    const meta = { from: offer.from, to: offer.to, filename: offer.filename, size: offer.size, transfer_id: id };
    this.expectPeer(r.tlvs, 'file transfer', id, (ctx) => new OftDecoder(ctx, meta));
  }

  /**
   * Where the peer connection of a proposal will go: the proposer's addresses (TLVs 0x0002/0x0003/0x0004)
   * on its port (TLV 0x0005), or with TLV 0x0010 the AOL rendezvous proxy named by those addresses,
   * always on 5190 (peer.c peer_connection_trynext connects to proxyip:PEER_PROXY_PORT; TLV 0x0005 is
   * then the proxy session's pin, not a port).
   */
  private expectPeer(tlvs: ReturnType<typeof parseTlvs>['tlvs'], what: string, cookie: string, decoder: (ctx: SessionContext) => StreamDecoder): void {
    const portV = tlv(tlvs, 0x0005);
    const proxied = !!tlv(tlvs, 0x0010);
    const port = proxied ? DEFAULT_PROXY_PORT : portV && portV.length === 2 ? portV.readUInt16BE(0) : 0;
    if (!port) return;
    const ips = new Set<string>();
    for (const t of [0x0002, 0x0003, 0x0004]) {
      const ip = ipv4(tlv(tlvs, t));
      if (ip) ips.add(ip);
    }
    const verify = peerOpeningFor(cookie);
    for (const ip of ips) {
      this.ctx.expect(
        { transport: 'tcp', server: { ip, port }, ttlMicros: 600_000_000, reason: `OSCAR ${proxied ? 'proxied ' : ''}${what} announced on ${this.ctx.flow.id}`, verify, key: cookie },
        decoder,
      );
    }
  }

  private serverRelay(dir: Dir, tlvs: ReturnType<typeof parseTlvs>['tlvs'], from: string, to: string): void {
    const v = tlv(tlvs, 0x2711);
    if (!v) return;
    const m = parseServerRelay(v);
    if (!m) return this.ctx.malformed('ICQ server-relay message: length past the end');
    this.markIcq('ICQ type-2 (server relay) message');
    if (m.text && (m.type === 1 || m.type === 4)) this.ctx.message(this.ts, dir, { from, to, text: m.text, kind: m.type === 4 ? 'url' : 'chat' });
  }

  /** SNAC family 0x0015 exists only on ICQ accounts; its TLV 1 names the account's own UIN */
  private icqFamily(body: Buffer): void {
    const owner = icqMetaOwner(tlv(parseTlvs(body).tlvs, 0x0001));
    if (owner && this.self === undefined) this.setSelf(owner);
    this.markIcq(`ICQ SNAC family 0x0015${owner ? ` (UIN ${owner})` : ''}`);
  }

  private icqMeta(dir: Dir, body: Buffer): void {
    if (dir !== 1) return;
    const v = tlv(parseTlvs(body).tlvs, 0x0001);
    if (!v) return;
    const m = parseIcqOffline(v);
    if (!m) return;
    this.markIcq(`ICQ offline message for UIN ${m.to}`);
    this.setSelf(m.to);
    this.user(m.from);
    if (m.text && (m.type === 1 || m.type === 4)) this.ctx.message(this.ts, dir, { from: m.from, to: m.to, text: m.text, kind: 'offline' });
  }

  private chatRoom(room?: string): ChatRoom {
    this.chat ??= new ChatRoom(this.ctx, {
      self: () => this.self,
      setSelf: (n) => this.setSelf(n),
      user: (n) => this.user(n),
      unknownSelf: UNKNOWN_ID,
    }, room);
    return this.chat;
  }

  /** 0x0001/0x0004 body: family u16, TLVs; for 0x000E TLV 1 = exchange, cookie, instance */
  private chatRequest(reqId: number, body: Buffer): void {
    if (body.length < 2 || body.readUInt16BE(0) !== 0x000e) return;
    const v = tlv(parseTlvs(body, 2).tlvs, 0x0001);
    const r = v && parseRoomRef(v);
    if (!r) return this.ctx.malformed('chat service request: room TLV missing or short');
    if (this.chatRequests.size >= MAX_CHAT_REQUESTS) this.chatRequests.delete(this.chatRequests.keys().next().value as number);
    this.chatRequests.set(reqId, roomNameFromCookie(r.cookie) ?? r.cookie);
  }

  /**
   * 0x0001/0x0005: TLV 0x000D family, 0x0005 server (`ip[:port]`), 0x0006 cookie. The room is not in it:
   * libpurple finds it by the request id of its own 0x0001/0x0004 (aim_remsnac), and so do we; the
   * chat-server connection that follows is then decoded with the room and our name.
   */
  private redirect(reqId: number, body: Buffer): void {
    const t = parseTlvs(body).tlvs;
    const fam = tlv(t, 0x000d);
    if (!fam || fam.length !== 2 || fam.readUInt16BE(0) !== 0x000e) return;
    const room = this.chatRequests.get(reqId);
    if (room === undefined) return;
    this.chatRequests.delete(reqId);
    const host = tlv(t, 0x0005)?.toString('latin1') ?? '';
    const m = /^(\d{1,3}(?:\.\d{1,3}){3})(?::(\d{1,5}))?$/.exec(host);
    const port = m ? Number(m[2] ?? DEFAULT_PROXY_PORT) : 0;
    if (!m || port < 1 || port > 65535 || m[1].split('.').some((x) => Number(x) > 255)) return;
    const preset: ChatPreset = { room, self: this.self };
    const cookie = tlv(t, 0x0006);
    const verify = flapOpeningFor(cookie && Buffer.from(cookie)); // (a copy: the body is a view of the stream's buffer)
    // from this client only: a chat server hosts many rooms, and another host's connection to it is
    // another user in another room
    this.ctx.expect(
      { transport: 'tcp', server: { ip: m[1], port }, client: { ip: this.ctx.flow.client.ip }, ttlMicros: 600_000_000, reason: `OSCAR redirect to the chat room "${room}" on ${this.ctx.flow.id}`, verify, key: `chat:${room}` },
      (ctx) => new OscarSession(ctx, false, preset),
    );
  }

  // ---- identities -------------------------------------------------------------------------

  private setSelf(name: string): void {
    const n = name.replace(/[\u0000-\u001f\u007f]/g, '').slice(0, 97);
    if (!n) return;
    this.self = n;
    this.user(n);
    if (UIN.test(n)) this.markIcq(`numeric screen name (UIN) ${n} signed on`);
  }

  private user(name: string): void {
    if (name && name.length <= MAX_TEXT) this.ctx.addUser(name);
  }

  private markIcq(reason: string): void {
    if (this.icq) return;
    this.icq = true;
    this.ctx.setProtocol('icq', { signature: 'oscar.icq', reason });
  }
}

const MAX_HTTP_HEADER = 8192;
const CRLFCRLF = Buffer.from('\r\n\r\n');

/** Skips the CONNECT request / proxy answer header in each direction; notices TLS inside the tunnel. */
class HttpTunnel {
  private done: [boolean, boolean] = [false, false];
  private seen = [0, 0];
  /** the last 3 bytes of the header so far: the start of a CRLFCRLF cut by a segment boundary */
  private tail: [ByteQueue, ByteQueue] = [new ByteQueue(), new ByteQueue()];
  private tls = false;

  constructor(private readonly ctx: SessionContext) {}

  /** the tunneled bytes of this chunk (undefined while still in the header or once TLS was seen) */
  strip(dir: Dir, data: Buffer): Buffer | undefined {
    if (this.tls) return undefined;
    let body: Buffer;
    if (this.done[dir]) body = data;
    else {
      const t = this.tail[dir];
      const held = t.length;
      const joined = t.feed(data);
      const i = joined.indexOf(CRLFCRLF);
      if (i < 0) {
        this.seen[dir] += data.length;
        t.keepFrom(joined, Math.max(0, joined.length - 3));
        if (this.seen[dir] > MAX_HTTP_HEADER) {
          this.ctx.malformed('HTTP CONNECT header longer than 8 KiB');
          this.ctx.stopInspecting();
        }
        return undefined;
      }
      this.done[dir] = true;
      t.keepFrom(joined, joined.length);
      // at most 3 bytes were held: the body starts inside `data`
      body = data.subarray(i + 4 - held);
      if (!body.length) return undefined;
    }
    if (this.seen[dir] >= 0 && body.length) {
      this.seen[dir] = -1; // first tunneled byte of this direction
      if (body[0] === 0x16) {
        this.tls = true;
        this.ctx.setEncrypted({ signature: 'oscar.connect-tls', reason: 'TLS inside the HTTP CONNECT tunnel' });
        this.ctx.stopInspecting();
        return undefined;
      }
    }
    return body;
  }
}
