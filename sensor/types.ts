// The sensor's face to the rest of the product. The sensor knows nothing of IM: it hands each flow's
// payload (reassembled TCP bytes in order, or UDP datagrams) to a FlowInspector and counts packets.

import type { Endpoint, Transport } from '../common/events';

/** Direction within a flow: 0 = client to server, 1 = server to client. */
export type Dir = 0 | 1;
export const C2S: Dir = 0;
export const S2C: Dir = 1;

export interface FlowInfo {
  /** stable id: same 5-tuple and start time give the same id */
  id: string;
  transport: Transport;
  client: Endpoint;
  server: Endpoint;
  /** capture time of the first packet, microseconds since the epoch */
  firstTs: number;
  /** how the client side was chosen: 'syn' (saw the SYN), 'port' (port heuristic), 'first' (first sender) */
  clientBy: 'syn' | 'port' | 'first';
  /** VLAN id of the first packet, when tagged */
  vlan?: number;
  /**
   * The tunnel zone that keys the flow with its addresses, when it arrived inside a zoned tunnel:
   * 'vxlan:5001', 'geneve:77', 'erspan:42', 'gre_ethernet:256', 'gre_ip:7'; nested zones as
   * 'erspan/vxlan#' and their folded ids in hex.
   */
  zone?: string;
}

export interface FlowCounters {
  packets: number;
  bytes: number;
  /** packets/bytes client to server, server to client */
  packetsC2S: number;
  packetsS2C: number;
  bytesC2S: number;
  bytesS2C: number;
  firstTs: number;
  lastTs: number;
  /** bytes missing from the reassembled TCP streams */
  gapBytes: number;
}

export type EndReason = 'fin' | 'rst' | 'idle' | 'lifetime' | 'evicted' | 'capture-end';

/** Receives one flow's payload. Created by FlowInspector.newFlow. */
export interface FlowHandler {
  /**
   * Payload in order: reassembled TCP bytes, or one whole UDP datagram.
   * `data` may point into a shared read buffer: copy it (Buffer.from) to keep it past the call.
   */
  onData(dir: Dir, data: Buffer, tsMicros: number): void;
  /** `length` bytes of a TCP stream will never arrive (lost before the capture point). */
  onGap(dir: Dir, length: number, tsMicros: number): void;
  /** The flow ended; counters are final. Called exactly once, unless `finished` was set first. */
  onEnd(counters: FlowCounters, reason: EndReason): void;
  /** Set false once no more payload is wanted: the sensor then stops reassembling (but keeps counting). */
  wantsData: boolean;
  /**
   * Set true (with wantsData false) once onEnd would do nothing — a flow that will never be reported:
   * the sensor may then forget the handler and not call onEnd, so its objects die young instead of
   * living (and being copied by the GC) until the flow times out.
   */
  finished?: boolean;
  /**
   * With `finished`, on a UDP flow: each datagram stands alone (a DNS answer), so the sensor forgets the
   * handler now and, if the flow carries another datagram with payload, asks newFlow again (the same
   * FlowInfo) instead of keeping a handler until the flow's idle timeout.
   */
  reopen?: boolean;
}

export interface FlowInspector {
  /** A new flow: return a handler for its payload, or null to only count it. */
  newFlow(flow: FlowInfo): FlowHandler | null;
  /** Capture time advanced (called at most about once per second of capture time). */
  tick?(tsMicros: number): void;
}

/** One captured frame, as read from a file or an interface. Valid only during the callback. */
export interface RawPacket {
  /** pcap LINKTYPE_* of the frame */
  linktype: number;
  /** microseconds since the epoch */
  tsMicros: number;
  data: Buffer;
  /** length on the wire (>= data.length when the snaplen cut it) */
  origLen: number;
}

/** Sensor counters, reported on standard error and as a `stats` event. */
export interface SensorCounters {
  packets: number;
  bytes: number;
  /** frames that could not be decoded (bad lengths, truncated headers) */
  malformed: number;
  /**
   * frames the capture's snapshot length cut (tcpdump -s 96), not malformed: when their headers are
   * whole their flow counts them and the missing payload reaches the decoders as a gap; when the cut
   * took headers too (tcpdump -s 40) they are in no flow
   */
  snapped: number;
  /** frames that are not IPv4/IPv6 TCP/UDP (ARP, ICMP, …) */
  skipped: number;
  /** frames of a link type the decoder does not read (802.11, Token Ring, …) */
  unsupportedLink: number;
  /** those link types, in the order first seen (at most 8) */
  unsupportedLinkTypes: number[];
  flows: number;
  activeFlows: number;
  /** flows ended early because the table was full */
  evictedFlows: number;
  /** IP fragments that never completed */
  fragmentsDropped: number;
  /** frames whose timestamp was impossible (negative, not a number, after 2100): given the newest good time */
  badTimestamps: number;
  /** frames whose original length was impossible (over 262144 bytes): counted as their captured length */
  badLengths: number;
  /** packets found inside a tunnel (GRE, ERSPAN, IP-in-IP, VXLAN, Geneve, GTP-U) and analysed as such */
  tunneled: number;
}

export function emptySensorCounters(): SensorCounters {
  return { packets: 0, bytes: 0, malformed: 0, snapped: 0, skipped: 0, unsupportedLink: 0, unsupportedLinkTypes: [], flows: 0, activeFlows: 0, evictedFlows: 0, fragmentsDropped: 0, badTimestamps: 0, badLengths: 0, tunneled: 0 };
}

/**
 * The packet path after the source (file reader or live interface): decode → flow table → TCP
 * reassembly → FlowInspector. Implemented in sensor/packetPath.ts. Never throws on bad frames.
 */
export interface PacketSink {
  packet(linktype: number, tsMicros: number, data: Buffer, origLen: number): void;
  /** end of input: every open flow ends with reason 'capture-end' */
  finish(): void;
  readonly counters: SensorCounters;
}
