// DCC side connections announced on an IRC session.
// SEND: the sender streams the file; the receiver answers with 4-byte acknowledgements (ignored).
//   Normal DCC: the sender listens at the announced address, so the file flows server → client.
//   Reverse DCC (port 0 + token): the receiver listens, the sender connects: client → server.
// CHAT: lines in both directions are private messages between the two nicks.
import type { Endpoint } from '../../common/events';
import type { Dir } from '../../sensor/types';
import type { FileWriter, SessionContext, StreamDecoder } from '../types';
import { LineFramer, decodeText, parseCtcp, stripFormatting } from './parser';

/** what opens an IRC connection, from its client: registration (RFC 2812 §3.1, IRCv3 CAP, WEBIRC) */
const IRC_CLIENT_FIRST = ['NICK ', 'USER ', 'PASS ', 'CAP ', 'WEBIRC ', 'SERVICE ', 'SERVER '];
/** … and from its server, before the client has said anything: ident/host-lookup notices, a PING, an ERROR */
const IRC_SERVER_FIRST = /^(?::\S{1,255} (?:NOTICE|PING|ERROR|CAP|\d{3}) |NOTICE |PING :|ERROR :)/i;
const IRC_LINE = 512;
/** what a server sends before its client registers (a few notices): less (the engine waits 1 KiB at most) */
const IRC_WAIT = 1000;

/**
 * A DCC connection carries a file's bare bytes or chat lines, so nothing proves one; but an IRC
 * connection proves it is none. An offer naming an IRC server's address and port (a peer can write
 * any) must not make the user's next IRC connection be read as a file: a first line that opens IRC
 * — the connecting side's registration — declines the offer; a server notice first waits for it.
 * 'more' while such a line may still be coming (an IRC line's 512 bytes at most).
 */
export function dccOpening(d: Buffer, dir: Dir): boolean | 'more' {
  const n = Math.min(d.length, IRC_LINE);
  const head = d.toString('latin1', 0, n);
  const nl = head.indexOf('\n');
  const line = nl >= 0 ? head.slice(0, nl) : head;
  if (dir === 0) {
    const up = line.slice(0, 8).toUpperCase();
    for (const w of IRC_CLIENT_FIRST) {
      if (up.startsWith(w)) return false;
      if (nl < 0 && w.startsWith(up)) return 'more'; // (the line still arriving: "NIC")
    }
    return true;
  }
  // a server line: the connecting side's first bytes tell (registration, or a DCC receiver's
  // 4-byte acknowledgement) — a file that starts like one streams on past IRC_WAIT bytes, a server
  // waits for its client
  if (IRC_SERVER_FIRST.test(line)) return d.length < IRC_WAIT ? 'more' : true;
  // a server line is still arriving when its prefix fits one (':' then the server's name)
  const open = line.startsWith(':') || 'NOTICE '.startsWith(line.slice(0, 7).toUpperCase()) || 'PING :'.startsWith(line.slice(0, 6).toUpperCase()) || 'ERROR :'.startsWith(line.slice(0, 7).toUpperCase());
  return nl < 0 && n < IRC_LINE && open ? 'more' : true;
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
