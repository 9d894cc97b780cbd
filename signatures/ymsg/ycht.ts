// YCHT: the protocol of Yahoo's chat rooms (the Java chat applet, Yahoo Japan; libpurple's ycht.c),
// on port 8001/8002 by default but recognised by its bytes on any port. Verified against libpurple
// ycht.c/ycht.h, NO5's YahooChat.cpp and a VB client (modYCHT):
//   16-byte header, big-endian: "YCHT", version u32 (0xae libpurple, 0x17d NO5, 0x100 the server),
//   service u32, status u16, body length u16.
//   Server → client: fields separated by C0 80 (chat message: room, sender, text[, extra]).
//   Client → server: the arguments joined by 0x01 in one field (chat message "room\x01text",
//   login "id\x01Y=…; T=…"); libpurple would put C0 80 between fields but sends only one.
// The server echoes a client's own chat message back to it (libpurple does not show what it sends).
import { createHash } from 'node:crypto';
import type { Dir } from '../../sensor/types';
import type { SessionContext } from '../types';
import { UNKNOWN_ID } from '../types';
import { MagicFramer, type MagicFormat } from './framer';
import { decodeYahooText } from './parser';

export const YCHT_HEADER = 16;
const MAGIC = Buffer.from('YCHT');
const SEP = Buffer.from([0xc0, 0x80]);
/** a body is at most 65,535 bytes; more fields than this are not read (each costs a Buffer view) */
const MAX_FIELDS = 256;
const MAX_MEMBERS = 512;
const MAX_ID = 128;
/** own messages waiting for the server's echo */
const MAX_PENDING = 32;

export const YCHT_SVC = {
  LOGIN: 0x01, LOGOUT: 0x02, JOIN: 0x11, PART: 0x12, INVITE: 0x17, AWAY: 0x21, GOTO: 0x25, CONFIG: 0x26,
  SAY: 0x41, THINK: 0x42, EMOTE: 0x43, ADVERTISE: 0x44, PM: 0x45, TIME: 0x46, DICE: 0x47,
  PING: 0x62, HELP: 0x64, FRIENDS: 0x68, EMAIL: 0x69, YMSG: 0x70, CMD: 0x71, GRAFFITI: 0x80,
} as const;
/** the services the sources name: a header with another is not taken as YCHT when detecting */
const KNOWN = new Set<number>(Object.values(YCHT_SVC));

export interface YchtPacket {
  version: number;
  service: number;
  status: number;
  body: Buffer;
}

/**
 * A YCHT header at `off` that the sources could have written: version 1…0xffff (the high half is 0
 * in every source), a service that fits a byte. 'more' while fewer than 16 bytes are there and
 * those agree.
 */
export function ychtHeader(b: Buffer, off: number, knownOnly: boolean): boolean | 'more' {
  const n = Math.min(b.length - off, YCHT_HEADER);
  for (let i = 0; i < 4 && i < n; i++) if (b[off + i] !== MAGIC[i]) return false;
  if (n >= 6 && (b[off + 4] | b[off + 5]) !== 0) return false;
  if (n >= 11 && (b[off + 8] | b[off + 9] | b[off + 10]) !== 0) return false;
  if (n < YCHT_HEADER) return 'more';
  const version = b.readUInt16BE(off + 6);
  if (version === 0) return false;
  return !knownOnly || KNOWN.has(b[off + 11]);
}

/** The body's fields: split at C0 80, then (client form) at 0x01. At most MAX_FIELDS of each. */
export function ychtFields(body: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let pos = 0;
  while (out.length < MAX_FIELDS) {
    const k = body.indexOf(SEP, pos);
    out.push(body.subarray(pos, k < 0 ? body.length : k));
    if (k < 0) break;
    pos = k + 2;
  }
  return out;
}

/** split at 0x01 (client arguments, member lists), at most `max` parts; the last keeps the rest */
export function splitSoh(b: Buffer, max: number): Buffer[] {
  const out: Buffer[] = [];
  let pos = 0;
  while (out.length < max - 1) {
    const k = b.indexOf(0x01, pos);
    if (k < 0) break;
    out.push(b.subarray(pos, k));
    pos = k + 1;
  }
  out.push(b.subarray(pos));
  return out;
}

const YCHT_FORMAT: MagicFormat<YchtPacket> = {
  magic: MAGIC,
  // also a header no source writes
  garbage: 'bytes between YCHT packets',
  header: (b, pos) => ychtHeader(b, pos, false),
  headerSize: YCHT_HEADER,
  lengthAt: 14,
  packet: (b, pos, body) => ({ version: b.readUInt32BE(pos + 4), service: b.readUInt32BE(pos + 8), status: b.readUInt16BE(pos + 12), body }),
};

/** YCHT packets from a stream (`synced` false: it may start mid-packet, so skip to the first sane header) */
export class YchtFramer extends MagicFramer<YchtPacket> {
  constructor(onPacket: (p: YchtPacket) => void, onMalformed: (reason: string) => void, synced = true) {
    super(YCHT_FORMAT, onPacket, onMalformed, synced);
  }
}

/** a line as the echo is matched: a digest of service, room and text (a waiting line costs 44 bytes, not its up to 64 KB) */
function lineKey(service: number, room: Buffer, text: Buffer): string {
  return createHash('sha256').update(String(service)).update('\u0000').update(room).update('\u0000').update(text).digest('base64');
}

