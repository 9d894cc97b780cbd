// Builds capture files for the project's own tests and benchmarks: Ethernet/IPv4|IPv6/TCP|UDP frames
// with correct lengths and checksums, TCP conversations with handshake, segmentation, reordering and
// teardown, written as classic pcap (µs or ns) or pcapng.
//
//   const c = new Capture();
//   const t = c.tcp('10.0.0.5:40001', '64.12.24.50:5190');
//   t.open(); t.send('c', bytes, { segment: 10 }); t.send('s', reply); t.close();
//   fs.writeFileSync(file, c.pcap());

import net from 'node:net';

export interface Frame {
  tsMicros: number;
  data: Buffer;
  linktype?: number;
  /** length on the wire when more than `data` was sent (cut by the snaplen); pcapngOf only */
  origLen?: number;
  /** pcapngOf only: the time as written, in the interface's units (finer than tsMicros can say) */
  tsUnits?: bigint;
}

const ETH = 1;

export class Capture {
  frames: Frame[] = [];
  /** capture clock, microseconds; advanced by each packet */
  now = Date.UTC(2024, 0, 15, 9, 30, 0) * 1000;
  step = 1000;

  add(data: Buffer, linktype = ETH): void {
    this.frames.push({ tsMicros: this.now, data, linktype });
    this.now += this.step;
  }

  tcp(client: string, server: string): TcpConversation {
    return new TcpConversation(this, parseEp(client), parseEp(server));
  }

  udp(client: string, server: string, payload: Buffer | string, dir: 'c' | 's' = 'c'): void {
    const a = parseEp(client), b = parseEp(server);
    const [src, dst] = dir === 'c' ? [a, b] : [b, a];
    this.add(ether(ipPacket(src.ip, dst.ip, 17, udpHeader(src, dst, toBuf(payload)))));
  }

  /** classic pcap; nanosecond resolution and byte order selectable */
  pcap(opts: { nano?: boolean; bigEndian?: boolean; linktype?: number; snaplen?: number } = {}): Buffer {
    const le = !opts.bigEndian;
    const hdr = Buffer.alloc(24);
    const w32 = (b: Buffer, v: number, o: number) => (le ? b.writeUInt32LE(v >>> 0, o) : b.writeUInt32BE(v >>> 0, o));
    const w16 = (b: Buffer, v: number, o: number) => (le ? b.writeUInt16LE(v, o) : b.writeUInt16BE(v, o));
    w32(hdr, opts.nano ? 0xa1b23c4d : 0xa1b2c3d4, 0);
    w16(hdr, 2, 4);
    w16(hdr, 4, 6);
    w32(hdr, opts.snaplen ?? 262144, 16);
    w32(hdr, opts.linktype ?? this.frames[0]?.linktype ?? ETH, 20);
    const parts: Buffer[] = [hdr];
    for (const f of this.frames) {
      const rec = Buffer.alloc(16);
      const sec = Math.floor(f.tsMicros / 1e6);
      const frac = opts.nano ? (f.tsMicros % 1e6) * 1000 : f.tsMicros % 1e6;
      const cap = Math.min(f.data.length, opts.snaplen ?? 262144);
      w32(rec, sec, 0);
      w32(rec, frac, 4);
      w32(rec, cap, 8);
      w32(rec, f.data.length, 12);
      parts.push(rec, f.data.subarray(0, cap));
    }
    return Buffer.concat(parts);
  }

