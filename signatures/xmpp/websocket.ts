// RFC 6455 WebSocket frames of one direction, streamed: text payload is unmasked and handed on as it
// arrives (never buffered whole), control frames are read and dropped, binary messages are skipped and
// counted. Compressed messages (permessage-deflate, RFC 7692: RSV1 on a message's first frame) are
// collected and inflated at their end when an inflater is set (inflate.ts), else skipped and counted.
// Frames larger than `maxFrame` are skipped too (the length is known, so the stream stays in step).
// A frame header that breaks the RFC (reserved opcode or RSV bits, a fragmented or long control
// frame, a 64-bit length with its top bit set) leaves nothing to resynchronise on: that direction
// stops. Pure, no I/O; bounded work per byte.

import type { PmdInflater } from './inflate';

export interface WsEvents {
  /** unmasked payload of a text message (valid during the call only) */
  text(chunk: Buffer): void;
  /** a text message ended (its last frame's payload was all given) */
  messageEnd(): void;
  /** a text message was cut off (too big a frame, a broken sequence): what was given is incomplete */
  messageAbort(): void;
  malformed(reason: string): void;
}

export interface WsCounters {
  textMessages: number;
  binaryMessages: number;
  compressedMessages: number;
  oversizedFrames: number;
  controlFrames: number;
  closed: boolean;
}

/** Deflate: a compressed message, collected for the inflater (Text or not: see deflateText) */
const enum M { None, Text, Skip, Deflate }
const SCRATCH = 16384;

export class WsReader {
  readonly counters: WsCounters = { textMessages: 0, binaryMessages: 0, compressedMessages: 0, oversizedFrames: 0, controlFrames: 0, closed: false };
  private hdr = Buffer.alloc(14);
  private hdrLen = 0;
  /** payload bytes left in the current frame (0: reading a header) */
  private remaining = 0;
  private inPayload = false;
  private fin = false;
  private control = false;
  /** what the current frame's payload is for */
  private sink: M = M.None;
  /** the data message in progress (between its first frame and its FIN) */
  private msg: M = M.None;
  private msgOpen = false;
  private mask = Buffer.alloc(4);
  private masked = false;
  private maskPos = 0;
  private dead = false;
  private scratch: Buffer | undefined;
  /** the compressed message in progress is text (a binary one is inflated only to keep the window) */
  private deflateText = false;
  /** permessage-deflate of this direction; without it compressed messages are skipped */
  deflate: PmdInflater | null = null;

  constructor(private readonly ev: WsEvents, private readonly maxFrame = 1 << 20) {}

  get stopped(): boolean {
    return this.dead;
  }

  push(b: Buffer): void {
    let pos = 0;
    while (pos < b.length && !this.dead) {
      if (!this.inPayload) {
        pos = this.header(b, pos);
        continue;
      }
      const n = Math.min(this.remaining, b.length - pos);
      if ((this.sink === M.Text || this.sink === M.Deflate) && n > 0) this.payload(b, pos, n);
      else this.maskPos = (this.maskPos + n) & 3;
      pos += n;
      this.remaining -= n;
      if (this.remaining === 0) this.frameDone();
    }
  }

  /** bytes lost: inside a payload they are skipped (the message is incomplete); elsewhere the framing is lost */
  gap(n: number): void {
    if (this.dead) return;
    if (this.inPayload && n <= this.remaining) {
      if (this.msg === M.Text || this.msg === M.Deflate) {
        this.abort();
        this.msg = M.Skip;
      }
      if (this.sink === M.Text || this.sink === M.Deflate) this.sink = M.Skip;
      this.remaining -= n;
      this.maskPos = (this.maskPos + n) & 3;
      if (this.remaining === 0) this.frameDone();
      return;
    }
    this.die('WebSocket bytes lost outside a frame payload: framing lost');
  }

  private die(reason: string): void {
    this.ev.malformed(reason);
    this.abort();
    this.dead = true;
  }

  /** the data message in progress is cut off */
  private abort(): void {
    if (this.msg === M.Text) this.ev.messageAbort();
    else if (this.msg === M.Deflate) this.deflate?.cut();
  }

