// DCC side connections announced on an IRC session.
// SEND: the sender streams the file; the receiver answers with 4-byte acknowledgements (ignored).
//   Normal DCC: the sender listens at the announced address, so the file flows server → client.
//   Reverse DCC (port 0 + token): the receiver listens, the sender connects: client → server.
// CHAT: lines in both directions are private messages between the two nicks.
import type { Endpoint } from '../../common/events';
import type { Dir } from '../../sensor/types';
import type { FileWriter, OpeningCheck, SessionContext, StreamDecoder } from '../types';
import { LineFramer, decodeText, parseCtcp, stripFormatting } from './parser';

/**
 * An IRC client's first line, as RFC 2812 §3.1 and IRCv3 write it and clients send it (any case, the
 * last parameter with or without its colon): registration, SASL, STARTTLS, or an HTTP request line
 * (IRC over WebSocket). A chat line may look the same ("Nick here"): such an opening waits for the
 * other side — an IRC server answers it, a chat peer or a DCC receiver does not.
 */
const IRC_CLIENT_FIRST = /^(?:NICK :?[^\s:]\S{0,63}|USER \S{1,64} \S{1,64} \S{1,255} (?::[^\r\n]*|\S{1,255})|CAP (?:LS(?: \d{3})?|REQ :?[^\r\n]*|END)|PASS (?::[^\r\n]*|\S{1,255}(?: [^\r\n]*)?)|WEBIRC [^\r\n]+|AUTHENTICATE \S{1,32}|STARTTLS|GET \S{1,2048} HTTP\/1\.[01])\r?\n/i;
/** a PROXY protocol v1 line a load balancer puts before the client's first line */
const PROXY_V1 = /^PROXY (?:TCP4|TCP6|UNKNOWN)[^\r\n]{0,100}\r\n/;
/** the PROXY protocol v2 signature */
const PROXY_V2 = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');
/** … and from its server: notices, a numeric or CAP reply, a PING, an ERROR (before the client speaks, or answering it) */
const IRC_SERVER_LINE = /^(?:@\S{1,8191} )?(?::\S{1,255} (?:NOTICE|PING|ERROR|CAP|AUTHENTICATE|\d{3}) |NOTICE |PING :?\S|ERROR :|AUTHENTICATE )/i;
const IRC_LINE = 512;
/** what a server sends before its client registers (a few notices): no more (the engine waits 1 KiB at most) */
const IRC_WAIT = 1000;

/** a TLS record or an SSLv2-format ClientHello: a TLS connection, no DCC line nor acknowledgement */
function tlsRecord(d: Buffer): boolean {
  if (d.length >= 3 && d[0] === 0x16 && d[1] === 3 && d[2] <= 4) return true;
  return d.length >= 5 && (d[0] & 0x80) !== 0 && d[2] === 1 && d[3] === 3;
}

/** the first line, past blank lines and spaces (at most a line's length) */
function firstText(d: Buffer, max: number): string {
  const head = d.toString('latin1', 0, Math.min(d.length, max + 16));
  return head.replace(/^[\r\n ]{1,16}/, '');
}

/** 'more' while the first line could still become an IRC server's line; else whether it is one */
function serverLine(d: Buffer): boolean | 'more' {
  const head = firstText(d, IRC_LINE);
  const nl = head.indexOf('\n');
  const line = nl >= 0 ? head.slice(0, nl) : head;
  if (IRC_SERVER_LINE.test(line)) return true;
  if (nl >= 0 || head.length >= IRC_LINE) return false;
  const up = line.slice(0, 13).toUpperCase();
  return line === '' || line.startsWith(':') || line.startsWith('@') || ['NOTICE ', 'PING ', 'ERROR :', 'AUTHENTICATE '].some((w) => w.startsWith(up.slice(0, w.length)) || up.startsWith(w)) ? 'more' : false;
}

/** 'more' while the first line is still arriving; else whether it opens as an IRC client does */
function clientLine(d: Buffer): boolean | 'more' {
  if (d.length >= 1 && d[0] === 0x0d && PROXY_V2.subarray(0, Math.min(d.length, 12)).equals(d.subarray(0, Math.min(d.length, 12)))) return d.length >= 12 ? true : 'more';
  let head = firstText(d, IRC_LINE + 110);
  const proxy = PROXY_V1.exec(head);
  if (proxy) head = head.slice(proxy[0].length);
  else if (head.length < 6 && 'PROXY '.startsWith(head)) return 'more';
  if (head === '') return 'more'; // (a PROXY line alone in its segment: the client's line follows)
  head = head.slice(0, IRC_LINE);
  if (IRC_CLIENT_FIRST.test(head)) return true;
  return head.indexOf('\n') < 0 && head.length < IRC_LINE && /^[A-Za-z]{1,12}( [^\r\n]*)?$/.test(head) ? 'more' : false;
}

