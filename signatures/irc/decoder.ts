// IRC session decoder: lines of both directions → users, messages, credentials (never the secret),
// STARTTLS, and DCC SEND/CHAT offers that open side connections (see dcc.ts).
import type { Dir } from '../../sensor/types';
import type { SessionContext, StreamDecoder } from '../types';
import { LineFramer, MAX_LINE, decodeText, isChannel, parseCtcp, parseDcc, parseDccResume, parseLine, type DccResumeArgs, prefixNick, saslPlainUser, stripFormatting, type IrcMessage } from './parser';
import { DccChatDecoder, DccSendDecoder, dccOpeningFor, type DccFile, type DccResume } from './dcc';
import { clip } from '../../analyzer/clip';

const MAX_TEXT = 4096;
/** reverse (passive) DCC offers waiting for the receiver's answer, per session */
const MAX_PENDING_REVERSE = 32;

export class IrcDecoder implements StreamDecoder {
  private framers: [LineFramer, LineFramer];
  private ts = 0;
  /** the client's own nick */
  private nick = '';
  private passSeen = false;
  /** the name a server-to-server link gave in SERVER (no nick on such a connection) */
  private link = '';
  private passReported = false;
  private saslPlain = false;
  /** the client's own PRIVMSGs were seen: their IRCv3 echo-message copies are not new messages */
  private sawClientChat = false;
  private saslBuf = '';
  private startTlsAsked = false;
  private stopped = false;
  private transfers = 0;
  /** port-0 offers waiting for the receiver's answer, by token, with the direction they were made in */
  private pendingReverse = new Map<string, { file: DccFile; dir: Dir; resume: DccResume }>();
  /** SEND offers a DCC RESUME/ACCEPT may name: by the port the sender listens on, or a reverse offer's token (oldest out) */
  private resumable = new Map<string, { dir: Dir; receiver: string; size?: number; asked?: number; resume: DccResume }>();
  private readonly services: string[];

  constructor(private readonly ctx: SessionContext) {
    const max = Math.max(512, Math.min(Number(ctx.data.max_line) || MAX_LINE, 65536));
    this.framers = [0, 1].map(
      (d) => new LineFramer((l) => this.line(d as Dir, l), () => ctx.malformed('IRC line longer than the limit'), max),
    ) as [LineFramer, LineFramer];
    const svc = ctx.data.password_services;
    this.services = Array.isArray(svc) ? svc.map((s) => String(s).toLowerCase()) : ['nickserv'];
  }

  onData(dir: Dir, data: Buffer, ts: number): void {
    if (this.stopped) return;
    this.ts = ts;
    this.framers[dir].push(data);
  }

  onGap(dir: Dir): void {
    this.framers[dir].gap();
  }

  onEnd(ts: number): void {
    this.ts = ts || this.ts;
    this.reportPass();
  }

  private line(dir: Dir, raw: Buffer): void {
    if (this.stopped || !raw.length) return;
    const m = parseLine(decodeText(raw));
    if (!m) {
      this.ctx.malformed('not an IRC message');
      return;
    }
    if (dir === 0) this.clientLine(m);
    else this.serverLine(m);
  }

  // ---- client → server -------------------------------------------------------------------

  private clientLine(m: IrcMessage): void {
    const p = m.params;
    switch (m.command) {
      case 'NICK':
        if (p[0]) this.setNick(p[0]);
        this.reportPass();
        break;
      case 'USER':
        if (p[0] && !this.nick) this.ctx.addUser(p[0].slice(0, 64));
        this.reportPass();
        break;
      case 'PASS':
        // the nick usually follows: report when it is known
        this.passSeen = true;
        break;
      case 'SERVER':
        // a server-to-server link (PASS pw TS 6 :SID, SERVER name hops :info): its password names the server
        if (p[0] && !this.nick && p.length >= 2) {
          this.link = ident(p[0], 64);
          this.ctx.addUser(this.link);
          this.reportPass();
        }
        break;
      case 'OPER':
        if (p[0]) this.ctx.credential(this.ts, 0, { user: p[0].slice(0, 64), mechanism: 'irc-oper' });
        break;
      case 'AUTHENTICATE':
        this.authenticate(p[0] ?? '');
        break;
      case 'STARTTLS':
        this.startTlsAsked = true;
        break;
      case 'NS':
      case 'NICKSERV':
        if (/^IDENTIFY\b/i.test(p.join(' '))) this.identify(p.slice(1));
        break;
      case 'PRIVMSG':
      case 'NOTICE':
        if (p.length >= 2) {
          this.sawClientChat = true;
          // a server link relays other users' lines with their prefix (client lines carry none)
          this.chat(0, m.command, prefixNick(m.prefix) || this.nick || '?', p[0], p[1]);
        }
        break;
    }
  }

