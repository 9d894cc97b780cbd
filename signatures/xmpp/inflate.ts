// Bounded inflation of compressed XMPP over HTTP: permessage-deflate WebSocket messages (RFC 7692)
// and gzip/deflate BOSH bodies. Synchronous zlib, one call per message or body; no zlib stream is
// kept: a raw inflate's preset dictionary is exactly the sliding window, so context takeover is the
// last 32 KiB of a direction's output given as the dictionary of its next message. Output is bounded
// per message and per flow (a budget that grows with the compressed bytes seen), so an inflate bomb
// costs a bounded output, and the CPU per input byte is bounded by the budget's ratio.
import zlib from 'node:zlib';

const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);
const EMPTY = Buffer.alloc(0);
const SYNC = zlib.constants.Z_SYNC_FLUSH;

export type Inflated = Buffer | 'corrupt' | 'oversized' | 'budget';

/**
 * What one flow may inflate: at most `maxMessage` bytes per message or body, `maxTotal` in all, and
 * never more than `slack` + `ratio` × the compressed bytes seen so far (so that the output, and the
 * XML reading after it, stays proportional to the input: deflate alone allows 1032:1).
 */
export class InflateBudget {
  private input = 0;
  private output = 0;
  constructor(
    readonly maxMessage: number,
    readonly maxTotal: number,
    readonly ratio = 64,
    readonly slack = 1 << 20,
  ) {}

  /** the compressed bytes of a message or body are `n`: the most it may inflate to */
  take(n: number): { limit: number; byBudget: boolean } {
    this.input += n;
    const flow = Math.min(this.maxTotal - this.output, this.slack + this.ratio * this.input - this.output);
    return flow < this.maxMessage ? { limit: Math.max(0, flow), byBudget: true } : { limit: this.maxMessage, byBudget: false };
  }

  spend(n: number): void {
    this.output += n;
  }

  get spent(): number {
    return this.output;
  }
}

/**
 * Compressed bytes collected up to `max` in one buffer that grows by doubling (with `extra` bytes of
 * room after them): a message in a million one-byte frames or chunks costs about its size, not a
 * million Buffers (that was 109 MiB for 7 MB of one-byte frames). Past `max` nothing more is kept.
 */
export class Collector {
  private buf: Buffer | null = null;
  /** bytes given since the last reset, kept or not */
  size = 0;

  constructor(
    private readonly max: number,
    private readonly extra = 0,
  ) {}

  get over(): boolean {
    return this.size > this.max;
  }

  add(chunk: Buffer): void {
    const at = this.size;
    this.size += chunk.length;
    if (this.size > this.max) {
      this.buf = null;
      return;
    }
    const need = this.size + this.extra;
    if (!this.buf || need > this.buf.length) {
      const grown = Buffer.allocUnsafe(Math.min(this.max + this.extra, Math.max(need, 2 * (this.buf?.length ?? 0), 1024)));
      this.buf?.copy(grown, 0, 0, at);
      this.buf = grown;
    }
    chunk.copy(this.buf, at);
  }

  /** what was kept, with `extra` bytes of room after it; valid until the next add or reset */
  get room(): Buffer {
    return (this.buf ??= Buffer.allocUnsafe(Math.min(1024, this.max) + this.extra));
  }

  reset(): void {
    this.size = 0;
    if (this.buf && this.buf.length > 16384) this.buf = null; // an idle flow holds no large buffer
  }
}

/**
 * inflates `data` with at most `limit` bytes of output (`opts` gets maxOutputLength); never throws.
 * An output over the limit is charged to the budget all the same: the work was done.
 */
