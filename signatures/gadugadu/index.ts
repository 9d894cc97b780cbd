// Gadu-Gadu: the server greets with GG_WELCOME { seed }, the client answers with a GG_LOGIN* packet
// whose length fits its type. Both are required (one 12-byte greeting alone is too weak). Messages
// come from GG_SEND_MSG/GG_RECV_MSG (CP1250) and GG_SEND_MSG80/GG_RECV_MSG80 (plain part).
// GG 10.5/11 packets have protobuf bodies (proto110.ts): GG_LOGIN105 gives the UIN, GG_SEND_MSG110,
// GG_RECV_MSG110, GG_RECV_OWN_MSG110 and the conference GG_CHAT_* packets give messages.
// Login packets carry password hashes, not cleartext passwords: no credential event.
// A session picked up after its login (a capture or a sensor started while clients were connected:
// GG connections last for hours) is recognised from a message packet whose body is well formed, in
// the direction that packet type travels, in a stream that frames as GG from its first byte.
import type { Dir } from '../../sensor/types';
import { declineOnThrow, type DetectInput, type DetectResult, type SessionContext, type SignatureModule, type StreamDecoder } from '../types';
import {
  GG_LOGIN105, GG_RECV_MSG, GG_RECV_MSG80, GG_RECV_OWN_MSG, GG_SEND_MSG, GG_SEND_MSG80, LOGIN_MIN, PacketFramer, isLoginHeader, isWelcome, loginUin, msg80, oldMessage, type GgPacket,
} from './parser';
import {
  GG_CHAT_RECV_MSG, GG_CHAT_RECV_OWN_MSG, GG_CHAT_SEND_MSG, GG_LOGIN110_OK, GG_RECV_MSG110, GG_RECV_OWN_MSG110, GG_SEND_MSG110, login105Uin, login110OkUin, msg110, pbFields,
} from './proto110';
import { htmlToText } from '../text';

const MAX_TEXT = 8192;

// packets of a logged-in session, by the direction they travel in (libgadu protocol.h): the body
// length each must have (-1: any), so that framing alone is already a fair test
const AFTER_LOGIN: [Record<number, number>, Record<number, number>] = [
  // client → server: PING, NEW_STATUS80, SEND_MSG, SEND_MSG80, RECV_MSG_ACK, TYPING_NOTIFY, NOTIFY*, LIST_EMPTY, SEND_MSG110, ACK110
  { 0x08: 0, 0x38: -1, [GG_SEND_MSG]: -1, [GG_SEND_MSG80]: -1, 0x46: 4, 0x59: 6, 0x0f: -1, 0x10: -1, 0x12: 0, [GG_SEND_MSG110]: -1, 0x86: -1 },
  // server → client: PONG, SEND_MSG_ACK, RECV_MSG, RECV_MSG80, RECV_OWN_MSG, STATUS80, NOTIFY_REPLY80, TYPING_NOTIFY, XML_EVENT, RECV_MSG110, RECV_OWN_MSG110, SEND_MSG_ACK110
  { 0x07: 0, 0x05: 12, [GG_RECV_MSG]: -1, [GG_RECV_MSG80]: -1, [GG_RECV_OWN_MSG]: -1, 0x36: -1, 0x37: -1, 0x59: 6, 0x27: -1, [GG_RECV_MSG110]: -1, [GG_RECV_OWN_MSG110]: -1, 0x87: -1 },
];
const MID_MAX_BODY = 16384;

