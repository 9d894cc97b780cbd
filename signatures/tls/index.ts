// TLS: classifies a TLS connection by the server name in its ClientHello (SNI), looked up in the
// IM host tables. An SNI that is not an IM host is not IM; and when the server's address was
// attributed to IM by DNS or an address list, an explicit non-IM SNI wins over that guess
// (shared CDN addresses). Without SNI, the engine's DNS/address attribution stays in charge, and
// failing that the server certificate's names (TLS 1.2 and older send it in the clear).
import type { DetectInput, Detection, DetectResult, Lookup, SignatureData, SignatureModule } from '../types';
import { parseTlsClientHello, usableServerName } from './parser';
import { serverCertificateNames } from './certificate';

/** what the engine would guess for this server address (DNS-learned name, then address lists) */
export function addressGuess(input: Pick<DetectInput, 'knownServerName' | 'flow' | 'lookup'>): { protocol: string; why: string; serverName?: string } | undefined {
  const byName = input.knownServerName ? input.lookup.host(input.knownServerName) : undefined;
  if (byName) return { protocol: byName.protocol, why: `server address was resolved from ${input.knownServerName}`, serverName: input.knownServerName };
  const byIp = input.lookup.ip(input.flow.server.ip);
  if (byIp) return { protocol: byIp.protocol, why: `server address in ${byIp.protocol} range ${byIp.matched}` };
  return undefined;
}

/** the offered ids as evidence quotes them: bytes from the wire, so anything not printable ASCII is `?` */
function alpnText(alpn: string[]): string {
  return alpn.length ? ` (ALPN ${alpn.slice(0, 4).join(',').replace(/[^\x20-\x7e]/g, '?')})` : '';
}

/**
 * The IM protocol an offered ALPN id names (data.yaml `alpn`: IANA's xmpp-client, xmpp-server, irc,
 * sip/2): a client that offers one speaks that protocol inside, whatever the server name or port.
 */
function alpnProtocol(alpn: string[], table: SignatureData['alpn']): { protocol: string; id: string } | undefined {
  if (!alpn.length || !table || typeof table !== 'object') return undefined;
  for (const [protocol, ids] of Object.entries(table as Record<string, unknown>)) {
    if (!Array.isArray(ids)) continue;
    const id = alpn.find((a) => ids.includes(a));
    if (id !== undefined) return { protocol, id };
  }
  return undefined;
}

/** Shared by TLS and QUIC: a server name (or none) and the offered ALPN ids → detection. */
export function classifyServerName(sni: string | undefined, alpn: string[], input: DetectInput, kind: 'tls' | 'quic', alpnTable?: SignatureData['alpn']): Detection | null {
  const name = usableServerName(sni);
  const lookup: Lookup = input.lookup;
  const hit = name ? lookup.host(name) : undefined;
  if (name && hit) {
    return {
      protocol: hit.protocol, encrypted: true, serverName: name,
      evidence: { signature: `${kind}.sni`, reason: `${kind.toUpperCase()} server name ${name} matches ${hit.protocol} host ${hit.matched}${alpnText(alpn)}` },
    };
  }
  // after the host lists (a listed name says which service), before "not an IM host" and address guesses
  const byAlpn = alpnProtocol(alpn, alpnTable);
  if (byAlpn) {
    return {
      protocol: byAlpn.protocol, encrypted: true, ...(name ? { serverName: name } : {}),
      evidence: { signature: `${kind}.alpn`, reason: `${kind.toUpperCase()} client offers ALPN ${byAlpn.id} (${byAlpn.protocol})${name ? `, server name ${name}` : ''}` },
    };
  }
  if (name) {
    const guess = addressGuess(input);
    if (guess) {
      return {
        protocol: kind, notIm: true, encrypted: true, serverName: name,
        evidence: { signature: `${kind}.sni`, reason: `server name ${name} is not an IM host (overrides: ${guess.why})` },
      };
    }
    // decided: not IM (saves offering the server's bytes to every module)
    return { protocol: kind, notIm: true, encrypted: true, serverName: name, evidence: { signature: `${kind}.sni`, reason: `server name ${name} is not an IM host` } };
  }
  const guess = addressGuess(input);
  if (guess) {
    // the name DNS resolved the address from is the session's server_name, as on flows the engine
    // attributes by DNS alone (dns.learned): sanctioned_servers names match it
    return {
      protocol: guess.protocol, encrypted: true, ...(guess.serverName ? { serverName: guess.serverName } : {}),
      evidence: { signature: `${kind}.no-sni`, reason: `${kind.toUpperCase()} without server name; ${guess.why}${alpnText(alpn)}` },
    };
  }
  return null;
}

function detect(input: DetectInput, data: SignatureData): DetectResult {
  const d = input.data;
  if (d.length === 0) return 'more';
  if (d[0] !== 0x16) return null;
  if (input.dir === 1) return fromCertificate(input, data);
  const hello = parseTlsClientHello(d);
  if (hello === 'more') return 'more';
  if (hello === null) return null;
  const det = classifyServerName(hello.sni, hello.alpn, input, 'tls', data.alpn);
  // no SNI and nothing known about the address: the server's certificate may still name it
  if (!det && !usableServerName(hello.sni)) return input.other.length ? certificateDetection(input, input.other) : 'more';
  return det;
}

/** The server flight of a TLS ≤1.2 handshake: certificate subject CN / SAN names → host tables. */
function fromCertificate(input: DetectInput, data: SignatureData): DetectResult {
  // the sensor may have taken the sides the wrong way round (no SYN seen): a ClientHello is a ClientHello
  const hello = parseTlsClientHello(input.data);
  if (hello && hello !== 'more') return classifyServerName(hello.sni, hello.alpn, input, 'tls', data.alpn);
  const client = input.other.length ? parseTlsClientHello(input.other) : undefined;
  if (client && client !== 'more' && usableServerName(client.sni)) return null; // decided by the SNI
  return certificateDetection(input, input.data);
}

function certificateDetection(input: DetectInput, serverFlight: Buffer): DetectResult {
  const names = serverCertificateNames(serverFlight);
  if (names === 'more' || names === null) return names;
  // A platform's certificate lists every brand it serves: Facebook's names messenger.com beside
  // facebook.com. One that names a service the tables know is not IM (a `not-im` entry that is no
  // page of an IM domain, as www.whatsapp.com is) is that platform's, and says nothing of which of
  // its services this flow is.
  if (names.some((n) => platformName(input, n))) return null;
  for (const n of names) {
    const hit = input.lookup.host(n);
    if (hit) {
      return {
        protocol: hit.protocol, encrypted: true, serverName: n,
        evidence: { signature: 'tls.certificate', reason: `server certificate names ${n} (matches ${hit.protocol} host ${hit.matched})` },
      };
    }
  }
  return null;
}

/** `name` is listed as not IM, and its parent domain is no IM host (facebook.com, not www.skype.com) */
function platformName(input: DetectInput, name: string): boolean {
  if (!input.lookup.notIm?.(name)) return false;
  const dot = name.indexOf('.');
  return dot < 0 || input.lookup.host(name.slice(dot + 1)) === undefined;
}

export const module: SignatureModule = {
  id: 'tls',
  protocols: ['tls'],
  transports: ['tcp'],
  detect,
};
