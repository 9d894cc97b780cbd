// What a YMSG conversation means: the signed-in ids, instant/offline/conference/chat-room messages,
// and file-transfer offers (P2P 0x4d, legacy 0x46, Y7 0xdc–0xde). Fed PDUs by the TCP decoder or the
// HTTP decoder (YMSG in HTTP bodies or a CONNECT tunnel).

import type { Dir } from '../../sensor/types';
import type { FileMeta, SessionContext } from '../types';
import { UNKNOWN_ID } from '../types';
import { decodeYahooText, type YmsgPdu } from './parser';

export const SVC = {
  LOGON: 0x01, LOGOFF: 0x02, MESSAGE: 0x06, PING: 0x12, CONFMSG: 0x1d, FILETRANSFER: 0x46, NOTIFY: 0x4b,
  P2PFILEXFER: 0x4d, AUTHRESP: 0x54, AUTH: 0x57, KEEPALIVE: 0x8a, COMMENT: 0xa8, FT15: 0xdc, FTINFO15: 0xdd, FTACC15: 0xde,
} as const;

const STATUS_TYPING = 0x16;
const STATUS_OFFLINE = 0x5a55aa56;
/** services whose key 0/1 name the signed-in id */
const LOGIN_SERVICES = new Set<number>([SVC.LOGON, SVC.LOGOFF, SVC.AUTHRESP, SVC.AUTH, SVC.KEEPALIVE, SVC.PING]);
const MAX_ID = 128;
const MAX_OFFERS_PER_PDU = 64;

// Y7 relay tokens announced on a session (0xdd key 251) → the file they carry. The relay upload is a
// separate HTTP flow, so this memory is shared across flows; bounded, oldest dropped first.
const RELAY_MAX = 1024;
const relayTokens = new Map<string, FileMeta>();

export function rememberRelayToken(token: string, meta: FileMeta): void {
  if (relayTokens.has(token)) relayTokens.delete(token);
  else if (relayTokens.size >= RELAY_MAX) relayTokens.delete(relayTokens.keys().next().value as string);
  relayTokens.set(token, meta);
}

export function relayFile(token: string): FileMeta | undefined {
  return relayTokens.get(token);
}

function id(v: Buffer | undefined): string | undefined {
  if (!v || !v.length || v.length > MAX_ID) return undefined;
  const s = v.toString('utf8').trim();
  // eslint-disable-next-line no-control-regex
  return s && !/[\u0000-\u001f\u007f]/.test(s) ? s : undefined;
}

interface Group {
  from?: Buffer;
  to?: Buffer;
  text?: Buffer;
  utf8?: boolean;
  notify?: string;
  stamped?: boolean;
}

export class YmsgSession {
  readonly self = new Set<string>();
  private offers = 0;
  private cookieSeen = false;

  constructor(private readonly ctx: SessionContext) {}

  private own(u: string | undefined): void {
    if (!u) return;
    this.ctx.addUser(u);
    if (this.self.size < 8) this.self.add(u);
  }

  private me(): string {
    return this.self.values().next().value ?? UNKNOWN_ID;
  }

  handle(dir: Dir, p: YmsgPdu, ts: number): void {
    const get = (k: string) => p.fields.find((f) => f[0] === k)?.[1];
    if (LOGIN_SERVICES.has(p.service)) {
      this.own(id(get('0')));
      this.own(id(get('1')));
      // YMSG 16 login: the Y and T cookies (keys 277/278) replay as the password; report, never carry them
      if (dir === 0 && p.service === SVC.AUTHRESP && get('277')?.length && get('278')?.length && !this.cookieSeen) {
        this.cookieSeen = true;
        this.ctx.credential(ts, dir, { user: id(get('0')) ?? id(get('1')) ?? this.me(), mechanism: 'yahoo-y-t-cookies' });
      }
      if (p.service === SVC.LOGON || p.service === SVC.AUTH) this.ctx.setService('chat');
      return;
    }
    // key 1 is the current (own) id on what the client sends
    if (dir === 0) this.own(id(get('1')));
    switch (p.service) {
      case SVC.MESSAGE:
        this.messages(dir, p, ts);
        break;
      case SVC.NOTIFY:
        for (const k of ['4', '5']) {
          const u = id(get(k));
          if (u) this.ctx.addUser(u);
        }
        break;
      case SVC.CONFMSG:
        this.roomMessage(dir, ts, get, { text: '14', room: '57', from: '3' }, 'conference');
        break;
      case SVC.COMMENT:
        this.roomMessage(dir, ts, get, { text: '117', room: '104', from: '109' }, 'groupchat');
        break;
      case SVC.P2PFILEXFER:
      case SVC.FILETRANSFER:
      case SVC.FT15:
        this.fileOffer(dir, p, ts);
        break;
      case SVC.FTINFO15:
      case SVC.FTACC15:
        this.relayInfo(dir, p);
        break;
    }
  }

  /** a conference or chat-room message: the same fields under other keys (key 1, then the own id, for a missing sender) */
  private roomMessage(dir: Dir, ts: number, get: (k: string) => Buffer | undefined, keys: { text: string; room: string; from: string }, kind: 'conference' | 'groupchat'): void {
    const text = get(keys.text);
    if (!text) return;
    const t = decodeYahooText(text, get('97')?.toString() === '1');
    if (!t.trim()) return;
    const from = id(get(keys.from)) ?? id(get('1')) ?? this.me();
    this.ctx.addUser(from);
    this.ctx.setService('chat');
    this.ctx.message(ts, dir, { from, to: id(get(keys.room)) ?? UNKNOWN_ID, text: t, kind });
  }

