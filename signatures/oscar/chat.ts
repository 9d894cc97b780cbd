// AIM chat rooms (SNAC family 0x000E) on a chat-server connection: room name, occupants and the
// messages both ways, each reported once although the server reflects the sender's own messages.
import type { Dir } from '../../sensor/types';
import type { SessionContext } from '../types';
import {
  chatCharset, decodeText, htmlToText, parseChatMessage, parseRoomInfo, parseUserList, roomNameFromCookie, screenNameKey, type ChatMessage,
} from './parser';

/** `to` of messages seen before any room info (the capture started after the join) */
export const UNKNOWN_ROOM = '(unknown room)';
/** own messages held for their reflection while our screen name is unknown */
const MAX_PENDING = 32;
/** and at most this many characters of their text in all (a flow holds ~128 KiB of them at most) */
const MAX_PENDING_CHARS = 65536;
/** cookies of reported messages remembered to recognise the other copy (reflection or its original) */
const MAX_REPORTED = 256;

interface Hooks {
  self(): string | undefined;
  setSelf(name: string): void;
  user(name: string): void;
  unknownSelf: string;
}

interface Pending { ts: number; text: string }
/**
 * a reported message: the 0x0006 sender when it came from the server, else '' (our 0x0005); `echo`
 * while its other copy is still expected: matched once, so a cookie reused later is a new message
 */
type Reported = { sender: string; echo: boolean };

function sameName(a: string, b: string): boolean {
  return screenNameKey(a) === screenNameKey(b);
}

export class ChatRoom {
  private room: string | undefined;
  /** our reflected 0x0005 messages waiting for the server's copy, which names us */
  private pending = new Map<string, Pending>();
  private pendingChars = 0;
  private reported = new Map<string, Reported>();
  private announced = false;

  /** `room`: the name the BOS connection's join request gave (until this connection's room info) */
  constructor(private readonly ctx: SessionContext, private readonly h: Hooks, room?: string) {
    ctx.setService('chat-room');
    this.room = room || undefined;
    if (this.room) this.announce('from the join request on the BOS connection');
  }

  snac(dir: Dir, subtype: number, body: Buffer, ts: number): void {
    switch (subtype) {
      case 0x0002: return this.roomInfo(body);
      case 0x0003:
      case 0x0004: {
        const l = parseUserList(body);
        if (!l.ok) this.ctx.malformed(`chat users ${subtype === 3 ? 'joined' : 'left'}: user info past the end`);
        for (const n of l.names) this.h.user(n);
        return;
      }
      case 0x0005:
        if (dir !== 0) return;
        return this.message(ts, parseChatMessage(body, false), false);
      case 0x0006:
        if (dir !== 1) return;
        return this.message(ts, parseChatMessage(body, true), true);
      default:
    }
  }

  /** our messages that never came back (one direction captured, or no reflection): from = our name if known */
  flush(): void {
    for (const [key, p] of this.pending) this.emit(key, p.ts, 0, this.h.self() ?? this.h.unknownSelf, p.text, '', false);
    this.pending.clear();
    this.pendingChars = 0;
  }

  private unpend(key: string, p: Pending): void {
    this.pending.delete(key);
    this.pendingChars -= p.text.length;
  }

  private roomInfo(body: Buffer): void {
    const r = parseRoomInfo(body);
    if (!r) return this.ctx.malformed('chat room info: shorter than its header');
    // 0x006A is the name, then the cookie's `…-…-name` part; 0x00D3 is the description to libpurple
    this.room = r.name ?? roomNameFromCookie(r.cookie) ?? r.desc ?? (r.cookie || this.room);
    for (const n of r.users) this.h.user(n);
    this.announce(`exchange ${r.exchange}`);
  }

  private announce(how: string): void {
    if (!this.room || this.announced) return;
    this.announced = true;
    this.ctx.addEvidence({ signature: 'oscar.chat-room', reason: `AIM chat room "${this.room}" (${how})` });
  }

  private message(ts: number, m: ChatMessage | null, incoming: boolean): void {
    if (!m) return this.ctx.malformed(`chat message (0x000E/${incoming ? '0x0006' : '0x0005'}): sender user info past the end`);
    if (m.channel !== 3) return; // libpurple incomingim_ch3 ignores other channels
    if (m.sender) this.h.user(m.sender);
    if (!m.text) return;
    const d = decodeText(m.text, chatCharset(m.encoding));
    if (d.invalid) this.ctx.malformed('chat message: text not valid in its character set');
    const text = htmlToText(d.text);
    if (!text) return;
    const key = m.cookie.toString('hex');
    if (!incoming) {
      const self = this.h.self();
      const seen = this.reported.get(key);
      if (seen?.echo && seen.sender && (self === undefined || sameName(seen.sender, self))) {
        // the server's copy was read first (the directions were delivered out of order): it named us
        seen.echo = false;
        if (self === undefined) this.h.setSelf(seen.sender);
        return;
      }
      if (m.reflect && self === undefined) {
        const same = this.pending.get(key);
        if (same) {
          // the same cookie again before its reflection: two messages, both reported
          this.unpend(key, same);
          this.emit(key, same.ts, 0, this.h.unknownSelf, same.text, '', false);
        }
        // the oldest goes out (sender unknown) when the count or the characters held would pass the bound
        while (this.pending.size && (this.pending.size >= MAX_PENDING || this.pendingChars + text.length > MAX_PENDING_CHARS)) {
          const [k, p] = this.pending.entries().next().value as [string, Pending];
          this.unpend(k, p);
          this.emit(k, p.ts, 0, this.h.unknownSelf, p.text, '', false);
        }
        // a copy: the text may be a slice of the whole decoded message, which it would keep alive
        const kept = Buffer.from(text, 'utf16le').toString('utf16le');
        this.pending.set(key, { ts, text: kept });
        this.pendingChars += kept.length;
        return;
      }
      this.emit(key, ts, 0, self ?? this.h.unknownSelf, text, '', m.reflect);
      return;
    }
    const sender = m.sender ?? this.h.unknownSelf;
    const self = this.h.self();
    // only a copy that names us is our message's: another sender reusing its cookie is saying something
    const fromUs = !m.sender || self === undefined || sameName(m.sender, self);
    const p = fromUs ? this.pending.get(key) : undefined;
    if (p) {
      // the reflection of a message we sent: its sender is us, reported once at the time we sent it
      this.unpend(key, p);
      if (m.sender) this.h.setSelf(m.sender);
      this.emit(key, p.ts, 0, this.h.self() ?? sender, p.text, '', false);
      return;
    }
    const seen = this.reported.get(key);
    if (seen && seen.sender === '') {
      if (seen.echo && fromUs) {
        seen.echo = false;
        if (m.sender && self === undefined) this.h.setSelf(m.sender);
        return;
      }
      if (self !== undefined && m.sender && sameName(m.sender, self)) return; // our copy again: a retransmission
    }
    // the same server copy twice (a retransmission the reassembler let through)
    if (seen && seen.sender && seen.sender === sender) return;
    this.emit(key, ts, 1, sender, text, sender, true);
  }

  /** `echo`: the other copy of this message (our 0x0005 or the server's 0x0006) may still come */
  private emit(key: string, ts: number, dir: Dir, from: string, text: string, sender: string, echo: boolean): void {
    if (this.reported.size >= MAX_REPORTED) this.reported.delete(this.reported.keys().next().value as string);
    this.reported.delete(key); // re-inserted last: the newest is evicted last
    this.reported.set(key, { sender, echo });
    this.ctx.message(ts, dir, { from, to: this.room ?? UNKNOWN_ROOM, text, kind: 'groupchat' });
  }
}
