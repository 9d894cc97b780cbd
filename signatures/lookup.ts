// Host-name and address tables built from every module's data.yaml: name/IP → protocol id.
// Host entries match the name itself and every sub-domain ("whatsapp.net" matches "g.whatsapp.net").
// A leading "*." or "." is accepted and means the same.

/** Reserved protocol id for host exceptions, e.g. config.edge.skype.com (used by all of Office) under skype.com. */
export const NOT_IM = 'not-im';

export class HostTable {
  private readonly exact = new Map<string, string>();
  /** name → answer (null: no match); names repeat across flows (SNI, Host, DNS), the walk need not */
  private cache = new Map<string, { protocol: string; matched: string } | null>();

  /** the most labels of any entry: a longer suffix cannot match, and is not hashed */
  private maxLabels = 0;

  add(host: string, protocol: string): void {
    const h = normalizeHost(host.replace(/^\*?\./, ''));
    if (h) {
      this.exact.set(h, protocol);
      this.maxLabels = Math.max(this.maxLabels, labelCount(h));
    }
    this.cache.clear();
  }

  /** Longest matching suffix on label boundaries wins. Bounded: at most 127 labels are tried. */
  lookup(name: string): { protocol: string; matched: string } | undefined {
    if (name.length > MAX_CACHED_NAME) {
      // not kept: 8,192 cached SNI or Host values of up to 64 KiB each would hold hundreds of MB
      const r = this.walk(name);
      return r ? Object.freeze(r) : undefined;
    }
    const c = this.cache.get(name);
    if (c !== undefined) return c ?? undefined;
    const r = this.walk(name);
    // bounded: names come from the wire
    if (this.cache.size >= CACHE_MAX) this.cache.clear();
    this.cache.set(name, r ? Object.freeze(r) : null);
    return r;
  }

  /** The longest matching entry is an exception (NOT_IM): a name the tables know to be no IM service. */
  notIm(name: string): boolean {
    return this.walk(name, true) === NOT_IM_MATCH;
  }

  private walk(name: string, exceptions = false): { protocol: string; matched: string } | undefined {
    const h = normalizeHost(name);
    if (!h) return undefined;
    // only suffixes of at most maxLabels labels are made and looked up: hashing a copy of every suffix
    // of a 253-character name of 127 labels cost 31 us a lookup (O(n²)), against ~1 us for a usual name
    const labels = labelCount(h);
    let from = 0;
    for (let i = 0; i < 127; i++) {
      if (labels - i <= this.maxLabels) {
        const s = from ? h.slice(from) : h;
        const p = this.exact.get(s);
        // an exception (protocol NOT_IM) under an IM suffix: the longest match says "not IM"
        if (p) return p !== NOT_IM ? { protocol: p, matched: s } : exceptions ? NOT_IM_MATCH : undefined;
      }
      const dot = h.indexOf('.', from);
      if (dot < 0) return undefined;
      from = dot + 1;
    }
    return undefined;
  }

  get size(): number {
    return this.exact.size;
  }

  entries(): IterableIterator<[string, string]> {
    return this.exact.entries();
  }
}

const NOT_IM_MATCH = Object.freeze({ protocol: NOT_IM, matched: '' });
const CACHE_MAX = 8192;
/** a host name has at most 253 characters; longer keys are not cached (blanks around a name are trimmed) */
const MAX_CACHED_NAME = 512;

function labelCount(h: string): number {
  let n = 1;
  for (let i = h.indexOf('.'); i >= 0; i = h.indexOf('.', i + 1)) n++;
  return n;
}

export function normalizeHost(name: string): string {
  let h = name.trim().toLowerCase();
  if (h.endsWith('.')) h = h.slice(0, -1);
  if (h.length === 0 || h.length > 253) return '';
  // host names only: letters, digits, '-', '_', '.'
  if (!/^[a-z0-9_.-]+$/.test(h)) return '';
  return h;
}

const NO_RANGES = new Uint32Array(0);

interface V4Range { base: number; mask: number; bits: number; protocol: string; cidr: string }

/** CIDR table, longest prefix wins. IPv4 ranges are checked bit-exactly; IPv6 by prefix over the expanded form. */
export class CidrTable {
  private v4: V4Range[] = [];
  /** per first octet: indexes into v4 (in lookup order) of the ranges that can hold it (the scan runs for every flow) */
  private v4ByOctet: Uint32Array[] = new Array(256).fill(NO_RANGES);
  private v4Indexed = true;
  /** `net`: the range's first address as 16-bit groups, for comparing without BigInt */
  private v6: { prefix: bigint; bits: number; protocol: string; cidr: string; net: number[] }[] = [];