  private messages(dir: Dir, p: YmsgPdu, ts: number): void {
    if (p.status === STATUS_TYPING) return;
    const groups: Group[] = [];
    let cur: Group = {};
    let key1: string | undefined;
    for (const [k, v] of p.fields) {
      switch (k) {
        case '1':
          key1 ??= id(v);
          break;
        case '4':
          if (cur.from || cur.text) {
            groups.push(cur);
            cur = {};
          }
          cur.from = v;
          break;
        case '5':
          if (cur.to && cur.text) {
            groups.push(cur);
            cur = { from: cur.from };
          }
          cur.to = v;
          break;
        case '14':
          if (cur.text) {
            groups.push(cur);
            cur = { from: cur.from, to: cur.to };
          }
          cur.text = v;
          break;
        case '97':
          cur.utf8 = v.toString('latin1') === '1';
          break;
        case '49':
          cur.notify = v.toString('latin1');
          break;
        case '15':
          cur.stamped = true;
          break;
      }
      if (groups.length > 256) break;
    }
    groups.push(cur);
    for (const g of groups) {
      const from = id(g.from) ?? key1 ?? (dir === 0 ? this.me() : UNKNOWN_ID);
      const to = id(g.to) ?? (dir === 1 ? this.me() : UNKNOWN_ID);
      if (dir === 1 && g.to) this.own(id(g.to));
      if (dir === 0 && g.from) this.own(id(g.from));
      if (from !== UNKNOWN_ID) this.ctx.addUser(from);
      if (to !== UNKNOWN_ID) this.ctx.addUser(to);
      if (!g.text || g.notify === 'TYPING') continue;
      const text = decodeYahooText(g.text, !!g.utf8);
      if (!text.trim()) continue;
      this.ctx.setService('chat');
      const offline = p.status === STATUS_OFFLINE || (g.stamped && dir === 1);
      this.ctx.message(ts, dir, { from, to, text, kind: offline ? 'offline' : 'chat' });
    }
  }

  private parties(dir: Dir, p: YmsgPdu): { from: string; to: string } {
    const get = (k: string) => p.fields.find((f) => f[0] === k)?.[1];
    const from = id(get('4')) ?? (dir === 0 ? id(get('1')) ?? this.me() : UNKNOWN_ID);
    const to = id(get('5')) ?? (dir === 1 ? this.me() : UNKNOWN_ID);
    for (const u of [from, to]) if (u !== UNKNOWN_ID) this.ctx.addUser(u);
    return { from, to };
  }

  private fileOffer(dir: Dir, p: YmsgPdu, ts: number): void {
    const get = (k: string) => p.fields.find((f) => f[0] === k)?.[1];
    // Y7: key 222 is the action (1 = offer; 2 cancel, 3 accept, 4 decline)
    const action = get('222')?.toString('latin1');
    if (p.service === SVC.FT15 && action !== undefined && action !== '1') return;
    const { from, to } = this.parties(dir, p);
    const tid = id(get('265'));
    const names = p.fields.filter((f) => f[0] === '27');
    const sizes = p.fields.filter((f) => f[0] === '28');
    for (let i = 0; i < names.length && i < MAX_OFFERS_PER_PDU; i++) {
      const filename = names[i][1].toString('utf8').slice(0, 512);
      if (!filename) continue;
      const st = sizes[i]?.[1].toString('latin1');
      const size = st && /^\d{1,15}$/.test(st) ? Number(st) : undefined;
      this.offers++;
      const transfer_id = tid ? `yahoo:${tid}${names.length > 1 ? `:${i}` : ''}` : `${this.ctx.flow.id}:yahoo:${this.offers}`;
      this.ctx.setService('file');
      this.ctx.fileTransfer(ts, dir, { from, to, filename, ...(size !== undefined ? { size } : {}), stage: 'offer', transfer_id });
      if (tid && names.length === 1) rememberRelayToken(`tid:${tid}`, { filename, from, to, ...(size !== undefined ? { size } : {}), transfer_id });
    }
  }

  /**
   * 0xdd/0xde: how the file will travel. A relay token (251), or the URL a client serves the file
   * from peer to peer (250, with 249 = 1 or 2), lets that HTTP flow be named and linked to the offer.
   */
  private relayInfo(dir: Dir, p: YmsgPdu): void {
    const get = (k: string) => p.fields.find((f) => f[0] === k)?.[1];
    const token = get('251')?.toString('latin1');
    const url = get('250')?.toString('latin1');
    const m = url ? /^http:\/\/[^/\s]{1,300}(\/Messenger\.[^?\s]{1,512})\?/.exec(url) : null;
    const keys = [...(token && token.length <= 512 ? [token] : []), ...(m ? [`path:${m[1]}`] : [])];
    if (!keys.length) return;
    const tid = id(get('265'));
    const known = tid ? relayFile(`tid:${tid}`) : undefined;
    const { from, to } = this.parties(dir, p);
    const filename = get('27')?.toString('utf8').slice(0, 512) || known?.filename;
    if (!filename) return;
    // 0xde comes from the receiver: the file goes the other way
    const [sender, receiver] = p.service === SVC.FTACC15 ? [to, from] : [from, to];
    const meta: FileMeta = { ...(known ?? {}), filename, from: known?.from ?? sender, to: known?.to ?? receiver, transfer_id: known?.transfer_id ?? (tid ? `yahoo:${tid}` : undefined) };
    for (const k of keys) rememberRelayToken(k, meta);
  }
}