/** an id: the part before 0x02 (member entries are "name\x02webcam\x02…"), printable, at most 128 bytes */
function id(v: Buffer | undefined): string | undefined {
  if (!v) return undefined;
  const e = v.indexOf(0x02);
  const b = e < 0 ? v : v.subarray(0, e);
  if (!b.length || b.length > MAX_ID) return undefined;
  const s = b.toString('utf8').trim();
  // eslint-disable-next-line no-control-regex
  return s && !/[\u0000-\u001f\u007f]/.test(s) ? s : undefined;
}

/** What a YCHT connection means: the logged-in id, room members, chat and private messages. */
export class YchtSession {
  private self: string | undefined;
  private cookieSeen = false;
  /** own messages (lineKey of service, room, text) the server has not echoed yet */
  private pending: string[] = [];

  constructor(private readonly ctx: SessionContext) {
    ctx.setService('ycht');
  }

  private user(u: string | undefined): void {
    if (u) this.ctx.addUser(u);
  }

  handle(dir: Dir, p: YchtPacket, ts: number): void {
    const f = ychtFields(p.body);
    // the form follows the direction, as YMSG's: the client's arguments are 0x01-separated, and C0 80
    // inside them is its text, never a server's sender field (which the client would then choose)
    const client = dir === 0;
    const args = client ? splitSoh(p.body, 8) : f;
    switch (p.service) {
      case YCHT_SVC.LOGIN:
        this.login(dir, client, args, p, ts);
        break;
      case YCHT_SVC.JOIN:
        // server: room, topic, cookies, ?, members ("a\x02…\x01b\x02…"; one entry when someone else joins)
        if (!client && f.length >= 5) for (const m of splitSoh(f[4], MAX_MEMBERS)) this.user(id(m));
        break;
      case YCHT_SVC.PART:
        if (!client) this.user(id(f[1]));
        break;
      case YCHT_SVC.SAY:
      case YCHT_SVC.EMOTE:
      case YCHT_SVC.THINK:
        this.chat(dir, p, client, f, ts);
        break;
      case YCHT_SVC.PM:
        this.privateMessage(dir, client ? splitSoh(p.body, 3) : f, ts);
        break;
    }
  }

  private login(dir: Dir, client: boolean, args: Buffer[], p: YchtPacket, ts: number): void {
    if (client && args.length >= 2) {
      // "id\x01Y=…; T=…": the Yahoo login cookies, which replay as the password; reported, never carried
      const me = id(args[0]);
      if (me) {
        this.self ??= me;
        this.user(me);
      }
      const cookie = args.slice(1).map((a) => a.toString('latin1')).join(' ');
      if (!this.cookieSeen && /(^|[\s;])Y=[^;\s]/.test(cookie) && /(^|[\s;])T=[^;\s]/.test(cookie)) {
        this.cookieSeen = true;
        this.ctx.credential(ts, dir, { user: me ?? this.self ?? UNKNOWN_ID, mechanism: 'yahoo-y-t-cookies' });
      }
    } else if (!client && p.status === 0) {
      // the server's answer: the id, then the room's word filter (NO5 _OnLogin)
      const me = id(args[0]);
      if (me) {
        this.self ??= me;
        this.user(me);
      }
    }
  }

  /** chat text to the room: server "room C0 80 sender C0 80 text[…]", client "room\x01text" */
  private chat(dir: Dir, p: YchtPacket, client: boolean, f: Buffer[], ts: number): void {
    let room: Buffer, text: Buffer, from: string;
    if (!client) {
      if (f.length < 3) return;
      [room, , text] = f;
      from = id(f[1]) ?? UNKNOWN_ID;
      // the server's echo of what this client said: the client's copy was reported
      const mine = this.pending.length > 0 && (this.self === undefined || from.toLowerCase() === this.self.toLowerCase());
      const i = mine ? this.pending.indexOf(lineKey(p.service, room, text)) : -1;
      if (i >= 0) {
        this.pending.splice(i, 1);
        // the echo names us: later echoes must come from this id (another member may say the same line)
        if (this.self === undefined && from !== UNKNOWN_ID) {
          this.self = from;
          this.user(from);
        }
        return;
      }
    } else {
      // 0x01 between room and text (every client source); the first C0 80 as a fallback
      const a = splitSoh(p.body, 2);
      if (a.length === 2) [room, text] = a;
      else if (f.length >= 2) [room, text] = [f[0], p.body.subarray(f[0].length + 2)];
      else return;
      from = this.self ?? UNKNOWN_ID;
      if (this.pending.length >= MAX_PENDING) this.pending.shift();
      this.pending.push(lineKey(p.service, room, text));
    }
    let t = decodeYahooText(text, false);
    if (!t.trim()) return;
    // an emote reads as IRC's ACTION does: "* nick waves"
    if (p.service === YCHT_SVC.EMOTE) t = `* ${from} ${t}`;
    if (from !== UNKNOWN_ID) this.user(from);
    this.ctx.message(ts, dir, { from, to: id(room) ?? UNKNOWN_ID, text: t, kind: 'groupchat' });
  }

  /** a private message from the chat: server "from C0 80 to C0 80 text", client "from\x01to\x01text" (NO5) */
  private privateMessage(dir: Dir, args: Buffer[], ts: number): void {
    if (args.length < 3) return;
    const from = id(args[0]) ?? UNKNOWN_ID;
    const to = id(args[1]) ?? UNKNOWN_ID;
    const t = decodeYahooText(args[2], false);
    this.user(from !== UNKNOWN_ID ? from : undefined);
    this.user(to !== UNKNOWN_ID ? to : undefined);
    if (t.trim()) this.ctx.message(ts, dir, { from, to, text: t, kind: 'chat' });
  }
}
