// The flow table: a fixed-capacity open-addressing hash of bidirectional 5-tuples (with the tunnel
// zone, docs/sensor.md) held in typed
// arrays (no string keys, no per-packet objects), with per-flow counters, and a timer wheel of
// one-second buckets keyed by each flow's expiry deadline: idle flows are found without any list work
// per packet, and a full table evicts the flow nearest to its idle timeout. Capacity is fixed at
// construction: memory cannot grow with traffic.

import type { Decoded } from './decode';

/** timer wheel: one bucket per second, more buckets than the longest idle timeout in seconds */
export const WHEEL = 1024;
// key words: A addr (4), B addr (4), ports, proto | v6 << 8 | tunnel zone kinds << 9, zone id
const KW = 11;
const KS = 12; // key row stride: the key words and the hash
/** hot row stride: slot * FR + F_* */
export const FR = 8;
/** hot row fields */
export const F_LAST = 0, F_FIRST = 1, F_PKTS = 2, F_BYTES = 4, F_STATE = 6, F_DEADLINE = 7;

export class FlowTable {
  readonly capacity: number;
  count = 0;
  /** set by lookup/insert: true when the packet's source is the key's side A */
  fwd = true;

  /** [slot*KS + 0..10] key words, [+11] hash */
  readonly keys: Uint32Array;
  private readonly index: Int32Array;
  private readonly mask: number;
  private readonly free: Int32Array;
  private freeTop: number;
  private readonly k = new Uint32Array(KW);
  private khash = 0;

  readonly prev: Int32Array;
  readonly next: Int32Array;
  /** wheel bucket a slot is in, -1 when none */
  readonly bucket: Int32Array;
  readonly heads = new Int32Array(WHEEL).fill(-1);
  readonly tails = new Int32Array(WHEEL).fill(-1);
  /** last second whose bucket was processed; -1 before the first */
  cursor = -1;

  /**
   * The fields every packet touches, one 64-byte row per flow (one cache line instead of eight):
   * [slot*8 + F_*]. Counters are per direction, 0 = client → server.
   */
  readonly f: Float64Array;
  /** [slot*2 + dir]: initial sequence number from the SYN of that direction */
  readonly isn: Float64Array;
  readonly gapBytes: Float64Array;
  readonly vlan: Int32Array;
  readonly clientBy: Uint8Array;

  constructor(capacity: number) {
    this.capacity = capacity = Math.max(1, Math.floor(capacity));
    let size = 4;
    while (size < capacity * 2) size *= 2;
    this.mask = size - 1;
    this.index = new Int32Array(size);
    this.keys = new Uint32Array(capacity * KS);
    this.free = new Int32Array(capacity);
    for (let i = 0; i < capacity; i++) this.free[i] = capacity - 1 - i;
    this.freeTop = capacity;
    this.prev = new Int32Array(capacity);
    this.next = new Int32Array(capacity);
    this.bucket = new Int32Array(capacity).fill(-1);
    this.f = new Float64Array(capacity * FR);
    this.isn = new Float64Array(capacity * 2);
    this.gapBytes = new Float64Array(capacity);
    this.vlan = new Int32Array(capacity);
    this.clientBy = new Uint8Array(capacity);
  }

  get full(): boolean {
    return this.freeTop === 0;
  }