// After a loss, a segment of whole packets resumes reading when every packet in it is one a logged-in
// session sends that way (Wireshark's packet-gadu-gadu.c recv/send lists, and the GG 10/11 packets
// read here): the message packets above, status, contact-list, typing, DCC7, XML, multilogon and
// conference packets — never a welcome or login, which would name the account. Fixed lengths as above.
const RESYNC_TYPES: [Set<number>, Set<number>] = [
  // … and libgadu 1.12's GG 10/11 packets: conferences (create, leave, invite), new status, notify, messages, acks
  new Set([0x02, 0x07, 0x08, 0x0b, 0x0d, 0x0e, 0x0f, 0x10, 0x12, 0x14, 0x16, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x28, 0x2d, 0x2f, 0x38, 0x40, 0x46, 0x47, 0x52, 0x59, 0x62, 0x63, 0x77, 0x78, 0x79, 0x7b, 0x7c, 0x7d, 0x86, 0x8d, 0x90, 0xa1]),
  // … and conference created, invite ack, left, info and its update, IM token, access info, options, transfer info, pong (not GG_UIN_INFO: it names the account)
  new Set([0x02, 0x05, 0x07, 0x08, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x17, 0x18, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x25, 0x27, 0x2a, 0x2b, 0x2c, 0x2e, 0x30, 0x36, 0x37, 0x41, 0x44, 0x45, 0x47, 0x59, 0x5a, 0x5b, 0x5c, 0x66, 0x7e, 0x82, 0x84, 0x87, 0x88, 0x8c, 0x8e, 0x8f, 0x93, 0x9b, 0x9e, 0xa0, 0xa1]),
];

/**
 * A direction picked up after the login: every packet from its first byte has a type and length a
 * logged-in session sends that way, and one of them is a message that reads as one (GG 8.0: offsets
 * inside the body, a message class, text; GG 11: a protobuf message with text). `more` while
 * consistent but undecided, the message found, or null.
 */
function afterLogin(buf: Buffer, dir: Dir): 'more' | string | null {
  const allowed = AFTER_LOGIN[dir];
  let o = 0;
  for (let n = 0; n < 32 && buf.length - o >= 8; n++) {
    const type = buf.readUInt32LE(o);
    const len = buf.readUInt32LE(o + 4);
    const want = allowed[type];
    if (want === undefined || (want >= 0 && len !== want) || len > MID_MAX_BODY) return null;
    if (buf.length - o - 8 < len) return 'more';
    const p: GgPacket = { type, body: buf.subarray(o + 8, o + 8 + len) };
    const found = readsAsMessage(p, dir);
    if (found) return found;
    o += 8 + len;
  }
  return 'more';
}

function readsAsMessage(p: GgPacket, dir: Dir): string | undefined {
  if (P110[p.type] === dir) {
    const m = msg110(p.body, dir === 1);
    return m && !m.image && (m.plain.trim() || m.xhtml?.trim()) ? `GG 11 message packet 0x${p.type.toString(16)}` : undefined;
  }
  if (p.type !== GG_SEND_MSG80 && p.type !== GG_RECV_MSG80 && p.type !== GG_RECV_OWN_MSG) return undefined;
  const fixed = p.type === GG_SEND_MSG80 ? 20 : 24;
  const b = p.body;
  if (b.length < fixed + 1) return undefined;
  const msgClass = b.readUInt32LE(fixed - 12);
  const offPlain = b.readUInt32LE(fixed - 8);
  const offAttr = b.readUInt32LE(fixed - 4);
  // the class is a few flag bits; the HTML part runs from the fixed header to offset_plain, NUL-ended,
  // the plain part to offset_attributes, NUL-ended
  if (msgClass === 0 || msgClass > 0xff || offPlain <= fixed || offPlain > offAttr || offAttr > b.length || b[offPlain - 1] !== 0) return undefined;
  if (offAttr > offPlain && b[offAttr - 1] !== 0) return undefined;
  const m = msg80(p);
  return m && m.text.trim() ? `GG 8.0 message packet 0x${p.type.toString(16)} (class 0x${msgClass.toString(16)})` : undefined;
}

