// STUN/TURN: reported as IM only when attributed to an app (SOFTWARE attribute, vendor attributes,
// or the server's DNS-learned name / listed address). Plain STUN is not IM (null).
import type { DetectInput, DetectResult, SignatureData, SignatureModule } from '../types';
import { ATTR_SOFTWARE, parseStun } from './parser';
import { addressGuess } from '../tls';

/** UDP: one message per datagram. TCP: a bare message (RFC 8489 §6.2.2) or RFC 4571 length framing (ICE-TCP). */
function stunOf(input: DetectInput): ReturnType<typeof parseStun> | 'more' {
  const d = input.data;
  if (input.transport === 'udp') return parseStun(d);
  if (d.length < 24) return d.length >= 8 && d.readUInt32BE(4) !== 0x2112a442 && (d.length < 10 || d.readUInt32BE(6) !== 0x2112a442) ? null : 'more';
  return parseStun(d) ?? (d.readUInt16BE(0) + 2 <= d.length ? parseStun(d.subarray(2, 2 + d.readUInt16BE(0))) : null);
}

function detect(input: DetectInput, data: SignatureData): DetectResult {
  const msg = stunOf(input);
  if (msg === 'more') return 'more';
  if (!msg) return null;
  const software = msg.attributes.find((a) => a.type === ATTR_SOFTWARE);
  if (software) {
    const text = software.value.toString('latin1').replace(/[^\x20-\x7e]/g, '').slice(0, 128);
    const lower = text.toLowerCase();
    for (const [proto, pats] of Object.entries((data.software ?? {}) as Record<string, string[]>)) {
      const hit = (pats ?? []).find((p) => lower.includes(String(p).toLowerCase()));
      if (hit) return { protocol: proto, encrypted: true, evidence: { signature: 'stun.software', reason: `STUN SOFTWARE "${text}"` } };
    }
  }
  const guess = addressGuess(input);
  if (guess) return { protocol: guess.protocol, encrypted: true, evidence: { signature: 'stun.server', reason: `STUN/TURN to a known server: ${guess.why}` } };
  const vendor = (data.vendor_attributes ?? {}) as Record<string, string>;
  for (const a of msg.attributes) {
    const proto = vendor[a.type.toString(16).padStart(4, '0')];
    if (proto) {
      return { protocol: proto, encrypted: true, evidence: { signature: 'stun.vendor-attribute', reason: `STUN attribute 0x${a.type.toString(16)} (Microsoft ICE extension, ${proto})` } };
    }
  }
  return null;
}

export const module: SignatureModule = {
  id: 'stun',
  protocols: ['stun'],
  transports: ['udp', 'tcp'],
  detect,
};
