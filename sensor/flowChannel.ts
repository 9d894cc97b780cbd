// The flow channel: the packet path runs in a worker thread and hands what it tells a FlowInspector
// (new flow, payload, gap, end, tick) to the analysis thread through a shared ring, in order, so that
// reading and reassembly use one core and the signatures and analyzer the other.
//
// The analysis thread replays the calls on the real inspector exactly as the packet path would have
// made them in one thread, so the events are the same byte for byte. The one thing that crosses back
// is "this flow wants no more data": the worker learns it late (a shared flag per table slot), so it
// may send a few more segments than needed. The analysis thread drops them by replaying the packet
// path's own rule: a delivery (a segment, a missing range, a stream end, a datagram) is made only if
// the handler wanted data when it began — the worker marks where each begins.
//
// Ring records are 8-byte aligned; a header of 6 words:
//   w0 type | flags << 8 | dir << 16 | reason << 20   w1 slot   w2 length (bytes)   w3 generation
//   w4-w5 f64 capture time (µs)
// followed by the body: DATA bytes; NEW the flow (below); END six f64 counters. WRAP sends the reader
// back to offset 0. A slot's generation tells the flags of one flow from the next flow in that slot.

import type { EndReason, FlowCounters, FlowHandler, FlowInspector } from './types';
import type { FlowTable } from './flowTable';
import { F_FIRST, FR } from './flowTable';
import { Flow, type SlotInspector } from './packetPath';

const T_NEW = 1, T_DATA = 2, T_GAP = 3, T_END = 4, T_TICK = 5, T_WRAP = 6;
/** flags: the first record of a delivery; more DATA of the same delivery follows */
const FL_OP = 1, FL_MORE = 2;
const HDR = 24;
/** NEW body: idHi idLo kind vlan cport sport caddr[4] saddr[4] zone zoneId */
const NEW_WORDS = 16;
/** ChannelReader.reopen values */
const R_UDP = 1, R_RELEASED = 2;
const NEW_BODY = NEW_WORDS * 4;
const END_BODY = 6 * 8;
/** the largest DATA record (at most a quarter of the ring); a longer delivery is sent in pieces and joined again */
const MAX_PIECE = 1 << 20;
const REASONS: EndReason[] = ['fin', 'rst', 'idle', 'lifetime', 'evicted', 'capture-end'];

/** control words (Int32Array over a SharedArrayBuffer) */
const C_W = 0, C_R = 1;
/**
 * 2 MiB, measured: a smaller ring stalls one thread or the other more often (1 MiB: 2.42-2.64 s on the
 * 1.5M-packet benchmark); a larger one lets the worker run further ahead, copying data for flows the
 * analysis has declined meanwhile (8 MiB: +0.5 s CPU). 2 MiB: 2.17-2.30 s, 4 MiB: 2.15-2.40 s.
 */
export const RING_BYTES = 2 << 20;

export interface ChannelBuffers {
  ring: SharedArrayBuffer;
  /** [write offset, read offset] */
  ctrl: SharedArrayBuffer;
  /** per table slot: the generation of the flow whose handler wants no more data */
  declined: SharedArrayBuffer;
}

export function channelBuffers(maxFlows: number, ringBytes = RING_BYTES): ChannelBuffers {
  return {
    ring: new SharedArrayBuffer(ringBytes),
    ctrl: new SharedArrayBuffer(16),
    declined: new SharedArrayBuffer(Math.max(1, maxFlows) * 4),
  };
}

const align8 = (n: number): number => (n + 7) & ~7;

// ---- worker side ---------------------------------------------------------------------------------

/** The inspector the worker's packet path talks to: every call becomes a ring record. */
export class ChannelWriter implements SlotInspector {
  private readonly buf: Buffer;
  private readonly u32: Uint32Array;
  private readonly f64: Float64Array;
  private readonly ctrl: Int32Array;
  private readonly declined: Int32Array;
  private readonly gen: Int32Array;
  private readonly size: number;
  private readonly maxPiece: number;
  private readonly publishEvery: number;
  private w = 0;
  private published = 0;
  /** the packet path's delivery counter (PacketPath.ops), read to mark where a delivery begins */
  ops: { ops: number } = { ops: 0 };
  /** ring-full waits (the analysis thread was behind) */
  waits = 0;

