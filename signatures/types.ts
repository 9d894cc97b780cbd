// One interface for every protocol module. A module is a folder signatures/<name>/ with
//   index.ts     exports `module: SignatureModule`
//   parser.ts    pure bytes → PDUs (no I/O; fuzzed alone)
//   data.yaml    ports (hints only), host names, address ranges, byte patterns — user-overridable
// The engine (engine.ts) decides which modules see a flow and when to stop trying.

import type { Endpoint, Evidence, FileTransferEvent, MessageEvent, CredentialEvent, Transport, Direction } from '../common/events';
import type { Dir, FlowInfo } from '../sensor/types';

/** What the module's data.yaml holds (after user overrides are merged). All fields optional. */
/**
 * What a decoder writes for an identity the stream has not shown (a capture that starts after sign-on,
 * a sender field missing). Events carry it so that from/to are never empty; the analyzer
 * (analyzer/identity.ts realIdentity) knows it names no one.
 */
export const UNKNOWN_ID = '(unknown)';

export interface SignatureData {
  id: string;
  name?: string;
  description?: string;
  /** ports are hints for ordering and firewall export, never a detection by themselves */
  ports?: { tcp?: number[]; udp?: number[] };
  /** host names: exact or suffix (".example.com" or "example.com" both match sub-domains) → protocol id */
  hosts?: Record<string, string[]> | string[];
  /** IPv4/IPv6 CIDRs → protocol id */
  cidrs?: Record<string, string[]> | string[];
  /** module-specific constants (byte patterns, thresholds, …) */
  [key: string]: unknown;
}

export interface DetectInput {
  transport: Transport;
  /** the direction whose bytes are in `data` */
  dir: Dir;
  /** first bytes seen in this direction (TCP: reassembled prefix; UDP: this datagram) */
  data: Buffer;
  /** first bytes of the other direction so far (may be empty) */
  other: Buffer;
  /** index of this datagram/segment batch in this direction (0 for the first) */
  packetIndex: number;
  flow: FlowInfo;
  /** server name learned for the server address (DNS), if any */
  knownServerName?: string;
  /** host-name and address lists of every module (data.yaml `hosts`, `cidrs`) → protocol id */
  lookup: Lookup;
  /**
   * A new number for every offer of bytes (the engine counts them): while it is the same, so is
   * `data`, and modules may share what they read from it (see http/stream offeredHead). Unset
   * when a module is called on its own.
   */
  offer?: number;
}

export interface Lookup {
  host(name: string): { protocol: string; matched: string } | undefined;
  /** the name is listed as an exception (messengers/data.yaml `not-im`): a service known not to be IM */
  notIm?(name: string): boolean;
  ip(ip: string): { protocol: string; matched: string } | undefined;
}

export interface Detection {
  protocol: string;
  evidence: Evidence;
  /** content cannot be read (TLS, QUIC, proprietary encryption) */
  encrypted?: boolean;
  /** host name seen (SNI, Host, DNS) */
  serverName?: string;
  /** not IM (e.g. DNS, which only teaches the knowledge base): decoded but no session is reported */
  notIm?: boolean;
}

/** 'more' = cannot tell yet, give me more bytes; null = not this protocol. */
export type DetectResult = Detection | 'more' | null;

export interface StreamDecoder {
  /** TCP: reassembled bytes in order; UDP: one datagram. Copy `data` to keep it. */
  onData(dir: Dir, data: Buffer, tsMicros: number): void;
  onGap?(dir: Dir, length: number, tsMicros: number): void;
  onEnd?(tsMicros: number): void;
}

type Emittable<T> = Omit<T, 'type' | 'ts' | 'protocol' | 'client' | 'server' | 'flow_id' | 'direction'> &
  Partial<Pick<MessageEvent, 'direction'>>;

/**
 * Whether an announced connection is the one announced, from its opening: one direction's first bytes
 * (`dir` 0 = from the side that connected), the other direction's so far (maybe none). 'more': too
 * few bytes to tell yet.
 */
export type OpeningCheck = (opening: Buffer, dir: Dir, other: Buffer) => boolean | 'more';