function detect(input: DetectInput): DetectResult {
  if (input.transport !== 'tcp') return null;
  if (input.flow.clientBy !== 'syn') {
    const srvFirst = input.dir === 1 ? input.data : input.other;
    const cliFirst = input.dir === 1 ? input.other : input.data;
    // the start seen — a welcome, or a login ahead of it (a tap's two ports can deliver them out of
    // order) — decides as below; else a session after its login
    const startSeen = (srvFirst.length >= 4 && srvFirst.readUInt32LE(0) === 1) || (srvFirst.length === 0 && isLoginHeader(cliFirst));
    if (!startSeen) {
      const mine = afterLogin(input.data, input.dir);
      if (mine === null) return null;
      const theirs = input.other.length ? afterLogin(input.other, input.dir === 1 ? 0 : 1) : 'more';
      if (theirs === null) return null;
      const found = mine !== 'more' ? mine : theirs !== 'more' ? theirs : undefined;
      if (!found) return 'more';
      return { protocol: 'gadugadu', evidence: { signature: 'gadugadu.after-login', reason: `picked up after the login: the stream frames as a logged-in GG session, with a ${found}` } };
    }
  }
  // (no array destructuring: it runs on the first bytes of every TCP flow)
  const srv = input.dir === 1 ? input.data : input.other;
  const cli = input.dir === 1 ? input.other : input.data;
  if (srv.length >= 12 && !isWelcome(srv)) return null;
  if (srv.length > 0 && srv.length < 12 && !(srv.length >= 4 ? srv.readUInt32LE(0) === 1 : true)) return null;
  if (cli.length >= 8 && !isLoginHeader(cli)) return null;
  if (isWelcome(srv) && isLoginHeader(cli)) {
    return { protocol: 'gadugadu', evidence: { signature: 'gadugadu.login', reason: `GG_WELCOME from the server, then login packet type 0x${cli.readUInt32LE(0).toString(16)} from the client` } };
  }
  // the server speaks first: a client that starts with something else is not GG
  if (srv.length === 0 && cli.length > 0 && !isLoginHeader(cli)) return null;
  return 'more';
}

class GgDecoder implements StreamDecoder {
  private framers: [PacketFramer, PacketFramer];
  private ts = 0;
  private uin = '';

  constructor(private readonly ctx: SessionContext) {
    const max = Math.max(1024, Math.min(Number(ctx.data.max_packet) || 65536, 1 << 20));
    // after a loss, a segment of whole packets a logged-in session sends that way resumes reading
    const starts = (d: Dir) => (type: number, len: number) => {
      const want = AFTER_LOGIN[d][type];
      return RESYNC_TYPES[d].has(type) && (want === undefined || want < 0 || len === want);
    };
    this.framers = [0, 1].map((d) => new PacketFramer((p) => this.packet(d as Dir, p), (r) => ctx.malformed(r), max, starts(d as Dir))) as [PacketFramer, PacketFramer];
  }

  onData(dir: Dir, data: Buffer, ts: number): void {
    this.ts = ts;
    this.framers[dir].push(data);
  }

  onGap(dir: Dir): void {
    this.framers[dir].gap();
    this.ctx.malformed('gap in a Gadu-Gadu stream: that direction is read again from the next segment that starts a packet');
  }