  constructor(b: ChannelBuffers, maxFlows: number) {
    this.size = b.ring.byteLength;
    if (this.size < 4096 || (this.size & (this.size - 1)) !== 0) throw new Error('the flow channel ring must be a power of two of at least 4096 bytes');
    this.maxPiece = Math.min(MAX_PIECE, this.size >> 2);
    this.publishEvery = Math.min(1 << 16, this.size >> 3);
    this.buf = Buffer.from(b.ring);
    this.u32 = new Uint32Array(b.ring);
    this.f64 = new Float64Array(b.ring);
    this.ctrl = new Int32Array(b.ctrl);
    this.declined = new Int32Array(b.declined);
    this.gen = new Int32Array(Math.max(1, maxFlows));
  }

  newFlowAt(t: FlowTable, slot: number, clientSide: 0 | 1): FlowHandler {
    const gen = (this.gen[slot] = (this.gen[slot] + 1) | 0);
    const o = this.reserve(HDR + NEW_BODY);
    const u = this.u32;
    const w = o >> 2;
    const v6 = t.isV6(slot);
    u[w] = T_NEW;
    u[w + 1] = slot;
    u[w + 2] = 0;
    u[w + 3] = gen;
    this.f64[(o >> 3) + 2] = t.f[slot * FR + F_FIRST];
    t.flowIdWords(slot);
    const b = w + 6;
    u[b] = t.idHi;
    u[b + 1] = t.idLo;
    u[b + 2] = (t.proto(slot) === 6 ? 0 : 1) | (v6 ? 2 : 0) | (t.clientBy[slot] << 4);
    u[b + 3] = t.vlan[slot];
    const ss: 0 | 1 = clientSide === 0 ? 1 : 0;
    u[b + 4] = t.port(slot, clientSide);
    u[b + 5] = t.port(slot, ss);
    const ca = t.addrOffset(slot, clientSide), sa = t.addrOffset(slot, ss);
    for (let i = 0; i < 4; i++) {
      u[b + 6 + i] = t.keys[ca + i];
      u[b + 10 + i] = t.keys[sa + i];
    }
    u[b + 14] = t.zone(slot);
    u[b + 15] = t.zoneId(slot);
    this.commit(o, HDR + NEW_BODY);
    return new RemoteHandler(this, slot, gen);
  }

  newFlow(): FlowHandler | null {
    throw new Error('ChannelWriter is driven through newFlowAt');
  }

  tick(ts: number): void {
    const o = this.reserve(HDR);
    this.header(o, T_TICK, 0, 0, 0, 0, 0, ts);
    this.commit(o, HDR);
  }

  /** @internal RemoteHandler */
  wants(slot: number, gen: number): boolean {
    return this.declined[slot] !== gen;
  }

  /** @internal RemoteHandler */
  data(slot: number, gen: number, dir: number, data: Buffer, ts: number): void {
    let flags = this.opFlag(slot, gen);
    for (let off = 0; ; ) {
      const n = Math.min(data.length - off, this.maxPiece);
      const more = off + n < data.length;
      const o = this.reserve(HDR + n);
      this.header(o, T_DATA, flags | (more ? FL_MORE : 0), dir, 0, slot, n, ts, gen);
      this.buf.set(off === 0 && n === data.length ? data : data.subarray(off, off + n), o + HDR);
      this.commit(o, HDR + n);
      off += n;
      flags = 0;
      if (!more) break;
    }
  }

  /** @internal RemoteHandler */
  gap(slot: number, gen: number, dir: number, length: number, ts: number): void {
    const o = this.reserve(HDR);
    this.header(o, T_GAP, this.opFlag(slot, gen), dir, 0, slot, Math.min(length, 0xffffffff), ts, gen);
    this.commit(o, HDR);
  }