  /** pcapng: one interface per distinct link type, enhanced packet blocks, microsecond timestamps */
  pcapng(): Buffer {
    const parts: Buffer[] = [];
    const block = (type: number, body: Buffer) => {
      const pad = (4 - (body.length % 4)) % 4;
      const len = 12 + body.length + pad;
      const b = Buffer.alloc(len);
      b.writeUInt32LE(type, 0);
      b.writeUInt32LE(len, 4);
      body.copy(b, 8);
      b.writeUInt32LE(len, len - 4);
      parts.push(b);
    };
    const shb = Buffer.alloc(16);
    shb.writeUInt32LE(0x1a2b3c4d, 0);
    shb.writeUInt16LE(1, 4);
    shb.writeUInt16LE(0, 6);
    shb.writeBigInt64LE(-1n, 8);
    block(0x0a0d0d0a, shb);
    const ifaces = new Map<number, number>();
    for (const f of this.frames) {
      const lt = f.linktype ?? ETH;
      if (!ifaces.has(lt)) {
        ifaces.set(lt, ifaces.size);
        const idb = Buffer.alloc(8);
        idb.writeUInt16LE(lt, 0);
        idb.writeUInt32LE(262144, 4);
        block(1, idb);
      }
      const epb = Buffer.alloc(20 + f.data.length);
      epb.writeUInt32LE(ifaces.get(lt)!, 0);
      const ts = BigInt(f.tsMicros);
      epb.writeUInt32LE(Number(ts >> 32n), 4);
      epb.writeUInt32LE(Number(ts & 0xffffffffn), 8);
      epb.writeUInt32LE(f.data.length, 12);
      epb.writeUInt32LE(f.data.length, 16);
      f.data.copy(epb, 20);
      block(6, epb);
    }
    return Buffer.concat(parts);
  }
}

export interface Ep {
  ip: string;
  port: number;
}

export function parseEp(s: string): Ep {
  const m = s.match(/^\[?([^\]]+?)\]?:(\d+)$/);
  if (!m) throw new Error(`bad endpoint ${s}`);
  return { ip: m[1], port: Number(m[2]) };
}

function toBuf(b: Buffer | string): Buffer {
  return typeof b === 'string' ? Buffer.from(b, 'utf8') : b;
}

export class TcpConversation {
  seq = { c: 1000, s: 5000 };
  constructor(private cap: Capture, readonly client: Ep, readonly server: Ep) {}

  private seg(dir: 'c' | 's', flags: number, payload: Buffer, seq = this.seq[dir]): Buffer {
    const [src, dst] = dir === 'c' ? [this.client, this.server] : [this.server, this.client];
    const ack = dir === 'c' ? this.seq.s : this.seq.c;
    return ether(ipPacket(src.ip, dst.ip, 6, tcpHeader(src, dst, seq, ack, flags, payload)));
  }

  open(): this {
    this.cap.add(this.seg('c', SYN, Buffer.alloc(0)));
    this.seq.c++;
    this.cap.add(this.seg('s', SYN | ACK, Buffer.alloc(0)));
    this.seq.s++;
    this.cap.add(this.seg('c', ACK, Buffer.alloc(0)));
    return this;
  }

  /**
   * Send bytes from one side. `segment` splits into segments of that size; `reorder` emits the
   * segments in the given index order (e.g. [1,0,2]); `retransmit` repeats the listed segments.
   */
  send(dir: 'c' | 's', data: Buffer | string, opts: { segment?: number; reorder?: number[]; retransmit?: number[]; drop?: number[] } = {}): this {
    const buf = toBuf(data);
    const size = opts.segment ?? 1460;
    const segs: { seq: number; data: Buffer }[] = [];
    for (let o = 0; o < buf.length; o += size) segs.push({ seq: this.seq[dir] + o, data: buf.subarray(o, o + size) });
    const order = opts.reorder ?? segs.map((_, i) => i);
    for (const i of order) {
      if (opts.drop?.includes(i)) continue;
      this.cap.add(this.seg(dir, ACK | PSH, segs[i].data, segs[i].seq));
      if (opts.retransmit?.includes(i)) this.cap.add(this.seg(dir, ACK | PSH, segs[i].data, segs[i].seq));
    }
    this.seq[dir] += buf.length;
    return this;
  }

  close(): this {
    this.cap.add(this.seg('c', FIN | ACK, Buffer.alloc(0)));
    this.seq.c++;
    this.cap.add(this.seg('s', FIN | ACK, Buffer.alloc(0)));
    this.seq.s++;
    this.cap.add(this.seg('c', ACK, Buffer.alloc(0)));
    return this;
  }
}

export const FIN = 1, SYN = 2, RST = 4, PSH = 8, ACK = 16;

export function ether(ip: Buffer, vlan?: number): Buffer {
  const v6 = (ip[0] >> 4) === 6;
  const hdr = Buffer.alloc(vlan === undefined ? 14 : 18);
  Buffer.from([0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1]).copy(hdr, 0);
  if (vlan !== undefined) {
    hdr.writeUInt16BE(0x8100, 12);
    hdr.writeUInt16BE(vlan, 14);
    hdr.writeUInt16BE(v6 ? 0x86dd : 0x0800, 16);
  } else hdr.writeUInt16BE(v6 ? 0x86dd : 0x0800, 12);
  return Buffer.concat([hdr, ip]);
}

