// A TCP conversation played into a Capture the way a network mangles it: each side's writes cut into
// random segments (tiny, random, full MSS, or several writes coalesced into one segment), segments of
// one direction reordered within a small window, retransmitted whole or overlapping their neighbours,
// one lost for good (a gap), and the conversation cut short (RST or FIN from either side, or nothing:
// the capture ends). For round-trip tests of decoders that carve the bytes back out.
import { ACK, FIN, PSH, RST, SYN, ether, ipPacket, parseEp, tcpHeader, type Capture, type Ep } from './pcapgen';

export type Side = 'c' | 's';

export interface Write {
  dir: Side;
  data: Buffer;
  /** the other side waits for this write (a command, a handshake): nothing of either side moves across it */
  barrier?: boolean;
}

export interface Mess {
  /** segment sizes: 'tiny' 1-16 bytes, 'random' 1-1460, 'mss' 1460, 'coalesce' (writes of one side joined, then 1460) */
  cut: 'tiny' | 'random' | 'mss' | 'coalesce';
  /** chance (0-1) that a segment is swapped with a later one of its direction (window of 4) */
  reorder: number;
  /** chance that a segment is sent again (half the time widened over its neighbours' bytes) */
  retransmit: number;
  /** drop the segment of `lose.dir` holding this stream offset, for good (a gap) */
  lose?: { dir: Side; at: number };
  /** how the conversation ends: FIN both ways, a RST from one side, or not at all */
  end: 'fin' | 'rst-c' | 'rst-s' | 'none';
}

interface Seg {
  dir: Side;
  /** stream offset (from 0) */
  off: number;
  len: number;
  /** index of the last barrier write at or before it */
  epoch: number;
}

/** Plays `writes` between client and server into `cap`, mangled by `mess`; `rnd` gives uint32s. */
export function playMessy(cap: Capture, client: string, server: string, writes: Write[], mess: Mess, rnd: () => number): void {
  const ep = { c: parseEp(client), s: parseEp(server) };
  const streams: Record<Side, Buffer[]> = { c: [], s: [] };
  const at = { c: 0, s: 0 };
  const isn = { c: rnd(), s: rnd() };
  const segs: Seg[] = [];
  let epoch = 0;
  const below = (n: number) => (n <= 0 ? 0 : rnd() % n);
  for (let i = 0; i < writes.length; i++) {
    const w = writes[i];
    if (w.barrier) epoch++;
    streams[w.dir].push(w.data);
    let start = at[w.dir];
    at[w.dir] += w.data.length;
    if (mess.cut === 'coalesce' && !w.barrier) {
      // several writes of one side in one segment: join it with the writes of this side that follow
      const last = segs[segs.length - 1];
      if (last && last.dir === w.dir && last.epoch === epoch && last.off + last.len === start && last.len + w.data.length <= 1460) {
        last.len += w.data.length;
        continue;
      }
    }
    while (start < at[w.dir]) {
      const size = mess.cut === 'tiny' ? 1 + below(16) : mess.cut === 'random' ? 1 + below(1460) : 1460;
      const len = Math.min(size, at[w.dir] - start);
      segs.push({ dir: w.dir, off: start, len, epoch });
      start += len;
    }
  }
  // reorder: swap a segment with one of the next 4 of its direction in the same epoch
  for (let i = 0; i < segs.length; i++) {
    if (rnd() / 2 ** 32 >= mess.reorder) continue;
    let seen = 0;
    const k = 1 + below(4);
    for (let j = i + 1; j < segs.length && segs[j].epoch === segs[i].epoch; j++) {
      if (segs[j].dir !== segs[i].dir) continue;
      if (++seen === k) {
        [segs[i], segs[j]] = [segs[j], segs[i]];
        break;
      }
    }
  }
  const bytes = { c: Buffer.concat(streams.c), s: Buffer.concat(streams.s) };
  // a retransmission holds only bytes the sender had by then: those of its epoch (never past a barrier)
  const span = new Map<string, [number, number]>();
  for (const g of segs) {
    const key = `${g.dir}${g.epoch}`;
    const sp = span.get(key);
    span.set(key, sp ? [Math.min(sp[0], g.off), Math.max(sp[1], g.off + g.len)] : [g.off, g.off + g.len]);
  }
  const ackOf = { c: 0, s: 0 };
  const emit = (dir: Side, flags: number, off: number, payload: Buffer) => {
    const other: Side = dir === 'c' ? 's' : 'c';
    const [src, dst]: [Ep, Ep] = [ep[dir], ep[other]];
    cap.add(ether(ipPacket(src.ip, dst.ip, 6, tcpHeader(src, dst, (isn[dir] + 1 + off) >>> 0, (isn[other] + 1 + ackOf[other]) >>> 0, flags, payload))));
  };
  // handshake
  cap.add(ether(ipPacket(ep.c.ip, ep.s.ip, 6, tcpHeader(ep.c, ep.s, isn.c, 0, SYN, Buffer.alloc(0)))));
  cap.add(ether(ipPacket(ep.s.ip, ep.c.ip, 6, tcpHeader(ep.s, ep.c, isn.s, (isn.c + 1) >>> 0, SYN | ACK, Buffer.alloc(0)))));
  emit('c', ACK, 0, Buffer.alloc(0));
  for (const g of segs) {
    const lost = mess.lose && mess.lose.dir === g.dir && g.off <= mess.lose.at && mess.lose.at < g.off + g.len;
    if (!lost) emit(g.dir, ACK | PSH, g.off, bytes[g.dir].subarray(g.off, g.off + g.len));
    ackOf[g.dir] = Math.max(ackOf[g.dir], g.off + g.len);
    if (!lost && rnd() / 2 ** 32 < mess.retransmit) {
      // sent again: the same bytes, or a wider run of the stream around them (overlapping its neighbours)
      const wide = rnd() & 1;
      const [lo, hi] = span.get(`${g.dir}${g.epoch}`)!;
      const from = wide ? Math.max(lo, g.off - below(64)) : g.off;
      const to = wide ? Math.min(hi, g.off + g.len + below(64)) : g.off + g.len;
      // never over the lost segment's bytes (that would fill the gap)
      const l = mess.lose;
      if (!(l && l.dir === g.dir && from <= l.at + 1460 && to >= l.at - 1460)) emit(g.dir, ACK | PSH, from, bytes[g.dir].subarray(from, to));
    }
  }
  if (mess.end === 'fin') {
    emit('c', FIN | ACK, bytes.c.length, Buffer.alloc(0));
    emit('s', FIN | ACK, bytes.s.length, Buffer.alloc(0));
    ackOf.c++;
    ackOf.s++;
    emit('c', ACK, bytes.c.length + 1, Buffer.alloc(0));
  } else if (mess.end === 'rst-c') emit('c', RST | ACK, bytes.c.length, Buffer.alloc(0));
  else if (mess.end === 'rst-s') emit('s', RST | ACK, bytes.s.length, Buffer.alloc(0));
}