  /** @internal RemoteHandler */
  end(slot: number, gen: number, c: FlowCounters, reason: EndReason): void {
    const o = this.reserve(HDR + END_BODY);
    this.header(o, T_END, 0, 0, REASONS.indexOf(reason), slot, 0, c.lastTs, gen);
    const f = (o >> 3) + 3;
    this.f64[f] = c.packetsC2S;
    this.f64[f + 1] = c.packetsS2C;
    this.f64[f + 2] = c.bytesC2S;
    this.f64[f + 3] = c.bytesS2C;
    this.f64[f + 4] = c.firstTs;
    this.f64[f + 5] = c.lastTs;
    this.commit(o, HDR + END_BODY);
  }

  private lastOps = -1;
  private lastOpSlot = -1;
  private lastOpGen = 0;
  /** FL_OP on the first record of each delivery the packet path begins */
  private opFlag(slot: number, gen: number): number {
    const ops = this.ops.ops;
    if (ops === this.lastOps && slot === this.lastOpSlot && gen === this.lastOpGen) return 0;
    this.lastOps = ops;
    this.lastOpSlot = slot;
    this.lastOpGen = gen;
    return FL_OP;
  }

  private header(o: number, type: number, flags: number, dir: number, reason: number, slot: number, len: number, ts: number, gen = 0): void {
    const w = o >> 2;
    this.u32[w] = type | (flags << 8) | (dir << 16) | (reason << 20);
    this.u32[w + 1] = slot;
    this.u32[w + 2] = len;
    this.u32[w + 3] = gen;
    this.f64[(o >> 3) + 2] = ts;
  }

  /** Room for `n` bytes at the write offset (wrapping, or waiting for the reader); returns it. */
  private reserve(n: number): number {
    const need = align8(n);
    for (;;) {
      const r = Atomics.load(this.ctrl, C_R);
      const w = this.w;
      if (w >= r) {
        // to the end of the ring (never filling it to r: w === r means empty)
        if (need <= this.size - w - (r === 0 ? 8 : 0)) return w;
        if (r > need) {
          this.u32[w >> 2] = T_WRAP;
          this.w = 0;
          return 0;
        }
      } else if (need < r - w) return w;
      this.publish();
      this.waits++;
      Atomics.wait(this.ctrl, C_R, r, 50);
    }
  }

  private commit(o: number, n: number): void {
    this.w = o + align8(n);
    if (this.w === this.size) {
      this.w = 0;
    }
    // the reader is told every 64 KiB or 1/8 ring (and at every flush): fewer wake-ups, a short delay
    if (((this.w - this.published) & (this.size - 1)) >= this.publishEvery) this.publish();
  }

  /** Makes everything written visible to the reader and wakes it. */
  publish(): void {
    Atomics.store(this.ctrl, C_W, this.w);
    this.published = this.w;
    Atomics.notify(this.ctrl, C_W);
  }
}

/** One flow's handler in the worker: its calls go down the ring. */
class RemoteHandler implements FlowHandler {
  constructor(private readonly ch: ChannelWriter, private readonly slot: number, private readonly gen: number) {}
  get wantsData(): boolean {
    return this.ch.wants(this.slot, this.gen);
  }
  onData(dir: 0 | 1, data: Buffer, ts: number): void {
    this.ch.data(this.slot, this.gen, dir, data, ts);
  }
  onGap(dir: 0 | 1, length: number, ts: number): void {
    this.ch.gap(this.slot, this.gen, dir, length, ts);
  }
  onEnd(c: FlowCounters, reason: EndReason): void {
    this.ch.end(this.slot, this.gen, c, reason);
  }
}

// ---- analysis side --------------------------------------------------------------------------------

/** Replays the ring's records on the real inspector. */
export class ChannelReader {
  private readonly buf: Buffer;
  private readonly u32: Uint32Array;
  private readonly f64: Float64Array;
  private readonly ctrl: Int32Array;
  private readonly declined: Int32Array;
  private readonly handlers: (FlowHandler | null)[];
  private readonly gens: Int32Array;
  /** per slot: did the current delivery begin while the handler wanted data */
  private readonly live: Uint8Array;
  private readonly gapBytes: Float64Array;
  /** per slot: a UDP flow's NEW body and first time, to open it again (FlowHandler.reopen) */
  private readonly flowWords: Uint32Array;
  private readonly firstTs: Float64Array;
  /** per slot: R_UDP for a UDP flow (its NEW body kept), R_RELEASED once its handler let go with reopen (its next datagram opens a new one) */
  private readonly reopen: Uint8Array;
  private readonly size: number;
  private r = 0;
  /** pieces of a delivery longer than one record */
  private pieces: Buffer[] = [];
  /** exceptions the inspector threw (a bug if ever non-zero) */
  internalErrors = 0;

