// The flow table: a fixed-capacity open-addressing hash of bidirectional 5-tuples held in typed
// arrays (no string keys, no per-packet objects), with per-flow counters and three LRU lists (open
// TCP, UDP, closed TCP) so that idle flows expire by walking list heads and a full table evicts the
// flow idle the longest. Capacity is fixed at construction: memory cannot grow with traffic.

import type { Decoded } from './decode';

/** LRU list ids; each list has one idle timeout, so its head is always the first to expire. */
export const LIST_TCP = 0, LIST_UDP = 1, LIST_CLOSED = 2;
const KW = 10; // key words: A addr (4), B addr (4), ports, proto|v6

export class FlowTable {
  readonly capacity: number;
  count = 0;
  /** set by lookup/insert: true when the packet's source is the key's side A */
  fwd = true;

  readonly keys: Uint32Array;
  private readonly hashes: Uint32Array;
  private readonly index: Int32Array;
  private readonly mask: number;
  private readonly free: Int32Array;
  private freeTop: number;
  private readonly k = new Uint32Array(KW);
  private khash = 0;

  readonly prev: Int32Array;
  readonly next: Int32Array;
  readonly list: Uint8Array;
  readonly heads = new Int32Array([-1, -1, -1]);
  readonly tails = new Int32Array([-1, -1, -1]);

  readonly firstTs: Float64Array;
  readonly lastTs: Float64Array;
  /** [slot*2 + dir] with dir 0 = client → server */
  readonly pkts: Float64Array;
  readonly bytes: Float64Array;
  readonly gapBytes: Float64Array;
  /** [slot*2 + dir]: initial sequence number from the SYN of that direction */
  readonly isn: Float64Array;
  /** 1 when side A of the key is the client */
  readonly clientIsA: Uint8Array;
  /** FlowState bits */
  readonly state: Uint16Array;
  readonly vlan: Int32Array;
  readonly clientBy: Uint8Array;

  constructor(capacity: number) {
    this.capacity = capacity = Math.max(1, Math.floor(capacity));
    let size = 4;
    while (size < capacity * 2) size *= 2;
    this.mask = size - 1;
    this.index = new Int32Array(size);
    this.keys = new Uint32Array(capacity * KW);
    this.hashes = new Uint32Array(capacity);
    this.free = new Int32Array(capacity);
    for (let i = 0; i < capacity; i++) this.free[i] = capacity - 1 - i;
    this.freeTop = capacity;
    this.prev = new Int32Array(capacity);
    this.next = new Int32Array(capacity);
    this.list = new Uint8Array(capacity);
    this.firstTs = new Float64Array(capacity);
    this.lastTs = new Float64Array(capacity);
    this.pkts = new Float64Array(capacity * 2);
    this.bytes = new Float64Array(capacity * 2);
    this.gapBytes = new Float64Array(capacity);
    this.isn = new Float64Array(capacity * 2);
    this.clientIsA = new Uint8Array(capacity);
    this.state = new Uint16Array(capacity);
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
    if (!d.v6) {
      const sa = ((b[s] << 24) | (b[s + 1] << 16) | (b[s + 2] << 8) | b[s + 3]) >>> 0;
      const da = ((b[t] << 24) | (b[t + 1] << 16) | (b[t + 2] << 8) | b[t + 3]) >>> 0;
      cmp = sa < da ? -1 : sa > da ? 1 : d.sport - d.dport;
      if (cmp <= 0) {
        k[0] = sa; k[4] = da;
      } else {
        k[0] = da; k[4] = sa;
      }
      k[1] = k[2] = k[3] = k[5] = k[6] = k[7] = 0;
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
    }
    this.fwd = cmp <= 0;
    k[8] = this.fwd ? ((d.sport << 16) | d.dport) >>> 0 : ((d.dport << 16) | d.sport) >>> 0;
    k[9] = d.proto | (d.v6 ? 256 : 0);
    // murmur3-style mixing of the 10 words
    let h = 0x9747b28c;
    for (let i = 0; i < KW; i++) {
      let w = Math.imul(k[i], 0xcc9e2d51);
      w = (w << 15) | (w >>> 17);
      h ^= Math.imul(w, 0x1b873593);
      h = (h << 13) | (h >>> 19);
      h = (Math.imul(h, 5) + 0xe6546b64) | 0;
    }
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    h >>>= 0;
    this.khash = h;
    const keys = this.keys;
    for (let i = h & this.mask; ; i = (i + 1) & this.mask) {
      const e = this.index[i];
      if (e === 0) return -1;
      const slot = e - 1;
      if (this.hashes[slot] !== h) continue;
      const o = slot * KW;
      if (keys[o + 8] === k[8] && keys[o] === k[0] && keys[o + 4] === k[4] && keys[o + 9] === k[9] &&
        keys[o + 1] === k[1] && keys[o + 2] === k[2] && keys[o + 3] === k[3] &&
        keys[o + 5] === k[5] && keys[o + 6] === k[6] && keys[o + 7] === k[7]) return slot;
    }
  }

