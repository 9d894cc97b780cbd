// Gadu-Gadu: the server greets with GG_WELCOME { seed }, the client answers with a GG_LOGIN* packet
// whose length fits its type. Both are required (one 12-byte greeting alone is too weak). Messages
// come from GG_SEND_MSG/GG_RECV_MSG (CP1250) and GG_SEND_MSG80/GG_RECV_MSG80 (plain part).
// Login packets carry password hashes, not cleartext passwords: no credential event.
import type { Dir } from '../../sensor/types';
import type { DetectInput, DetectResult, SessionContext, SignatureModule, StreamDecoder } from '../types';
import {
  GG_RECV_MSG, GG_RECV_MSG80, GG_RECV_OWN_MSG, GG_SEND_MSG, GG_SEND_MSG80, LOGIN_MIN, PacketFramer, isLoginHeader, isWelcome, loginUin, msg80, oldMessage, type GgPacket,
} from './parser';

const MAX_TEXT = 8192;

function detect(input: DetectInput): DetectResult {
  if (input.transport !== 'tcp') return null;
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
    this.framers = [0, 1].map((d) => new PacketFramer((p) => this.packet(d as Dir, p), (r) => ctx.malformed(r), max)) as [PacketFramer, PacketFramer];
  }

  onData(dir: Dir, data: Buffer, ts: number): void {
    this.ts = ts;
    this.framers[dir].push(data);
  }

  onGap(dir: Dir): void {
    this.framers[dir].gap();
    this.ctx.malformed('gap in a Gadu-Gadu stream: rest of that direction not decoded');
  }

  private packet(dir: Dir, p: GgPacket): void {
    if (dir === 0 && LOGIN_MIN[p.type] !== undefined) {
      if (p.body.length < LOGIN_MIN[p.type]) return this.ctx.malformed('short login packet');
      const uin = loginUin(p);
      if (uin) {
        this.uin = String(uin);
        this.ctx.addUser(this.uin);
      }
      return;
    }
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
}

export const module: SignatureModule = {
  id: 'gadugadu',
  protocols: ['gadugadu'],
  transports: ['tcp'],
  detect: (input) => {
    try {
      return detect(input);
    } catch {
      return null;
    }
  },
  decoder: (ctx) => {
    ctx.setService('chat');
    return new GgDecoder(ctx);
  },
};
