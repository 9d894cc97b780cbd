// Frame decoding: link layer → IPv4/IPv6 (with fragment reassembly and IPv6 extension headers) → TCP/UDP,
// opening tunnels on the way (GRE with ERSPAN, IP-in-IP, VXLAN, Geneve, GTP-U: mirrored traffic often
// arrives inside one). Writes into one reused `Decoded` record: no allocation per packet. Every length is
// checked against what was captured; anything inconsistent is reported as Malformed, never thrown.

import path from 'node:path';
import { readDataFile } from '../common/dataFile';
import { Fragments, type FragmentLimits } from './fragments';

export const enum Status {
  /** a TCP or UDP packet: see Decoded */
  Ok = 0,
  /** well-formed but not IPv4/IPv6 TCP/UDP (ARP, ICMP, ESP, …) */
  Skipped = 1,
  /** bad lengths, truncated headers */
  Malformed = 2,
  /** an IP fragment kept for reassembly (or dropped); nothing to do yet */
  Held = 3,
  /** a link type this decoder does not read (802.11, Token Ring, …): the frame may be sound */
  Unsupported = 4,
}

/** LINKTYPE_* values this decoder understands. */
export const LINKTYPES: Record<number, string> = {
  0: 'null', 1: 'ethernet', 9: 'ppp', 12: 'raw', 14: 'raw', 50: 'ppp-hdlc', 51: 'pppoe', 101: 'raw',
  104: 'cisco-hdlc', 108: 'loop', 113: 'linux-sll', 228: 'ipv4', 229: 'ipv6', 239: 'nflog', 276: 'linux-sll2',
};

/** the link types above, as a user knows them (messages) */
export const READABLE_LINKS = 'Ethernet, Linux cooked, raw IP, loopback, PPP, PPPoE, Cisco HDLC and NFLOG';

let linkNames: Record<string, string> | undefined;
/** A link type's name for messages (sensor/linktypes.yaml), or undefined for one that file does not name. */
export function linktypeName(lt: number): string | undefined {
  if (!linkNames) {
    try {
      linkNames = readDataFile(path.join(__dirname, 'linktypes.yaml')) ?? {};
    } catch {
      linkNames = {};
    }
  }
  const n = linkNames![String(lt)];
  return typeof n === 'string' ? n : undefined;
}

/** "127 (IEEE 802.11 with radiotap header)", or the number alone for a link type the names file does not name */
export function linktypeLabel(lt: number): string {
  const n = linktypeName(lt);
  return n ? `${lt} (${n})` : String(lt);
}

/** "link type 127 (IEEE 802.11 with radiotap header)" */
export function describeLinktype(lt: number): string {
  return `link type ${linktypeLabel(lt)}`;
}

const EMPTY = Buffer.alloc(0);

/** what pppProtocol's and nflogPayload's -1 (cut) and -2 (not IP) mean for the frame */
function headerFailure(at: number): Status {
  return at === -1 ? Status.Malformed : Status.Skipped;
}

/** tunnels inside tunnels opened per packet, at most (each needs its own headers: bounded anyway) */
const MAX_TUNNELS = 4;
const T_VXLAN = 1, T_GENEVE = 2, T_GTPU = 3, T_TEREDO = 4, T_L2TP = 5;
/**
 * The next headers a Teredo packet on any port may have, with the fewest bytes each needs: TCP, UDP,
 * hop-by-hop, routing, fragment and destination options, ICMPv6, none (bubbles); -1 for the others.
 */
const TEREDO_NEXT = new Int8Array(256).fill(-1);
for (const [nh, least] of [[6, 20], [17, 8], [0, 8], [43, 8], [44, 8], [60, 8], [58, 4], [59, 0]]) TEREDO_NEXT[nh] = least;
/** from here on, tunnels whose server side sends from the well-known port too (VXLAN's and Geneve's source ports are flow hashes) */
const T_EITHER_PORT = T_GTPU;

/**
 * Tunnel zones: the tunnel ids that key the flows inside (with their inner addresses), so that two
 * tenants' overlapping addresses in different VNIs do not meet. Only ids that are the same in both
 * directions of a conversation (docs/sensor.md, tunnels.yaml `zones`). 4 bits each in Decoded.zone.
 */