  /** Builds the canonical key of the decoded packet (sets `fwd`) and finds its slot, or -1. */
  lookup(d: Decoded): number {
    const k = this.k;
    const b = d.addrBuf;
    let s = d.srcOff, t = d.dstOff;
    let cmp = 0;
    let h: number;
    if (!d.v6) {
      const sa = ((b[s] << 24) | (b[s + 1] << 16) | (b[s + 2] << 8) | b[s + 3]) >>> 0;
      const da = ((b[t] << 24) | (b[t + 1] << 16) | (b[t + 2] << 8) | b[t + 3]) >>> 0;
      cmp = sa < da ? -1 : sa > da ? 1 : d.sport - d.dport;
      const fwd = cmp <= 0;
      const a = fwd ? sa : da, z = fwd ? da : sa;
      const ports = fwd ? ((d.sport << 16) | d.dport) >>> 0 : ((d.dport << 16) | d.sport) >>> 0;
      k[0] = a;
      k[4] = z;
      k[1] = k[2] = k[3] = k[5] = k[6] = k[7] = 0;
      k[8] = ports;
      // outside tunnels zone 0: the same words and hash as without zones
      const pz = d.proto | (d.zone << 9);
      k[9] = pz;
      k[10] = d.zoneId;
      this.fwd = fwd;
      h = mix(mix(mix(mix(0x9747b28c, a), z), ports), pz);
      if (d.zone !== 0) h = mix(h, d.zoneId);
    } else {
      for (let i = 0; i < 16 && cmp === 0; i++) cmp = b[s + i] - b[t + i];
      if (cmp === 0) cmp = d.sport - d.dport;
      if (cmp > 0) {
        const x = s;
        s = t;
        t = x;
      }
      for (let i = 0; i < 4; i++) {
        const o = i * 4;
        k[i] = ((b[s + o] << 24) | (b[s + o + 1] << 16) | (b[s + o + 2] << 8) | b[s + o + 3]) >>> 0;
        k[4 + i] = ((b[t + o] << 24) | (b[t + o + 1] << 16) | (b[t + o + 2] << 8) | b[t + o + 3]) >>> 0;
      }
      this.fwd = cmp <= 0;
      k[8] = this.fwd ? ((d.sport << 16) | d.dport) >>> 0 : ((d.dport << 16) | d.sport) >>> 0;
      k[9] = d.proto | 256 | (d.zone << 9);
      k[10] = d.zoneId;
      h = 0x9747b28c;
      for (let i = 0; i < 10; i++) h = mix(h, k[i]);
      if (d.zone !== 0) h = mix(h, d.zoneId);
    }
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    h >>>= 0;
    this.khash = h;
    const keys = this.keys;
    const index = this.index;
    const mask = this.mask;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const e = index[i];
      if (e === 0) return -1;
      const o = (e - 1) * KS;
      if (keys[o + 11] === h && keys[o + 8] === k[8] && keys[o] === k[0] && keys[o + 4] === k[4] && keys[o + 9] === k[9] &&
        keys[o + 10] === k[10] && keys[o + 1] === k[1] && keys[o + 2] === k[2] && keys[o + 3] === k[3] &&
        keys[o + 5] === k[5] && keys[o + 6] === k[6] && keys[o + 7] === k[7]) return e - 1;
    }
  }

  /** Inserts the key of the last lookup (which must have missed) at time `ts`, expiring at `deadline`. The table must not be full. */
  insert(ts: number, deadline: number): number {
    const slot = this.free[--this.freeTop];
    const o = slot * KS;
    const h = this.khash;
    for (let i = 0; i < KW; i++) this.keys[o + i] = this.k[i];
    this.keys[o + 11] = h;
    let i = h & this.mask;
    while (this.index[i] !== 0) i = (i + 1) & this.mask;
    this.index[i] = slot + 1;
    this.count++;
    const r = slot * FR;
    const f = this.f;
    f[r + F_LAST] = ts;
    f[r + F_FIRST] = ts;
    f[r + F_PKTS] = f[r + F_PKTS + 1] = 0;
    f[r + F_BYTES] = f[r + F_BYTES + 1] = 0;
    f[r + F_STATE] = 0;
    this.isn[slot * 2] = this.isn[slot * 2 + 1] = 0;
    this.gapBytes[slot] = 0;
    this.bucket[slot] = -1;
    this.schedule(slot, deadline);
    return slot;
  }

  /** Removes a slot (backward-shift deletion keeps probe chains intact without tombstones). */
  remove(slot: number): void {
    this.unlink(slot);
    const mask = this.mask;
    const keys = this.keys;
    let i = keys[slot * KS + 11] & mask;
    while (this.index[i] !== slot + 1) i = (i + 1) & mask;
    this.index[i] = 0;
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const e = this.index[j];
      if (e === 0) break;
      const home = keys[(e - 1) * KS + 11] & mask;
      // move e back to i unless its home lies cyclically in (i, j]
      const stays = i <= j ? home > i && home <= j : home > i || home <= j;
      if (!stays) {
        this.index[i] = e;
        this.index[j] = 0;
        i = j;
      }
    }
    this.free[this.freeTop++] = slot;
    this.count--;
  }

  /** Files a slot under the wheel bucket of its deadline (µs); never in a second already processed. */
  schedule(slot: number, deadline: number): void {
    let sec = Math.floor(deadline / 1e6);
    if (sec <= this.cursor) sec = this.cursor + 1;
    const b = sec & (WHEEL - 1);
    this.f[slot * FR + F_DEADLINE] = deadline;
    if (this.bucket[slot] === b) return;
    this.unlink(slot);
    const t = this.tails[b];
    this.prev[slot] = t;
    this.next[slot] = -1;
    if (t >= 0) this.next[t] = slot;
    else this.heads[b] = slot;
    this.tails[b] = slot;
    this.bucket[slot] = b;
  }

  private unlink(slot: number): void {
    const b = this.bucket[slot];
    if (b < 0) return;
    const p = this.prev[slot], n = this.next[slot];
    if (p >= 0) this.next[p] = n;
    else this.heads[b] = n;
    if (n >= 0) this.prev[n] = p;
    else this.tails[b] = p;
    this.bucket[slot] = -1;
  }

  /** Key side A (0) or B (1) address words offset for a slot. */
  addrOffset(slot: number, side: 0 | 1): number {
    return slot * KS + side * 4;
  }

  port(slot: number, side: 0 | 1): number {
    const w = this.keys[slot * KS + 8];
    return side === 0 ? w >>> 16 : w & 0xffff;
  }

  isV6(slot: number): boolean {
    return (this.keys[slot * KS + 9] & 256) !== 0;
  }

  proto(slot: number): number {
    return this.keys[slot * KS + 9] & 255;
  }

  /** the flow's tunnel zone kinds (Decoded.zone), 0 outside a zoned tunnel */
  zone(slot: number): number {
    return this.keys[slot * KS + 9] >>> 9;
  }

  zoneId(slot: number): number {
    return this.keys[slot * KS + 10];
  }

  /** the two 32-bit halves of the last flowIdWords() */
  idHi = 0;
  idLo = 0;

  /**
   * A stable 64-bit hex id from the key and the first timestamp (two FNV-1a-style lanes over 32-bit
   * words). The zone id word is hashed only for a flow in a zone: ids outside tunnels are unchanged.
   */
  flowId(slot: number): string {
    this.flowIdWords(slot);
    return flowIdText(this.idHi, this.idLo);
  }

  /** The id as two numbers in idHi/idLo: the text is made only for a flow that is reported. */
  flowIdWords(slot: number): void {
    let a = 0x811c9dc5 | 0, b = 0x5bd1e995 | 0;
    const o = slot * KS;
    const ts = this.f[slot * FR + F_FIRST];
    const n = this.keys[o + 9] >>> 9 !== 0 ? 11 : 10;
    for (let i = 0; i < n + 2; i++) {
      const w = i < n ? this.keys[o + i] : i === n ? ts % 4294967296 : Math.floor(ts / 4294967296);
      a = Math.imul(a ^ w, 0x01000193);
      a ^= a >>> 15;
      b = Math.imul(b ^ w ^ a, 0x5bd1e995);
      b ^= b >>> 13;
    }
    this.idHi = a >>> 0;
    this.idLo = b >>> 0;
  }
}

export function flowIdText(hi: number, lo: number): string {
  return hex8(hi) + hex8(lo);
}

function mix(h: number, w: number): number {
  w = Math.imul(w, 0xcc9e2d51);
  w = (w << 15) | (w >>> 17);
  h ^= Math.imul(w, 0x1b873593);
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

const HEX: string[] = Array.from({ length: 256 }, (_, i) => (i < 16 ? '0' : '') + i.toString(16));
function hex8(v: number): string {
  return HEX[v >>> 24] + HEX[(v >>> 16) & 255] + HEX[(v >>> 8) & 255] + HEX[v & 255];
}
