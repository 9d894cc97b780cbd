// TLS ClientHello parser: pulls the handshake message out of one or more TLS records (a ClientHello
// may span several records and TCP segments) and reads the server_name and ALPN extensions.
// Pure and bounded: the handshake is capped at MAX_HELLO bytes and every length is checked.

export interface ClientHello {
  /** host_name from the server_name extension, if any */
  sni?: string;
  alpn: string[];
  version: number;
}

export const MAX_HELLO = 32 * 1024;

/** 'more': a ClientHello so far, but incomplete; null: not a TLS ClientHello. */
export function parseTlsClientHello(data: Buffer): ClientHello | 'more' | null {
  const hs = handshakeBytes(data, 1);
  if (hs === null || hs === 'more') return hs;
  return parseClientHelloBody(hs);
}

/**
 * Concatenates the payload of consecutive handshake records (content type 22) until one whole
 * handshake message of type `want` is there; returns its body.
 */
export function handshakeBytes(data: Buffer, want: number): Buffer | 'more' | null {
  if (data.length < 1) return 'more';
  if (data[0] !== 0x16) return null;
  if (data.length >= 2 && data[1] !== 0x03) return null;
  if (data.length >= 3 && data[2] > 0x04) return null;
  // The usual case, one record holding the whole message: a view of it, without the loop's list of
  // parts (the same checks as the loop's first round; anything else goes on to the loop).
  if (data.length >= 9 && data[1] === 0x03) {
    const len = data.readUInt16BE(3);
    if (len === 0 || len > 16384 + 2048) return null;
    const have = Math.min(5 + len, data.length) - 5;
    if (have >= 4) {
      if (data[5] !== want) return null;
      const need = 4 + ((data[6] << 16) | (data[7] << 8) | data[8]);
      if (need > MAX_HELLO) return null;
      if (have >= need) return data.subarray(9, 5 + need);
    }
  }
  const parts: Buffer[] = [];
  let have = 0;
  let off = 0;
  let need = -1;
  while (off + 5 <= data.length) {
    if (data[off] !== 0x16 || data[off + 1] !== 0x03) return parts.length ? null : null;
    const len = data.readUInt16BE(off + 3);
    if (len === 0 || len > 16384 + 2048) return null;
    const end = Math.min(off + 5 + len, data.length);
    parts.push(data.subarray(off + 5, end));
    have += end - off - 5;
    if (need < 0 && have >= 4) {
      const first = parts.length === 1 ? parts[0] : Buffer.concat(parts);
      if (first[0] !== want) return null;
      need = 4 + ((first[1] << 16) | (first[2] << 8) | first[3]);
      if (need > MAX_HELLO) return null;
    }
    // one record holds it all (the usual case): a view, no copy
    if (need >= 0 && have >= need) return (parts.length === 1 ? parts[0] : Buffer.concat(parts)).subarray(4, need);
    if (end < off + 5 + len) return 'more';
    off += 5 + len;
    if (have > MAX_HELLO) return null;
  }
  return 'more';
}

export function parseClientHelloBody(b: Buffer): ClientHello | null {
  // version(2) random(32) session_id(1+n) cipher_suites(2+n) compression(1+n) extensions(2+n)
  let p = 0;
  if (b.length < 38) return null;
  const version = b.readUInt16BE(0);
  if (b[0] !== 0x03) return null;
  p = 34;
  const sid = b[p];
  if (sid > 32) return null;
  p += 1 + sid;
  if (p + 2 > b.length) return null;
  const cs = b.readUInt16BE(p);
  if (cs === 0 || cs % 2) return null;
  p += 2 + cs;
  if (p + 1 > b.length) return null;
  p += 1 + b[p];
  const hello: ClientHello = { alpn: [], version };
  if (p === b.length) return hello; // no extensions (very old clients)
  if (p + 2 > b.length) return null;
  const extEnd = Math.min(b.length, p + 2 + b.readUInt16BE(p));
  p += 2;
  let n = 0;
  while (p + 4 <= extEnd && n++ < 128) {
    const type = b.readUInt16BE(p);
    const len = b.readUInt16BE(p + 2);
    const body = p + 4;
    if (body + len > extEnd) return null;
    if (type === 0 && len >= 5) {
      // server_name_list: list length(2), [type(1) length(2) name]
      const nt = b[body + 2];
      const nl = b.readUInt16BE(body + 3);
      if (nt === 0 && nl > 0 && nl <= 255 && body + 5 + nl <= body + len) hello.sni = b.toString('latin1', body + 5, body + 5 + nl);
    } else if (type === 16 && len >= 2) {
      let q = body + 2;
      const end = Math.min(body + len, body + 2 + b.readUInt16BE(body));
      while (q < end && hello.alpn.length < 16) {
        const l = b[q];
        if (q + 1 + l > end) break;
        hello.alpn.push(b.toString('latin1', q + 1, q + 1 + l).slice(0, 64));
        q += 1 + l;
      }
    }
    p = body + len;
  }
  return hello;
}

/** A server name worth looking up: a host name, not an IP literal (some clients send those). */
export function usableServerName(sni: string | undefined): string | undefined {
  if (!sni) return undefined;
  // ASCII names (nearly all) by one pass over the characters; anything else as below
  let n = sni.length;
  if (sni.charCodeAt(n - 1) === 0x2e) n--;
  let upper = false;
  let ipLike = true;
  let dots = 0;
  let group = 0;
  let i = 0;
  for (; i < n; i++) {
    const c = sni.charCodeAt(i);
    if (c >= 0x30 && c <= 0x39) {
      group++;
      continue;
    }
    if (c === 0x2e) {
      if (group === 0) ipLike = false;
      dots++;
      group = 0;
      continue;
    }
    ipLike = false;
    if ((c >= 0x61 && c <= 0x7a) || c === 0x5f || c === 0x2d) continue;
    if (c >= 0x41 && c <= 0x5a) {
      upper = true;
      continue;
    }
    break;
  }
  if (i === n) {
    if (n < 1 || n > 253) return undefined;
    if (ipLike && dots === 3 && group > 0) return undefined;
    const s = n === sni.length ? sni : sni.slice(0, n);
    return upper ? s.toLowerCase() : s;
  }
  if (sni.charCodeAt(i) < 0x80) return undefined; // a character no host name has, in any case
  return usableServerNameSlow(sni);
}

function usableServerNameSlow(sni: string): string | undefined {
  const s = sni.toLowerCase().replace(/\.$/, '');
  if (!/^[a-z0-9_.-]{1,253}$/.test(s)) return undefined;
  if (/^\d+\.\d+\.\d+\.\d+$/.test(s)) return undefined;
  return s;
}
