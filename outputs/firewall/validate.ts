// Everything that enters a firewall rule is validated here first. Addresses and host names may come
// from traffic (observed servers, SNI, DNS): only strictly well-formed values pass, so nothing an
// attacker sends can inject rule syntax. Labels (comments, log prefixes) are reduced to [a-z0-9 ._-].
import net from 'node:net';

export interface Cidr {
  family: 4 | 6;
  addr: string;
  bits: number;
  /** canonical "addr/bits" (network address, host bits cleared for IPv4; IPv6 as RFC 5952 writes it) */
  text: string;
}

export function parseCidr(s: unknown): Cidr | undefined {
  if (typeof s !== 'string' || s.length > 64) return undefined;
  const m = s.trim().match(/^([0-9a-fA-F.:]+)(?:\/(\d{1,3}))?$/);
  if (!m) return undefined;
  const fam = net.isIP(m[1]);
  if (fam === 0) return undefined;
  const max = fam === 4 ? 32 : 128;
  const bits = m[2] === undefined ? max : Number(m[2]);
  if (!Number.isInteger(bits) || bits < 0 || bits > max) return undefined;
  if (fam === 4) return v4Cidr(m[1], bits);
  const g = v6Groups(m[1]);
  // one IPv4-mapped address (::ffff:a.b.c.d) is that IPv4 address on the wire: an IPv6 rule never matches it
  if (bits === 128 && g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) return v4Cidr([g[6] >> 8, g[6] & 255, g[7] >> 8, g[7] & 255].join('.'), 32);
  const addr = v6Text(g);
  return { family: 6, addr, bits, text: `${addr}/${bits}` };
}

/**
 * Why one address cannot be a server a rule should name, or undefined: unspecified, loopback,
 * link-local, multicast, reserved or broadcast. Only traffic puts such an address in a session (a
 * spoofed or broken packet), and a rule for it would cut DHCP (255.255.255.255), multicast or the
 * host's own loopback, not an IM service.
 */
export function notAServer(c: Cidr): string | undefined {
  if (c.family === 4) {
    const a = c.addr.split('.').map(Number);
    if (a[0] === 0) return 'this network (0/8)';
    if (a[0] === 127) return 'loopback';
    if (a[0] === 169 && a[1] === 254) return 'link-local';
    if (a[0] >= 224 && a[0] < 240) return 'multicast';
    if (a[0] >= 240) return 'reserved or broadcast';
    return undefined;
  }
  const g = v6Groups(c.addr);
  if (g.every((x) => x === 0)) return 'unspecified';
  if (g.slice(0, 7).every((x) => x === 0) && g[7] === 1) return 'loopback';
  if ((g[0] & 0xffc0) === 0xfe80) return 'link-local';
  if ((g[0] & 0xff00) === 0xff00) return 'multicast';
  return undefined;
}

function v4Cidr(quad: string, bits: number): Cidr {
  const v = quad.split('.').reduce((a, o) => (a << 8) | Number(o), 0) >>> 0;
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  const n = (v & mask) >>> 0;
  const addr = [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
  return { family: 4, addr, bits, text: `${addr}/${bits}` };
}

/** the eight 16-bit groups of an address net.isIP took as IPv6 (a trailing dotted quad is the last two) */
function v6Groups(s: string): number[] {
  const quad = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s);
  const hex = quad ? `${s.slice(0, quad.index)}${((+quad[1] << 8) | +quad[2]).toString(16)}:${((+quad[3] << 8) | +quad[4]).toString(16)}` : s;
  const [head, tail] = hex.split('::');
  const part = (x: string | undefined) => (x ? x.split(':').map((h) => parseInt(h, 16)) : []);
  const [a, b] = [part(head), part(tail)];
  return [...a, ...Array(8 - a.length - b.length).fill(0), ...b];
}

/** RFC 5952: lower case, no leading zeros, the first longest run of two or more zero groups as :: */
function v6Text(g: number[]): string {
  let [at, len] = [-1, 1];
  for (let i = 0; i < 8; i++) {
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > len) [at, len] = [i, j - i];
    i = j;
  }
  const hex = (xs: number[]) => xs.map((x) => x.toString(16)).join(':');
  return at < 0 ? hex(g) : `${hex(g.slice(0, at))}::${hex(g.slice(at + len))}`;
}

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** A DNS host name, lower-cased, without a wildcard or the root's trailing dot (`Chat.Example.` is chat.example), or undefined. */
export function validHost(s: unknown): string | undefined {
  if (typeof s !== 'string') return undefined;
  // one trailing dot is the absolute spelling of the same name; two (`a.example..`) are an empty label
  const h = s.trim().toLowerCase().replace(/^\*?\./, '').replace(/\.$/, '');
  if (h.length === 0 || h.length > 253) return undefined;
  const labels = h.split('.');
  if (labels.length < 2 || !labels.every((l) => LABEL.test(l))) return undefined;
  // an address written as a name (an XMPP domain or SNI of 192.168.58.153): no top-level domain is all
  // digits (RFC 3696 2); the address already has its address rule, a name rule for it would never match
  if (/^\d+$/.test(labels[labels.length - 1])) return undefined;
  return h;
}

export function validPort(p: unknown): number | undefined {
  const n = typeof p === 'string' && /^\d{1,5}$/.test(p) ? Number(p) : p;
  return typeof n === 'number' && Number.isInteger(n) && n > 0 && n < 65536 ? n : undefined;
}

/** Safe text for comments, rule names and log prefixes. */
export function label(s: string, max = 64): string {
  return s.toLowerCase().replace(/[^a-z0-9 ._-]+/g, '-').replace(/-+/g, '-').slice(0, max).trim();
}

export function maskOf(bits: number): string {
  const m = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return [m >>> 24, (m >>> 16) & 255, (m >>> 8) & 255, m & 255].join('.');
}

export function wildcardOf(bits: number): string {
  const m = bits === 0 ? 0xffffffff : ~((0xffffffff << (32 - bits)) >>> 0) >>> 0;
  return [m >>> 24, (m >>> 16) & 255, (m >>> 8) & 255, m & 255].join('.');
}
