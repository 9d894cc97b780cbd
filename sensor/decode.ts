// Frame decoding: link layer → IPv4/IPv6 (with fragment reassembly and IPv6 extension headers) → TCP/UDP.
// Writes into one reused `Decoded` record: no allocation per packet. Every length is checked against
// what was captured; anything inconsistent is reported as Malformed, never thrown.

import { Fragments, type FragmentLimits } from './fragments';

export const enum Status {
  /** a TCP or UDP packet: see Decoded */
  Ok = 0,
  /** well-formed but not IPv4/IPv6 TCP/UDP (ARP, ICMP, ESP, …) */
  Skipped = 1,
  /** bad lengths, truncated headers, unknown link type */
  Malformed = 2,
  /** an IP fragment kept for reassembly (or dropped); nothing to do yet */
  Held = 3,
}

/** LINKTYPE_* values this decoder understands. */
export const LINKTYPES: Record<number, string> = {
  0: 'null', 1: 'ethernet', 12: 'raw', 14: 'raw', 101: 'raw', 108: 'loop', 113: 'linux-sll',
  228: 'ipv4', 229: 'ipv6', 276: 'linux-sll2',
};

const EMPTY = Buffer.alloc(0);

export class Decoded {
  /** outermost VLAN id, -1 when untagged */
  vlan = -1;
  v6 = false;
  /** 6 = TCP, 17 = UDP */
  proto = 0;
  /** buffer holding source and destination addresses */
  addrBuf: Buffer = EMPTY;
  srcOff = 0;
  dstOff = 0;
  sport = 0;
  dport = 0;
  seq = 0;
  ack = 0;
  flags = 0;
  payBuf: Buffer = EMPTY;
  payOff = 0;
  payLen = 0;
  /** payload bytes declared by the headers but cut by the snaplen */
  payMissing = 0;
}

export class Decoder {
  readonly d = new Decoded();
  readonly frags: Fragments;

  constructor(fragLimits: Partial<FragmentLimits> = {}) {
    this.frags = new Fragments(fragLimits);
  }

  decode(linktype: number, buf: Buffer, off: number, end: number, ts: number): Status {
    const d = this.d;
    d.vlan = -1;
    d.payMissing = 0;
    let type = 0; // ethertype of what follows; 0 = tell by the IP version nibble
    switch (linktype) {
      case 1: {
        if (end - off < 14) return Status.Malformed;
        type = (buf[off + 12] << 8) | buf[off + 13];
        off += 14;
        break;
      }
      case 113: {
        if (end - off < 16) return Status.Malformed;
        type = (buf[off + 14] << 8) | buf[off + 15];
        off += 16;
        break;
      }
      case 276: {
        if (end - off < 20) return Status.Malformed;
        type = (buf[off] << 8) | buf[off + 1];
        off += 20;
        break;
      }
      case 0:
      case 108: {
        if (end - off < 4) return Status.Malformed;
        // DLT_NULL: address family in the capturing host's byte order; LOOP: always big-endian
        let fam = linktype === 108 ? buf.readUInt32BE(off) : buf.readUInt32LE(off);
        if (fam > 0xffff) fam = buf.readUInt32BE(off);
        off += 4;
        if (fam === 2) type = 0x0800;
        else if (fam === 10 || fam === 24 || fam === 28 || fam === 30) type = 0x86dd;
        else return Status.Skipped;
        break;
      }
      case 12:
      case 14:
      case 101:
        break;
      case 228:
        type = 0x0800;
        break;
      case 229:
        type = 0x86dd;
        break;
      default:
        return Status.Malformed;
    }
    // VLAN (802.1Q, 802.1ad, old QinQ), PPPoE session, MPLS; bounded number of layers
    for (let layers = 0; layers < 8; layers++) {
      if (type === 0x8100 || type === 0x88a8 || type === 0x9100) {
        if (end - off < 4) return Status.Malformed;
        if (d.vlan < 0) d.vlan = ((buf[off] << 8) | buf[off + 1]) & 0xfff;
        type = (buf[off + 2] << 8) | buf[off + 3];
        off += 4;
      } else if (type === 0x8864) {
        if (end - off < 8) return Status.Malformed;
        const ppp = (buf[off + 6] << 8) | buf[off + 7];
        off += 8;
        if (ppp === 0x0021) type = 0x0800;
        else if (ppp === 0x0057) type = 0x86dd;
        else return Status.Skipped;
      } else if (type === 0x8847) {
        let bottom = false;
        for (let i = 0; i < 8 && !bottom; i++) {
          if (end - off < 4) return Status.Malformed;
          bottom = (buf[off + 2] & 1) === 1;
          off += 4;
        }
        if (!bottom) return Status.Malformed;
        type = 0;
      } else break;
    }
    if (type === 0) {
      if (end - off < 1) return Status.Malformed;
      const v = buf[off] >> 4;
      type = v === 4 ? 0x0800 : v === 6 ? 0x86dd : -1;
      if (type < 0) return Status.Malformed;
    }
    if (type === 0x0800) return this.ipv4(buf, off, end, ts);
    if (type === 0x86dd) return this.ipv6(buf, off, end, ts);
    return Status.Skipped;
  }