export const Z_VXLAN = 1, Z_GENEVE = 2, Z_ERSPAN = 3, Z_GRE_ETHERNET = 4, Z_GRE_IP = 5;
export const ZONE_NAMES = ['', 'vxlan', 'geneve', 'erspan', 'gre_ethernet', 'gre_ip'];
/** what tunnels.yaml leaves out: the zones keyed */
const DEFAULT_ZONES = ['vxlan', 'geneve', 'erspan', 'gre_ethernet'];

let zoneKinds: Uint8Array | undefined;
/** zone kind → itself when flows are keyed by it, 0 when not (tunnels.yaml `zones`) */
export function tunnelZones(names?: readonly string[]): Uint8Array {
  if (!names && zoneKinds) return zoneKinds;
  let list: readonly unknown[] | undefined = names;
  if (!list) {
    const doc = readDataFile(path.join(__dirname, 'tunnels.yaml')) ?? {};
    list = Array.isArray(doc.zones) ? doc.zones : DEFAULT_ZONES;
  }
  const m = new Uint8Array(ZONE_NAMES.length);
  for (const n of list ?? []) {
    const k = ZONE_NAMES.indexOf(String(n));
    if (k > 0) m[k] = k;
  }
  if (!names) zoneKinds = m;
  return m;
}

let udpTunnelPorts: Uint8Array | undefined;
let teredoAnyPort = true;
/** UDP port → tunnel kind, from tunnels.yaml */
export function tunnelPorts(): Uint8Array {
  if (udpTunnelPorts) return udpTunnelPorts;
  const m = new Uint8Array(65536);
  const doc = readDataFile(path.join(__dirname, 'tunnels.yaml')) ?? {};
  const set = (ports: unknown, kind: number) => {
    if (Array.isArray(ports)) for (const p of ports) if (Number.isInteger(p) && p > 0 && p < 65536) m[p] = kind;
  };
  set(doc.vxlan, T_VXLAN);
  set(doc.geneve, T_GENEVE);
  set(doc.gtp_u, T_GTPU);
  set(doc.teredo, T_TEREDO);
  set(doc.l2tp, T_L2TP);
  teredoAnyPort = doc.teredo_any_port !== false;
  return (udpTunnelPorts = m);
}

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
  /** tunnels opened to reach this packet (0: none) */
  tunnels = 0;
  /** inside a tunnel: the length of the frame (or packet) carried, as it was on the mirrored link */
  innerLen = 0;
  /** tunnel zone kinds (Z_*), 4 bits per zoned tunnel, outermost in the high bits; 0: none */
  zone = 0;
  /** the zone's id (VNI, session id, key); nested zones folded into one word */
  zoneId = 0;
}

export class Decoder {
  readonly d = new Decoded();
  readonly frags: Fragments;
  private readonly udpTunnels = tunnelPorts();
  private readonly teredoAnyPort = teredoAnyPort;
  private readonly zones: Uint8Array;
  /** packets found inside a tunnel */
  tunneled = 0;
  /** bytes of the frame the last tunnel opened carries that the capture cut off */
  private carriedCut = 0;

  /** `zones`: the zone names keyed (tunnels.yaml's list when not given) */
  constructor(fragLimits: Partial<FragmentLimits> = {}, zones?: readonly string[]) {
    this.frags = new Fragments(fragLimits);
    this.zones = tunnelZones(zones);
  }

