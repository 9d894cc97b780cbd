// STUN/TURN: reported as IM only when attributed to an app: a SOFTWARE attribute, a TURN REALM that
// is an IM host, the server's DNS-learned name / listed address, a call endpoint already attributed,
// or an app's own attributes / message types. Plain STUN is not IM (null).
import type { DetectInput, Detection, DetectResult, Lookup, SessionContext, SignatureData, SignatureModule, StreamDecoder } from '../types';
import type { Dir, FlowInfo } from '../../sensor/types';
import {
  ATTR_REALM, ATTR_SOFTWARE, ATTR_XOR_PEER_ADDRESS, ATTR_XOR_RELAYED_ADDRESS, MAGIC,
  decodedAddress, eachAttribute, isTurnMethod, methodOf, namesPeers, parseStun, xorAddresses, xorDecode, type StunMessage,
} from './parser';
import { addressGuess } from '../tls';
import { usableServerName } from '../tls/parser';
import { endpointKey } from '../../common/zoneKey';
import { clip } from '../../analyzer/clip';

/** UDP: one message per datagram. TCP: a bare message (RFC 8489 §6.2.2) or RFC 4571 length framing (ICE-TCP). */
function stunOf(input: DetectInput): ReturnType<typeof parseStun> | 'more' {
  const d = input.data;
  if (input.transport === 'udp') return parseStun(d);
  if (d.length < 24) return d.length >= 8 && d.readUInt32BE(4) !== 0x2112a442 && (d.length < 10 || d.readUInt32BE(6) !== 0x2112a442) ? null : 'more';
  // a message still arriving (its cookie read, its declared length not yet): a TURN server's 401
  // challenge, whose REALM names the app, may come in two segments
  if (d.readUInt32BE(4) === 0x2112a442 && 20 + d.readUInt16BE(2) > d.length) return 'more';
  if (d.readUInt32BE(6) === 0x2112a442 && 2 + d.readUInt16BE(0) > d.length) return 'more';
  return parseStun(d) ?? (d.readUInt16BE(0) + 2 <= d.length ? parseStun(d.subarray(2, 2 + d.readUInt16BE(0))) : null);
}

const hex4 = (n: number) => n.toString(16).padStart(4, '0');
const det = (protocol: string, signature: string, reason: string): Detection => ({ protocol, encrypted: true, evidence: { signature, reason } });

// ---- call endpoints ------------------------------------------------------------------------------
// A call's STUN flows share the app's socket: once one of them is attributed (a relay in the app's
// range, a REALM, …), the others from the same ip:port (checks to peers, a second relay) are the same
// app's, as nDPI's STUN cache does. Kept per engine (keyed by its lookup tables), bounded, and trusted
// for ENDPOINT_TTL of capture time only (ports are reused). Kept per tunnel zone (FlowInfo.zone): two
// tenants mirrored through one sensor may use the same private ip:port.

interface Endpoint { protocol: string; ts: number; why: string }
const endpoints = new WeakMap<Lookup, Map<string, Endpoint>>();
const MAX_ENDPOINTS = 4096;
const ENDPOINT_TTL = 600_000_000; // µs


/** (re)sets an endpoint; an endpoint already known for the same app keeps the reason it was first learned by */
function put(m: Map<string, Endpoint>, k: string, e: Endpoint): void {
  const old = m.get(k);
  if (old) m.delete(k);
  else if (m.size >= MAX_ENDPOINTS) m.delete(m.keys().next().value!);
  m.set(k, old?.protocol === e.protocol ? { ...e, why: old.why } : e);
}

/**
 * The flow's client endpoint (the app's socket, or the remote peer when it called in) and any TURN
 * peers it names (XOR-PEER-ADDRESS, IPv4 or IPv6), or the relayed address an Allocate success response
 * gives (XOR-RELAYED-ADDRESS: the app's relay port that peers send to). Never a STUN server port (data.yaml
 * `ports`): when the sides are taken the wrong way round, or a message names one, a public STUN server
 * that every browser uses must not become the app's.
 */
function learn(input: DetectInput, data: SignatureData, msg: StunMessage, protocol: string, why: string): Watch {
  let m = endpoints.get(input.lookup);
  if (!m) endpoints.set(input.lookup, (m = new Map()));
  const ts = input.flow.firstTs;
  const c = input.flow.client;
  const serverPorts = (data.ports?.[input.transport] as number[] | undefined) ?? [];
  const w: Watch = { m, why, flow: input.flow, serverPorts: (data.ports?.udp as number[] | undefined) ?? [] };
  if (!serverPorts.includes(c.port)) put(m, endpointKey(input.transport, c.ip, c.port, input.flow.zone), { protocol, ts, why: `${c.ip}:${c.port} (${why})` });
  for (const p of xorAddresses(msg.bytes, ATTR_XOR_PEER_ADDRESS)) learnPeer(w, protocol, p.ip, p.port, ts, 'TURN peer');
  if (msg.type === ALLOCATE_SUCCESS) for (const p of xorAddresses(msg.bytes, ATTR_XOR_RELAYED_ADDRESS)) learnPeer(w, protocol, p.ip, p.port, ts, 'TURN relayed address');
  return w;
}