function ipBytes(ip: string): Buffer {
  if (net.isIPv4(ip)) return Buffer.from(ip.split('.').map(Number));
  const b = Buffer.alloc(16);
  const [head, tail] = ip.split('::');
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail ? tail.split(':') : [];
  const groups = tail !== undefined ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  groups.forEach((g, i) => b.writeUInt16BE(parseInt(g || '0', 16), i * 2));
  return b;
}

let ipId = 1;
export function ipPacket(src: string, dst: string, proto: number, l4: Buffer): Buffer {
  const s = ipBytes(src), d = ipBytes(dst);
  if (s.length === 4) {
    const h = Buffer.alloc(20);
    h[0] = 0x45;
    h.writeUInt16BE(20 + l4.length, 2);
    h.writeUInt16BE(ipId++ & 0xffff, 4);
    h.writeUInt16BE(0x4000, 6);
    h[8] = 64;
    h[9] = proto;
    s.copy(h, 12);
    d.copy(h, 16);
    h.writeUInt16BE(checksum([h]), 10);
    fixL4Checksum(l4, proto, Buffer.concat([s, d, Buffer.from([0, proto]), u16(l4.length)]));
    return Buffer.concat([h, l4]);
  }
  const h = Buffer.alloc(40);
  h.writeUInt32BE(0x60000000, 0);
  h.writeUInt16BE(l4.length, 4);
  h[6] = proto;
  h[7] = 64;
  s.copy(h, 8);
  d.copy(h, 24);
  fixL4Checksum(l4, proto, Buffer.concat([s, d, u32(l4.length), Buffer.from([0, 0, 0, proto])]));
  return Buffer.concat([h, l4]);
}

function fixL4Checksum(l4: Buffer, proto: number, pseudo: Buffer): void {
  const off = proto === 6 ? 16 : proto === 17 ? 6 : -1;
  if (off < 0) return;
  l4.writeUInt16BE(0, off);
  let c = checksum([pseudo, l4]);
  if (proto === 17 && c === 0) c = 0xffff;
  l4.writeUInt16BE(c, off);
}

export function tcpHeader(src: Ep, dst: Ep, seq: number, ack: number, flags: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(20);
  h.writeUInt16BE(src.port, 0);
  h.writeUInt16BE(dst.port, 2);
  h.writeUInt32BE(seq >>> 0, 4);
  h.writeUInt32BE(flags & ACK ? ack >>> 0 : 0, 8);
  h[12] = 5 << 4;
  h[13] = flags;
  h.writeUInt16BE(65535, 14);
  return Buffer.concat([h, payload]);
}

export function udpHeader(src: Ep, dst: Ep, payload: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(src.port, 0);
  h.writeUInt16BE(dst.port, 2);
  h.writeUInt16BE(8 + payload.length, 4);
  return Buffer.concat([h, payload]);
}

function u16(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v);
  return b;
}
function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v);
  return b;
}