/** every whole line of the first IRC_WAIT bytes an IRC server's (two at least) */
function serverLinesOnly(d: Buffer): boolean {
  const lines = d.toString('latin1', 0, IRC_WAIT).split('\n').slice(0, -1).filter((l) => l !== '\r' && l !== '');
  return lines.length >= 2 && lines.every((l) => IRC_SERVER_LINE.test(l));
}

/** a SEND resumed (DCC RESUME/ACCEPT on the IRC session, before the connection): from this byte on */
export interface DccResume {
  at?: number;
}

/** whole words of a receiver's opening read as acknowledgements, at most */
const ACK_WORDS = 8;
const ACK_STEP = 2 ** 24;

/**
 * Whether the whole words of `d` (u32 big-endian, or `wide` u64) read as a receiver's
 * acknowledgements: the first within 16 MiB past `base` (0, or a resume point; u32 modulo 2^32, as
 * clients wrap it), each next one not behind the last and within 16 MiB of it.
 */
function risingAcks(d: Buffer, base: number, wide: boolean): boolean {
  const size = wide ? 8 : 4;
  const n = Math.min(Math.floor(d.length / size), ACK_WORDS);
  let prev = 0;
  for (let i = 0; i < n; i++) {
    const v = wide ? d.readUInt32BE(i * 8) * 2 ** 32 + d.readUInt32BE(i * 8 + 4) : d.readUInt32BE(i * 4);
    const past = wide ? v - base : (v - (base % 2 ** 32) + 2 ** 32) % 2 ** 32;
    if (past < 0 || past - prev >= ACK_STEP || (i > 0 && past < prev)) return false;
    prev = past;
  }
  return n > 0;
}

/**
 * A DCC SEND receiver's opening: acknowledgements, the bytes received so far, u32 big-endian (or 64
 * bits), sent after the data they count — so the first under 16 MiB (a zero first byte) and the next
 * ones rising by less than that. Of a resumed transfer, the file's position: from the resume point
 * on, two words at least, and no IRC client's line, not even one still arriving (the point is the
 * peers' to choose, and text read as numbers must not pass). A client protocol whose first byte is
 * zero (SMB's session header, DNS over TCP, PostgreSQL's startup, Kerberos) does not rise so.
 * Never judged by the offer's size: the peer writes that. Text, TLS and PROXY lines start otherwise.
 */
function ack(d: Buffer, resume: DccResume | undefined): boolean | 'more' {
  if (!d.length) return 'more';
  if (tlsRecord(d)) return false;
  const at = resume?.at ?? 0;
  if (at !== 0) {
    const c = clientLine(d);
    if (c !== false) return c === true ? false : 'more';
  } else if (d[0] !== 0) return false;
  if (d.length < 4) return 'more';
  if (risingAcks(d, at, false)) return at === 0 || d.length >= 8 ? true : 'more';
  return d.length >= 8 && risingAcks(d, at, true);
}

/**
 * The verifier of an announced DCC connection. A file's bare bytes or chat lines prove nothing, but
 * an IRC connection proves it is none, and the two sides together tell: an offer naming the user's
 * IRC server (a peer can write any address) does not take the user's connections there.
 * - The side that speaks like an IRC client (registration, SASL, STARTTLS, an HTTP upgrade, after a
 *   PROXY line too) is the user's, unless the other side then answers as no server does (a chat
 *   peer's line, a receiver's acknowledgement): it waits for that answer.
 * - The side that speaks like an IRC server (a notice, a numeric, a PING) is a server, unless the other
 *   side acknowledges it as a file (SEND) or writes as no IRC client does (CHAT); it waits at most
 *   IRC_WAIT bytes, then is taken for a server.
 * - TLS (a ClientHello or a ServerHello) is never DCC here.
 * - SEND: the receiver's side must acknowledge (a zero first byte), and its acknowledgement decides.
 * `reverse`: a port-0 SEND, where the sender connected (dir 0) and the receiver listened.
 */
export function dccOpeningFor(kind: 'SEND' | 'CHAT', reverse: boolean, resume?: DccResume): OpeningCheck {
  const receiver: Dir | -1 = kind === 'SEND' ? (reverse ? 1 : 0) : -1;
  /** whether the other side's first bytes answer as IRC does; undefined: not yet */
  const answersAsIrc = (o: Buffer, oDir: Dir): boolean | undefined => {
    if (!o.length) return undefined;
    if (tlsRecord(o)) return true;
    if (oDir === receiver) {
      const a = ack(o, resume);
      return a === 'more' ? undefined : !a;
    }
    const c = clientLine(o), sv = serverLine(o);
    if (c === true || sv === true) return true;
    return c === 'more' || sv === 'more' ? undefined : false;
  };
  return (d, dir, other) => {
    if (tlsRecord(d)) return false;
    const oDir: Dir = dir === 0 ? 1 : 0;
    // a receiver's acknowledgement is nothing IRC sends (its file may well start like a server line)
    if (dir === receiver) return ack(d, resume);
    const c = dir === 0 ? clientLine(d) : false;
    const sv = serverLine(d);
    if (c === 'more' || sv === 'more') return 'more';
    if (!c && !sv) return true; // text or bytes no IRC side opens with
    // it opens as an IRC client or server: the other side tells
    const irc = answersAsIrc(other, oDir);
    // no answer yet: a server's lines only, past what a server says before its client speaks, are
    // a server's (a capture of its side alone); a file that starts with one such line streams on
    if (irc === undefined) return sv && d.length >= IRC_WAIT ? !serverLinesOnly(d) : 'more';
    return !irc;
  };
}