  private authenticate(arg: string): void {
    if (/^PLAIN$/i.test(arg)) {
      this.saslPlain = true;
      this.saslBuf = '';
      return;
    }
    if (!this.saslPlain) return;
    if (arg === '*') {
      this.saslPlain = false;
      return;
    }
    if (arg !== '+') this.saslBuf += arg.slice(0, 400);
    // SASL payloads come in 400-byte chunks; a shorter one (or '+') ends it
    if (arg.length < 400 || this.saslBuf.length > 4000) {
      const user = saslPlainUser(this.saslBuf);
      if (user) this.ctx.credential(this.ts, 0, { user: user.slice(0, 128), mechanism: 'sasl-plain' });
      else this.ctx.malformed('SASL PLAIN payload not decodable');
      this.saslPlain = false;
      this.saslBuf = '';
    }
  }

  /** NickServ IDENTIFY [account] password */
  private identify(args: string[]): void {
    const user = args.length >= 2 ? args[0] : this.nick || '?';
    this.ctx.credential(this.ts, 0, { user: user.slice(0, 64), mechanism: 'nickserv-identify' });
  }

  private reportPass(): void {
    if (!this.passSeen || this.passReported) return;
    this.passReported = true;
    this.ctx.credential(this.ts, 0, this.link && !this.nick ? { user: this.link, mechanism: 'irc-server-link' } : { user: this.nick || '?', mechanism: 'irc-pass' });
  }

  // ---- server → client -------------------------------------------------------------------

  private serverLine(m: IrcMessage): void {
    const p = m.params;
    const from = prefixNick(m.prefix);
    switch (m.command) {
      case '001':
        if (p[0] && p[0] !== '*') this.setNick(p[0]);
        if (m.prefix && !from) this.ctx.setServerName(m.prefix.slice(0, 253));
        break;
      case '670': // RPL_STARTTLS: the rest of the connection is TLS
        if (this.startTlsAsked) this.encrypted('STARTTLS accepted (670)');
        break;
      case 'CAP':
        break;
      case 'NICK':
        if (from && p[0]) {
          if (from === this.nick) this.setNick(p[0]);
          else {
            this.ctx.addUser(p[0]);
            this.renamePeer(from, p[0]);
          }
        }
        break;
      case 'JOIN':
        if (from && from === this.nick) this.ctx.addUser(from);
        break;
      case 'PRIVMSG':
      case 'NOTICE':
        if (p.length < 2) break;
        // server notices (connection/ident chatter) are not chat
        if (m.command === 'NOTICE' && (!from || p[0] === '*' || p[0].toUpperCase() === 'AUTH')) break;
        if (from) this.ctx.addUser(from);
        if (from && from === this.nick && this.sawClientChat) break; // echo-message copy
        this.chat(1, m.command, from ?? m.prefix ?? '?', p[0], p[1]);
        break;
    }
  }

  private encrypted(reason: string): void {
    this.ctx.setEncrypted({ signature: 'irc.starttls', reason });
    this.stopped = true;
    this.ctx.stopInspecting();
  }

  private setNick(n: string): void {
    const nick = n.slice(0, 64);
    if (!nick || nick === '*') return;
    this.nick = nick;
    this.ctx.addUser(nick);
  }

  // ---- chat text, CTCP, DCC --------------------------------------------------------------

  private chat(dir: Dir, command: string, from: string, target: string, text: string): void {
    const to = target.slice(0, 128);
    const ctcp = parseCtcp(text);
    if (ctcp) {
      if (ctcp.command === 'ACTION') this.emit(dir, from, to, `* ${from} ${ctcp.args}`, command);
      else if (ctcp.command === 'DCC' && command === 'PRIVMSG') this.dcc(dir, from, to, ctcp.args);
      // VERSION, PING, TIME…: client chatter, not chat text
      return;
    }
    if (dir === 0 && this.isPasswordService(to)) {
      const word = /^\s*(\S+)/.exec(text)?.[1] ?? '';
      const rest = text.slice(text.indexOf(word) + word.length).trim();
      if (/^IDENTIFY$/i.test(word)) this.identify(rest.split(/\s+/));
      else if (/^(?:REGISTER|GHOST|RECOVER|RELEASE|LOGIN|AUTH|REGAIN)$/i.test(word) && rest) {
        this.ctx.credential(this.ts, 0, { user: this.nick || '?', mechanism: `nickserv-${word.toLowerCase()}` });
      }
      // whatever follows the command word may be a password: never emitted
      this.emit(dir, from, to, rest ? `${word} ****` : word, command);
      return;
    }
    this.emit(dir, from, to, text, command);
  }

