// Host-name and address tables built from every module's data.yaml: name/IP → protocol id.
// Host entries match the name itself and every sub-domain ("whatsapp.net" matches "g.whatsapp.net").
// A leading "*." or "." is accepted and means the same.

import net from 'node:net';

/** Reserved protocol id for host exceptions, e.g. config.edge.skype.com (used by all of Office) under skype.com. */
export const NOT_IM = 'not-im';

export class HostTable {
  private readonly exact = new Map<string, string>();

  add(host: string, protocol: string): void {
    const h = normalizeHost(host.replace(/^\*?\./, ''));
    if (h) this.exact.set(h, protocol);
  }

  /** Longest matching suffix on label boundaries wins. Bounded: at most 127 labels are tried. */
  lookup(name: string): { protocol: string; matched: string } | undefined {
    let h = normalizeHost(name);
    if (!h) return undefined;
    for (let i = 0; i < 127; i++) {
      const p = this.exact.get(h);
      // an exception (protocol NOT_IM) under an IM suffix: the longest match says "not IM"
      if (p) return p === NOT_IM ? undefined : { protocol: p, matched: h };
      const dot = h.indexOf('.');
      if (dot < 0) return undefined;
      h = h.slice(dot + 1);
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

export function normalizeHost(name: string): string {
  let h = name.trim().toLowerCase();
  if (h.endsWith('.')) h = h.slice(0, -1);
  if (h.length === 0 || h.length > 253) return '';
  // host names only: letters, digits, '-', '_', '.'
  if (!/^[a-z0-9_.-]+$/.test(h)) return '';
  return h;
}

interface V4Range { base: number; mask: number; bits: number; protocol: string; cidr: string }

/** CIDR table, longest prefix wins. IPv4 ranges are checked bit-exactly; IPv6 by prefix over the expanded form. */
export class CidrTable {
  private v4: V4Range[] = [];
  private v6: { prefix: bigint; bits: number; protocol: string; cidr: string }[] = [];

  add(cidr: string, protocol: string): void {
    const [addr, bitsStr] = cidr.trim().split('/');
    if (net.isIPv4(addr)) {
      const bits = bitsStr === undefined ? 32 : Number(bitsStr);
      if (!Number.isInteger(bits) || bits < 0 || bits > 32) throw new Error(`bad CIDR "${cidr}"`);
      const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
      this.v4.push({ base: (ipv4ToInt(addr) & mask) >>> 0, mask, bits, protocol, cidr });
      this.v4.sort((a, b) => b.bits - a.bits);
    } else if (net.isIPv6(addr)) {
      const bits = bitsStr === undefined ? 128 : Number(bitsStr);
      if (!Number.isInteger(bits) || bits < 0 || bits > 128) throw new Error(`bad CIDR "${cidr}"`);
      const v = ipv6ToBigInt(addr);
      const shift = BigInt(128 - bits);
      this.v6.push({ prefix: v >> shift, bits, protocol, cidr });
      this.v6.sort((a, b) => b.bits - a.bits);
    } else {
      throw new Error(`bad CIDR "${cidr}": not an IPv4 or IPv6 address`);
    }
  }

  lookup(ip: string): { protocol: string; matched: string } | undefined {
    if (net.isIPv4(ip)) {
      const v = ipv4ToInt(ip);
      for (const r of this.v4) if (((v & r.mask) >>> 0) === r.base) return { protocol: r.protocol, matched: r.cidr };
      return undefined;
    }
    if (this.v6.length && net.isIPv6(ip)) {
      const v = ipv6ToBigInt(ip);
      for (const r of this.v6) if (v >> BigInt(128 - r.bits) === r.prefix) return { protocol: r.protocol, matched: r.cidr };
    }
    return undefined;
  }

  get size(): number {
    return this.v4.length + this.v6.length;
  }

  /** every range as [cidr, protocol] */
  entries(): [string, string][] {
    return [...this.v4, ...this.v6].map((r) => [r.cidr, r.protocol]);
  }
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