  private packet(dir: Dir, p: GgPacket): void {
    // after a loss the stream may be read out of step for a while: nothing there names the account
    if (this.framers[dir].resynced && (dir === 0 ? LOGIN_MIN[p.type] !== undefined : p.type === GG_LOGIN110_OK)) return;
    if (dir === 0 && LOGIN_MIN[p.type] !== undefined) {
      if (p.body.length < LOGIN_MIN[p.type]) return this.ctx.malformed('short login packet');
      if (p.type === GG_LOGIN105) {
        if (!pbFields(p.body)) return this.ctx.malformed('GG_LOGIN105 body is not a protobuf message');
        const uin = login105Uin(p.body);
        if (uin) this.setUin(uin);
        return;
      }
      const uin = loginUin(p);
      if (uin) this.setUin(String(uin));
      return;
    }
    // GG110LoginOK.uin: the server names the account (a login by e-mail address carries no UIN)
    if (dir === 1 && p.type === GG_LOGIN110_OK) {
      const uin = login110OkUin(p.body);
      if (uin && !this.uin) this.setUin(uin);
      return;
    }
    if (P110[p.type] === dir) return this.packet110(dir, p);
    let m;
    if (dir === 0 && p.type === GG_SEND_MSG) m = oldMessage(p);
    else if (dir === 1 && p.type === GG_RECV_MSG) m = oldMessage(p);
    else if (dir === 0 && p.type === GG_SEND_MSG80) m = msg80(p);
    else if (dir === 1 && p.type === GG_RECV_MSG80) m = msg80(p);
    else if (dir === 1 && p.type === GG_RECV_OWN_MSG) m = msg80(p);
    else return;
    if (!m) return this.ctx.malformed(`short message packet 0x${p.type.toString(16)}`);
    const peer = String(m.peer);
    this.ctx.addUser(peer);
    const text = m.text.slice(0, MAX_TEXT);
    if (!text.trim()) return;
    const me = this.uin || '?';
    // our own message echoed from another session of the account travels server → client but is outgoing
    const own = p.type === GG_RECV_OWN_MSG;
    const [from, to] = dir === 0 || own ? [me, peer] : [peer, me];
    this.ctx.message(this.ts, dir, { from, to, text, kind: 'chat', ...(own ? { direction: this.ctx.direction(0) } : {}) });
  }

  private setUin(uin: string): void {
    this.uin = uin;
    this.ctx.addUser(uin);
  }

  /**
   * GG110SendMessage / GG110RecvMessage. As libgadu's handlers.c gg_session_handle_recv_msg_110 reads
   * them: msg_plain when not empty, else msg_xhtml made text; `data` with an empty msg_plain is an image
   * (no text). GG_RECV_OWN_MSG110 / GG_CHAT_RECV_OWN_MSG are this account's messages sent from another
   * device (libgadu: GG_EVENT_MULTILOGON_MSG), so outgoing; GG_CHAT_RECV_OWN_MSG has no sender field
   * (libgadu takes the session's UIN). A chat_id makes it a conference message addressed to the chat.
   */
  private packet110(dir: Dir, p: GgPacket): void {
    const m = msg110(p.body, dir === 1);
    if (!m) return this.ctx.malformed(`GG 11 message packet 0x${p.type.toString(16)} is not a protobuf message`);
    if (m.image) return;
    if (m.peer) this.ctx.addUser(m.peer);
    const text = (m.plain.trim() ? m.plain : htmlToText(m.xhtml ?? '')).slice(0, MAX_TEXT);
    if (!text.trim()) return;
    const me = this.uin || '?';
    const own = p.type === GG_RECV_OWN_MSG110 || p.type === GG_CHAT_RECV_OWN_MSG;
    const chat = m.chatId !== undefined ? `chat:${m.chatId}` : undefined;
    const peer = m.peer ?? '?';
    let from: string;
    let to: string;
    if (chat) [from, to] = [dir === 0 || own ? me : peer, chat];
    else [from, to] = dir === 0 || own ? [me, peer] : [peer, me];
    this.ctx.message(this.ts, dir, { from, to, text, kind: chat ? 'conference' : 'chat', ...(own ? { direction: this.ctx.direction(0) } : {}) });
  }
}

/** GG 11 message packet types and the direction each travels in (0 = client → server) */
const P110: Record<number, Dir> = {
  [GG_SEND_MSG110]: 0,
  [GG_CHAT_SEND_MSG]: 0,
  [GG_RECV_MSG110]: 1,
  [GG_RECV_OWN_MSG110]: 1,
  [GG_CHAT_RECV_MSG]: 1,
  [GG_CHAT_RECV_OWN_MSG]: 1,
};

export const module: SignatureModule = {
  id: 'gadugadu',
  protocols: ['gadugadu'],
  transports: ['tcp'],
  detect: declineOnThrow(detect),
  decoder: (ctx) => {
    ctx.setService('chat');
    return new GgDecoder(ctx);
  },
};
