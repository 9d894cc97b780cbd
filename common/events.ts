// The analysis contract (../shared/contract/events.md) as TypeScript types.
// Everything downstream of the signatures (analyzer, storage, outputs, dashboard) reads only these.
// Extend freely; never rename or drop a field without a migration note in the README.

export type Transport = 'tcp' | 'udp';
export type Direction = 'outbound' | 'inbound';
export type Severity = 'low' | 'medium' | 'high' | 'critical';

export interface Endpoint {
  ip: string;
  port: number;
}

export interface Evidence {
  /** signature id, e.g. "oscar.flap", "tls.sni", "dns.answer" */
  signature: string;
  /** short human reason, e.g. "FLAP channel 1 sign-on" */
  reason: string;
}

interface BaseEvent {
  type: string;
  /** ISO 8601 UTC from the capture's timestamps */
  ts: string;
  protocol?: string;
  /** sensor name, when several sensors feed one store */
  sensor?: string;
}

export interface SessionEvent extends BaseEvent {
  type: 'session';
  protocol: string;
  transport: Transport;
  client: Endpoint;
  server: Endpoint;
  users: string[];
  start: string;
  end: string;
  packets: number;
  bytes: number;
  encrypted: boolean;
  evidence: Evidence[];
  /** stable id of the flow (same value on this session's messages, transfers and alerts) */
  flow_id?: string;
  /** the tunnel zone the flow was in (VXLAN/Geneve VNI, ERSPAN session, GRE key): 'vxlan:100', 'geneve:7',
   * 'erspan:3', 'gre_ethernet:42'; absent outside zoned tunnels (docs/sensor.md, Tunnel zones) */
  zone?: string;
  /** server host name when known (SNI, DNS, HTTP Host) */
  server_name?: string;
  /** e.g. 'chat', 'presence', 'file', 'voice' */
  service?: string;
  /** counts of PDUs the decoder could not parse */
  malformed?: number;
  /** bytes missing from the reassembled streams (gaps) */
  gaps?: number;
}

export interface MessageEvent extends BaseEvent {
  type: 'message';
  protocol: string;
  from: string;
  to: string;
  text: string;
  direction: Direction;
  client: Endpoint;
  server: Endpoint;
  flow_id?: string;
  /** tunnel zone of the flow, as on its session; absent outside zoned tunnels */
  zone?: string;
  /** e.g. 'chat', 'groupchat', 'conference', 'offline', 'notice' */
  kind?: string;
}

export interface FileTransferEvent extends BaseEvent {
  type: 'file_transfer';
  protocol: string;
  from: string;
  to: string;
  filename: string;
  size?: number;
  direction?: Direction;
  client?: Endpoint;
  server?: Endpoint;
  flow_id?: string;
  /** tunnel zone of the flow, as on its session; absent outside zoned tunnels */
  zone?: string;
  /** 'offer' = announced on the IM session; 'data' = the bytes were seen (carved) */
  stage?: 'offer' | 'data';
  /** links an offer and its data when the protocol allows it */
  transfer_id?: string;
  /** set once the file's bytes were carved */
  complete?: boolean;
  observed_size?: number;
  sha256?: string;
  md5?: string;
  /** true type from magic bytes (the contract's "type"; named file_type because `type` is the event type) */
  file_type?: string;
  /** scan verdict: 'clean', 'infected:<name>', 'forbidden:<rule>', 'sensitive:<detector>', 'unscanned:<why>' (docs/files.md) */
  verdict?: string;
  /** bytes missing from the carved file (TCP gaps; reported, never filled) */
  gap_bytes?: number;
  /** the file was larger than the spool allows: hashed to the end, but only this many bytes were kept (then dropped) */
  truncated_at?: number;
  /** cheap metadata read from the file's structure (analyzer/files) */
  file_info?: FileInfo;
  /** a copy is in the quarantine directory under its sha256 */
  quarantined?: boolean;
}

