// IP addresses as text, formatted only when a flow is created (never per packet).
import net from 'node:net';

/** Dotted quad from 4 bytes at `off`. */
export function ipv4String(b: Uint8Array, off: number): string {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}

/** RFC 5952 text form of 16 bytes at `off` (longest zero run compressed, lower-case, IPv4-mapped kept dotted). */
export function ipv6String(b: Uint8Array, off: number): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((b[off + 2 * i] << 8) | b[off + 2 * i + 1]);
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    return `::ffff:${ipv4String(b, off + 12)}`;
  }
  let bestStart = -1, bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (a: number, z: number) => g.slice(a, z).map((x) => x.toString(16)).join(':');
  if (bestStart < 0) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLen, 8)}`;
}

// The last IPv4 texts made, direct-mapped by address: a network's flows go to a few servers (its DNS
// resolver, its proxies, the same CDNs) from a few thousand clients, so most flows find both texts here.
// A hit costs no allocation (a template literal is five cons strings and a flat copy, ~190 bytes that
// live as long as the flow) and hands out a string whose hash is already computed for the Map lookups
// each flow makes by address.
const V4_SLOTS = 8192;
const v4Addr = new Uint32Array(V4_SLOTS);
const v4Text: (string | undefined)[] = new Array(V4_SLOTS).fill(undefined);

function v4Text_(w: number): string {
  const i = Math.imul(w, 0x9e3779b1) >>> 19;
  const t = v4Text[i];
  if (t !== undefined && v4Addr[i] === w) return t;
  const s = `${w >>> 24}.${(w >>> 16) & 255}.${(w >>> 8) & 255}.${w & 255}`;
  v4Addr[i] = w;
  v4Text[i] = s;
  return s;
}

/** Address from the flow-key words (4 words; IPv4 uses only the first). */
export function keyAddrString(words: Uint32Array, off: number, v6: boolean): string {
  if (!v6) return v4Text_(words[off]);
  const b = new Uint8Array(16);
  for (let i = 0; i < 4; i++) {
    const w = words[off + i];
    b[i * 4] = w >>> 24;
    b[i * 4 + 1] = (w >>> 16) & 255;
    b[i * 4 + 2] = (w >>> 8) & 255;
    b[i * 4 + 3] = w & 255;
  }
  return ipv6String(b, 0);
}

/**
 * An address announced as text (an SDP, an XMPP streamhost, an MSNSLP body) in the form flows give
 * theirs: IPv6 as RFC 5952 (what ipv6String writes), an IPv4-mapped IPv6 address as its IPv4 (the
 * connection to it is IPv4), no zone id; undefined when it is no address.
 */
export function canonicalIp(text: string): string | undefined {
  const t = text.trim();
  const v = net.isIP(t);
  if (v === 4) return t;
  if (v !== 6) return undefined;
  const pct = t.indexOf('%');
  let host: string;
  try {
    // the WHATWG URL parser writes IPv6 as RFC 5952 does: lower case, the first longest zero run compressed
    host = new URL(`http://[${pct >= 0 ? t.slice(0, pct) : t}]/`).hostname.slice(1, -1);
  } catch {
    return undefined;
  }
  const m = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(host);
  if (!m) return host;
  const hi = parseInt(m[1], 16), lo = parseInt(m[2], 16);
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}