/** What a decoder may do for its flow. Provided by the engine. */
export interface SessionContext {
  readonly flow: FlowInfo;
  readonly data: SignatureData;
  /** the protocol id currently reported for the flow */
  protocol: string;
  /** refine the protocol (e.g. aim → icq when a UIN signs on) */
  setProtocol(id: string, evidence?: Evidence): void;
  addUser(id: string): void;
  addEvidence(ev: Evidence): void;
  setEncrypted(evidence?: Evidence): void;
  setServerName(name: string): void;
  setService(service: string): void;
  /**
   * Whether the flow is reported as an IM session. Detection decides first (Detection.notIm); a decoder
   * may change it once it knows (a SIP flow is IM once it carries MESSAGE/MSRP/presence, not for a call).
   */
  setIm(im: boolean, evidence?: Evidence): void;
  /** a PDU could not be parsed: counted, reported on the session event */
  malformed(reason: string): void;
  /** 'outbound' when `dir` carries data from the monitored network (by default the client side) */
  direction(dir: Dir): Direction;
  message(tsMicros: number, dir: Dir, ev: Emittable<MessageEvent>): void;
  fileTransfer(tsMicros: number, dir: Dir, ev: Emittable<FileTransferEvent>): void;
  credential(tsMicros: number, dir: Dir, ev: Emittable<CredentialEvent>): void;
  /**
   * A side connection this session announced (IRC DCC, OSCAR OFT, MSRP, MSNFTP): the next flow to
   * `server` (any client when client is omitted) within `ttlMicros` is handed to `decoder`.
   */
  expect(
    spec: {
      transport: Transport; server: Endpoint; client?: { ip: string }; ttlMicros?: number; protocol?: string; reason: string;
      /**
       * When given, the connection is taken for the announced one only once its opening (either
       * direction's first bytes, one at least, as a detector sees them; `dir` 0 = from the side that
       * connected; `other`: the other direction's first bytes so far, maybe none) answers true; false
       * leaves it to detection as any flow (an announcement naming another service's address and port
       * cannot take that service's flows).
       */
      verify?: OpeningCheck;
      /** what is announced (a transfer's id): announcing the same key at the same endpoint again replaces the expectation (the last offer wins) */
      key?: string;
    },
    decoder: (ctx: SessionContext) => StreamDecoder,
  ): void;
  /**
   * The bytes of a file sent over IM follow on this flow: write them in order. On end() the engine
   * emits a `file_transfer` event (stage 'data') with observed size, completeness, hashes and type.
   */
  openFile(tsMicros: number, dir: Dir, meta: FileMeta): FileWriter;
  /** nothing more to read (e.g. after STARTTLS): the sensor stops reassembling this flow */
  stopInspecting(): void;
  /**
   * UDP: nothing is pending after this datagram (a DNS answer read). A session that will not be reported
   * (not IM, no file open) is then let go at once, and a later datagram of the flow starts a new one,
   * detected afresh (FlowHandler.reopen); elsewhere this does nothing.
   */
  datagramDone(): void;
  /** shared knowledge across flows (DNS answers, learned servers) */
  readonly kb: KnowledgeBase;
}

export interface FileMeta {
  filename: string;
  from: string;
  to: string;
  /** declared size, when the protocol announces one */
  size?: number;
  /** links the offer (file_transfer stage 'offer' on the IM session) and the data */
  transfer_id?: string;
}

export interface FileWriter {
  write(data: Buffer, tsMicros?: number): void;
  /** bytes lost (TCP gap): the file is reported incomplete, never papered over */
  gap(length: number): void;
  /** `complete` = the protocol says the transfer finished (default: observed size ≥ declared size) */
  end(tsMicros: number, complete?: boolean): void;
}

export interface KnowledgeBase {
  /**
   * remember that `ip` was resolved from `name` (DNS answer) in tunnel zone `zone` (the answering
   * flow's FlowInfo.zone; undefined outside tunnels): only flows of that zone are told
   */
  learnName(ip: string, name: string, tsMicros: number, zone?: string): void;
  /** the name last asked for `ip` (DNS answers learned) */
  nameFor(ip: string, zone?: string): string | undefined;
  /** the last few names asked for `ip`, newest first */
  namesFor(ip: string, zone?: string): readonly string[];
}

export interface SignatureModule {
  /** module id = folder name, e.g. 'oscar', 'msn', 'ymsg', 'tls' */
  id: string;
  /** protocol ids this module can report */
  protocols: string[];
  transports: Transport[];
  /**
   * Cheap look at the first bytes of either direction. Must be bounded work and never throw on any input.
   * Called again with more bytes while it answers 'more' (up to the engine's limit). On TCP, null is
   * final for that direction (the module is not asked about it again); on UDP every datagram is offered.
   */
  detect(input: DetectInput, data: SignatureData): DetectResult;
  /** Decoder for a flow this module detected. May be omitted for classify-only modules. */
  decoder?(ctx: SessionContext, detection: Detection): StreamDecoder;
  /** Modules that look at every flow rather than claim one (DNS learning). */
  observer?: boolean;
}

/**
 * A module's detect for a parser that throws on bytes it cannot read (a length past the end): a throw
 * is a quiet "not this protocol", as SignatureModule.detect must never throw (the engine counts a throw
 * that gets through as a decoder error).
 */
export function declineOnThrow(detect: (input: DetectInput, data: SignatureData) => DetectResult): SignatureModule['detect'] {
  return (input, data) => {
    try {
      return detect(input, data);
    } catch {
      return null;
    }
  };
}