const ALLOCATE_SUCCESS = 0x0103;

/** What a flow's decoder needs to go on learning: the engine's endpoint map, the detection's reason. */
interface Watch { m: Map<string, Endpoint>; why: string; flow: FlowInfo; serverPorts: number[] }
/** detection → its Watch, for decoder() (which is handed the Detection, not the DetectInput) */
const watches = new WeakMap<Detection, Watch>();

/** a peer (UDP: TURN relays UDP, RFC 8656 §2) — never a STUN server port, nor the TURN server itself */
function learnPeer(w: Watch, protocol: string, ip: string, port: number, ts: number, what: string): void {
  if (w.serverPorts.includes(port) || (port === w.flow.server.port && ip === w.flow.server.ip)) return;
  put(w.m, endpointKey('udp', ip, port, w.flow.zone), { protocol, ts, why: `${what} ${ip}:${port} (${w.why})` });
}

function learned(input: DetectInput): Endpoint | undefined {
  const m = endpoints.get(input.lookup);
  if (!m?.size) return undefined;
  for (const e of [input.flow.client, input.flow.server]) {
    const hit = m.get(endpointKey(input.transport, e.ip, e.port, input.flow.zone));
    if (hit && Math.abs(input.flow.firstTs - hit.ts) <= ENDPOINT_TTL) return hit;
  }
  return undefined;
}

// ---- attribution --------------------------------------------------------------------------------

/** REALM (a TURN server's domain, RFC 8489 §14.9) as a host name, if it is one. */
function realmOf(msg: StunMessage): string | undefined {
  const a = msg.attributes.find((x) => x.type === ATTR_REALM);
  if (!a || a.value.length > 253) return undefined;
  return usableServerName(trimBlanksAndQuotes(a.value.toString('latin1')));
}

