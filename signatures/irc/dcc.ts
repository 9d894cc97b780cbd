// DCC side connections announced on an IRC session.
// SEND: the sender streams the file; the receiver answers with 4-byte acknowledgements (ignored).
//   Normal DCC: the sender listens at the announced address, so the file flows server → client.
//   Reverse DCC (port 0 + token): the receiver listens, the sender connects: client → server.
// CHAT: lines in both directions are private messages between the two nicks.
import type { Endpoint } from '../../common/events';
import type { Dir } from '../../sensor/types';
import type { FileWriter, SessionContext, StreamDecoder } from '../types';
import { LineFramer, decodeText, parseCtcp, stripFormatting } from './parser';

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
