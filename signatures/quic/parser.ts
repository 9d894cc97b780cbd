// QUIC Initial packet decryption (RFC 9000/9001; RFC 9369 for v2; draft-29) and CRYPTO frame
// reassembly, to read the ClientHello a client sends in its first datagrams. Initial keys are
// derived from the client's Destination Connection ID with public salts, so any observer can
// decrypt them: that is by design of the protocol, not a weakness we exploit.
// Also reads the SNI tag of a Google QUIC (Q0xx) CHLO. Pure, bounded, never throws on bad input.
import crypto from 'node:crypto';

interface VersionParams { salt: Buffer; prefix: string; initialType: number }
const V1: VersionParams = { salt: Buffer.from('38762cf7f55934b34d179ae6a4c80cadccbb7f0a', 'hex'), prefix: 'quic ', initialType: 0 };
const VERSIONS = new Map<number, VersionParams>([
  [0x00000001, V1],
  [0x6b3343cf, { salt: Buffer.from('0dede3def700a6db819381be6e269dcbf9bd2ed9', 'hex'), prefix: 'quicv2 ', initialType: 1 }],
  [0xff00001d, { salt: Buffer.from('afbfec289993d24c9e9786f19c6111e04390a899', 'hex'), prefix: 'quic ', initialType: 0 }],
]);

export interface InitialKeys { key: Buffer; iv: Buffer; hp: Buffer }

export function hkdfExtract(salt: Buffer, ikm: Buffer): Buffer {
  return crypto.createHmac('sha256', salt).update(ikm).digest();
}

/** HKDF-Expand-Label (RFC 8446 §7.1) with an empty context. */
export function hkdfExpandLabel(secret: Buffer, label: string, length: number): Buffer {
  const full = Buffer.from('tls13 ' + label, 'latin1');
  const info = Buffer.concat([Buffer.from([length >> 8, length & 0xff, full.length]), full, Buffer.from([0])]);
  const out: Buffer[] = [];
  let prev = Buffer.alloc(0);
  for (let i = 1; Buffer.concat(out).length < length; i++) {
    prev = crypto.createHmac('sha256', secret).update(Buffer.concat([prev, info, Buffer.from([i])])).digest();
    out.push(prev);
  }
  return Buffer.concat(out).subarray(0, length);
}

export function initialKeys(version: number, dcid: Buffer, side: 'client' | 'server' = 'client'): InitialKeys | undefined {
  const v = VERSIONS.get(version);
  if (!v) return undefined;
  const initial = hkdfExtract(v.salt, dcid);
  const secret = hkdfExpandLabel(initial, side === 'client' ? 'client in' : 'server in', 32);
  return {
    key: hkdfExpandLabel(secret, v.prefix + 'key', 16),
    iv: hkdfExpandLabel(secret, v.prefix + 'iv', 12),
    hp: hkdfExpandLabel(secret, v.prefix + 'hp', 16),
  };
}

export function readVarint(b: Buffer, off: number): { v: number; next: number } | null {
  if (off >= b.length) return null;
  const len = 1 << (b[off] >> 6);
  if (off + len > b.length) return null;
  let v = b[off] & 0x3f;
  for (let i = 1; i < len; i++) v = v * 256 + b[off + i];
  return { v, next: off + len };
}

export interface InitialPacket {
  version: number;
  dcid: Buffer;
  /** decrypted frames, or undefined when decryption failed */
  payload?: Buffer;
  /** bytes of the datagram this packet used (coalesced packets follow) */
  size: number;
}

/** true when the datagram starts like a QUIC long-header packet of a version we can read */
export function looksLikeQuicInitial(d: Buffer): boolean {
  if (d.length < 7 || (d[0] & 0xc0) !== 0xc0) return false;
  const v = VERSIONS.get(d.readUInt32BE(1));
  return !!v && ((d[0] >> 4) & 3) === v.initialType;
}

/**
 * Parses (and with `keysFor`, decrypts) one long-header Initial packet at the start of `d`.
 * `keysFor(version, dcid)` lets the caller keep the keys of the flow's first DCID.
 */
