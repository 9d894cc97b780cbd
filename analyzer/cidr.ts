// IPv4/IPv6 addresses and CIDR blocks, parsed once; matching on 32-bit words (no per-event strings).
// Addresses are validated by one-pass parsers with net.isIP's acceptance (net.isIPv6's RegExp costs
// ~11 ms to compile on first use, paid at every start for the IPv6 home networks).
import { parseIpv6 } from '../signatures/lookup';

export interface Cidr {
  v6: boolean;
  /** address as four 32-bit words (IPv4 uses word 3 only) */
  words: Uint32Array;
  prefix: number;
  text: string;
}

/** The address as words plus its family, or undefined when net.isIP would return 0. */
function parseIp(ip: string): { v6: boolean; words: Uint32Array } | undefined {
  const v4 = ipv4Number(ip);
  if (v4 >= 0) return { v6: false, words: Uint32Array.of(0, 0, 0, v4) };
  const p = parseIpv6(ip);
  if (!p) return undefined;
  const g = p.groups;
  const w = new Uint32Array(4);
  for (let i = 0; i < 4; i++) w[i] = ((g[2 * i] << 16) | g[2 * i + 1]) >>> 0;
  return { v6: true, words: w };
}

/** Parses "10.0.0.0/8", "2001:db8::/32" or a bare address; undefined when invalid. */
export function parseCidr(s: string): Cidr | undefined {
  const slash = s.indexOf('/');
  const ip = slash >= 0 ? s.slice(0, slash) : s;
  const a = parseIp(ip);
  if (!a) return undefined;
  const max = a.v6 ? 128 : 32;
  let prefix = max;
  if (slash >= 0) {
    const p = s.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p) || Number(p) > max) return undefined;
    prefix = Number(p);
  }
  return { v6: a.v6, words: a.words, prefix: a.v6 ? prefix : prefix + 96, text: s };
}

// Every event asks about its addresses (client, server, per group and per rule): parsing them was
// the largest share of the policy checks. IPv4 is read in one pass without allocating (below);
// other addresses are kept once parsed, emptied when full so memory stays bounded whatever the
// traffic. The entries are shared: read only.
const MAX_PARSED = 65_536;
const parsed = new Map<string, { v6: boolean; words: Uint32Array } | null>();

export function ipWords(ip: string): { readonly v6: boolean; readonly words: Uint32Array } | undefined {
  let w = parsed.get(ip);
  if (w === undefined) {
    w = parseIp(ip) ?? null;
    if (parsed.size >= MAX_PARSED) parsed.clear();
    parsed.set(ip, w);
  }
  return w ?? undefined;
}

export function cidrContains(c: Cidr, ip: { readonly v6: boolean; readonly words: Uint32Array }): boolean {
  if (c.v6 !== ip.v6) {
    // ::ffff:a.b.c.d matches an IPv4 block
    if (!c.v6 && ip.v6 && ip.words[0] === 0 && ip.words[1] === 0 && ip.words[2] === 0xffff) {
      return cidrContains(c, { v6: false, words: Uint32Array.of(0, 0, 0, ip.words[3]) });
    }
    return false;
  }
  let bits = c.prefix;
  for (let i = 0; i < 4 && bits > 0; i++) {
    const n = Math.min(32, bits);
    const mask = n === 32 ? 0xffffffff : ~(0xffffffff >>> n) >>> 0;
    if (((c.words[i] ^ ip.words[i]) & mask) >>> 0 !== 0) return false;
    bits -= n;
  }
  return true;
}

/** A dotted-quad IPv4 address as a number, or -1: exactly the strings net.isIPv4 accepts (no leading zeros). */
export function ipv4Number(ip: string): number {
  const n = ip.length;
  if (n < 7 || n > 15) return -1;
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < n; i++) {
    const c = ip.charCodeAt(i);
    if (c === 0x2e) {
      if (digits === 0 || dots === 3) return -1;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else if (c >= 0x30 && c <= 0x39) {
      if (digits > 0 && octet === 0) return -1; // "01", "00"
      octet = octet * 10 + (c - 0x30);
      if (octet > 255) return -1;
      digits++;
    } else return -1;
  }
  if (digits === 0 || dots !== 3) return -1;
  return value * 256 + octet;
}

/** cidrContains for an IPv4 address given as a number */
function containsV4(c: Cidr, v: number): boolean {
  if (c.v6) return false;
  const bits = c.prefix - 96;
  if (bits <= 0) return true;
  const mask = bits >= 32 ? 0xffffffff : (0xffffffff << (32 - bits)) >>> 0;
  return ((c.words[3] ^ v) & mask) === 0;
}

export function anyContains(list: Cidr[], ip: string): boolean {
  if (!list.length) return false;
  const v4 = typeof ip === 'string' ? ipv4Number(ip) : -1;
  if (v4 >= 0) {
    for (const c of list) if (containsV4(c, v4)) return true;
    return false;
  }
  const w = ipWords(ip);
  if (!w) return false;
  for (const c of list) if (cidrContains(c, w)) return true;
  return false;
}