  constructor(b: ChannelBuffers, maxFlows: number, private readonly inspector: FlowInspector) {
    this.size = b.ring.byteLength;
    this.buf = Buffer.from(b.ring);
    this.u32 = new Uint32Array(b.ring);
    this.f64 = new Float64Array(b.ring);
    this.ctrl = new Int32Array(b.ctrl);
    this.declined = new Int32Array(b.declined);
    const n = Math.max(1, maxFlows);
    this.handlers = new Array(n).fill(null);
    this.gens = new Int32Array(n);
    this.live = new Uint8Array(n);
    this.gapBytes = new Float64Array(n);
    this.flowWords = new Uint32Array(n * NEW_WORDS);
    this.firstTs = new Float64Array(n);
    this.reopen = new Uint8Array(n);
  }

  /** true when the writer has published records not read yet */
  get pending(): boolean {
    return Atomics.load(this.ctrl, C_W) !== this.r;
  }

  private endWait: (() => void) | undefined;

  /** Waits (without blocking the event loop) until records arrive, `ms` pass or interrupt() is called. */
  wait(ms: number): Promise<void> {
    // Atomics.waitAsync is in Node 20 (V8 11) but not in the es2022 lib's types. Its timeout is no
    // libuv handle: without the timer, Node could find nothing left to wait for and exit.
    const res = (Atomics as unknown as { waitAsync: (a: Int32Array, i: number, v: number, t: number) => { async: boolean; value: Promise<unknown> } }).waitAsync(this.ctrl, C_W, this.r, ms);
    if (!res.async) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const end = () => {
        clearTimeout(timer); // a timer left behind would keep the process alive up to `ms` at the end
        this.endWait = undefined;
        resolve();
      };
      const timer = setTimeout(end, ms);
      this.endWait = end;
      res.value.then(end);
    });
  }

  /** Ends the current wait now (the worker reported or exited). */
  interrupt(): void {
    this.endWait?.();
  }

  /** Replays the published records, at most about `maxBytes` of them; returns the bytes read. */
  drain(maxBytes: number): number {
    const end = Atomics.load(this.ctrl, C_W);
    let r = this.r;
    let done = 0;
    while (r !== end && done < maxBytes) {
      const w = r >> 2;
      const h = this.u32[w];
      const type = h & 255;
      if (type === T_WRAP) {
        r = 0;
        continue;
      }
      const len = this.u32[w + 2];
      const n = type === T_DATA ? HDR + len : type === T_NEW ? HDR + NEW_BODY : type === T_END ? HDR + END_BODY : HDR;
      try {
        this.record(r, type, (h >>> 8) & 255, (h >>> 16) & 15, h >>> 20, this.u32[w + 1], len, this.f64[(r >> 3) + 2]);
      } catch (e) {
        this.internalErrors++;
        if (process.env.SHADOWIM_DEBUG) console.error(e);
      }
      r += align8(n);
      if (r === this.size) r = 0;
      done += align8(n);
    }
    this.r = r;
    Atomics.store(this.ctrl, C_R, r);
    Atomics.notify(this.ctrl, C_R);
    return done;
  }

  private record(o: number, type: number, flags: number, dir: number, reason: number, slot: number, len: number, ts: number): void {
    if (type === T_TICK) {
      this.inspector.tick?.(ts);
      return;
    }
    if (type === T_NEW) return this.newFlow(o, slot, ts);
    let h = this.handlers[slot];
    if (h === null || h === undefined) {
      // a UDP flow let go with FlowHandler.reopen: this datagram opens it again (as PacketPath does)
      if (type !== T_DATA || slot >= this.reopen.length || this.reopen[slot] !== R_RELEASED) return;
      this.reopen[slot] = R_UDP;
      h = this.open(slot, this.gens[slot], this.flowWords, slot * NEW_WORDS, this.firstTs[slot]);
      if (h === null) return;
    }
    const d = dir as 0 | 1;
    if (type === T_DATA) {
      // the packet path makes a delivery only if the handler wanted data when it began
      if (flags & FL_OP) this.live[slot] = h.wantsData ? 1 : 0;
      if (this.live[slot] === 0) return;
      let data = Buffer.from(this.buf.buffer, o + HDR, len);
      if (flags & FL_MORE) {
        this.pieces.push(Buffer.from(data));
        return;
      }
      if (this.pieces.length > 0) {
        this.pieces.push(data);
        data = Buffer.concat(this.pieces);
        this.pieces = [];
      }
      if (h.wantsData) h.onData(d, data, ts);
      this.declineCheck(slot, h);
    } else if (type === T_GAP) {
      if (flags & FL_OP) this.live[slot] = h.wantsData ? 1 : 0;
      if (this.live[slot] === 0) return;
      this.gapBytes[slot] += len;
      if (h.wantsData) h.onGap(d, len, ts);
      this.declineCheck(slot, h);
    } else if (type === T_END) {
      const f = (o >> 3) + 3;
      const f64 = this.f64;
      const c: FlowCounters = {
        packets: f64[f] + f64[f + 1],
        bytes: f64[f + 2] + f64[f + 3],
        packetsC2S: f64[f],
        packetsS2C: f64[f + 1],
        bytesC2S: f64[f + 2],
        bytesS2C: f64[f + 3],
        firstTs: f64[f + 4],
        lastTs: f64[f + 5],
        gapBytes: this.gapBytes[slot],
      };
      this.handlers[slot] = null;
      h.onEnd(c, REASONS[reason] ?? 'capture-end');
    }
  }

  private newFlow(o: number, slot: number, firstTs: number): void {
    if (slot >= this.handlers.length) return;
    const u = this.u32;
    const w = o >> 2;
    const gen = u[w + 3] | 0;
    this.gens[slot] = gen;
    this.gapBytes[slot] = 0;
    if ((u[w + 8] & 1) === 0) {
      this.reopen[slot] = 0;
      this.open(slot, gen, u, w + 6, firstTs);
      return;
    }
    // UDP: the body is kept, the flow may be opened again (FlowHandler.reopen)
    const fw = this.flowWords;
    for (let i = 0, d = slot * NEW_WORDS; i < NEW_WORDS; i++) fw[d + i] = u[w + 6 + i];
    this.firstTs[slot] = firstTs;
    this.reopen[slot] = R_UDP;
    this.open(slot, gen, fw, slot * NEW_WORDS, firstTs);
  }

  /** The inspector's handler for the flow in `slot`, from the NEW body at u[b..]. */
  private open(slot: number, gen: number, u: Uint32Array, b: number, firstTs: number): FlowHandler | null {
    const kind = u[b + 2];
    const info = Flow.of(u[b], u[b + 1], (kind & 1) !== 0, (kind & 2) !== 0, u, b + 6, u[b + 4], b + 10, u[b + 5], firstTs, (kind >>> 4) & 3, u[b + 3] | 0, u[b + 14], u[b + 15]);
    this.live[slot] = 1;
    let h: FlowHandler | null = null;
    try {
      h = this.inspector.newFlow(info);
    } finally {
      this.handlers[slot] = h;
      if (h === null || !h.wantsData) Atomics.store(this.declined, slot, gen);
    }
    return h;
  }

  /** Tells the worker as soon as a handler wants no more data: it stops reassembling that flow. */
  private declineCheck(slot: number, h: FlowHandler): void {
    if (h.wantsData) return;
    if (h.finished === true && h.reopen === true && this.reopen[slot] === R_UDP) {
      // a UDP flow between datagrams: not declined, so the worker sends the next one, which opens a new handler
      this.handlers[slot] = null;
      this.reopen[slot] = R_RELEASED;
      return;
    }
    Atomics.store(this.declined, slot, this.gens[slot]);
    if (h.finished === true) this.handlers[slot] = null; // onEnd would do nothing: let it go (as PacketPath does)
  }
}
