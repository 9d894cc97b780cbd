// The packet path after the source: decode → flow table → TCP reassembly → FlowInspector.
// Source-agnostic (a file reader or a live interface feeds it frames with their link type) and never
// throws on a bad frame. Flows get a handler lazily, at their first payload byte: a SYN scan or a
// flood of empty connections costs a table slot and counters, nothing more.

import path from 'node:path';
import { readDataFile } from '../common/dataFile';
import { emptySensorCounters, type EndReason, type FlowCounters, type FlowHandler, type FlowInfo, type FlowInspector, type PacketSink, type SensorCounters } from './types';
import { Decoder, Status as DecodeStatus, ZONE_NAMES } from './decode';
import type { FragmentLimits } from './fragments';
import * as ft from './flowTable';

// Imported constants copied into module constants: through the CommonJS interop every use of an
// imported binding is a property read (a getter call) on the hot path; a local const is free.
const { FlowTable } = ft;
/** 2100-01-01 in µs: later capture times are corrupt */
const MAX_TS = 4102444800e6;
/** libpcap's MAXIMUM_SNAPLEN and Wireshark's WTAP_MAX_PACKET_SIZE_STANDARD */
export const MAX_ORIG_LEN = 262144;
const WHEEL = ft.WHEEL, F_BYTES = ft.F_BYTES, F_DEADLINE = ft.F_DEADLINE, F_FIRST = ft.F_FIRST;
const F_LAST = ft.F_LAST, F_PKTS = ft.F_PKTS, F_STATE = ft.F_STATE;
const ST_OK: number = DecodeStatus.Ok, ST_MALFORMED: number = DecodeStatus.Malformed, ST_SKIPPED: number = DecodeStatus.Skipped;
const ST_UNSUPPORTED: number = DecodeStatus.Unsupported;
import { DEFAULT_STREAM_LIMITS, StreamBudget, TcpStream, type StreamLimits, type StreamOut } from './tcpStream';
import { CaptureReader, readToEnd, type CaptureFormat, type FrameSink } from './captureFile';
import { keyAddrString } from './addr';

export interface PacketPathOptions {
  /** most flows tracked at once; when full, the flow nearest its idle timeout is evicted (default 200000) */
  maxFlows?: number;
  /** idle timeouts, seconds of capture time */
  tcpIdleSec?: number;
  udpIdleSec?: number;
  /** idle timeout of a TCP flow seen in one direction only (unanswered SYN, scan probe); default 30 */
  oneSidedTcpSec?: number;
  /** how long a TCP flow lingers after FIN both ways or RST (late ACKs, retransmissions) */
  closedLingerSec?: number;
  /** a flow older than this is ended (and a new one starts if traffic continues) */
  lifetimeSec?: number;
  stream?: Partial<StreamLimits>;
  /** out-of-order bytes buffered across all flows (default 64 MiB) */
  reassemblyBudget?: number;
  fragments?: Partial<FragmentLimits>;
  /** tunnel zones that key flows (tunnels.yaml `zones` when not given): 'vxlan', 'geneve', 'erspan', 'gre_ethernet', 'gre_ip' */
  tunnelZones?: readonly string[];
}

const FIN = 1, SYN = 2, RST = 4, ACK = 16;
// per-flow state bits
const S_SYN_C = 1, S_SYN_S = 2, S_FIN_C = 4, S_FIN_S = 8, S_RST = 16, S_CLOSED = 32, S_ASKED = 64, S_CLIENT_A = 128;
/** the handler was seen wanting no more data (final, FlowHandler.wantsData): later payload is only counted */
const S_NO_DATA = 256;
/** a UDP flow whose handler let go with FlowHandler.reopen (S_ASKED cleared): the next datagram with payload asks again */
const S_REOPEN = 512;
const FR = ft.FR; // flow table hot row stride

const BY: FlowInfo['clientBy'][] = ['syn', 'port', 'first'];

/** A flow as inspectors see it; its id text is made on first use (most flows are never reported). */
export class Flow implements FlowInfo {
  private idText: string | undefined;
  vlan?: number;
  zone?: string;
  constructor(
    private readonly idHi: number,
    private readonly idLo: number,
    readonly transport: FlowInfo['transport'],
    readonly client: FlowInfo['client'],
    readonly server: FlowInfo['server'],
    readonly firstTs: number,
    readonly clientBy: FlowInfo['clientBy'],
  ) {}

  get id(): string {
    return (this.idText ??= ft.flowIdText(this.idHi, this.idLo));
  }

