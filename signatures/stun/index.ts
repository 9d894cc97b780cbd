// STUN/TURN: reported as IM only when attributed to an app: a SOFTWARE attribute, a TURN REALM that
// is an IM host, the server's DNS-learned name / listed address, a call endpoint already attributed,
// or an app's own attributes / message types. Plain STUN is not IM (null).
import type { DetectInput, Detection, DetectResult, Lookup, SignatureData, SignatureModule } from '../types';
import { ATTR_REALM, ATTR_SOFTWARE, ATTR_XOR_PEER_ADDRESS, parseStun, xorPeerV4, type StunMessage } from './parser';
import { addressGuess } from '../tls';
import { usableServerName } from '../tls/parser';

/** UDP: one message per datagram. TCP: a bare message (RFC 8489 §6.2.2) or RFC 4571 length framing (ICE-TCP). */
function stunOf(input: DetectInput): ReturnType<typeof parseStun> | 'more' {
  const d = input.data;
  if (input.transport === 'udp') return parseStun(d);
  if (d.length < 24) return d.length >= 8 && d.readUInt32BE(4) !== 0x2112a442 && (d.length < 10 || d.readUInt32BE(6) !== 0x2112a442) ? null : 'more';
  return parseStun(d) ?? (d.readUInt16BE(0) + 2 <= d.length ? parseStun(d.subarray(2, 2 + d.readUInt16BE(0))) : null);
}

const hex4 = (n: number) => n.toString(16).padStart(4, '0');
const det = (protocol: string, signature: string, reason: string): Detection => ({ protocol, encrypted: true, evidence: { signature, reason } });

// ---- call endpoints ------------------------------------------------------------------------------
// A call's STUN flows share the app's socket: once one of them is attributed (a relay in the app's
// range, a REALM, …), the others from the same ip:port (checks to peers, a second relay) are the same
// app's, as nDPI's STUN cache does. Kept per engine (keyed by its lookup tables), bounded, and trusted
// for ENDPOINT_TTL of capture time only (ports are reused).

interface Endpoint { protocol: string; ts: number; why: string }
const endpoints = new WeakMap<Lookup, Map<string, Endpoint>>();
const MAX_ENDPOINTS = 4096;
const ENDPOINT_TTL = 600_000_000; // µs

const epKey = (transport: string, ip: string, port: number) => `${transport}|${ip}|${port}`;

/** (re)sets an endpoint; an endpoint already known for the same app keeps the reason it was first learned by */
function put(m: Map<string, Endpoint>, k: string, e: Endpoint): void {
  const old = m.get(k);
  if (old) m.delete(k);
  else if (m.size >= MAX_ENDPOINTS) m.delete(m.keys().next().value!);
  m.set(k, old?.protocol === e.protocol ? { ...e, why: old.why } : e);
}

/**
 * The flow's client endpoint (the app's socket, or the remote peer when it called in) and any TURN
 * peers it names. Never a STUN server port (data.yaml `ports`): when the sides are taken the wrong way
 * round, a public STUN server that every browser uses must not become the app's.
 */
function learn(input: DetectInput, data: SignatureData, msg: StunMessage, protocol: string, why: string): void {
  let m = endpoints.get(input.lookup);
  if (!m) endpoints.set(input.lookup, (m = new Map()));
  const ts = input.flow.firstTs;
  const c = input.flow.client;
  const serverPorts = (data.ports?.[input.transport] as number[] | undefined) ?? [];
  if (!serverPorts.includes(c.port)) put(m, epKey(input.transport, c.ip, c.port), { protocol, ts, why: `${c.ip}:${c.port} (${why})` });
  for (const a of msg.attributes) {
    if (a.type !== ATTR_XOR_PEER_ADDRESS) continue;
    const p = xorPeerV4(a.value);
    if (p) put(m, epKey('udp', p.ip, p.port), { protocol, ts, why: `TURN peer ${p.ip}:${p.port} (${why})` });
  }
}

function learned(input: DetectInput): Endpoint | undefined {
  const m = endpoints.get(input.lookup);
  if (!m?.size) return undefined;
  for (const e of [input.flow.client, input.flow.server]) {
    const hit = m.get(epKey(input.transport, e.ip, e.port));
    if (hit && Math.abs(input.flow.firstTs - hit.ts) <= ENDPOINT_TTL) return hit;
  }
  return undefined;
}

// ---- attribution --------------------------------------------------------------------------------

/** REALM (a TURN server's domain, RFC 8489 §14.9) as a host name, if it is one. */
function realmOf(msg: StunMessage): string | undefined {
  const a = msg.attributes.find((x) => x.type === ATTR_REALM);
  if (!a || a.value.length > 253) return undefined;
  return usableServerName(a.value.toString('latin1').replace(/^[\s"]+|[\s"]+$/g, ''));
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
  if (d) learn(input, data, msg, d.protocol, d.evidence.reason.slice(0, 160));
  return d;
}

export const module: SignatureModule = {
  id: 'stun',
  protocols: ['stun'],
  transports: ['udp', 'tcp'],
  detect,
};