  private emit(dir: Dir, from: string, to: string, raw: string, command: string): void {
    const text = stripFormatting(raw).slice(0, MAX_TEXT);
    if (!text.trim()) return;
    const kind = command === 'NOTICE' ? 'notice' : isChannel(to) ? 'channel' : 'private';
    this.ctx.message(this.ts, dir, { from: ident(from, 64), to: ident(to, 128), text, kind });
  }

  private isPasswordService(target: string): boolean {
    const t = target.toLowerCase();
    return this.services.some((s) => t === s || (s.endsWith('.') && t.startsWith(s)) || t.startsWith(`${s}@`));
  }

  private dcc(dir: Dir, from: string, to: string, args: string): void {
    const resumes = parseDccResume(args);
    if (resumes.length) {
      for (const r of resumes) if (this.resume(dir, from, to, r)) break;
      return;
    }
    const offer = parseDcc(args);
    if (!offer) {
      this.ctx.malformed('DCC offer not parseable');
      return;
    }
    if (offer.kind === 'SEND') {
      // reverse DCC: the receiver answers a port-0 offer with its own address and the same token
      // (from the other side only: a peer answering its own offer would choose where our client connects)
      const pending = offer.token !== undefined && offer.port !== 0 ? this.pendingReverse.get(offer.token) : undefined;
      if (pending && pending.dir !== dir) {
        this.pendingReverse.delete(offer.token!);
        for (const ip of this.listenAddrs(dir, offer.ip)) this.expectSend(dir, pending.file, ip, offer.port, true, pending.resume);
        return;
      }
      const file: DccFile = {
        filename: safeName(offer.name),
        from,
        to,
        ...(offer.size !== undefined && offer.size > 0 ? { size: offer.size } : {}),
        transfer_id: `${this.ctx.flow.id}/dcc/${++this.transfers}`,
      };
      this.ctx.fileTransfer(this.ts, dir, { from: file.from, to: file.to, filename: file.filename, ...(file.size !== undefined ? { size: file.size } : {}), stage: 'offer', transfer_id: file.transfer_id });
      const resume: DccResume = {};
      if (offer.port === 0) {
        if (offer.token === undefined || this.pendingReverse.size >= MAX_PENDING_REVERSE) return;
        this.pendingReverse.set(offer.token, { file, dir, resume });
      } else {
        for (const ip of this.listenAddrs(dir, offer.ip)) this.expectSend(dir, file, ip, offer.port, false, resume);
      }
      // the user's own side is named by its direction (its nick may be unknown, or change), the peer by nick
      const key = resumeKey(offer.port, offer.token, dir === 0 ? SELF : from);
      this.resumable.delete(key);
      if (this.resumable.size >= MAX_PENDING_REVERSE) this.resumable.delete(this.resumable.keys().next().value as string);
      this.resumable.set(key, { dir, receiver: dir === 0 ? to.toLowerCase() : SELF, size: file.size, resume });
    } else if (offer.kind === 'CHAT' && offer.port !== 0) {
      for (const ip of this.listenAddrs(dir, offer.ip)) {
        this.ctx.expect(
          { transport: 'tcp', server: { ip, port: offer.port }, ...this.connector(dir, ip), reason: `IRC DCC CHAT offered by ${clip(from, 64)} to ${to}`, key: 'dcc', verify: dccOpeningFor('CHAT', false) },
          (dctx) => new DccChatDecoder(dctx, { ip, port: offer.port }, from, to),
        );
      }
    }
  }