  add(cidr: string, protocol: string): void {
    const [addr, bitsStr] = cidr.trim().split('/');
    if (parseIpv4(addr) >= 0) {
      const bits = bitsStr === undefined ? 32 : Number(bitsStr);
      if (!Number.isInteger(bits) || bits < 0 || bits > 32) throw new Error(`bad CIDR "${cidr}"`);
      const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
      this.v4.push({ base: (ipv4ToInt(addr) & mask) >>> 0, mask, bits, protocol, cidr });
      this.v4.sort((a, b) => b.bits - a.bits);
      this.v4Indexed = false;
    } else if (parseIpv6(addr)) {
      const bits = bitsStr === undefined ? 128 : Number(bitsStr);
      if (!Number.isInteger(bits) || bits < 0 || bits > 128) throw new Error(`bad CIDR "${cidr}"`);
      const v = ipv6ToBigInt(addr);
      const shift = BigInt(128 - bits);
      const first = (v >> shift) << shift;
      const groups = Array.from({ length: 8 }, (_, k) => Number((first >> BigInt(112 - 16 * k)) & 0xffffn));
      this.v6.push({ prefix: v >> shift, bits, protocol, cidr, net: groups });
      this.v6.sort((a, b) => b.bits - a.bits);
    } else {
      throw new Error(`bad CIDR "${cidr}": not an IPv4 or IPv6 address`);
    }
  }

  lookup(ip: string): { protocol: string; matched: string } | undefined {
    // one pass over the characters instead of net.isIPv4 + split (called for every flow and message)
    const v = parseIpv4(ip);
    if (v >= 0) {
      if (!this.v4Indexed) this.indexV4();
      const cand = this.v4ByOctet[v >>> 24];
      for (let i = 0; i < cand.length; i++) {
        const r = this.v4[cand[i]];
        if (((v & r.mask) >>> 0) === r.base) return { protocol: r.protocol, matched: r.cidr };
      }
      return undefined;
    }
    if (!this.v6.length) return undefined;
    const a = parseIpv6(ip);
    if (!a) return undefined;
    if (a.zone) {
      // with a zone, the value is what ipv6ToBigInt makes of the whole text, as it always was
      const big = ipv6ToBigInt(ip);
      for (const r of this.v6) if (big >> BigInt(128 - r.bits) === r.prefix) return { protocol: r.protocol, matched: r.cidr };
      return undefined;
    }
    for (const r of this.v6) if (inPrefix(a.groups, r.net, r.bits)) return { protocol: r.protocol, matched: r.cidr };
    return undefined;
  }

  private indexV4(): void {
    const lists: number[][] = [];
    this.v4.forEach((r, i) => {
      const last = (r.base | ~r.mask) >>> 24;
      for (let o = r.base >>> 24; o <= last; o++) (lists[o] ??= []).push(i);
    });
    for (let o = 0; o < 256; o++) this.v4ByOctet[o] = lists[o] ? Uint32Array.from(lists[o]) : NO_RANGES;
    this.v4Indexed = true;
  }

  get size(): number {
    return this.v4.length + this.v6.length;
  }

  /** every range as [cidr, protocol] */
  entries(): [string, string][] {
    return [...this.v4, ...this.v6].map((r) => [r.cidr, r.protocol]);
  }
}

/** the first `bits` bits of the address `g` are those of `net` (both as eight 16-bit groups) */
function inPrefix(g: number[], net: number[], bits: number): boolean {
  const full = bits >> 4;
  for (let k = 0; k < full; k++) if (g[k] !== net[k]) return false;
  const rest = bits & 15;
  if (rest === 0) return true;
  const mask = (0xffff << (16 - rest)) & 0xffff;
  return (g[full] & mask) === net[full];
}

/**
 * The dotted-quad's value, or -1 when `ip` is not an IPv4 address in exactly the form net.isIPv4
 * accepts (four decimal parts 0–255, no leading zeros, nothing else).
 */