export function parseInitial(d: Buffer, keysFor: (version: number, dcid: Buffer) => InitialKeys | undefined): InitialPacket | null {
  if (!looksLikeQuicInitial(d)) return null;
  const version = d.readUInt32BE(1);
  let p = 5;
  const dcil = d[p++];
  if (dcil > 20 || p + dcil >= d.length) return null;
  const dcid = d.subarray(p, p + dcil);
  p += dcil;
  const scil = d[p++];
  if (scil > 20 || p + scil > d.length) return null;
  p += scil;
  const tok = readVarint(d, p);
  if (!tok || tok.next + tok.v > d.length) return null;
  p = tok.next + tok.v;
  const len = readVarint(d, p);
  if (!len) return null;
  const pnOffset = len.next;
  const end = pnOffset + len.v;
  if (len.v < 20 || end > d.length) return null;
  const pkt: InitialPacket = { version, dcid: Buffer.from(dcid), size: end };
  const keys = keysFor(version, pkt.dcid);
  if (!keys) return pkt;
  try {
    const sample = d.subarray(pnOffset + 4, pnOffset + 20);
    if (sample.length < 16) return pkt;
    const ecb = crypto.createCipheriv('aes-128-ecb', keys.hp, null);
    const mask = ecb.update(sample);
    const first = d[0] ^ (mask[0] & 0x0f);
    const pnLen = (first & 3) + 1;
    const header = Buffer.from(d.subarray(0, pnOffset + pnLen));
    header[0] = first;
    let pn = 0;
    for (let i = 0; i < pnLen; i++) {
      header[pnOffset + i] ^= mask[1 + i];
      pn = pn * 256 + header[pnOffset + i];
    }
    const nonce = Buffer.from(keys.iv);
    for (let i = 0; i < 6; i++) nonce[11 - i] ^= Math.floor(pn / 2 ** (8 * i)) & 0xff;
    const body = d.subarray(pnOffset + pnLen, end);
    if (body.length < 17) return pkt;
    const dec = crypto.createDecipheriv('aes-128-gcm', keys.key, nonce);
    dec.setAAD(header);
    dec.setAuthTag(body.subarray(body.length - 16));
    pkt.payload = Buffer.concat([dec.update(body.subarray(0, body.length - 16)), dec.final()]);
  } catch {
    /* authentication failed: not the keys we thought (or not QUIC) */
  }
  return pkt;
}

export interface CryptoFragment { offset: number; data: Buffer }

/** CRYPTO frames of a decrypted Initial payload (PADDING, PING, ACK skipped; stops at anything else, or after 256 frames). */
export function cryptoFrames(payload: Buffer): CryptoFragment[] {
  const out: CryptoFragment[] = [];
  let p = 0;
  for (let n = 0; p < payload.length && n < 256; n++) {
    const t = payload[p];
    if (t === 0x00) {
      // a run of PADDING counts as one frame: Chrome puts hundreds of its bytes between CRYPTO frames
      while (p < payload.length && payload[p] === 0) p++;
      continue;
    }
    if (t === 0x01) {
      p++;
      continue;
    }
    if (t === 0x06) {
      const off = readVarint(payload, p + 1);
      const len = off && readVarint(payload, off.next);
      if (!off || !len || len.next + len.v > payload.length) break;
      out.push({ offset: off.v, data: payload.subarray(len.next, len.next + len.v) });
      p = len.next + len.v;
      continue;
    }
    if (t === 0x02 || t === 0x03) {
      // ACK: largest, delay, range count, first range, then count × (gap, range) [+ 3 ECN counts]
      let q: { v: number; next: number } | null = { v: 0, next: p + 1 };
      const fields: number[] = [];
      for (let i = 0; i < 4 && q; i++) {
        q = readVarint(payload, q.next);
        if (q) fields.push(q.v);
      }
      if (!q || fields[2] > 64) break;
      const extra = fields[2] * 2 + (t === 0x03 ? 3 : 0);
      for (let i = 0; i < extra && q; i++) q = readVarint(payload, q.next);
      if (!q) break;
      p = q.next;
      continue;
    }
    break;
  }
  return out;
}

/** Google QUIC: the SNI tag of a CHLO message anywhere in the first datagram (cleartext in Q0xx). */
export function gquicSni(d: Buffer): string | undefined | null {
  if (d.length < 20) return null;
  // Q0xx version tag in the public header: flags(1) cid(8) version(4) or IETF-style long header
  // (only the first 15 bytes can hold it: no search through the whole datagram)
  let hasVersion = -1;
  for (let i = 0; i <= 13; i++) {
    if (d[i] === 0x51 && d[i + 1] === 0x30) {
      hasVersion = i;
      break;
    }
  }
  if (hasVersion < 0) return null;
  const at = d.indexOf('CHLO', 0, 'latin1');
  if (at < 0 || at + 8 > d.length) return null;
  const n = d.readUInt16LE(at + 4);
  if (n === 0 || n > 64) return null;
  const table = at + 8;
  const values = table + n * 8;
  if (values > d.length) return null;
  let prevEnd = 0;
  for (let i = 0; i < n; i++) {
    const tag = d.toString('latin1', table + i * 8, table + i * 8 + 4);
    const endOff = d.readUInt32LE(table + i * 8 + 4);
    if (endOff < prevEnd || values + endOff > d.length) return null;
    if (tag === 'SNI\0') return d.toString('latin1', values + prevEnd, values + endOff).slice(0, 253);
    prevEnd = endOff;
  }
  return undefined;
}