export interface FileInfo {
  /** zip-based files: number of members and the first member names (sanitized, bounded) */
  members?: number;
  member_names?: string[];
  /** an encrypted archive member (zip general-purpose bit 0), an encrypted Office document or an encrypted PDF (/Encrypt) */
  encrypted?: boolean;
  /** Office macros: vbaProject.bin in OOXML, _VBA_PROJECT / Macros storage in OLE */
  macros?: boolean;
  /** docx/xlsx/pptx core properties (docProps/core.xml), sanitized and bounded */
  title?: string;
  creator?: string;
  /** the name's extension does not fit the true type, e.g. "pe named .jpg" */
  name_mismatch?: string;
}

export interface CredentialEvent extends BaseEvent {
  /** a password or password-equivalent seen in the clear; the secret itself is never carried */
  type: 'credential';
  protocol: string;
  user: string;
  /** e.g. 'icq-v5-login', 'irc-pass', 'sasl-plain', 'http-basic' */
  mechanism: string;
  client: Endpoint;
  server: Endpoint;
  flow_id?: string;
  /** tunnel zone of the flow, as on its session; absent outside zoned tunnels */
  zone?: string;
}

export interface AlertEvent extends BaseEvent {
  type: 'alert';
  /** stable: the same finding always gets the same id */
  id: string;
  kind: 'unauthorized_im' | 'sensitive_data' | 'file_transfer' | 'cleartext_credentials' | 'policy_violation' | string;
  severity: Severity;
  protocol?: string;
  summary: string;
  client?: Endpoint;
  server?: Endpoint;
  users: string[];
  /** person the policy's identity mapping resolved, when known */
  person?: string;
  /** policy groups the client belongs to (when the policy has groups and the client is in any) */
  groups?: string[];
  detector?: string;
  /** redacted match (never the full value) */
  match?: string;
  /** times this alert repeated within the suppression interval */
  count?: number;
  flow_id?: string;
  /** tunnel zone of the flow the finding is about (part of its id); absent outside zoned tunnels */
  zone?: string;
}

export interface StatsEvent extends BaseEvent {
  /** sensor counters (end of capture, or periodically when live) */
  type: 'stats';
  packets: number;
  bytes: number;
  dropped?: number;
  malformed?: number;
  /** frames whose payload the capture's snapshot length cut (present when any were) */
  snapped?: number;
  /** frames of a link type the sensor does not read (present when any were) */
  unsupported_link?: number;
  flows?: number;
}

export type ShadowEvent = SessionEvent | MessageEvent | FileTransferEvent | CredentialEvent | AlertEvent | StatsEvent;

/** Something that takes events: the analyzer, a store, stdout, a webhook sink. */
export interface EventSink {
  write(ev: ShadowEvent): void;
  /** flush buffered work; resolves when durable */
  close?(): Promise<void> | void;
}

// Every event needs one or more of these, mostly for the same or a nearby instant: the text of the
// last millisecond is kept, and the "YYYY-MM-DDTHH:MM:SS." of the seconds seen lately, one slot per
// second modulo 64 (a session event names its start and its end, seconds apart, between messages
// of other flows: a single remembered second was made again on nearly every call). Same text as
// Date#toISOString, which still handles every instant outside years 1970-9999 (and throws for the
// impossible ones, as before).
let lastMs = NaN;
let lastIso = '';
const SECOND_SLOTS = 64;
const slotSecond = new Float64Array(SECOND_SLOTS).fill(NaN);
const slotPrefix: string[] = new Array<string>(SECOND_SLOTS).fill('');
/** "000Z" … "999Z": the end of the text is one lookup, not a number made text and two joins */
const MILLIS_Z = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0') + 'Z');

export function isoTime(tsMicros: number): string {
  const ms = Math.floor(tsMicros / 1000);
  if (ms === lastMs) return lastIso;
  if (!(ms >= 0 && ms < 253402300800000)) return new Date(ms).toISOString();
  const sec = Math.floor(ms / 1000);
  const k = sec % SECOND_SLOTS;
  if (slotSecond[k] !== sec) {
    slotPrefix[k] = new Date(sec * 1000).toISOString().slice(0, 20);
    slotSecond[k] = sec;
  }
  lastIso = slotPrefix[k] + MILLIS_Z[ms - sec * 1000];
  lastMs = ms;
  return lastIso;
}
