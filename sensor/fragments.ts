// IP fragment reassembly (IPv4 and IPv6), bounded: a datagram is at most 65535 bytes, all pending
// fragments together hold at most `maxBytes`, at most `maxDatagrams` are pending, and an incomplete
// datagram is dropped after `timeoutMicros` of capture time. Overlaps: the bytes that arrived first
// win (the "first" policy of most IDS), so a later overlapping fragment cannot rewrite what was seen.
// Fragments are rare on real networks, so this path may use a Map with string keys.

export interface FragmentLimits {
  maxBytes: number;
  maxDatagrams: number;
  timeoutMicros: number;
}

const DEFAULT_LIMITS: FragmentLimits = { maxBytes: 16 << 20, maxDatagrams: 8192, timeoutMicros: 30_000_000 };
const MAX_DATAGRAM = 65535;
const MAX_PARTS = 256;

interface Pending {
  /** source then destination address (4 or 16 bytes each) */
  addrs: Buffer;
  proto: number;
  firstTs: number;
  /** total payload length, known once the last fragment arrived; -1 before */
  total: number;
  parts: { off: number; data: Buffer }[];
  bytes: number;
}

export interface Reassembled {
  addrs: Buffer;
  proto: number;
  payload: Buffer;
}

export class Fragments {
  private pending = new Map<string, Pending>();
  private bytes = 0;
  private lastExpire = 0;
  /** fragments thrown away (timeouts, limits, bogus offsets) */
  dropped = 0;
  readonly limits: FragmentLimits;

  constructor(limits: Partial<FragmentLimits> = {}) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
  }

  get pendingBytes(): number {
    return this.bytes;
  }

  get pendingDatagrams(): number {
    return this.pending.size;
  }

  /**
   * Adds one fragment. `addrOff` points at source then destination (contiguous, `alen` bytes each).
   * Returns the whole datagram when this fragment completed it, else null. `zone`, `zoneId`: the
   * tunnel zone it came in (Decoded.zone): two tenants' fragments with the same addresses and id stay apart.
   */
  add(
    buf: Buffer, addrOff: number, alen: number, id: number, proto: number,
    fragOff: number, more: boolean, data: Buffer, ts: number, zone = 0, zoneId = 0,
  ): Reassembled | null {
    if (ts - this.lastExpire >= 1_000_000) this.expire(ts);
    const end = fragOff + data.length;
    // non-final fragments carry a multiple of 8 bytes; anything past 64 KiB is bogus
    if (end > MAX_DATAGRAM || (more && data.length % 8 !== 0) || (more && data.length === 0)) {
      this.dropped++;
      return null;
    }
    const key = buf.toString('latin1', addrOff, addrOff + 2 * alen) + String.fromCharCode(proto) + id + (zone === 0 ? '' : `|${zone}:${zoneId}`);
    let p = this.pending.get(key);
    if (!p) {
      if (this.pending.size >= this.limits.maxDatagrams) this.dropOldest();
      p = { addrs: Buffer.from(buf.subarray(addrOff, addrOff + 2 * alen)), proto, firstTs: ts, total: -1, parts: [], bytes: 0 };
      this.pending.set(key, p);
    }
    if (!more) {
      if (p.total >= 0 && p.total !== end) return this.discard(key, p, 1);
      p.total = end;
    }
    if ((p.total >= 0 && end > p.total) || p.parts.length >= MAX_PARTS) return this.discard(key, p, 1);
    while (this.bytes + data.length > this.limits.maxBytes && this.pending.size > 1) this.dropOldest(key);
    if (this.bytes + data.length > this.limits.maxBytes) return this.discard(key, p, 1);
    p.parts.push({ off: fragOff, data: Buffer.from(data) });
    p.bytes += data.length;
    this.bytes += data.length;
    if (p.total < 0 || !covered(p.parts, p.total)) return null;
    const payload = Buffer.alloc(p.total);
    // later arrivals first, so the earliest copy of any byte is the one that stays
    for (let i = p.parts.length - 1; i >= 0; i--) p.parts[i].data.copy(payload, p.parts[i].off);
    this.remove(key, p);
    return { addrs: p.addrs, proto: p.proto, payload };
  }

  /** Drops datagrams older than the timeout. */
  expire(now: number): void {
    this.lastExpire = now;
    for (const [k, p] of this.pending) {
      if (now - p.firstTs < this.limits.timeoutMicros) break; // insertion order = age order
      this.discard(k, p, 0);
    }
  }

  private dropOldest(except?: string): void {
    for (const [k, p] of this.pending) {
      if (k === except) continue;
      this.discard(k, p, 0);
      return;
    }
  }

  private discard(key: string, p: Pending, extra: number): null {
    this.dropped += p.parts.length + extra;
    this.remove(key, p);
    return null;
  }

  private remove(key: string, p: Pending): void {
    this.bytes -= p.bytes;
    this.pending.delete(key);
  }
}

function covered(parts: { off: number; data: Buffer }[], total: number): boolean {
  const iv = parts.map((p) => [p.off, p.off + p.data.length]).sort((a, b) => a[0] - b[0]);
  let reach = 0;
  for (const [a, b] of iv) {
    if (a > reach) return false;
    if (b > reach) reach = b;
  }
  return reach >= total;
}