  /** a peer's new nick: its offers, and the offers made to it, may be resumed under that nick */
  private renamePeer(was: string, now: string): void {
    const o = was.toLowerCase(), n = now.toLowerCase();
    if (o === n || !this.resumable.size) return;
    for (const [k, e] of [...this.resumable]) {
      if (e.receiver === o) e.receiver = n;
      // (keys are "offer\nsender": neither a token nor a nick holds a newline; '|' they may)
      const nl = k.indexOf('\n');
      if (e.dir !== 1 || k.slice(nl + 1) !== o) continue;
      const renamed = `${k.slice(0, nl + 1)}${n}`;
      // (the peer now under that nick is this one: an offer a departed one left there is stale)
      this.resumable.delete(renamed);
      this.resumable.delete(k);
      this.resumable.set(renamed, e);
    }
  }

  /**
   * mIRC's resume, on the offer it names (by port, or a reverse offer's token, and the sender's nick):
   * the offer's receiver asks from a point (RESUME, to the sender), the sender agrees to the same
   * point (ACCEPT, to the receiver) — only then does the transfer go on from it. Anyone else, or an
   * ACCEPT nobody asked for, chooses nothing (the point decides how the receiver's acknowledgements
   * are read). False: this reading names no offer here.
   */
  private resume(dir: Dir, from: string, to: string, r: DccResumeArgs): boolean {
    const ask = r.kind === 'RESUME';
    // the offer's sender: the user when the line goes to it (RESUME from the far side) or comes from
    // it (ACCEPT from the user's side); the peer named by the line otherwise
    const sender = ask ? (dir === 1 ? SELF : to) : dir === 0 ? SELF : from;
    const e = this.resumable.get(resumeKey(r.port, r.token, sender));
    if (!e) return false;
    // … and the receiver, the other party: the user's own lines need no nick
    const receiver = ask ? (dir === 0 ? SELF : from.toLowerCase()) : dir === 0 ? to.toLowerCase() : SELF;
    if ((ask ? dir === e.dir : dir !== e.dir) || receiver !== e.receiver) return true;
    if (e.size !== undefined && r.position >= e.size) return true;
    if (ask) e.asked = r.position;
    else if (e.asked === r.position) e.resume.at = r.position;
    return true;
  }

  /**
   * Where the announcing party listens: the address in the offer, and, when our client announced it
   * from behind NAT (the offer names a private address), also the address the IRC flow shows for it.
   */
  private listenAddrs(dir: Dir, announced: string): string[] {
    const seen = this.ctx.flow.client.ip;
    return dir === 0 && seen.toLowerCase() !== announced.toLowerCase() ? [announced, seen] : [announced];
  }

  /**
   * An offer (or reverse answer) that came from the far side is connected to by our client: from its
   * address only — when the offer's address is of the same family (a dual-stack client reaches an
   * IPv4 offer from its IPv4 address, which the IRC flow over IPv6 does not show).
   */
  private connector(dir: Dir, offered: string): { client?: { ip: string } } {
    const ours = this.ctx.flow.client.ip;
    return dir === 1 && ours.includes(':') === offered.includes(':') ? { client: { ip: ours } } : {};
  }

  private expectSend(dir: Dir, file: DccFile, ip: string, port: number, reverse: boolean, resume: DccResume): void {
    this.ctx.expect(
      // one transfer at a time on a port the sender listens on: an offer re-sent there replaces the last
      { transport: 'tcp', server: { ip, port }, ...this.connector(dir, ip), reason: `IRC DCC SEND of ${file.filename} by ${clip(file.from, 64)}`, key: 'dcc', verify: dccOpeningFor('SEND', reverse, resume) },
      (dctx) => new DccSendDecoder(dctx, file, { ip, port }, reverse, resume),
    );
  }
}

/** the user's own side in a resume's bookkeeping (no nick holds a newline: lines end there) */
const SELF = '\n';

/** an offer a resume may name: its port (a reverse offer's token) and its sender */
function resumeKey(port: number, token: string | undefined, sender: string): string {
  return `${port === 0 ? `t:${token}` : `p:${port}`}\n${sender.toLowerCase()}`;
}

/** nicks and targets come from the wire: no control characters */
function ident(s: string, max: number): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f]/g, '').slice(0, max) || '?';
}

/** file names come from the wire: no path, no control characters, bounded */
function safeName(name: string): string {
  // eslint-disable-next-line no-control-regex
  const base = name.replace(/[\u0000-\u001f\u007f]/g, '').split(/[\\/]/).pop() ?? '';
  // no cut here: the engine's sanitizeFileName shortens a long name keeping its extension and whole
  // surrogate pairs (a slice at 255 left half an emoji and dropped ".pdf"); the IRC line bounds the length
  return base || 'unnamed';
}
