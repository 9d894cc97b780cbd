// DCC side connections announced on an IRC session.
// SEND: the sender streams the file; the receiver answers with 4-byte acknowledgements (ignored).
//   Normal DCC: the sender listens at the announced address, so the file flows server → client.
//   Reverse DCC (port 0 + token): the receiver listens, the sender connects: client → server.
// CHAT: lines in both directions are private messages between the two nicks.
import type { Endpoint } from '../../common/events';
import type { Dir } from '../../sensor/types';
import type { FileWriter, SessionContext, StreamDecoder } from '../types';
import { LineFramer, decodeText, parseCtcp, stripFormatting } from './parser';

/**
 * An IRC client's registration line, as RFC 2812 §3.1 and IRCv3 write it and clients send it (any
 * case, the last parameter with or without its colon): what opens the user's IRC connection, never a
 * DCC one's first line. One token where the syntax has one: a chat line "nick here, you there?" is chat.
 */
const IRC_REGISTRATION = /^(?:NICK :?[^\s:]\S{0,63}|USER \S{1,64} \S{1,64} \S{1,255} (?::[^\r\n]*|\S{1,255})|CAP (?:LS(?: \d{3})?|REQ :[^\r\n]*|END)|PASS (?::[^\r\n]*|\S{1,255})|WEBIRC [^\r\n]+|STARTTLS)\r?\n/i;
/** a PROXY protocol v1 line a load balancer puts before the client's first line */
const PROXY_V1 = /^PROXY (?:TCP4|TCP6|UNKNOWN)[^\r\n]{0,100}\r\n/;
/** … and from its server, before the client has said anything: ident/host-lookup notices, a PING, an ERROR */
const IRC_SERVER_FIRST = /^(?::\S{1,255} (?:NOTICE|PING|ERROR|CAP|\d{3}) |NOTICE |PING :|ERROR :)/i;
const IRC_LINE = 512;
/** what a server sends before its client registers (a few notices): less (the engine waits 1 KiB at most) */
const IRC_WAIT = 1000;

/** a TLS record (a ClientHello): the user's TLS connection to a server, no DCC CHAT line nor receiver's acknowledgement */
function tlsRecord(d: Buffer): boolean {
  return d.length >= 3 && d[0] === 0x16 && d[1] === 3 && d[2] <= 4;
}

/** 'more' while the first line could still become an IRC server's first line; else whether it is one */
function serverFirst(d: Buffer): boolean | 'more' {
  const n = Math.min(d.length, IRC_LINE);
  const head = d.toString('latin1', 0, n);
  const nl = head.indexOf('\n');
  const line = nl >= 0 ? head.slice(0, nl) : head;
  if (IRC_SERVER_FIRST.test(line)) return true;
  const open = line.startsWith(':') || 'NOTICE '.startsWith(line.slice(0, 7).toUpperCase()) || 'PING :'.startsWith(line.slice(0, 6).toUpperCase()) || 'ERROR :'.startsWith(line.slice(0, 7).toUpperCase());
  return nl < 0 && n < IRC_LINE && open ? 'more' : false;
}

/** 'more' while the first line is still arriving (an IRC line's length at most); else whether it registers */
function registers(d: Buffer): boolean | 'more' {
  let head = d.toString('latin1', 0, Math.min(d.length, IRC_LINE + 110));
  const proxy = PROXY_V1.exec(head);
  if (proxy) head = head.slice(proxy[0].length);
  else if ('PROXY '.startsWith(head.slice(0, 6))) return head.indexOf('\n') < 0 ? 'more' : false;
  head = head.slice(0, IRC_LINE);
  if (IRC_REGISTRATION.test(head)) return true;
  return head.indexOf('\n') < 0 && head.length < IRC_LINE && /^[A-Za-z]{1,8}( [^\r\n]*)?$/.test(head) ? 'more' : false;
}

/**
 * A DCC SEND receiver's first acknowledgement: the bytes received so far, u32 big-endian (or the high
 * word of a 64-bit one), sent after the first data — under 16 MiB, so its first byte is zero. Never
 * judged by the offer's size: the peer writes that. Text, TLS and PROXY lines all start otherwise.
 */
function ack(d: Buffer): boolean {
  return d[0] === 0;
}

/**
 * The verifier of an announced DCC connection. A file's bare bytes or chat lines prove nothing, but
 * the other side of the connection does, and an IRC connection proves it is none, so an offer naming
 * the user's IRC server (a peer can write any address) does not take the user's next connection there:
 * - SEND: the receiver only acknowledges (u32 counts under 16 MiB: a zero first byte); the sender's
 *   bytes are the file, unless they open as an IRC server (a notice before registration: the other
 *   side tells) or, the sender connecting (reverse), as an IRC client or TLS.
 * - CHAT: either side's lines, unless the connecting side registers as an IRC client (RFC 2812's
 *   `NICK x`, `USER a b c :r`, `CAP LS`, `PASS x`, `STARTTLS`, after a PROXY line too) or opens TLS,
 *   or the listening side opens as an IRC server and its client then registers.
 * `reverse`: a port-0 SEND, where the sender connected (dir 0) and the receiver listened.
 */
export function dccOpeningFor(kind: 'SEND' | 'CHAT', reverse: boolean): (d: Buffer, dir: Dir) => boolean | 'more' {
  return (d, dir) => {
    if (kind === 'CHAT') {
      if (dir === 0) {
        if (tlsRecord(d)) return false;
        const r = registers(d);
        return r === 'more' ? 'more' : !r;
      }
      const f = serverFirst(d);
      return f === 'more' || (f && d.length < IRC_WAIT) ? 'more' : true;
    }
    const receiver: Dir = reverse ? 1 : 0;
    if (dir === receiver) return ack(d);
    // the sender's side: a reverse sender registering is the user's IRC connection; a listener's
    // first line an IRC server's waits for the other side (a file that starts so streams on)
    if (reverse) {
      if (tlsRecord(d)) return false;
      const r = registers(d);
      return r === 'more' ? 'more' : !r;
    }
    const f = serverFirst(d);
    return f === 'more' || (f && d.length < IRC_WAIT) ? 'more' : true;
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

  constructor(private readonly ctx: SessionContext, private readonly file: DccFile, listener: Endpoint, reverse: boolean) {
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
