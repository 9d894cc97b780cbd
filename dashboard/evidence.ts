// Evidence: the packets of one flow (its 5-tuple, both directions, within the session's time window),
// read again from the capture file with the sensor's own reader and decoder, written as classic pcap
// (microsecond timestamps). Frames keep their original link layer; a pcapng with several link types
// keeps the frames of the first link type the flow appears on (classic pcap holds one). Inside tunnels
// the same 5-tuple may be two tenants' flows (one per VNI or mirror session: sensor/decode.ts zones):
// then the flow id tells which zone's packets are the session's.

import net from 'node:net';
import { CaptureReader, CaptureError, openCapture } from '../sensor/captureFile';
import { Decoder } from '../sensor/decode';
import { FlowTable } from '../sensor/flowTable';

export interface FlowSpec {
  transport: 'tcp' | 'udp' | string | null;
  client: { ip: string; port: number | null };
  server: { ip: string; port: number | null };
  /** ms since the epoch; packets outside [start - slack, end + slack] are left out */
  startMs?: number;
  endMs?: number;
  /** the session's flow_id: picks the zone when the 5-tuple is seen in several tunnel zones */
  flowId?: string | null;
}

export class EvidenceError extends Error {}

const SLACK_MS = 2000;
const MAX_BYTES = 256 << 20;

function ipBytes(ip: string): Buffer {
  if (net.isIPv4(ip)) return Buffer.from(ip.split('.').map(Number));
  if (net.isIPv6(ip)) {
    // expand via the socket address parser
    const parts = ip.includes('.') ? ip.replace(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/, (_m, a, b, c, d) => `${((+a << 8) | +b).toString(16)}:${((+c << 8) | +d).toString(16)}`) : ip;
    const [head, tail] = parts.split('::');
    const h = head ? head.split(':') : [];
    const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
    const groups = tail === undefined ? h : [...h, ...new Array(8 - h.length - t.length).fill('0'), ...t];
    const b = Buffer.alloc(16);
    groups.forEach((g, i) => b.writeUInt16BE(parseInt(g || '0', 16), i * 2));
    return b;
  }
  throw new EvidenceError(`not an IP address: ${ip.slice(0, 64)}`);
}

export interface Extracted {
  pcap: Buffer;
  packets: number;
  linktype: number;
}

/** Reads `file` and returns only the flow's packets as a classic pcap. */
export async function extractFlow(file: string, f: FlowSpec): Promise<Extracted> {
  const a = ipBytes(f.client.ip), b = ipBytes(f.server.ip);
  const v6 = a.length === 16;
  const proto = f.transport === 'udp' ? 17 : 6;
  const pa = f.client.port ?? -1, pb = f.server.port ?? -1;
  const lo = f.startMs !== undefined ? (f.startMs - SLACK_MS) * 1000 : -Infinity;
  const hi = f.endMs !== undefined ? (f.endMs + SLACK_MS) * 1000 : Infinity;
  const dec = new Decoder();
  const d = dec.d;
  const out: Buffer[] = [];
  /** per record in `out`: its tunnel zone (an index into `zones`) */
  const zoneOf: number[] = [];
  /** zones seen ("kinds:id", "0:0" outside tunnels), and the flow id each would give its first packet */
  const zones = new Map<string, { n: number; id: string }>();
  let size = 0;
  let linktype = -1;
  let snaplen = 0;
  /** the id the sensor gives a flow whose first packet is the one just decoded (flowTable.flowId) */
  const firstPacketFlowId = (ts: number): string => {
    const t = new FlowTable(2);
    t.lookup(d);
    return t.flowId(t.insert(ts, ts));
  };
  const eq = (buf: Buffer, off: number, want: Buffer) => {
    for (let i = 0; i < want.length; i++) if (buf[off + i] !== want[i]) return false;
    return true;
  };
  const sink = {
    frame(lt: number, ts: number, buf: Buffer, off: number, len: number, origLen: number) {
      if (ts < lo || ts > hi) return;
      if (dec.decode(lt, buf, off, off + len, ts) !== 0 /* Status.Ok */) return;
      if (d.v6 !== v6 || d.proto !== proto) return;
      const fwd = d.sport === pa && d.dport === pb && eq(d.addrBuf, d.srcOff, a) && eq(d.addrBuf, d.dstOff, b);
      const rev = !fwd && d.sport === pb && d.dport === pa && eq(d.addrBuf, d.srcOff, b) && eq(d.addrBuf, d.dstOff, a);
      if (!fwd && !rev) return;
      if (linktype < 0) linktype = lt;
      else if (lt !== linktype) return;
      if (size + len + 16 > MAX_BYTES) throw new EvidenceError(`the flow has more than ${MAX_BYTES >> 20} MiB of packets; extract it with tshark instead`);
      const rec = Buffer.allocUnsafe(16 + len);
      const sec = Math.floor(ts / 1e6);
      rec.writeUInt32LE(sec >>> 0, 0);
      rec.writeUInt32LE(Math.floor(ts - sec * 1e6) >>> 0, 4);
      rec.writeUInt32LE(len, 8);
      rec.writeUInt32LE(Math.max(len, origLen), 12);
      buf.copy(rec, 16, off, off + len);
      // packets outside any zone are a zone of their own ("0:0"): the session may be theirs
      const k = `${d.zone}:${d.zoneId}`;
      let zone = zones.get(k);
      if (!zone) zones.set(k, (zone = { n: zones.size, id: firstPacketFlowId(ts) }));
      const z = zone.n;
      out.push(rec);
      zoneOf.push(z);
      size += rec.length;
      snaplen = Math.max(snaplen, len);
    },
  };
  let fd: number;
  try {
    fd = openCapture(file);
  } catch (e) {
    throw new EvidenceError(e instanceof Error ? e.message : String(e));
  }
  const reader = new CaptureReader(fd, sink, () => new Promise<void>((r) => setImmediate(r)));
  try {
    await reader.run();
  } catch (e) {
    // a truncated capture still gave its complete records
    if (!(e instanceof CaptureError)) throw e;
  }
  // several zones (or zoned and plain packets): the one whose flow id is the session's, when one is
  let keep = out;
  if (zones.size > 1 && f.flowId) {
    const mine = [...zones.values()].find((z) => z.id === f.flowId);
    if (mine) keep = out.filter((_, i) => zoneOf[i] === mine.n);
  }
  const hdr = Buffer.alloc(24);
  hdr.writeUInt32LE(0xa1b2c3d4, 0);
  hdr.writeUInt16LE(2, 4);
  hdr.writeUInt16LE(4, 6);
  hdr.writeUInt32LE(Math.max(262144, snaplen), 16);
  hdr.writeUInt32LE(linktype < 0 ? 1 : linktype, 20);
  return { pcap: Buffer.concat([hdr, ...keep]), packets: keep.length, linktype };
}