  /**
   * From flow-key words (the flow table's, or the flow channel's copy of them): the client's address
   * at `cOff`, the server's at `sOff`, 4 words each; `by` indexes 'syn' | 'port' | 'first'; vlan -1 = none;
   * zone 0 = none.
   */
  static of(idHi: number, idLo: number, udp: boolean, v6: boolean, words: Uint32Array, cOff: number, cPort: number, sOff: number, sPort: number, firstTs: number, by: number, vlan: number, zone: number, zoneId: number): Flow {
    const f = new Flow(
      idHi, idLo,
      udp ? 'udp' : 'tcp',
      { ip: keyAddrString(words, cOff, v6), port: cPort },
      { ip: keyAddrString(words, sOff, v6), port: sPort },
      firstTs,
      BY[by] ?? 'first',
    );
    if (vlan >= 0) f.vlan = vlan;
    if (zone !== 0) f.zone = zoneText(zone, zoneId);
    return f;
  }
}

/** Decoded.zone and zoneId as FlowInfo.zone says */
export function zoneText(zone: number, id: number): string {
  const kinds: string[] = [];
  for (let z = zone; z !== 0; z >>>= 4) kinds.unshift(ZONE_NAMES[z & 15] ?? String(z & 15));
  return kinds.length === 1 ? `${kinds[0]}:${id >>> 0}` : `${kinds.join('/')}#${(id >>> 0).toString(16).padStart(8, '0')}`;
}

let serverPortMaps: { tcp: Uint8Array; udp: Uint8Array } | undefined;
/** Server ports from serverPorts.yaml (+ every port below 1024), as bitmaps. */
function serverPorts(): { tcp: Uint8Array; udp: Uint8Array } {
  if (serverPortMaps) return serverPortMaps;
  const tcp = new Uint8Array(65536), udp = new Uint8Array(65536);
  tcp.fill(1, 0, 1024);
  udp.fill(1, 0, 1024);
  const doc = readDataFile(path.join(__dirname, 'serverPorts.yaml')) ?? {};
  for (const p of doc.tcp ?? []) if (p >= 0 && p < 65536) tcp[p] = 1;
  for (const p of doc.udp ?? []) if (p >= 0 && p < 65536) udp[p] = 1;
  return (serverPortMaps = { tcp, udp });
}

/**
 * An inspector that takes a new flow straight from the table (the flow channel to the analysis
 * thread): it copies the key words itself instead of having address strings made for it.
 */
export interface SlotInspector extends FlowInspector {
  newFlowAt(table: ft.FlowTable, slot: number, clientSide: 0 | 1): FlowHandler | null;
}

export class PacketPath implements PacketSink, FrameSink, StreamOut {
  private readonly table: ft.FlowTable;
  private readonly decoder: Decoder;
  private readonly handlers: (FlowHandler | null)[];
  private readonly streams: (TcpStream | null)[];
  private readonly limits: StreamLimits;
  private readonly budget: StreamBudget;
  private readonly ports = serverPorts();
  private readonly tcpIdle: number;
  private readonly udpIdle: number;
  private readonly linger: number;
  private readonly embryonic: number;
  private readonly lifetime: number;
  private readonly c: SensorCounters = emptySensorCounters();
  private now = 0;
  private lastHousekeep = 0;
  /** exceptions caught on the packet path (a bug if ever non-zero; the fuzz test checks it) */
  internalErrors = 0;
  private finished = false;
  // where StreamOut calls go (set before each stream call)
  private curSlot = 0;
  private curDir: 0 | 1 = 0;
  private curHandler: FlowHandler | null = null;
  /**
   * Counts payload deliveries begun (a segment, a missing range, a stream's end, a datagram), each
   * after its handler said it wants data: the flow channel marks where one begins, so the analysis
   * thread can replay the same "wants data?" decisions.
   */
  ops = 0;
  private readonly slotInspector: SlotInspector | undefined;

  constructor(private readonly inspector: FlowInspector, opts: PacketPathOptions = {}) {
    const max = opts.maxFlows ?? 200000;
    this.table = new FlowTable(max);
    this.decoder = new Decoder(opts.fragments, opts.tunnelZones);
    this.handlers = new Array(this.table.capacity).fill(null);
    this.streams = new Array(this.table.capacity * 2).fill(null);
    this.limits = { ...DEFAULT_STREAM_LIMITS, ...opts.stream };
    this.budget = new StreamBudget(opts.reassemblyBudget ?? 64 << 20);
    this.tcpIdle = (opts.tcpIdleSec ?? 300) * 1e6;
    this.udpIdle = (opts.udpIdleSec ?? 60) * 1e6;
    this.linger = (opts.closedLingerSec ?? 2) * 1e6;
    this.embryonic = Math.min((opts.oneSidedTcpSec ?? 30) * 1e6, this.tcpIdle);
    this.lifetime = (opts.lifetimeSec ?? 7200) * 1e6;
    if (typeof (inspector as SlotInspector).newFlowAt === 'function') this.slotInspector = inspector as SlotInspector;
  }