  /** reads header bytes from b[pos…]; returns the new position */
  private header(b: Buffer, pos: number): number {
    const h = this.hdr;
    while (pos < b.length && this.hdrLen < 2) h[this.hdrLen++] = b[pos++];
    if (this.hdrLen < 2) return pos;
    const len7 = h[1] & 0x7f;
    const need = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (h[1] & 0x80 ? 4 : 0);
    while (pos < b.length && this.hdrLen < need) h[this.hdrLen++] = b[pos++];
    if (this.hdrLen < need) return pos;
    this.hdrLen = 0;
    const opcode = h[0] & 0x0f;
    const rsv = h[0] & 0x70;
    this.fin = (h[0] & 0x80) !== 0;
    this.masked = (h[1] & 0x80) !== 0;
    let len: number;
    let o = 2;
    if (len7 === 126) {
      len = h.readUInt16BE(2);
      o = 4;
    } else if (len7 === 127) {
      const hi = h.readUInt32BE(2);
      if (hi & 0x80000000) {
        this.die('WebSocket 64-bit length with its top bit set');
        return b.length;
      }
      // above 2^53 a length cannot be counted exactly: no real frame is that big
      if (hi > 0x1fffff) {
        this.die('WebSocket frame length beyond 2^53');
        return b.length;
      }
      len = hi * 0x100000000 + h.readUInt32BE(6);
      o = 10;
    } else len = len7;
    if (this.masked) {
      h.copy(this.mask, 0, o, o + 4);
      this.maskPos = 0;
    }
    if ((opcode >= 3 && opcode <= 7) || opcode >= 11) {
      this.die(`WebSocket reserved opcode ${opcode}`);
      return b.length;
    }
    if (rsv & 0x30) {
      this.die('WebSocket RSV2/RSV3 set (no extension defines them)');
      return b.length;
    }
    this.control = opcode >= 8;
    if (this.control) {
      if (!this.fin || len > 125) {
        this.die('WebSocket control frame fragmented or longer than 125 bytes');
        return b.length;
      }
      this.counters.controlFrames++;
      if (opcode === 8) this.counters.closed = true;
      this.sink = M.Skip; // ping/pong/close payloads carry no chat
    } else if (opcode === 0) {
      if (!this.msgOpen) {
        this.ev.malformed('WebSocket continuation frame without a message');
        this.sink = M.Skip;
        this.fin = false; // nothing to end
      } else this.sink = this.msg;
    } else {
      if (this.msgOpen) {
        // a new message before the last one's FIN: the last one is cut off
        this.ev.malformed('WebSocket message started before the previous one ended');
        this.abort();
      }
      this.msgOpen = true;
      if (rsv & 0x40) {
        this.counters.compressedMessages++;
        if (opcode === 2) this.counters.binaryMessages++;
        this.deflateText = opcode === 1;
        this.msg = this.deflate ? M.Deflate : M.Skip;
      } else if (opcode === 2) {
        this.counters.binaryMessages++;
        this.msg = M.Skip;
      } else {
        this.counters.textMessages++;
        this.msg = M.Text;
      }
      this.sink = this.msg;
    }
    if (!this.control && len > this.maxFrame) {
      this.counters.oversizedFrames++;
      this.ev.malformed(`WebSocket frame of ${len} bytes refused (limit ${this.maxFrame})`);
      this.abort();
      this.msg = M.Skip;
      this.sink = M.Skip;
    }
    this.remaining = len;
    this.inPayload = true;
    if (len === 0) this.frameDone();
    return pos;
  }

  private payload(b: Buffer, pos: number, n: number): void {
    if (!this.masked) {
      this.out(b.subarray(pos, pos + n));
      return;
    }
    const s = (this.scratch ??= Buffer.allocUnsafe(SCRATCH));
    const m = this.mask;
    let k = this.maskPos;
    for (let off = 0; off < n; off += SCRATCH) {
      const len = Math.min(SCRATCH, n - off);
      for (let i = 0; i < len; i++, k = (k + 1) & 3) s[i] = b[pos + off + i] ^ m[k];
      this.out(s.subarray(0, len));
    }
    this.maskPos = k;
  }

  private out(chunk: Buffer): void {
    if (this.sink === M.Deflate) this.deflate?.add(chunk);
    else this.ev.text(chunk);
  }

  private frameDone(): void {
    this.inPayload = false;
    if (this.control || !this.fin) return;
    if (this.msgOpen && this.msg === M.Text) this.ev.messageEnd();
    else if (this.msgOpen && this.msg === M.Deflate && this.deflate) {
      const text = this.deflate.finish();
      if (!Buffer.isBuffer(text)) {
        if (text === 'corrupt' || text === 'oversized') this.ev.malformed(`permessage-deflate message ${text === 'corrupt' ? 'corrupt' : 'over its size bound'}: not decoded`);
      } else if (this.deflateText) {
        this.ev.text(text);
        this.ev.messageEnd();
      }
    }
    this.msgOpen = false;
    this.msg = M.None;
  }
}