const BLANK_OR_QUOTE = /[\s"]/;
/**
 * s.replace(/^[\s"]+|[\s"]+$/g, ''), without trying `[\s"]+$` from every character of an inner run of
 * blanks (253 characters of them: 64 us a datagram, O(n²)).
 */
function trimBlanksAndQuotes(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && BLANK_OR_QUOTE.test(s[a])) a++;
  while (b > a && BLANK_OR_QUOTE.test(s[b - 1])) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

function attribute(input: DetectInput, data: SignatureData, msg: StunMessage): Detection | null {
  const software = msg.attributes.find((a) => a.type === ATTR_SOFTWARE);
  if (software) {
    const text = software.value.toString('latin1').replace(/[^\x20-\x7e]/g, '').slice(0, 128);
    const lower = text.toLowerCase();
    for (const [proto, pats] of Object.entries((data.software ?? {}) as Record<string, string[]>)) {
      const hit = (pats ?? []).find((p) => lower.includes(String(p).toLowerCase()));
      if (hit) return det(proto, 'stun.software', `STUN SOFTWARE "${text}"`);
    }
  }
  const realm = realmOf(msg);
  const byRealm = realm ? input.lookup.host(realm) : undefined;
  if (byRealm) return det(byRealm.protocol, 'stun.realm', `TURN realm ${realm} matches ${byRealm.protocol} host ${byRealm.matched}`);
  const guess = addressGuess(input);
  if (guess) return det(guess.protocol, 'stun.server', `STUN/TURN to a known server: ${guess.why}`);
  const known = learned(input);
  if (known) return det(known.protocol, 'stun.endpoint', `STUN on a call endpoint already attributed to ${known.protocol}: ${known.why}`.slice(0, 300));
  const types = (data.message_types ?? {}) as Record<string, string>;
  const byType = types[hex4(msg.type)];
  if (byType) return det(byType, 'stun.message-type', `STUN message type 0x${hex4(msg.type)} (${byType}'s own)`);
  const vendor = (data.vendor_attributes ?? {}) as Record<string, string>;
  for (const a of msg.attributes) {
    const proto = vendor[hex4(a.type)];
    if (proto) return det(proto, 'stun.vendor-attribute', `STUN attribute 0x${hex4(a.type)} (${proto}'s own)`);
  }
  return null;
}

function detect(input: DetectInput, data: SignatureData): DetectResult {
  const msg = stunOf(input);
  if (msg === 'more') return 'more';
  if (!msg) return null;
  const d = attribute(input, data, msg);
  if (d) watches.set(d, learn(input, data, msg, d.protocol, clip(d.evidence.reason, 160)));
  return d;
}

// ---- peers named later ----------------------------------------------------------------------------
// TURN clients name their peers after the Allocate: CreatePermission and ChannelBind requests, Send
// indications; the server's Data indications name the peer that sent (RFC 8656 §9-§12). An attributed
// UDP flow is watched for them: a look at the first bytes of each datagram, the attributes walked only
// for those four message types (and the Allocate success response's relayed address). Released (as a
// flow without a decoder is at detection) once it is clearly not TURN, has named too many peers, or has
// named no new peer for a long while (peers come with ICE at the start of a call; refreshes repeat them).
// TURN over TCP is released at once: its peers are learned from the detected message only.

/** a peer named again within this time is not learned again (the map is touched once, not per datagram) */
const RELEARN_AFTER = 60_000_000; // µs

function limit(v: unknown, dflt: number, max = 4096): number {
  return typeof v === 'number' && Number.isInteger(v) && v > 0 ? Math.min(v, max) : dflt;
}

class PeerWatch implements StreamDecoder {
  /** datagrams since the watch began or a new peer was named */
  private idle = 0;
  /** a TURN message or ChannelData frame was seen */
  private turn = false;
  /** peers this flow named ("ip|port") → when last learned */
  private named: Map<string, number> | undefined;
  /** the last peer named, decoded (port, address), its key and length: Send/Data indications carrying a
   * call name the same peer in every datagram, and are then not turned into text again */
  private last: Uint8Array | undefined;
  private lastLen = 0;
  private lastKey = '';

  constructor(private readonly ctx: SessionContext, private readonly w: Watch, private readonly protocol: string,
    private readonly maxPeers: number, private readonly maxPlain: number, private readonly maxIdle: number) {}

  onData(_dir: Dir, d: Buffer, ts: number): void {
    if (d.length >= 20 && d[0] <= 1 && d.readUInt32BE(4) === MAGIC) {
      const type = (d[0] << 8) | d[1];
      if (!this.turn && isTurnMethod(methodOf(type))) this.turn = true;
      if (namesPeers(type)) this.peers(d, ATTR_XOR_PEER_ADDRESS, ts, 'TURN peer');
      else if (type === ALLOCATE_SUCCESS) this.peers(d, ATTR_XOR_RELAYED_ADDRESS, ts, 'TURN relayed address');
    } else if (!this.turn && d.length >= 4 && (d[0] & 0xf0) === 0x40 && 4 + d.readUInt16BE(2) <= d.length) {
      this.turn = true; // ChannelData (channels 0x4000-0x4FFF, RFC 8656 §12.4): skipped
    }
    if (++this.idle >= (this.turn ? this.maxIdle : this.maxPlain)) this.ctx.stopInspecting();
  }

  private peers(d: Buffer, attr: number, ts: number, what: string): void {
    const end = 20 + d.readUInt16BE(2);
    if (end > d.length || end & 3) return;
    eachAttribute(d, attr, (off, len) => this.peer(d, off, len, ts, what));
  }

  /** false once the flow is released */
  private peer(d: Buffer, off: number, len: number, ts: number, what: string): boolean {
    const n = xorDecode(d, off, len, decoded);
    if (!n) return true;
    let key = this.lastKey;
    if (n !== this.lastLen || !sameBytes(decoded, this.last!, 2 + n)) {
      const a = decodedAddress(decoded, n);
      key = this.lastKey = `${a.ip}|${a.port}`;
      (this.last ??= new Uint8Array(18)).set(decoded);
      this.lastLen = n;
    }
    const named = (this.named ??= new Map());
    const when = named.get(key);
    if (when !== undefined && ts - when < RELEARN_AFTER) return true;
    if (when === undefined) this.idle = 0;
    named.set(key, ts);
    const bar = key.lastIndexOf('|');
    learnPeer(this.w, this.protocol, key.slice(0, bar), +key.slice(bar + 1), ts, what);
    if (named.size >= this.maxPeers) {
      this.ctx.stopInspecting(); // enough: no call names this many
      return false;
    }
    return true;
  }
}

/** xorDecode's output for the datagram being read (one flow at a time) */
const decoded = new Uint8Array(18);

function sameBytes(a: Uint8Array, b: Uint8Array, n: number): boolean {
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}

function decoder(ctx: SessionContext, detection: Detection): StreamDecoder {
  const w = watches.get(detection);
  if (!w || ctx.flow.transport !== 'udp') return { onData: () => ctx.stopInspecting(), onGap: () => ctx.stopInspecting() };
  const cfg = (ctx.data.turn_watch ?? {}) as Record<string, unknown>;
  return new PeerWatch(ctx, w, detection.protocol, limit(cfg.max_peers, 32), limit(cfg.plain_datagrams, 32), limit(cfg.idle_datagrams, 4096, 1 << 20));
}

export const module: SignatureModule = {
  id: 'stun',
  protocols: ['stun'],
  transports: ['udp', 'tcp'],
  detect,
  decoder,
};