  get counters(): SensorCounters {
    this.c.activeFlows = this.table.count;
    this.c.fragmentsDropped = this.decoder.frags.dropped;
    this.c.tunneled = this.decoder.tunneled;
    return this.c;
  }

  /** capture time of the newest packet, µs */
  get captureTime(): number {
    return this.now;
  }

  /** bytes of out-of-order TCP data buffered right now (all flows) */
  get bufferedBytes(): number {
    return this.budget.used;
  }

  /**
   * Capture time passed without packets (a quiet live interface): expire idle flows and tick the
   * inspector as if a packet had arrived at `tsMicros`.
   */
  advance(tsMicros: number): void {
    if (tsMicros <= this.now || tsMicros > MAX_TS) return;
    this.now = tsMicros;
    if (tsMicros - this.lastHousekeep >= 1e6) this.housekeep(tsMicros);
  }

  packet(linktype: number, tsMicros: number, data: Buffer, origLen: number): void {
    this.frame(linktype, tsMicros, data, 0, data.length, origLen);
  }

  frame(linktype: number, ts: number, buf: Buffer, off: number, len: number, origLen: number): void {
    const c = this.c;
    c.packets++;
    // A record can claim any original length (4 GiB in a pcap record or a pcapng block): past the
    // largest snapshot length libpcap and Wireshark know, no link delivered it. It is counted as what
    // was captured, so one forged record cannot make the capture's or a flow's bytes say 4 GiB.
    if (origLen > MAX_ORIG_LEN) {
      c.badLengths++;
      origLen = len;
    }
    c.bytes += origLen;
    // A corrupt capture can claim any time (a mangled if_tsresol makes it 1e25 µs, past where
    // doubles count seconds exactly): such a frame is given the newest good time instead.
    if (!(ts >= 0 && ts <= MAX_TS)) {
      c.badTimestamps++;
      ts = this.now;
    }
    if (ts > this.now) {
      if (this.now === 0 && this.table.count > 0) this.rebase(ts);
      this.now = ts;
      if (ts - this.lastHousekeep >= 1e6) this.housekeep(ts);
    }
    try {
      const st = this.decoder.decode(linktype, buf, off, off + len, ts);
      if (st !== ST_OK) {
        // headers the snaplen cut (tcpdump -s 40) are the capture's doing, not the frame's: snapped
        if (st === ST_MALFORMED) len < origLen ? c.snapped++ : c.malformed++;
        else if (st === ST_SKIPPED) c.skipped++;
        else if (st === ST_UNSUPPORTED) {
          c.unsupportedLink++;
          if (c.unsupportedLinkTypes.length < 8 && !c.unsupportedLinkTypes.includes(linktype)) c.unsupportedLinkTypes.push(linktype);
        }
        return;
      }
      // a flow inside a tunnel counts the bytes it had on the mirrored link, not the tunnel's
      this.flowPacket(ts, this.decoder.d.tunnels === 0 ? origLen : this.decoder.d.innerLen);
    } catch (e) {
      // a bug must not stop the sensor: count the frame and go on
      c.malformed++;
      this.internalErrors++;
      if (process.env.SHADOWIM_DEBUG) console.error(e);
    }
  }