  /** Inserts the key of the last lookup (which must have missed). The table must not be full. */
  insert(): number {
    const slot = this.free[--this.freeTop];
    const o = slot * KW;
    for (let i = 0; i < KW; i++) this.keys[o + i] = this.k[i];
    const h = this.khash;
    this.hashes[slot] = h;
    let i = h & this.mask;
    while (this.index[i] !== 0) i = (i + 1) & this.mask;
    this.index[i] = slot + 1;
    this.count++;
    this.pkts[slot * 2] = this.pkts[slot * 2 + 1] = 0;
    this.bytes[slot * 2] = this.bytes[slot * 2 + 1] = 0;
    this.isn[slot * 2] = this.isn[slot * 2 + 1] = 0;
    this.gapBytes[slot] = 0;
    this.state[slot] = 0;
    this.list[slot] = 255;
    return slot;
  }

  /** Removes a slot (backward-shift deletion keeps probe chains intact without tombstones). */
  remove(slot: number): void {
    this.unlink(slot);
    const mask = this.mask;
    let i = this.hashes[slot] & mask;
    while (this.index[i] !== slot + 1) i = (i + 1) & mask;
    this.index[i] = 0;
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const e = this.index[j];
      if (e === 0) break;
      const home = this.hashes[e - 1] & mask;
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

  /** Moves a slot to the tail (most recent) of list `l`. */
  touch(slot: number, l: number): void {
    if (this.list[slot] === l && this.tails[l] === slot) return;
    this.unlink(slot);
    const t = this.tails[l];
    this.prev[slot] = t;
    this.next[slot] = -1;
    if (t >= 0) this.next[t] = slot;
    else this.heads[l] = slot;
    this.tails[l] = slot;
    this.list[slot] = l;
  }

  private unlink(slot: number): void {
    const l = this.list[slot];
    if (l === 255) return;
    const p = this.prev[slot], n = this.next[slot];
    if (p >= 0) this.next[p] = n;
    else this.heads[l] = n;
    if (n >= 0) this.prev[n] = p;
    else this.tails[l] = p;
    this.list[slot] = 255;
  }

  /** Key side A (0) or B (1) address words offset for a slot. */
  addrOffset(slot: number, side: 0 | 1): number {
    return slot * KW + side * 4;
  }

  port(slot: number, side: 0 | 1): number {
    const w = this.keys[slot * KW + 8];
    return side === 0 ? w >>> 16 : w & 0xffff;
  }

  isV6(slot: number): boolean {
    return (this.keys[slot * KW + 9] & 256) !== 0;
  }

  proto(slot: number): number {
    return this.keys[slot * KW + 9] & 255;
  }

  /** A stable 64-bit hex id from the key and the first timestamp (FNV-1a, two lanes). */
  flowId(slot: number): string {
    let a = 0x811c9dc5, b = 0x01000193 ^ 0x5bd1e995;
    const o = slot * KW;
    const ts = this.firstTs[slot];
    const words = [this.keys[o], this.keys[o + 1], this.keys[o + 2], this.keys[o + 3], this.keys[o + 4], this.keys[o + 5],
      this.keys[o + 6], this.keys[o + 7], this.keys[o + 8], this.keys[o + 9], ts % 4294967296, Math.floor(ts / 4294967296)];
    for (const w of words) {
      for (let i = 0; i < 4; i++) {
        const byte = (w >>> (i * 8)) & 255;
        a = Math.imul(a ^ byte, 0x01000193);
        b = Math.imul(b ^ byte, 0x01000193) ^ (a >>> 15);
      }
    }
    return (a >>> 0).toString(16).padStart(8, '0') + (b >>> 0).toString(16).padStart(8, '0');
  }
}