export function checksum(bufs: Buffer[]): number {
  let sum = 0;
  let odd: number | undefined;
  for (const b of bufs) {
    let i = 0;
    if (odd !== undefined && b.length) {
      sum += (odd << 8) | b[0];
      i = 1;
      odd = undefined;
    }
    for (; i + 1 < b.length; i += 2) sum += (b[i] << 8) | b[i + 1];
    if (i < b.length) odd = b[i];
  }
  if (odd !== undefined) sum += odd << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

// ---- link layers, fragments, extension headers, pcapng variants (sensor tests) ----------------

export const LINKTYPE = {
  NULL: 0, ETHERNET: 1, RAW: 101, LOOP: 108, SLL: 113, IPV4: 228, IPV6: 229, SLL2: 276, DLT_RAW12: 12,
  PPP: 9, PPP_HDLC: 50, PPPOE: 51, C_HDLC: 104, NFLOG: 239,
} as const;

/** Wraps an IP packet in the given link layer (Ethernet optionally with 802.1Q/QinQ tags). */
export function linkFrame(ip: Buffer, linktype: number, opts: { vlans?: number[]; qinqType?: number; nullFamily?: number } = {}): Buffer {
  const v6 = (ip[0] >> 4) === 6;
  const etype = v6 ? 0x86dd : 0x0800;
  switch (linktype) {
    case 1: {
      const tags = opts.vlans ?? [];
      const hdr = Buffer.alloc(14 + 4 * tags.length);
      Buffer.from([0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1]).copy(hdr, 0);
      let o = 12;
      tags.forEach((id, i) => {
        hdr.writeUInt16BE(i === 0 && tags.length > 1 ? (opts.qinqType ?? 0x88a8) : 0x8100, o);
        hdr.writeUInt16BE(id & 0xfff, o + 2);
        o += 4;
      });
      hdr.writeUInt16BE(etype, o);
      return Buffer.concat([hdr, ip]);
    }
    case 113: {
      const h = Buffer.alloc(16);
      h.writeUInt16BE(0, 0); // to us
      h.writeUInt16BE(1, 2); // ARPHRD_ETHER
      h.writeUInt16BE(6, 4);
      Buffer.from([0x02, 0, 0, 0, 0, 9]).copy(h, 6);
      h.writeUInt16BE(etype, 14);
      return Buffer.concat([h, ip]);
    }
    case 276: {
      const h = Buffer.alloc(20);
      h.writeUInt16BE(etype, 0);
      h.writeUInt32BE(2, 4); // interface index
      h.writeUInt16BE(1, 8);
      h[10] = 0;
      h[11] = 6;
      Buffer.from([0x02, 0, 0, 0, 0, 9]).copy(h, 12);
      return Buffer.concat([h, ip]);
    }
    case 0: {
      const h = Buffer.alloc(4);
      h.writeUInt32LE(opts.nullFamily ?? (v6 ? 30 : 2), 0);
      return Buffer.concat([h, ip]);
    }
    case 108: {
      const h = Buffer.alloc(4);
      h.writeUInt32BE(v6 ? 24 : 2, 0);
      return Buffer.concat([h, ip]);
    }
    case 9: // PPP, HDLC-like framing (RFC 1662): address, control, protocol
    case 50:
      return Buffer.concat([Buffer.from([0xff, 0x03, 0, v6 ? 0x57 : 0x21]), ip]);
    case 51: {
      // PPPoE session header (RFC 2516) without Ethernet, then the PPP protocol
      const h = Buffer.from([0x11, 0, 0x12, 0x34, 0, 0, 0, v6 ? 0x57 : 0x21]);
      h.writeUInt16BE(ip.length + 2, 4);
      return Buffer.concat([h, ip]);
    }
    case 104: // Cisco HDLC: unicast address, control, ethertype
      return Buffer.concat([Buffer.from([0x0f, 0, etype >> 8, etype & 255]), ip]);
    case 239:
      // Linux NFLOG: family, version, resource id; a packet header TLV (hw protocol, hook), a prefix
      // TLV padded to 4 bytes, then the payload TLV
      return Buffer.concat([
        Buffer.from([v6 ? 10 : 2, 0, 0, 5]), nflogTlv(1, Buffer.from([etype >> 8, etype & 255, 3, 0])), nflogTlv(10, Buffer.from('shadowim\0')),
        nflogTlvHeader(9, ip.length), ip,
      ]);
    case 12:
    case 14:
    case 101:
    case 228:
    case 229:
      return ip;
    default:
      throw new Error(`linkFrame: unsupported link type ${linktype}`);
  }
}

/** An NFLOG TLV's header as a little-endian host writes it: length (header included) and type. */
export function nflogTlvHeader(type: number, bodyLen: number): Buffer {
  const h = Buffer.alloc(4);
  h.writeUInt16LE(4 + bodyLen, 0);
  h.writeUInt16LE(type, 2);
  return h;
}

/** An NFLOG TLV with its body, padded to 4 bytes. */
export function nflogTlv(type: number, body: Buffer): Buffer {
  return Buffer.concat([nflogTlvHeader(type, body.length), body, Buffer.alloc((4 - (body.length % 4)) % 4)]);
}

/** A TCP segment or UDP datagram as an IP packet (checksums right). */
export function tcpPacket(src: string, dst: string, seq: number, flags: number, payload: Buffer | string = Buffer.alloc(0), ack = 0): Buffer {
  const a = parseEp(src), b = parseEp(dst);
  return ipPacket(a.ip, b.ip, 6, tcpHeader(a, b, seq, ack, flags, toBuf(payload)));
}

export function udpPacket(src: string, dst: string, payload: Buffer | string): Buffer {
  const a = parseEp(src), b = parseEp(dst);
  return ipPacket(a.ip, b.ip, 17, udpHeader(a, b, toBuf(payload)));
}

/** An Ethernet frame as mirrored over VXLAN (RFC 7348, UDP 4789) between two outer IPv4 addresses. */
export function vxlanFrame(frame: Buffer, outer: [string, string] = ['198.51.100.1', '198.51.100.2'], vni = 0x1234): Buffer {
  const h = Buffer.alloc(8);
  h[0] = 0x08;
  h.writeUIntBE(vni, 4, 3);
  return ether(ipPacket(outer[0], outer[1], 17, udpHeader({ ip: outer[0], port: 49152 }, { ip: outer[1], port: 4789 }, Buffer.concat([h, frame]))));
}

/** Splits an IPv4 packet into fragments carrying `size` payload bytes each (size multiple of 8). */
export function ipv4Fragments(ip: Buffer, size: number): Buffer[] {
  const ihl = (ip[0] & 15) * 4;
  const payload = ip.subarray(ihl);
  const out: Buffer[] = [];
  for (let o = 0; o < payload.length; o += size) {
    const part = payload.subarray(o, o + size);
    const h = Buffer.from(ip.subarray(0, ihl));
    h.writeUInt16BE(ihl + part.length, 2);
    const more = o + size < payload.length;
    h.writeUInt16BE((more ? 0x2000 : 0) | (o / 8), 6);
    h.writeUInt16BE(0, 10);
    h.writeUInt16BE(checksum([h]), 10);
    out.push(Buffer.concat([h, part]));
  }
  return out;
}

/**
 * Inserts IPv6 extension headers (hop-by-hop 0, routing 43, destination options 60, AH 51, fragment 44)
 * between the fixed header and the upper layer of an IPv6 packet.
 */
export function ipv6WithExtensions(ip: Buffer, exts: number[]): Buffer {
  let next = ip[6];
  const parts: Buffer[] = [];
  for (let i = exts.length - 1; i >= 0; i--) {
    const t = exts[i];
    let h: Buffer;
    if (t === 51) {
      h = Buffer.alloc(24); // AH with a 12-byte ICV: length field = 24/4 - 2
      h[1] = 4;
    } else if (t === 44) {
      h = Buffer.alloc(8); // atomic fragment (offset 0, M=0)
      h.writeUInt32BE(0x12345678, 4);
    } else {
      h = Buffer.alloc(16); // 2 × 8 bytes with PadN
      h[1] = 1;
      h[2] = 1;
      h[3] = 12;
    }
    h[0] = next;
    next = t;
    parts.unshift(h);
  }
  const fixed = Buffer.from(ip.subarray(0, 40));
  fixed[6] = next;
  const ext = Buffer.concat(parts);
  fixed.writeUInt16BE(ip.readUInt16BE(4) + ext.length, 4);
  return Buffer.concat([fixed, ext, ip.subarray(40)]);
}

/** Splits an IPv6 packet's upper layer into fragment-header fragments of `size` bytes (multiple of 8). */
export function ipv6Fragments(ip: Buffer, size: number, id = 0xabcd): Buffer[] {
  const proto = ip[6];
  const payload = ip.subarray(40);
  const out: Buffer[] = [];
  for (let o = 0; o < payload.length; o += size) {
    const part = payload.subarray(o, o + size);
    const more = o + size < payload.length;
    const fixed = Buffer.from(ip.subarray(0, 40));
    fixed[6] = 44;
    fixed.writeUInt16BE(8 + part.length, 4);
    const fh = Buffer.alloc(8);
    fh[0] = proto;
    fh.writeUInt16BE(o | (more ? 1 : 0), 2);
    fh.writeUInt32BE(id, 4);
    out.push(Buffer.concat([fixed, fh, part]));
  }
  return out;
}

export interface PcapngOptions {
  bigEndian?: boolean;
  /** if_tsresol exponent of 10 for every interface (default 6 = µs) */
  tsresol?: number;
  /** the if_tsresol byte written, whatever `tsresol` the timestamps were written in (a lying or corrupt header) */
  tsresolByte?: number;
  /** if_tsoffset in seconds (signed 64-bit) for every interface */
  tsoffset?: bigint;
  /** insert an unknown block (and a name-resolution block) between packets */
  unknownBlocks?: boolean;
  /** write packets as simple packet blocks (single interface only) */
  simple?: boolean;
  /** write packets as obsolete packet blocks (type 2) */
  obsolete?: boolean;
}

/** pcapng with more variety than Capture.pcapng(): byte order, timestamp resolution, block kinds. */
export function pcapngOf(frames: Frame[], opts: PcapngOptions = {}): Buffer {
  const le = !opts.bigEndian;
  const parts: Buffer[] = [];
  const w32 = (b: Buffer, v: number, o: number) => (le ? b.writeUInt32LE(v >>> 0, o) : b.writeUInt32BE(v >>> 0, o));
  const w16 = (b: Buffer, v: number, o: number) => (le ? b.writeUInt16LE(v, o) : b.writeUInt16BE(v, o));
  const block = (type: number, body: Buffer) => {
    const pad = (4 - (body.length % 4)) % 4;
    const len = 12 + body.length + pad;
    const b = Buffer.alloc(len);
    w32(b, type, 0);
    w32(b, len, 4);
    body.copy(b, 8);
    w32(b, len, len - 4);
    parts.push(b);
  };
  const shb = Buffer.alloc(16);
  w32(shb, 0x1a2b3c4d, 0);
  w16(shb, 1, 4);
  w16(shb, 0, 6);
  shb.fill(0xff, 8, 16);
  block(0x0a0d0d0a, shb);
  const res = opts.tsresol ?? 6;
  const ifaces = new Map<number, number>();
  for (const f of frames) {
    const lt = f.linktype ?? ETH;
    if (!ifaces.has(lt)) {
      ifaces.set(lt, ifaces.size);
      const opt: Buffer[] = [];
      if (res !== 6 || opts.tsresolByte !== undefined) {
        const o = Buffer.alloc(8);
        w16(o, 9, 0); // if_tsresol
        w16(o, 1, 2);
        o[4] = opts.tsresolByte ?? res;
        opt.push(o);
      }
      if (opts.tsoffset !== undefined) {
        const o = Buffer.alloc(12);
        w16(o, 14, 0); // if_tsoffset
        w16(o, 8, 2);
        if (le) o.writeBigInt64LE(opts.tsoffset, 4);
        else o.writeBigInt64BE(opts.tsoffset, 4);
        opt.push(o);
      }
      if (opt.length) opt.push(Buffer.alloc(4)); // end of options
      const idb = Buffer.alloc(8);
      w16(idb, lt, 0);
      w32(idb, 262144, 4);
      block(1, Buffer.concat([idb, ...opt]));
    }
    if (opts.unknownBlocks) {
      block(0x0badcafe, Buffer.from('not a packet, skip me'));
      block(4, Buffer.alloc(4)); // empty name resolution block (nrb_record_end)
    }
    const units = f.tsUnits ?? BigInt(f.tsMicros) * 10n ** BigInt(res) / 1000000n;
    if (opts.simple) {
      const spb = Buffer.alloc(4 + f.data.length);
      w32(spb, f.data.length, 0);
      f.data.copy(spb, 4);
      block(3, spb);
      continue;
    }
    const pb = Buffer.alloc(20 + f.data.length);
    if (opts.obsolete) {
      w16(pb, ifaces.get(lt)!, 0);
      w16(pb, 0, 2);
    } else w32(pb, ifaces.get(lt)!, 0);
    w32(pb, Number(units >> 32n), 4);
    w32(pb, Number(units & 0xffffffffn), 8);
    w32(pb, f.data.length, 12);
    w32(pb, Math.max(f.data.length, f.origLen ?? 0), 16);
    f.data.copy(pb, 20);
    block(opts.obsolete ? 2 : 6, pb);
  }
  return Buffer.concat(parts);
}