  private flowPacket(ts: number, origLen: number): void {
    const d = this.decoder.d;
    const t = this.table;
    const f = t.f;
    if (d.payMissing) this.c.snapped++; // cut by the snaplen: counted, its payload reported as a gap
    const tcp = d.proto === 6;
    let slot = t.lookup(d);
    if (slot >= 0) {
      const st = f[slot * FR + F_STATE];
      if (tcp && (st & S_CLOSED) && (d.flags & (SYN | ACK)) === SYN) {
        this.endFlow(slot, st & S_RST ? 'rst' : 'fin');
        slot = this.newFlow(ts);
      } else if (ts - f[slot * FR + F_FIRST] > this.lifetime) {
        this.endFlow(slot, 'lifetime');
        slot = this.newFlow(ts);
      }
    } else slot = this.newFlow(ts);
    const r = slot * FR;
    let st = f[r + F_STATE];
    const dir: 0 | 1 = t.fwd === ((st & S_CLIENT_A) !== 0) ? 0 : 1;
    f[r + F_PKTS + dir]++;
    f[r + F_BYTES + dir] += origLen;
    if (ts > f[r + F_LAST]) f[r + F_LAST] = ts;

    if (!tcp) {
      if (!(st & S_ASKED)) {
        if (st & S_REOPEN) {
          if (d.payLen === 0 || d.payMissing !== 0) return;
          f[r + F_STATE] -= S_REOPEN;
        }
        this.askHandler(slot);
      }
      if (st & S_NO_DATA) return;
      const h = this.handlers[slot];
      if (h !== null && h.wantsData) {
        if (d.payLen > 0 && d.payMissing === 0) {
          this.ops++;
          h.onData(dir, d.payBuf.subarray(d.payOff, d.payOff + d.payLen), ts);
          if (h.finished === true) {
            this.handlers[slot] = null; // onEnd would do nothing: let it go
            if (h.reopen === true) f[r + F_STATE] += S_REOPEN - S_ASKED;
          }
        }
      } else f[r + F_STATE] += S_NO_DATA;
      return;
    }

    const flags = d.flags;
    const i = slot * 2 + dir;
    let seq = d.seq;
    if (flags & (SYN | FIN | RST)) {
      if (flags & SYN) {
        t.isn[i] = seq;
        st |= dir ? S_SYN_S : S_SYN_C;
        seq = (seq + 1) >>> 0;
      }
      if (flags & RST) st |= S_RST | S_CLOSED;
      if (flags & FIN) {
        st |= dir ? S_FIN_S : S_FIN_C;
        if ((st & (S_FIN_C | S_FIN_S)) === (S_FIN_C | S_FIN_S)) st |= S_CLOSED;
      }
      f[r + F_STATE] = st;
      if (st & S_CLOSED && f[r + F_DEADLINE] > ts + this.linger) t.schedule(slot, ts + this.linger);
    }

    const plen = d.payLen;
    if ((plen > 0 || d.payMissing > 0) && !(st & S_NO_DATA)) {
      if (!(st & S_ASKED)) this.askHandler(slot);
      const h = this.handlers[slot];
      if (h === null || !h.wantsData) f[r + F_STATE] += S_NO_DATA;
      else {
        let s = this.streams[i];
        if (s === null) {
          s = this.streams[i] = new TcpStream(this.limits, this.budget);
          if (f[r + F_STATE] & (dir ? S_SYN_S : S_SYN_C)) s.startAt((t.isn[i] + 1) >>> 0);
        }
        this.curSlot = slot;
        this.curDir = dir;
        this.curHandler = h;
        if (plen > 0) {
          this.ops++;
          s.segment(seq, d.payBuf, d.payOff, plen, ts, this);
        }
        if (d.payMissing > 0 && h.wantsData) {
          this.ops++;
          s.missing((seq + plen) >>> 0, d.payMissing, ts, this);
        }
        if (!h.wantsData) {
          this.dropStreams(slot);
          f[r + F_STATE] += S_NO_DATA;
          if (h.finished === true) this.handlers[slot] = null; // onEnd would do nothing: let it go
        }
      }
    }
    if (flags & FIN) {
      const s = this.streams[i];
      if (s !== null) s.finSeq = (seq + plen + d.payMissing) >>> 0;
    }
  }

  // ---- StreamOut: the current flow/direction's handler -----------------------------------------

  data(buf: Buffer, ts: number): void {
    const h = this.curHandler;
    if (h !== null && h.wantsData) h.onData(this.curDir, buf, ts);
  }

  gap(length: number, ts: number): void {
    this.table.gapBytes[this.curSlot] += length;
    const h = this.curHandler;
    // the flow channel counts a gap in a delivery begun while wanted even if the handler stopped
    // wanting data since (as gapBytes does here): it must hear of every gap
    if (h !== null && (h.wantsData || this.slotInspector !== undefined)) h.onGap(this.curDir, length, ts);
  }

  // ---- flows -----------------------------------------------------------------------------------