  decode(linktype: number, buf: Buffer, off: number, end: number, ts: number): Status {
    const d = this.d;
    d.vlan = -1;
    d.payMissing = 0;
    d.tunnels = 0;
    d.zone = 0;
    d.zoneId = 0;
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
        // the WAN and firewall link types, kept out of this hot switch (it stays small enough to inline)
        return this.otherLink(linktype, buf, off, end, ts);
    }
    return this.fromType(type, buf, off, end, ts);
  }

  /** Link types other than Ethernet, cooked, raw IP and loopback: PPP, PPPoE, Cisco HDLC, NFLOG; else unsupported. */
  private otherLink(linktype: number, buf: Buffer, off: number, end: number, ts: number): Status {
    let at: number;
    switch (linktype) {
      case 9:
      case 50:
        // PPP (RFC 1661), with or without the HDLC-like address and control bytes FF 03 (RFC 1662); a
        // router's serial line on these link types may be Cisco HDLC instead (address 0x0F or 0x8F, as
        // Wireshark's PPP dissector tells them apart)
        if (end - off < 2) return Status.Malformed;
        if ((buf[off] === 0x0f || buf[off] === 0x8f) && buf[off + 1] === 0) return this.ciscoHdlc(buf, off, end, ts);
        at = this.pppProtocol(buf, buf[off] === 0xff && buf[off + 1] === 0x03 ? off + 2 : off, end);
        break;
      case 51:
        // PPPoE session stage without its Ethernet header: version/type, code, session id, length, then PPP
        if (end - off < 6) return Status.Malformed;
        at = this.pppProtocol(buf, off + 6, end);
        break;
      case 104:
        return this.ciscoHdlc(buf, off, end, ts);
      case 239:
        at = this.nflogPayload(buf, off, end);
        if (at < 0) return headerFailure(at);
        return this.fromType(buf[off] === 2 ? 0x0800 : buf[off] === 10 ? 0x86dd : 0, buf, at, this.nflogEnd, ts);
      default:
        return Status.Unsupported;
    }
    if (at < 0) return headerFailure(at);
    return this.fromType(this.pppType, buf, at, end, ts);
  }

  /** Cisco HDLC: address, control, then an ethertype (SLARP and CDP are not IP: skipped). */
  private ciscoHdlc(buf: Buffer, off: number, end: number, ts: number): Status {
    if (end - off < 4) return Status.Malformed;
    return this.fromType((buf[off + 2] << 8) | buf[off + 3], buf, off + 4, end, ts);
  }

  /** where the packet nflogPayload found ends */
  private nflogEnd = 0;

  /**
   * Linux NFLOG (tcpdump -i nflog:N, a firewall's NFLOG/`log group` rule): address family, version,
   * resource id, then netlink TLVs — length (header included) and type in the capturing host's byte
   * order, each padded to 4 bytes. The packet, from its IP header, is the payload TLV (type 9). Returns
   * its offset (its end in nflogEnd); -1 when the TLVs do not fit, -2 when there is no payload (a log
   * entry without the packet). The byte order is the one in which the first TLV fits and has a type
   * netfilter defines (as Wireshark decides it).
   */
  private nflogPayload(buf: Buffer, off: number, end: number): number {
    if (end - off < 8) return -1;
    let p = off + 4;
    const le = buf.readUInt16LE(p) >= 4 && p + buf.readUInt16LE(p) <= end && (buf.readUInt16LE(p + 2) & 0x3fff) < 64;
    for (let n = 0; n < 64 && end - p >= 4; n++) {
      const len = le ? buf.readUInt16LE(p) : buf.readUInt16BE(p);
      const type = (le ? buf.readUInt16LE(p + 2) : buf.readUInt16BE(p + 2)) & 0x3fff; // without NLA_F_NESTED, NLA_F_NET_BYTEORDER
      if (len < 4 || len > end - p) return -1;
      if (type === 9) {
        this.nflogEnd = p + len;
        return p + 4;
      }
      p += (len + 3) & ~3;
    }
    return p >= end ? -2 : -1;
  }

  /** the ethertype pppProtocol found */
  private pppType = 0;

  /**
   * A PPP protocol field at `off` (one byte when compressed: an odd first byte, RFC 1661 §6.5): the
   * offset after it, with the ethertype of what follows in pppType; -1 when cut, -2 when it is not
   * IP or MPLS (LCP, IPCP, CCP, compressed or encrypted frames: not TCP/UDP).
   */
  private pppProtocol(buf: Buffer, off: number, end: number): number {
    if (off >= end) return -1;
    let ppp = buf[off];
    if ((ppp & 1) === 0) {
      if (off + 1 >= end) return -1;
      ppp = (ppp << 8) | buf[off + 1];
      off++;
    }
    off++;
    if (ppp === 0x21) this.pppType = 0x0800;
    else if (ppp === 0x57) this.pppType = 0x86dd;
    else if (ppp === 0x281 || ppp === 0x283) this.pppType = 0x8847; // MPLS unicast, multicast
    else return -2;
    return off;
  }

  /** From an ethertype at `off` (0: tell IPv4 from IPv6 by the version nibble). */
  private fromType(type: number, buf: Buffer, off: number, end: number, ts: number): Status {
    const d = this.d;
    // VLAN (802.1Q, 802.1ad, old QinQ), PPPoE session, MPLS; bounded number of layers
    for (let layers = 0; layers < 8; layers++) {
      if (type === 0x8100 || type === 0x88a8 || type === 0x9100) {
        if (end - off < 4) return Status.Malformed;
        if (d.vlan < 0) d.vlan = ((buf[off] << 8) | buf[off + 1]) & 0xfff;
        type = (buf[off + 2] << 8) | buf[off + 3];
        off += 4;
      } else if (type === 0x8864) {
        if (end - off < 6) return Status.Malformed;
        const at = this.pppProtocol(buf, off + 6, end);
        if (at < 0) return headerFailure(at);
        type = this.pppType;
        off = at;
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
      if (d.tunnels > 0) this.truncated(cut);
    }
    const proto = buf[off + 9];
    const fragWord = (buf[off + 6] << 8) | buf[off + 7];
    d.v6 = false;
    if (fragWord & 0x3fff) {
      if (cut) return Status.Malformed;
      const r = this.frags.add(buf, off + 12, 4, (buf[off + 4] << 8) | buf[off + 5], proto,
        (fragWord & 0x1fff) * 8, (fragWord & 0x2000) !== 0, buf.subarray(off + ihl, ipEnd), ts, d.zone, d.zoneId);
      if (!r) return Status.Held;
      d.addrBuf = r.addrs;
      d.srcOff = 0;
      d.dstOff = 4;
      return this.l4(r.proto, r.payload, 0, r.payload.length, 0, ts);
    }
    d.addrBuf = buf;
    d.srcOff = off + 12;
    d.dstOff = off + 16;
    return this.l4(proto, buf, off + ihl, ipEnd, cut, ts);
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
      if (d.tunnels > 0) this.truncated(cut);
    }
    d.v6 = true;
    d.addrBuf = buf;
    d.srcOff = off + 8;
    d.dstOff = off + 24;
    let o = off + 40;
    let whole = false; // reassembled: what follows the fragment header may be more extension headers
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
        if (cut || whole) return Status.Malformed; // a fragment inside a reassembled fragment
        const r = this.frags.add(buf, off + 8, 16, id, nh, fw & 0xfff8, (fw & 1) === 1, buf.subarray(o, ipEnd), ts, d.zone, d.zoneId);
        if (!r) return Status.Held;
        d.addrBuf = r.addrs;
        d.srcOff = 0;
        d.dstOff = 16;
        // destination options and AH belong to the fragmentable part (RFC 8200 4.5): walk on inside it
        whole = true;
        nh = r.proto;
        buf = r.payload;
        o = 0;
        ipEnd = r.payload.length;
      } else break;
    }
    return this.l4(nh, buf, o, ipEnd, cut, ts);
  }

  private l4(proto: number, buf: Buffer, o: number, ipEnd: number, cut: number, ts: number): Status {
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
      const t = this.udpTunnels;
      const kind = t[d.dport] !== 0 ? t[d.dport] : t[d.sport] >= T_EITHER_PORT ? t[d.sport] : 0;
      if (d.tunnels < MAX_TUNNELS) {
        if (kind !== 0) {
          const st = this.udpTunnel(kind, buf, d.payOff, d.payOff + d.payLen, ts, d.payMissing);
          if (st >= 0) return st;
        } else if (this.teredoAnyPort && d.payLen >= 40) {
          // Teredo between a client and a relay or another client runs on any ports: an IPv6 header or
          // a Teredo indicator (00 00, 00 01) first, then checked as a whole in teredo()
          const b0 = buf[d.payOff];
          if (b0 >> 4 === 6 || (b0 === 0 && buf[d.payOff + 1] <= 1)) {
            const st = this.teredo(buf, d.payOff, d.payOff + d.payLen, ts, d.payMissing, true);
            if (st >= 0) return st;
          }
        }
      }
      return Status.Ok;
    }
    if (proto === 47) return d.tunnels < MAX_TUNNELS ? this.gre(buf, o, ipEnd, ts, cut) : Status.Skipped;
    if (proto === 4 || proto === 41) return d.tunnels < MAX_TUNNELS ? this.openIp(proto === 4 ? 0x0800 : 0x86dd, buf, o, ipEnd, ts, cut, 0, 0) : Status.Skipped;
    return Status.Skipped;
  }

  /**
   * What a tunnel carries, from its ethertype at `off`: the packet as it was on the mirrored link.
   * `zone` (Z_*, 0: none) and `id`: the tunnel's zone, added to the flow key when keyed.
   */
  private open(type: number, buf: Buffer, off: number, end: number, ts: number, frame: number, cut: number, zone: number, id: number): Status {
    const d = this.d;
    if (d.tunnels++ === 0) this.tunneled++;
    if (zone !== 0 && this.zones[zone] !== 0) {
      // nested zones: the kinds kept exactly (outermost first), the ids folded into one word
      if (d.zone === 0) d.zoneId = id >>> 0;
      else d.zoneId = foldZone(d.zoneId, id);
      d.zone = (d.zone << 4) | zone;
    }
    d.innerLen = end - frame + cut;
    this.carriedCut = cut;
    // the VLAN that counts is the mirrored link's (inside), not the transport's
    d.vlan = -1;
    d.payMissing = 0;
    return this.fromType(type, buf, off, end, ts);
  }

  /** An IP packet a tunnel carries at `off`. */
  private openIp(type: number, buf: Buffer, off: number, end: number, ts: number, cut: number, zone: number, id: number): Status {
    return this.open(type, buf, off, end, ts, off, cut, zone, id);
  }

  /** GRE says an Ethernet frame follows: one that is not is malformed. */
  private frameOrMalformed(buf: Buffer, off: number, end: number, ts: number, cut: number, zone: number, id: number): Status {
    const st = this.openEthernet(buf, off, end, ts, cut, zone, id);
    return st < 0 ? Status.Malformed : st;
  }

  /** An Ethernet frame a tunnel carries at `off`, if its type is one a mirrored frame has; else -1. */
  private openEthernet(buf: Buffer, off: number, end: number, ts: number, cut: number, zone: number, id: number): number {
    return ethernetInside(buf, off, end) ? this.open(etherType(buf, off), buf, off + 14, end, ts, off, cut, zone, id) : -1;
  }

  /**
   * The IP packet a tunnel carries is longer than what it carries: the mirror cut it (ERSPAN's T bit,
   * a truncating VPC mirror session, a SPAN session's MTU), not only the capture. Its flow counts the
   * length it had on the mirrored link.
   */
  private truncated(cut: number): void {
    if (cut > this.carriedCut) this.d.innerLen += cut - this.carriedCut;
  }

  /**
   * A datagram on a tunnel port: opened when its header and the start of what it carries check out;
   * -1 (not a tunnel: ordinary UDP on that port) otherwise.
   */
  private udpTunnel(kind: number, buf: Buffer, o: number, end: number, ts: number, cut: number): number {
    const avail = end - o;
    if (kind === T_VXLAN) {
      // RFC 7348: flags with I (0x08), 24-bit VNI, last byte reserved; an Ethernet frame follows
      if (avail < 8 || (buf[o] & 0x08) === 0 || buf[o + 7] !== 0) return -1;
      return this.openEthernet(buf, o + 8, end, ts, cut, Z_VXLAN, (buf[o + 4] << 16) | (buf[o + 5] << 8) | buf[o + 6]);
    }
    if (kind === T_GENEVE) {
      // RFC 8926: version 0, options length in 4-byte words, protocol type
      if (avail < 8 || buf[o] >> 6 !== 0) return -1;
      const h = 8 + (buf[o] & 0x3f) * 4;
      const type = (buf[o + 2] << 8) | buf[o + 3];
      const vni = (buf[o + 4] << 16) | (buf[o + 5] << 8) | buf[o + 6];
      if (type === 0x6558) return this.openEthernet(buf, o + h, end, ts, cut, Z_GENEVE, vni);
      if ((type === 0x0800 || type === 0x86dd) && avail > h && ipVersionType(buf[o + h]) === type) return this.openIp(type, buf, o + h, end, ts, cut, Z_GENEVE, vni);
      return -1;
    }
    if (kind === T_TEREDO) return this.teredo(buf, o, end, ts, cut, false);
    if (kind === T_L2TP) return this.l2tp(buf, o, end, ts, cut);
    // GTP-U (3GPP TS 29.281): version 1, PT 1, a G-PDU (0xff) carries a user's IP packet. No zone:
    // the TEID is the receiver's, so uplink and downlink differ
    if (avail < 8 || buf[o] >> 4 !== 3 || buf[o + 1] !== 0xff) return -1;
    let h = 8;
    if (buf[o] & 7) {
      // sequence number, N-PDU number, then a chain of extension headers (length in 4-byte words)
      if (avail < 12) return -1;
      h = 12;
      let next = buf[o] & 4 ? buf[o + 11] : 0; // read only when E says extension headers follow
      for (let n = 0; next !== 0; n++) {
        if (n === 8 || avail < h + 4) return -1;
        const len = buf[o + h] * 4;
        if (len === 0 || avail < h + len) return -1;
        next = buf[o + h + len - 1];
        h += len;
      }
    }
    const msgEnd = Math.min(end, o + 8 + ((buf[o + 2] << 8) | buf[o + 3]));
    if (msgEnd <= o + h) return -1;
    const type = ipVersionType(buf[o + h]);
    return type === 0 ? -1 : this.openIp(type, buf, o + h, msgEnd, ts, msgEnd === end ? cut : 0, 0, 0);
  }

  /**
   * Teredo (RFC 4380 5.1.1): an authentication indicator (00 01, lengths, nonce, confirmation) and an
   * origin indication (00 00, port, address), both optional, then an IPv6 packet that fills the
   * datagram exactly. No zone: Teredo addresses are global. On any port (`anyPort`) one of the
   * packet's addresses must also be a Teredo client's (2001:0::/32), as every packet between a Teredo
   * client and anyone is; the server's port also carries qualification (link-local addresses).
   */
  private teredo(buf: Buffer, o: number, end: number, ts: number, cut: number, anyPort: boolean): number {
    let p = o;
    if (end - p >= 4 && buf[p] === 0 && buf[p + 1] === 1) p += 13 + buf[p + 2] + buf[p + 3];
    if (end - p >= 2 && buf[p] === 0 && buf[p + 1] === 0) p += 8;
    if (end - p < 40 || buf[p] >> 4 !== 6) return -1;
    // the IPv6 payload length against the datagram (as it was before a snaplen cut it)
    const plen = (buf[p + 4] << 8) | buf[p + 5];
    if (40 + plen !== end - p + cut) return -1;
    if (anyPort) {
      if (buf.readUInt32BE(p + 8) !== 0x20010000 && buf.readUInt32BE(p + 24) !== 0x20010000) return -1;
      // what a Teredo client sends (TCP, UDP, ICMPv6, a bubble, extension headers), its header there:
      // ordinary UDP that only looks like this stays ordinary, not malformed
      const nh = buf[p + 6];
      const least = TEREDO_NEXT[nh];
      if (least < 0 || plen < least || (nh === 17 && end - p >= 46 && ((buf[p + 44] << 8) | buf[p + 45]) !== plen)) return -1;
    }
    return this.openIp(0x86dd, buf, p, end, ts, cut, 0, 0);
  }

  /**
   * L2TP version 2 data messages (RFC 2661 3.1): flags and version, optional length, tunnel and
   * session ids, optional Ns/Nr and offset, then a PPP frame carrying IP. Control messages (T bit)
   * and PPP's own negotiation stay ordinary UDP. No zone: the ids in a header are the receiver's.
   */
  private l2tp(buf: Buffer, o: number, end: number, ts: number, cut: number): number {
    const avail = end - o;
    const b0 = buf[o];
    if (avail < 6 || (b0 & 0x80) !== 0 || (buf[o + 1] & 0x0f) !== 2) return -1;
    let h = 6 + (b0 & 0x40 ? 2 : 0) + (b0 & 0x08 ? 4 : 0);
    if (b0 & 0x02) {
      if (avail < h + 2) return -1;
      h += 2 + ((buf[o + h] << 8) | buf[o + h + 1]); // offset size, then that much padding
    }
    let p = o + h;
    if (p + 2 <= end && buf[p] === 0xff && buf[p + 1] === 0x03) p += 2; // address and control fields
    p = this.pppProtocol(buf, p, end);
    if (p < 0 || p >= end) return -1;
    const type = this.pppType;
    if (type !== 0x8847 && ipVersionType(buf[p]) !== type) return -1;
    return this.openIp(type, buf, p, end, ts, cut, 0, 0);
  }

  /** GRE (RFC 2784/2890; version 1 is PPTP's, RFC 2637): IP, Ethernet, ERSPAN I-III, MPLS, WCCP. */
  private gre(buf: Buffer, o: number, end: number, ts: number, cut: number): Status {
    const avail = end - o;
    if (avail < 4) return Status.Malformed;
    const b0 = buf[o], b1 = buf[o + 1];
    const type = (buf[o + 2] << 8) | buf[o + 3];
    const version = b1 & 7;
    let h = 4;
    if (version === 1) {
      // enhanced GRE: key (payload length, call id) always, sequence and acknowledgment optional; PPP inside
      if (type !== 0x880b || (b0 & 0x20) === 0) return Status.Skipped;
      h = 8 + (b0 & 0x10 ? 4 : 0) + (b1 & 0x80 ? 4 : 0);
      if (avail < h + 1) return avail < h ? Status.Malformed : Status.Skipped;
      let p = o + h;
      if (buf[p] === 0xff && p + 1 < end && buf[p + 1] === 0x03) p += 2; // address and control fields
      p = this.pppProtocol(buf, p, end);
      if (p === -1) return Status.Malformed;
      // LCP, CCP, compressed or encrypted (MPPE) frames; MPLS is not carried over PPTP
      if (p < 0 || this.pppType === 0x8847) return Status.Skipped;
      // no zone: the call id is the receiver's, so the two directions differ
      return this.openIp(this.pppType, buf, p, end, ts, cut, 0, 0);
    }
    if (version !== 0 || b0 & 0x40) return Status.Skipped; // other versions; source routing (obsolete)
    if (b0 & 0x80) h += 4; // checksum
    const keyed = (b0 & 0x20) !== 0;
    if (keyed) h += 4;
    const seq = (b0 & 0x10) !== 0;
    if (seq) h += 4;
    if (avail < h) return Status.Malformed;
    const p = o + h;
    // the key follows the checksum word when there is one (RFC 2890)
    const key = keyed ? buf.readUInt32BE(o + (b0 & 0x80 ? 8 : 4)) : 0;
    switch (type) {
      case 0x0800:
      case 0x86dd:
      case 0x8847:
      case 0x8100:
      case 0x88a8:
        // a point-to-point tunnel's key may differ per direction (Linux ikey/okey, PMIPv6): keyed only when configured
        return this.openIp(type, buf, p, end, ts, cut, keyed ? Z_GRE_IP : 0, key);
      case 0x6558: // transparent Ethernet bridging (GRETAP, NVGRE): the key names the bridged segment
        return this.frameOrMalformed(buf, p, end, ts, cut, keyed ? Z_GRE_ETHERNET : 0, key);
      case 0x88be:
        // ERSPAN type II (sequence number present; 8-byte header, version 1, 10-bit session id) or type I (no header)
        if (seq && (end - p < 8 || buf[p] >> 4 !== 1)) return Status.Malformed;
        return seq ? this.frameOrMalformed(buf, p + 8, end, ts, cut, Z_ERSPAN, ((buf[p + 2] & 3) << 8) | buf[p + 3]) : this.frameOrMalformed(buf, p, end, ts, cut, 0, 0);
      case 0x22eb:
        // ERSPAN type III: 12-byte header (version 2, the session id where type II has it), an 8-byte platform subheader when O is set
        if (end - p < 12 || buf[p] >> 4 !== 2) return Status.Malformed;
        return this.frameOrMalformed(buf, p + 12 + (buf[p + 11] & 1 ? 8 : 0), end, ts, cut, Z_ERSPAN, ((buf[p + 2] & 3) << 8) | buf[p + 3]);
      case 0x883e: {
        // WCCP redirection: a 4-byte redirect header unless the IPv4 header starts at once
        if (p >= end) return Status.Malformed;
        return this.openIp(0x0800, buf, buf[p] >> 4 === 4 ? p : p + 4, end, ts, cut, keyed ? Z_GRE_IP : 0, key);
      }
      default:
        return Status.Skipped; // keepalives, other payloads
    }
  }
}

/** an outer zone id and an inner one folded into one word (order matters) */
function foldZone(outer: number, inner: number): number {
  let h = Math.imul(outer ^ 0x9e3779b9, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h ^ inner, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function etherType(buf: Buffer, off: number): number {
  return (buf[off + 12] << 8) | buf[off + 13];
}

/** An Ethernet header whose type is one a mirrored frame carries (IP, VLAN, MPLS, PPPoE, ARP). */
function ethernetInside(buf: Buffer, off: number, end: number): boolean {
  if (end - off < 14) return false;
  const t = etherType(buf, off);
  return t === 0x0800 || t === 0x86dd || t === 0x8100 || t === 0x88a8 || t === 0x9100 || t === 0x8847 || t === 0x8864 || t === 0x0806;
}

/** the ethertype for an IP header's first byte, 0 when it is neither IPv4 nor IPv6 */
function ipVersionType(b: number): number {
  return b >> 4 === 4 ? 0x0800 : b >> 4 === 6 ? 0x86dd : 0;
}