export function parseIpv4(ip: string): number {
  const n = ip.length;
  if (n < 7 || n > 15) return -1;
  let v = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  let lead0 = false;
  for (let i = 0; i < n; i++) {
    const c = ip.charCodeAt(i);
    if (c === 0x2e) {
      if (digits === 0 || dots === 3) return -1;
      v = v * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else if (c >= 0x30 && c <= 0x39) {
      if (digits === 0) lead0 = c === 0x30;
      else if (lead0) return -1;
      part = part * 10 + (c - 0x30);
      if (++digits > 3 || part > 255) return -1;
    } else {
      return -1;
    }
  }
  if (digits === 0 || dots !== 3) return -1;
  return v * 256 + part;
}

/**
 * The eight 16-bit groups of an IPv6 address, or null when `ip` is not one in a form net.isIPv6
 * accepts: 1–4 hex digits per group, at most one "::" standing for one or more zero groups, a dotted
 * IPv4 address (net.isIPv4 form) as the last two groups, an optional "%zone" ([0-9A-Za-z.:-]+).
 * `zone` tells whether a zone was given. One pass over the characters (net.isIPv6's RegExp costs
 * ~1.6 us a call, and ~11 ms to compile on first use).
 */
export function parseIpv6(ip: string): { groups: number[]; zone: boolean } | null {
  let end = ip.length;
  let zone = false;
  const pct = ip.indexOf('%');
  if (pct >= 0) {
    if (pct === ip.length - 1) return null;
    for (let i = pct + 1; i < ip.length; i++) {
      const c = ip.charCodeAt(i);
      const ok = (c >= 0x30 && c <= 0x3a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x2d || c === 0x2e;
      if (!ok) return null;
    }
    end = pct;
    zone = true;
  }
  const head: number[] = [];
  const tail: number[] = [];
  let cur = head;
  let compressed = false;
  let i = 0;
  if (end >= 2 && ip.charCodeAt(0) === 0x3a && ip.charCodeAt(1) === 0x3a) {
    compressed = true;
    cur = tail;
    i = 2;
    if (i === end) return { groups: [0, 0, 0, 0, 0, 0, 0, 0], zone };
  }
  for (;;) {
    // one group (or a final dotted IPv4) starting at i
    let j = i;
    let v = 0;
    while (j < end && j - i < 5) {
      const c = ip.charCodeAt(j);
      const h = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1;
      if (h < 0) break;
      v = v * 16 + h;
      j++;
    }
    if (j < end && ip.charCodeAt(j) === 0x2e) {
      // the dotted IPv4 ends the address
      let dot = i;
      while (dot < end && ip.charCodeAt(dot) !== 0x3a) dot++;
      if (dot !== end) return null;
      const v4 = parseIpv4(ip.slice(i, end));
      if (v4 < 0) return null;
      cur.push(Math.floor(v4 / 65536), v4 % 65536);
      break;
    }
    if (j === i || j - i > 4) return null;
    cur.push(v);
    if (j === end) break;
    if (ip.charCodeAt(j) !== 0x3a) return null;
    if (j + 1 < end && ip.charCodeAt(j + 1) === 0x3a) {
      if (compressed) return null;
      compressed = true;
      cur = tail;
      i = j + 2;
      if (i === end) break;
      continue;
    }
    i = j + 1;
    if (i === end) return null; // a single trailing ':'
  }
  const n = head.length + tail.length;
  if (compressed ? n > 7 : n !== 8) return null;
  const groups = head.concat(new Array(8 - n).fill(0), tail);
  return { groups, zone };
}

export function ipv4ToInt(ip: string): number {
  const p = ip.split('.');
  return (((+p[0] << 24) | (+p[1] << 16) | (+p[2] << 8) | +p[3]) >>> 0);
}

export function ipv6ToBigInt(ip: string): bigint {
  let s = ip;
  const v4 = s.match(/(\d+\.\d+\.\d+\.\d+)$/);
  if (v4) {
    const n = ipv4ToInt(v4[1]);
    s = s.slice(0, -v4[1].length) + ((n >>> 16).toString(16)) + ':' + ((n & 0xffff).toString(16));
  }
  const [head, tail] = s.split('::');
  const h = head ? head.split(':') : [];
  const t = tail !== undefined ? (tail ? tail.split(':') : []) : [];
  const groups = tail !== undefined ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  let v = 0n;
  for (const g of groups) v = (v << 16n) | BigInt(parseInt(g || '0', 16));
  return v;
}