  private newFlow(ts: number): number {
    const t = this.table;
    const d = this.decoder.d;
    if (t.full) this.evictOne();
    const slot = t.insert(ts, ts + (d.proto === 6 ? this.embryonic : this.udpIdle));
    t.vlan[slot] = d.vlan;
    // who is the client: the SYN sender; else the side not on a server port; else the first sender
    let srcIsClient = true;
    let by = 2;
    if (d.proto === 6 && d.flags & SYN) {
      srcIsClient = !(d.flags & ACK);
      by = 0;
    } else {
      const map = d.proto === 6 ? this.ports.tcp : this.ports.udp;
      const sS = map[d.sport] === 1, dS = map[d.dport] === 1;
      if (sS !== dS) {
        srcIsClient = dS;
        by = 1;
      } else if (d.proto === 6 && d.sport !== d.dport) {
        srcIsClient = d.sport > d.dport; // the lower port is the server
        by = 1;
      }
    }
    if (srcIsClient === t.fwd) t.f[slot * FR + F_STATE] = S_CLIENT_A;
    t.clientBy[slot] = by;
    this.c.flows++;
    return slot;
  }

  private askHandler(slot: number): void {
    const t = this.table;
    t.f[slot * FR + F_STATE] += S_ASKED;
    const cs: 0 | 1 = t.f[slot * FR + F_STATE] & S_CLIENT_A ? 0 : 1;
    let h: FlowHandler | null = null;
    try {
      if (this.slotInspector !== undefined) h = this.slotInspector.newFlowAt(t, slot, cs);
      else {
        const ss: 0 | 1 = cs === 0 ? 1 : 0;
        t.flowIdWords(slot);
        const info = Flow.of(t.idHi, t.idLo, t.proto(slot) !== 6, t.isV6(slot), t.keys, t.addrOffset(slot, cs), t.port(slot, cs), t.addrOffset(slot, ss), t.port(slot, ss), t.f[slot * FR + F_FIRST], t.clientBy[slot], t.vlan[slot], t.zone(slot), t.zoneId(slot));
        h = this.inspector.newFlow(info);
      }
    } catch (e) {
      this.internalErrors++;
      if (process.env.SHADOWIM_DEBUG) console.error(e);
    }
    this.handlers[slot] = h;
  }

  private dropStreams(slot: number): void {
    for (let k = slot * 2; k < slot * 2 + 2; k++) {
      const s = this.streams[k];
      if (s !== null) {
        s.discard();
        this.streams[k] = null;
      }
    }
  }

  private endFlow(slot: number, reason: EndReason): void {
    const t = this.table;
    const h = this.handlers[slot];
    if (h !== null) {
      const r = slot * FR;
      const f = t.f;
      const ts = f[r + F_LAST];
      for (let dir: 0 | 1 = 0; dir < 2; dir = (dir + 1) as 0 | 1) {
        const s = this.streams[slot * 2 + dir];
        if (s === null || !h.wantsData) continue;
        this.curSlot = slot;
        this.curDir = dir;
        this.curHandler = h;
        this.ops++;
        try {
          s.end(ts, this);
        } catch (e) {
          this.internalErrors++;
          if (process.env.SHADOWIM_DEBUG) console.error(e);
        }
        if (dir === 1) break;
      }
      this.dropStreams(slot);
      const counters: FlowCounters = {
        packets: f[r + F_PKTS] + f[r + F_PKTS + 1],
        bytes: f[r + F_BYTES] + f[r + F_BYTES + 1],
        packetsC2S: f[r + F_PKTS],
        packetsS2C: f[r + F_PKTS + 1],
        bytesC2S: f[r + F_BYTES],
        bytesS2C: f[r + F_BYTES + 1],
        firstTs: f[r + F_FIRST],
        lastTs: ts,
        gapBytes: t.gapBytes[slot],
      };
      this.handlers[slot] = null;
      try {
        h.onEnd(counters, reason);
      } catch (e) {
        this.internalErrors++;
        if (process.env.SHADOWIM_DEBUG) console.error(e);
      }
    }
    t.remove(slot);
  }

  /**
   * The first good capture time after frames that had none (impossible times count as 0): the flows
   * begun then start now, rather than being ended at once as idle or past their lifetime.
   */
  private rebase(ts: number): void {
    const t = this.table;
    const f = t.f;
    const slots: number[] = [];
    for (let b = 0; b < WHEEL; b++) for (let slot = t.heads[b]; slot >= 0; slot = t.next[slot]) slots.push(slot);
    for (const slot of slots) {
      const r = slot * FR;
      if (f[r + F_FIRST] === 0) f[r + F_FIRST] = ts;
      if (f[r + F_LAST] === 0) f[r + F_LAST] = ts;
      t.schedule(slot, f[r + F_LAST] + this.timeoutOf(slot));
    }
  }