function bounded(fn: (b: Buffer, o: zlib.ZlibOptions) => Buffer, data: Buffer, budget: InflateBudget, opts: zlib.ZlibOptions): Inflated {
  const { limit, byBudget } = budget.take(data.length);
  if (limit < 1) return byBudget ? 'budget' : 'oversized';
  opts.maxOutputLength = limit;
  try {
    const out = fn(data, opts);
    budget.spend(out.length);
    return out;
  } catch (e) {
    if ((e as { code?: string }).code !== 'ERR_BUFFER_TOO_LARGE') return 'corrupt';
    budget.spend(limit);
    return byBudget ? 'budget' : 'oversized';
  }
}

/**
 * An HTTP body with Content-Encoding gzip, x-gzip or deflate. deflate is meant to be zlib-wrapped
 * (RFC 9110 §8.4.1.2) but some servers send raw DEFLATE; browsers accept both, and so do we (a zlib
 * header is two bytes: CM 8 and a check multiple of 31). A gzip magic is gunzipped whatever the label.
 */
export function inflateBody(coding: 'gzip' | 'deflate', data: Buffer, budget: InflateBudget): Inflated {
  if (data.length >= 2 && data[0] === 0x1f && data[1] === 0x8b) return bounded(zlib.gunzipSync, data, budget, {});
  if (coding === 'gzip') return 'corrupt';
  if (data.length >= 2 && (data[0] & 0x0f) === 8 && (data[0] >> 4) <= 7 && ((data[0] << 8) | data[1]) % 31 === 0) return bounded(zlib.inflateSync, data, budget, {});
  return bounded(zlib.inflateRawSync, data, budget, { finishFlush: SYNC });
}

/** permessage-deflate parameters of one direction, from the 101's Sec-WebSocket-Extensions */
export interface PmdParams {
  /** false: the sender resets its window after each message (…_no_context_takeover) */
  takeover: boolean;
  /** the sender's window is 2^bits bytes (…_max_window_bits, 8–15) */
  bits: number;
}

/** permessage-deflate as the server accepted it (RFC 7692 §7.1), per direction; undefined when not accepted */
export function pmdParams(extensions: string | undefined): { client: PmdParams; server: PmdParams } | undefined {
  if (!extensions) return undefined;
  for (const ext of extensions.split(',')) {
    const [name, ...params] = ext.split(';').map((p) => p.trim().toLowerCase());
    if (name !== 'permessage-deflate') continue;
    const client: PmdParams = { takeover: true, bits: 15 };
    const server: PmdParams = { takeover: true, bits: 15 };
    for (const p of params) {
      const [k, v] = p.split('=').map((s) => s.trim().replace(/^"|"$/g, ''));
      const bits = Number(v);
      if (k === 'client_no_context_takeover') client.takeover = false;
      else if (k === 'server_no_context_takeover') server.takeover = false;
      else if (k === 'client_max_window_bits' && bits >= 8 && bits <= 15) client.bits = Math.floor(bits);
      else if (k === 'server_max_window_bits' && bits >= 8 && bits <= 15) server.bits = Math.floor(bits);
    }
    return { client, server };
  }
  return undefined;
}

export type PmdFailure = 'corrupt' | 'windowLost' | 'oversized' | 'budget';

export interface PmdCounts {
  decoded: number;
  /** not decoded: bad DEFLATE data */
  corrupt: number;
  /** not decoded: it referred back into a window lost before it */
  windowLost: number;
  /** not decoded: over the output bound of a message or the compressed-size bound */
  oversized: number;
  /** not decoded: the flow's inflate budget was spent */
  budget: number;
  /** not decoded: bytes of it were lost, or its frames were cut off */
  cut: number;
  /** times the context-takeover window was lost (a lost or undecodable message) */
  losses: number;
}

/**
 * The receiving end of permessage-deflate for one direction: collects a message's compressed bytes
 * (bounded), inflates it at its end with the direction's window as the dictionary. The window is
 * only ever bytes known to be right: after a loss it is empty, so a later message that refers back
 * into the lost bytes fails ("invalid distance too far back") instead of inflating to garbage, and
 * one that does not (as after a sender's reset) is decoded exactly and starts a new window.
 */