  private ipv4(buf: Buffer, off: number, end: number, ts: number): Status {
    const d = this.d;
    const avail = end - off;
    if (avail < 20 || buf[off] >> 4 !== 4) return Status.Malformed;
    const ihl = (buf[off] & 15) * 4;
    let tot = (buf[off + 2] << 8) | buf[off + 3];
    if (ihl < 20 || avail < ihl) return Status.Malformed;
    if (tot === 0) tot = avail; // segmentation offload: the NIC fills in the length later
    if (tot < ihl) return Status.Malformed;
    let ipEnd = off + tot;
    let cut = 0;
    if (ipEnd > end) {
      cut = ipEnd - end;
      ipEnd = end;
    }
    const proto = buf[off + 9];
    const fragWord = (buf[off + 6] << 8) | buf[off + 7];
    d.v6 = false;
    if (fragWord & 0x3fff) {
      if (cut) return Status.Malformed;
      const r = this.frags.add(buf, off + 12, 4, (buf[off + 4] << 8) | buf[off + 5], proto,
        (fragWord & 0x1fff) * 8, (fragWord & 0x2000) !== 0, buf.subarray(off + ihl, ipEnd), ts);
      if (!r) return Status.Held;
      d.addrBuf = r.addrs;
      d.srcOff = 0;
      d.dstOff = 4;
      return this.l4(r.proto, r.payload, 0, r.payload.length, 0);
    }
    d.addrBuf = buf;
    d.srcOff = off + 12;
    d.dstOff = off + 16;
    return this.l4(proto, buf, off + ihl, ipEnd, cut);
  }

  private ipv6(buf: Buffer, off: number, end: number, ts: number): Status {
    const d = this.d;
    if (end - off < 40 || buf[off] >> 4 !== 6) return Status.Malformed;
    const plen = (buf[off + 4] << 8) | buf[off + 5];
    let nh = buf[off + 6];
    if (plen === 0 && nh === 0) return Status.Malformed; // jumbogram: not supported
    let ipEnd = off + 40 + plen;
    let cut = 0;
    if (ipEnd > end) {
      cut = ipEnd - end;
      ipEnd = end;
    }
    d.v6 = true;
    d.addrBuf = buf;
    d.srcOff = off + 8;
    d.dstOff = off + 24;
    let o = off + 40;
    for (let n = 0; n < 10; n++) {
      if (nh === 0 || nh === 43 || nh === 60 || nh === 51) {
        if (ipEnd - o < 8) return Status.Malformed;
        const len = nh === 51 ? (buf[o + 1] + 2) * 4 : (buf[o + 1] + 1) * 8;
        nh = buf[o];
        o += len;
        if (o > ipEnd) return Status.Malformed;
      } else if (nh === 44) {
        if (ipEnd - o < 8) return Status.Malformed;
        const fw = (buf[o + 2] << 8) | buf[o + 3];
        const id = buf.readUInt32BE(o + 4);
        nh = buf[o];
        o += 8;
        if ((fw & 0xfff9) === 0) continue; // atomic fragment: the whole datagram
        if (cut) return Status.Malformed;
        const r = this.frags.add(buf, off + 8, 16, id, nh, fw & 0xfff8, (fw & 1) === 1, buf.subarray(o, ipEnd), ts);
        if (!r) return Status.Held;
        d.addrBuf = r.addrs;
        d.srcOff = 0;
        d.dstOff = 16;
        return this.l4(r.proto, r.payload, 0, r.payload.length, 0);
      } else break;
    }
    return this.l4(nh, buf, o, ipEnd, cut);
  }

  private l4(proto: number, buf: Buffer, o: number, ipEnd: number, cut: number): Status {
    const d = this.d;
    const avail = ipEnd - o;
    if (proto === 6) {
      if (avail < 20) return cut || avail < 0 ? Status.Malformed : Status.Malformed;
      const doff = (buf[o + 12] >> 4) * 4;
      if (doff < 20 || doff > avail) return Status.Malformed;
      d.proto = 6;
      d.sport = (buf[o] << 8) | buf[o + 1];
      d.dport = (buf[o + 2] << 8) | buf[o + 3];
      d.seq = ((buf[o + 4] << 24) | (buf[o + 5] << 16) | (buf[o + 6] << 8) | buf[o + 7]) >>> 0;
      d.ack = ((buf[o + 8] << 24) | (buf[o + 9] << 16) | (buf[o + 10] << 8) | buf[o + 11]) >>> 0;
      d.flags = buf[o + 13];
      d.payBuf = buf;
      d.payOff = o + doff;
      d.payLen = avail - doff;
      d.payMissing = cut;
      return Status.Ok;
    }
    if (proto === 17) {
      if (avail < 8) return Status.Malformed;
      const ulen = (buf[o + 4] << 8) | buf[o + 5];
      if (ulen < 8 || ulen > avail + cut) return Status.Malformed;
      d.proto = 17;
      d.sport = (buf[o] << 8) | buf[o + 1];
      d.dport = (buf[o + 2] << 8) | buf[o + 3];
      d.flags = 0;
      d.payBuf = buf;
      d.payOff = o + 8;
      if (ulen <= avail) {
        d.payLen = ulen - 8;
      } else {
        d.payLen = avail - 8;
        d.payMissing = ulen - avail;
      }
      return Status.Ok;
    }
    return Status.Skipped;
  }
}