  /** How long a flow may stay quiet in its state. */
  private timeoutOf(slot: number): number {
    const f = this.table.f;
    const r = slot * FR;
    const st = f[r + F_STATE];
    if (st & S_CLOSED) return this.linger;
    if (this.table.proto(slot) !== 6) return this.udpIdle;
    // one-sided TCP (a SYN nobody answered, a scan probe): the short timeout
    return f[r + F_PKTS] > 0 && f[r + F_PKTS + 1] > 0 ? this.tcpIdle : this.embryonic;
  }

  /** Table full: end the flow nearest to its idle timeout (closed flows, whose linger is short, come first). */
  private evictOne(): void {
    const t = this.table;
    const f = t.f;
    let tries = 0;
    for (let s = t.cursor + 1, n = 0; n < WHEEL; n++, s++) {
      const b = s & (WHEEL - 1);
      for (let slot = t.heads[b]; slot >= 0; slot = t.heads[b]) {
        const due = f[slot * FR + F_LAST] + this.timeoutOf(slot);
        // seen again since it was filed: file it under its real deadline and look further
        if (Math.floor(due / 1e6) > s && tries++ < 256) {
          t.schedule(slot, due);
          if (t.bucket[slot] === b) break;
          continue;
        }
        this.c.evictedFlows++;
        this.endFlow(slot, 'evicted');
        return;
      }
    }
  }

  /** Ends the flows whose idle deadline passed, one elapsed second of capture time at a time. */
  private expire(now: number): void {
    const t = this.table;
    const last = Math.floor(now / 1e6) - 1;
    if (t.cursor < 0 || last - t.cursor > 100 * WHEEL) {
      // first packet, or a clock jump of more than a day: check every bucket once
      if (t.cursor >= 0) for (let b = 0; b < WHEEL; b++) this.expireBucket(b, now);
      t.cursor = last;
      return;
    }
    const from = last - t.cursor > WHEEL ? last - WHEEL + 1 : t.cursor + 1;
    for (let s = from, n = 0; s <= last && n < WHEEL; s++, n++) {
      this.expireBucket(s & (WHEEL - 1), now);
      t.cursor = s;
    }
  }

  private expireBucket(b: number, now: number): void {
    const t = this.table;
    const f = t.f;
    for (let slot = t.heads[b], guard = 0; slot >= 0 && guard <= this.table.capacity; guard++) {
      const nextSlot = t.next[slot];
      const st = f[slot * FR + F_STATE];
      const due = f[slot * FR + F_LAST] + this.timeoutOf(slot);
      if (due <= now) this.endFlow(slot, st & S_CLOSED ? (st & S_RST ? 'rst' : 'fin') : 'idle');
      else t.schedule(slot, due); // seen since it was filed: file it under its real deadline
      slot = nextSlot;
    }
  }

  private housekeep(now: number): void {
    this.lastHousekeep = now;
    this.expire(now);
    this.decoder.frags.expire(now);
    this.inspector.tick?.(now);
  }

  /** End of input: every open flow ends ('capture-end'), in deadline order. */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    const t = this.table;
    for (let s = t.cursor + 1, n = 0; n < WHEEL; n++, s++) {
      const b = s & (WHEEL - 1);
      for (let slot = t.heads[b]; slot >= 0; slot = t.heads[b]) {
        const st = t.f[slot * FR + F_STATE];
        this.endFlow(slot, st & S_CLOSED ? (st & S_RST ? 'rst' : 'fin') : 'capture-end');
      }
    }
    this.decoder.frags.expire(Infinity);
  }
}

/** What reading a capture through a packet path found. */
export interface CaptureRun {
  counters: SensorCounters;
  /** capture time of the newest packet, µs */
  captureTime: number;
  /** undefined when the input was not recognised as a capture */
  format: CaptureFormat | undefined;
  /** the one-line reason the capture could not be read to its end */
  failure: string | undefined;
  /** exceptions caught on the packet path (a bug if ever non-zero) */
  internalErrors: number;
}

/** Reads the capture open on `fd` through `path` to its end (or first bad record), then ends every flow. */
export async function readCapture(fd: number, path: PacketPath, onChunk?: () => Promise<void> | void): Promise<CaptureRun> {
  const reader = new CaptureReader(fd, path, onChunk);
  const failure = await readToEnd(reader);
  path.finish();
  return { counters: { ...path.counters }, captureTime: path.captureTime, format: reader.format, failure, internalErrors: path.internalErrors };
}
