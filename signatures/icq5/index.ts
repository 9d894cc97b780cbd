// ICQ v5 over UDP: a client datagram is recognised only when its obfuscation checkcode is consistent
// with its own bytes and the cleared command is a known client command — never by port.
import type { Dir } from '../../sensor/types';
import { declineOnThrow, type DetectInput, type DetectResult, type SessionContext, type SignatureModule, type StreamDecoder } from '../types';
import {
  CMD_LOGIN, CMD_MSG_TO_NEW_USER, CMD_SEND_MSG, SRV_MULTI, SRV_RECV_MESSAGE, SRV_SYS_DELIVERED_MESS,
  decryptClient, isClientPacket, parseClient, parseMessage, parseServer, splitMulti,
} from './parser';

const MAX_SEEN = 256;
const MAX_LOGINS = 8;

export function detectIcq5(input: DetectInput): DetectResult {
  if (input.transport !== 'udp') return null;
  const d = input.data;
  if (d.length < 0x15 || d.readUInt16LE(0) !== 5) return null;
  if (isClientPacket(d)) {
    const clear = decryptClient(d);
    if (!clear) return null;
    const p = parseClient(clear);
    return {
      protocol: 'icq',
      evidence: { signature: 'icq5.checkcode', reason: `ICQ v5 client datagram: checkcode consistent, command 0x${p.cmd.toString(16).padStart(4, '0')}` },
    };
  }
  // server datagrams are clear and carry no check: wait for a client datagram to be sure
  return parseServer(d) ? 'more' : null;
}

class Icq5Decoder implements StreamDecoder {
  /** client (uin, seq1) pairs already seen: retransmissions repeat them */
  private seen = new Set<number>();
  private seenSrv = new Set<number>();
  private logins = new Set<number>();
  private self: string | undefined;

  constructor(private readonly ctx: SessionContext) {}

  onData(dir: Dir, data: Buffer, ts: number): void {
    if (data.length < 0x15 || data.readUInt16LE(0) !== 5) return this.ctx.malformed('ICQ v5: not a version 5 datagram');
    if (isClientPacket(data)) this.client(dir, data, ts);
    else this.server(dir, data, ts, true);
  }

  private client(dir: Dir, data: Buffer, ts: number): void {
    const clear = decryptClient(data);
    if (!clear) return this.ctx.malformed('ICQ v5: client checkcode does not match');
    const p = parseClient(clear);
    const uin = String(p.uin);
    this.self = uin;
    this.ctx.addUser(uin);
    if (!remember(this.seen, (p.cmd << 16) | p.seq1)) return; // retransmission
    if (p.cmd === CMD_LOGIN) {
      // the password is in the clear right here; only the fact that it was sent is reported
      if (!this.logins.has(p.uin) && this.logins.size < MAX_LOGINS) {
        this.logins.add(p.uin);
        this.ctx.credential(ts, dir, { user: uin, mechanism: 'icq-v5-login' });
        this.ctx.addEvidence({ signature: 'icq5.login', reason: 'CMD_LOGIN carries the password in the clear' });
      }
    } else if (p.cmd === CMD_SEND_MSG || p.cmd === CMD_MSG_TO_NEW_USER) {
      const m = parseMessage(p.body);
      if (!m) return this.ctx.malformed('ICQ v5: message length past the end');
      this.ctx.addUser(String(m.uin));
      this.emit(ts, dir, uin, String(m.uin), m.type, m.text);
    }
  }

  private server(dir: Dir, data: Buffer, ts: number, top: boolean): void {
    const p = parseServer(data);
    if (!p) return this.ctx.malformed('ICQ v5: unknown server datagram');
    const me = p.uin ? String(p.uin) : this.self ?? '';
    if (p.uin) {
      this.self ??= me;
      this.ctx.addUser(me);
    }
    if (top && !remember(this.seenSrv, (p.cmd << 16) | p.seq1)) return;
    if (p.cmd === SRV_MULTI && top) {
      for (const sub of splitMulti(p.body)) this.server(dir, sub, ts, false);
    } else if (p.cmd === SRV_RECV_MESSAGE || p.cmd === SRV_SYS_DELIVERED_MESS) {
      const m = parseMessage(p.body, p.cmd === SRV_RECV_MESSAGE ? 0x0a : 4);
      if (!m) return this.ctx.malformed('ICQ v5: message length past the end');
      this.ctx.addUser(String(m.uin));
      this.emit(ts, dir, String(m.uin), me, m.type, m.text, p.cmd === SRV_RECV_MESSAGE ? 'offline' : undefined);
    }
  }

  private emit(ts: number, dir: Dir, from: string, to: string, type: number, text: string, kind?: string): void {
    // 1 text, 4 URL; authorisation requests and contact lists are not conversation
    if (!text || (type !== 1 && type !== 4)) return;
    this.ctx.message(ts, dir, { from, to, text, kind: kind ?? (type === 4 ? 'url' : 'chat') });
  }
}

function remember(set: Set<number>, key: number): boolean {
  if (set.has(key)) return false;
  if (set.size >= MAX_SEEN) set.delete(set.values().next().value as number);
  set.add(key);
  return true;
}

export const module: SignatureModule = {
  id: 'icq5',
  protocols: ['icq'],
  transports: ['udp'],
  detect: declineOnThrow(detectIcq5),
  decoder(ctx: SessionContext) {
    return new Icq5Decoder(ctx);
  },
};
