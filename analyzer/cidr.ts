// IPv4/IPv6 addresses and CIDR blocks, parsed once; matching on 32-bit words (no per-event strings).
// Addresses are validated by one-pass parsers with net.isIP's acceptance (net.isIPv6's RegExp costs
// ~11 ms to compile on first use, paid at every start for the IPv6 home networks).
import { parseIpv4, parseIpv6 } from '../signatures/lookup';
import { ipv6String } from '../sensor/addr';

export interface Cidr {
  v6: boolean;
  /** address as four 32-bit words (IPv4 uses word 3 only) */
  words: Uint32Array;
  prefix: number;
  text: string;
}

/** The address as words plus its family, or undefined when net.isIP would return 0. */
function parseIp(ip: string): { v6: boolean; words: Uint32Array } | undefined {
  const v4 = parseIpv4(ip);
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
  // an IPv4-mapped block (::ffff:10.0.0.0/104) is the IPv4 block: the sensor writes IPv4 clients dotted
  if (a.v6 && prefix >= 96 && a.words[0] === 0 && a.words[1] === 0 && a.words[2] === 0xffff) return { v6: false, words: Uint32Array.of(0, 0, 0, a.words[3]), prefix, text: s };
  return { v6: a.v6, words: a.words, prefix: a.v6 ? prefix : prefix + 96, text: s };
}

/** a block as written canonically: IPv4 dotted (also one written IPv4-mapped), IPv6 RFC 5952, always with its prefix */
export function cidrText(c: Cidr): string {
  if (!c.v6) return `${c.words[3] >>> 24}.${(c.words[3] >>> 16) & 255}.${(c.words[3] >>> 8) & 255}.${c.words[3] & 255}/${c.prefix - 96}`;
  const b = new Uint8Array(16);
  for (let i = 0; i < 16; i++) b[i] = (c.words[i >> 2] >>> (24 - 8 * (i & 3))) & 255;
  return `${ipv6String(b, 0)}/${c.prefix}`;
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
  const v4 = typeof ip === 'string' ? parseIpv4(ip) : -1;
  if (v4 >= 0) {
    for (const c of list) if (containsV4(c, v4)) return true;
    return false;
  }
  const w = ipWords(ip);
  if (!w) return false;
  for (const c of list) if (cidrContains(c, w)) return true;
  return false;
}

/**
 * The block's own network when the text has address bits set past its prefix ("10.1.2.3/16" →
 * "10.1.0.0/16"); undefined when it has none. A policy line like "198.51.100.7/0" is almost always a
 * typo whose meaning (every address) is far from what was written.
 */
export function hostBitsNetwork(c: Cidr): string | undefined {
  const net = new Uint32Array(4);
  let bits = c.prefix;
  let set = false;
  for (let i = 0; i < 4; i++) {
    const n = Math.max(0, Math.min(32, bits));
    const mask = n === 32 ? 0xffffffff : n === 0 ? 0 : ~(0xffffffff >>> n) >>> 0;
    net[i] = (c.words[i] & mask) >>> 0;
    if (net[i] !== c.words[i]) set = true;
    bits -= 32;
  }
  return set ? cidrText({ ...c, words: net }) : undefined;
}