export class PmdInflater {
  readonly counts: PmdCounts = { decoded: 0, corrupt: 0, windowLost: 0, oversized: 0, budget: 0, cut: 0, losses: 0 };
  private params: PmdParams = { takeover: true, bits: 15 };
  /** the window: the last `len` bytes of output kept in buf (room past 2^bits so it slides by copying rarely) */
  private buf: Buffer | null = null;
  private len = 0;
  /** bytes of this direction's history are missing from the window */
  private lost = false;
  /** the compressed bytes of the message in progress, with room for the 4-byte tail */
  private readonly data: Collector;

  constructor(
    private readonly budget: InflateBudget,
    maxCompressed: number,
  ) {
    this.data = new Collector(maxCompressed, TAIL.length);
  }

  configure(p: PmdParams): void {
    this.params = p;
    this.buf = null;
    this.len = 0;
  }

  /** compressed bytes of the message in progress (copied: the caller's buffer is reused) */
  add(chunk: Buffer): void {
    this.data.add(chunk);
  }

  /** the message ended: its text, or why it could not be decoded (counted) */
  finish(): Buffer | PmdFailure {
    const size = this.data.size;
    if (this.data.over) {
      this.data.reset();
      this.counts.oversized++;
      this.lose();
      return 'oversized';
    }
    const msg = this.data.room;
    if (size === 0 || (size === 1 && msg[0] === 0)) {
      // the empty message (RFC 7692 §7.2.3.6: 0x00, an empty stored block with the tail) inflates to
      // nothing and leaves the window as it was: no inflate call (one costs 4-10 µs however small)
      this.data.reset();
      this.counts.decoded++;
      return EMPTY;
    }
    TAIL.copy(msg, size);
    // zlib's output buffer is chunkSize bytes (16 KiB unless told): sized to what a message of this
    // size mostly inflates to, so that small messages do not each allocate 16 KiB
    const chunkSize = size < 256 ? 1024 : zlib.constants.Z_DEFAULT_CHUNK;
    const w = this.windowSize();
    const opts: zlib.ZlibOptions = this.buf && this.len ? { finishFlush: SYNC, chunkSize, dictionary: this.buf.subarray(Math.max(0, this.len - w), this.len) } : { finishFlush: SYNC, chunkSize };
    const out = bounded(zlib.inflateRawSync, msg.subarray(0, size + TAIL.length), this.budget, opts);
    this.data.reset();
    if (!Buffer.isBuffer(out)) {
      // with a window missing, a reference into it is what fails: not the data's fault
      const why = out === 'corrupt' && this.lost && this.params.takeover ? 'windowLost' : out;
      this.counts[why]++;
      this.lose();
      return why;
    }
    this.counts.decoded++;
    this.lost = false;
    if (this.params.takeover) this.slide(out);
    return out;
  }

  /** the message in progress lost bytes or was cut off: it is not decoded, and its window is gone */
  cut(): void {
    this.data.reset();
    this.counts.cut++;
    this.lose();
  }

  private lose(): void {
    if (!this.params.takeover) return;
    if (!this.lost) this.counts.losses++;
    this.len = 0;
    this.lost = true;
  }

  /** the sender never refers further back than 2^bits (zlib makes a window of 8 bits 9) */
  private windowSize(): number {
    return 1 << Math.max(9, this.params.bits);
  }

  /** keep the last 2^bits bytes of output */
  private slide(out: Buffer): void {
    const w = this.windowSize();
    const buf = (this.buf ??= Buffer.allocUnsafe(w + Math.max(4096, w >> 2)));
    if (out.length >= w) {
      out.copy(buf, 0, out.length - w);
      this.len = w;
      return;
    }
    if (this.len + out.length > buf.length) {
      const keep = Math.min(this.len, w - out.length);
      buf.copy(buf, 0, this.len - keep, this.len);
      this.len = keep;
    }
    out.copy(buf, this.len);
    this.len += out.length;
  }
}
