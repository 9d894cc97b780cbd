// TLS 1.2 (and older) server flight: ServerHello + Certificate travel in the clear, so the server
// certificate's subject CN and subjectAltName dNSNames can name the service when the client sent no
// SNI. TLS 1.3 encrypts the certificate: nothing to read there. Pure and bounded.

const MAX_FLIGHT = 24 * 1024;
const OID_CN = Buffer.from('0603550403', 'hex');
const OID_SAN = Buffer.from('0603551d11', 'hex');

/** Names in the server's first certificate; 'more' while the flight is incomplete; null if none/not TLS ≤1.2. */
export function serverCertificateNames(data: Buffer): string[] | 'more' | null {
  if (data.length < 6) return data.length === 0 || data[0] === 0x16 ? 'more' : null;
  if (data[0] !== 0x16) return null;
  // the handshake stream: ServerHello, then Certificate (both in type-22 records)
  const stream = handshakeStream(data.subarray(0, MAX_FLIGHT));
  if (!stream) return null;
  let p = 0;
  for (let n = 0; n < 4; n++) {
    if (p + 4 > stream.length) return data.length >= MAX_FLIGHT ? null : 'more';
    const type = stream[p];
    const len = (stream[p + 1] << 16) | (stream[p + 2] << 8) | stream[p + 3];
    if (p + 4 + len > stream.length) return data.length >= MAX_FLIGHT || len > MAX_FLIGHT ? null : 'more';
    const body = stream.subarray(p + 4, p + 4 + len);
    if (type === 2 && isTls13ServerHello(body)) return null;
    if (type === 11) return namesFromCertificateMessage(body);
    if (type !== 2) return null;
    p += 4 + len;
  }
  return null;
}

function handshakeStream(data: Buffer): Buffer | null {
  const parts: Buffer[] = [];
  let off = 0;
  while (off + 5 <= data.length && parts.length < 64) {
    if (data[off] !== 0x16) break; // ChangeCipherSpec/encrypted data: the clear part is over
    const len = data.readUInt16BE(off + 3);
    if (data[off + 1] !== 0x03 || len === 0) return null;
    parts.push(data.subarray(off + 5, Math.min(off + 5 + len, data.length)));
    off += 5 + len;
  }
  return parts.length ? Buffer.concat(parts) : null;
}

function isTls13ServerHello(b: Buffer): boolean {
  // version(2) random(32) sid(1+n) cipher(2) compression(1) extensions(2+n): supported_versions = 0304
  let p = 34;
  if (p >= b.length) return false;
  p += 1 + b[p] + 3;
  if (p + 2 > b.length) return false;
  const end = Math.min(b.length, p + 2 + b.readUInt16BE(p));
  p += 2;
  while (p + 4 <= end) {
    const t = b.readUInt16BE(p), l = b.readUInt16BE(p + 2);
    if (t === 43 && l === 2 && p + 6 <= end) return b.readUInt16BE(p + 4) === 0x0304;
    p += 4 + l;
  }
  return false;
}

function namesFromCertificateMessage(b: Buffer): string[] | null {
  // certificate_list length (3), then each: length (3) + DER; we read the first (the server's own)
  if (b.length < 6) return null;
  const certLen = (b[3] << 16) | (b[4] << 8) | b[5];
  const cert = b.subarray(6, Math.min(b.length, 6 + certLen));
  const names = new Set<string>();
  // subject CN: the last commonName before the SAN (the issuer's comes first)
  let cn: string | undefined;
  for (let at = cert.indexOf(OID_CN), n = 0; at >= 0 && n < 8; at = cert.indexOf(OID_CN, at + 5), n++) {
    const v = derString(cert, at + OID_CN.length);
    if (v) cn = v;
  }
  const san = cert.indexOf(OID_SAN);
  if (san >= 0) {
    // [critical BOOLEAN] OCTET STRING { SEQUENCE { [2] dNSName ... } }
    let p = san + OID_SAN.length;
    if (cert[p] === 0x01) p += 3;
    if (cert[p] === 0x04) {
      p += 1 + lenBytes(cert, p + 1);
      if (cert[p] === 0x30) {
        const seqLen = derLen(cert, p + 1);
        p += 1 + lenBytes(cert, p + 1);
        const end = Math.min(cert.length, p + (seqLen ?? 0));
        for (let n = 0; p + 2 <= end && n < 100; n++) {
          const tag = cert[p];
          const l = derLen(cert, p + 1);
          if (l === undefined) break;
          const v0 = p + 1 + lenBytes(cert, p + 1);
          if (tag === 0x82 && v0 + l <= end) names.add(cert.toString('latin1', v0, v0 + l).toLowerCase());
          p = v0 + l;
        }
      }
    }
  }
  if (cn) names.add(cn.toLowerCase());
  const plain = names.size ? [...new Set([...names].map((n) => n.replace(/^\*\./, '')))] : [];
  return plain.filter((n) => /^[a-z0-9_.-]{1,253}$/.test(n)).slice(0, 100);
}

function lenBytes(b: Buffer, p: number): number {
  if (p >= b.length) return 1;
  return b[p] < 0x80 ? 1 : 1 + (b[p] & 0x7f);
}
function derLen(b: Buffer, p: number): number | undefined {
  if (p >= b.length) return undefined;
  if (b[p] < 0x80) return b[p];
  const n = b[p] & 0x7f;
  if (n === 0 || n > 3 || p + n >= b.length) return undefined;
  let v = 0;
  for (let i = 1; i <= n; i++) v = v * 256 + b[p + i];
  return v;
}
function derString(b: Buffer, p: number): string | undefined {
  const tag = b[p];
  if (![0x0c, 0x13, 0x16, 0x14].includes(tag)) return undefined;
  const l = derLen(b, p + 1);
  if (l === undefined || l > 255) return undefined;
  const v0 = p + 1 + lenBytes(b, p + 1);
  if (v0 + l > b.length) return undefined;
  return b.toString('latin1', v0, v0 + l);
}