export interface DccFile {
  filename: string;
  from: string;
  to: string;
  size?: number;
  transfer_id: string;
}

function sameEndpoint(a: Endpoint, b: Endpoint): boolean {
  return a.port === b.port && a.ip.toLowerCase() === b.ip.toLowerCase();
}

/** which direction of the side flow comes from the party that listened at `listener` */
function fromListener(ctx: SessionContext, listener: Endpoint): Dir {
  if (sameEndpoint(ctx.flow.client, listener) && !sameEndpoint(ctx.flow.server, listener)) return 0;
  return 1;
}

export class DccSendDecoder implements StreamDecoder {
  private readonly dataDir: Dir;
  private writer: FileWriter | undefined;
  private seen = 0;
  private done = false;

  constructor(private readonly ctx: SessionContext, private readonly file: DccFile, listener: Endpoint, reverse: boolean, private readonly resume: DccResume = {}) {
    const l = fromListener(ctx, listener);
    this.dataDir = reverse ? ((1 - l) as Dir) : l;
    ctx.setService('file');
  }

  private open(ts: number): FileWriter {
    if (!this.writer) {
      this.writer = this.ctx.openFile(ts, this.dataDir, {
        filename: this.file.filename, from: this.file.from, to: this.file.to,
        ...(this.file.size !== undefined ? { size: this.file.size } : {}),
        transfer_id: this.file.transfer_id,
      });
      // a resumed transfer sends from the resume point: the bytes before it are not on this connection
      const at = Math.min(this.resume.at ?? 0, this.file.size ?? Infinity);
      if (at > 0) {
        this.writer.gap(at);
        this.seen = at;
      }
    }
    return this.writer;
  }

  onData(dir: Dir, data: Buffer, ts: number): void {
    if (dir !== this.dataDir || this.done || !data.length) return;
    const w = this.open(ts);
    const size = this.file.size;
    const take = size !== undefined ? Math.min(data.length, size - this.seen) : data.length;
    if (take > 0) w.write(take === data.length ? data : data.subarray(0, take), ts);
    this.seen += Math.max(take, 0);
    if (size !== undefined && this.seen >= size) this.finish(ts, true);
  }

  onGap(dir: Dir, length: number, ts: number): void {
    if (dir !== this.dataDir || this.done) return;
    const w = this.open(ts);
    const size = this.file.size;
    const lost = size !== undefined ? Math.min(length, size - this.seen) : length;
    if (lost > 0) w.gap(lost);
    this.seen += Math.max(lost, 0);
    if (size !== undefined && this.seen >= size) this.finish(ts, false);
  }

  onEnd(ts: number): void {
    // closed before the declared size: the carver reports it incomplete
    if (!this.done && this.writer) this.finish(ts, undefined);
  }

  private finish(ts: number, complete: boolean | undefined): void {
    this.done = true;
    this.writer?.end(ts, complete);
  }
}

export class DccChatDecoder implements StreamDecoder {
  private readonly listenerDir: Dir;
  private framers: [LineFramer, LineFramer];
  private ts = 0;

  constructor(private readonly ctx: SessionContext, listener: Endpoint, private readonly offerer: string, private readonly peer: string) {
    this.listenerDir = fromListener(ctx, listener);
    ctx.setService('chat');
    this.framers = [0, 1].map((d) => new LineFramer((l) => this.line(d as Dir, l), () => ctx.malformed('DCC CHAT line too long'))) as [LineFramer, LineFramer];
  }

  onData(dir: Dir, data: Buffer, ts: number): void {
    this.ts = ts;
    this.framers[dir].push(data);
  }

  onGap(dir: Dir): void {
    this.framers[dir].gap();
  }

  private line(dir: Dir, raw: Buffer): void {
    const [from, to] = dir === this.listenerDir ? [this.offerer, this.peer] : [this.peer, this.offerer];
    let text = decodeText(raw);
    const ctcp = parseCtcp(text);
    if (ctcp) {
      if (ctcp.command !== 'ACTION') return;
      text = `* ${from} ${ctcp.args}`;
    }
    text = stripFormatting(text).slice(0, 4096);
    if (!text.trim()) return;
    this.ctx.message(this.ts, dir, { from, to, text, kind: 'private' });
  }
}
