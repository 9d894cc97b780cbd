// MSNP wire format, pure: bytes → commands. `CMD TrID args\r\n`, and for payload commands (MSG, UUX,
// NOT, …) the last argument is a byte count that follows the line. Bounded: a line longer than
// maxLine is dropped up to its end, a payload longer than maxPayload is skipped unread.
import { ByteQueue } from '../text';

export interface MsnCommand {
  cmd: string;
  args: string[];
  payload?: Buffer;
}

/** commands whose last argument is the length of a payload that follows the line */
export const PAYLOAD_COMMANDS = new Set([
  'MSG', 'UUX', 'UBX', 'NOT', 'GCF', 'ADL', 'RML', 'QRY', 'PAG', 'IPG', 'FQY', 'UUN', 'UBN', 'UUM', 'UBM',
  'SDG', 'NFY', 'PUT', 'DEL', 'SDC', '801', '241', '508', '509', '511', '933',
]);

export interface FramerLimits {
  maxLine?: number;
  maxPayload?: number;
  /** commands whose last argument is a payload length (default PAYLOAD_COMMANDS) */
  payloadCommands?: Set<string>;
}

export class MsnFramer {
  /** the start of a line whose CRLF has not arrived (at most maxLine bytes) */
  private partial = new ByteQueue();
  private pending: MsnCommand | null = null;
  private need = 0;
  /** payload bytes of `pending` so far, kept as parts: a 1 MiB payload in small segments is not re-copied */
  private parts: Buffer[] = [];
  private partsLen = 0;
  private skip = 0;
  /** dropping an over-long line up to its end */
  private discarding = false;
  readonly maxLine: number;
  readonly maxPayload: number;

  constructor(
    private readonly onCommand: (c: MsnCommand) => void,
    private readonly onMalformed: (reason: string) => void,
    limits: FramerLimits = {},
  ) {
    this.maxLine = limits.maxLine ?? 16384;
    this.maxPayload = limits.maxPayload ?? 1 << 20;
    this.payloadCommands = limits.payloadCommands ?? PAYLOAD_COMMANDS;
  }

  private readonly payloadCommands: Set<string>;

  /** bytes held while waiting for the rest of a line or payload */
  get buffered(): number {
    return this.partial.length + this.partsLen;
  }

  /** a payload command is waiting for bytes that have not arrived */
  get awaitingPayload(): boolean {
    return this.pending !== null;
  }

  push(data: Buffer): void {
    let pos = 0;
    while (pos < data.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, data.length - pos);
        this.skip -= n;
        pos += n;
        continue;
      }
      if (this.pending) {
        const take = Math.min(this.need - this.partsLen, data.length - pos);
        this.parts.push(Buffer.from(data.subarray(pos, pos + take)));
        this.partsLen += take;
        pos += take;
        if (this.partsLen < this.need) return;
        const c = this.pending;
        c.payload = this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts, this.partsLen);
        this.pending = null;
        this.parts = [];
        this.partsLen = 0;
        this.onCommand(c);
        continue;
      }
      const nl = data.indexOf(0x0a, pos);
      if (nl < 0) {
        const rest = data.subarray(pos);
        if (this.discarding) return;
        if (this.partial.length + rest.length > this.maxLine) {
          this.onMalformed('line without CRLF longer than the limit');
          this.discarding = true;
          this.partial.clear();
          return;
        }
        this.partial.push(rest);
        return;
      }
      let lineBytes = data.subarray(pos, nl);
      pos = nl + 1;
      if (this.discarding) {
        this.discarding = false;
        continue;
      }
      const held = this.partial.length;
      if (held + lineBytes.length > this.maxLine) {
        this.partial.clear();
        this.onMalformed('line longer than the limit');
        continue;
      }
      if (held) {
        this.partial.push(lineBytes);
        lineBytes = this.partial.view();
      }
      // a string before the queue is cleared: nothing keeps a view of it
      const line = lineBytes.toString('utf8').replace(/\r$/, '');
      this.partial.clear();
      if (line) this.line(line);
    }
  }

  private line(line: string): void {
    const parts = line.split(' ');
    const cmd = parts[0];
    if (!/^[A-Z0-9]{3}$/.test(cmd)) {
      this.onMalformed('not an MSNP command line');
      return;
    }
    const args = parts.slice(1, 64);
    const c: MsnCommand = { cmd, args };
    if (this.payloadCommands.has(cmd) && args.length >= 1) {
      const last = args[args.length - 1];
      if (/^\d{1,10}$/.test(last)) {
        const n = Number(last);
        if (n > this.maxPayload) {
          this.onMalformed(`${cmd} payload of ${n} bytes exceeds the limit`);
          this.skip = n;
          return;
        }
        if (n > 0) {
          this.pending = c;
          this.need = n;
          return;
        }
      }
    }
    this.onCommand(c);
  }
}

// ---- MIME payloads of MSG --------------------------------------------------------------------

export interface Mime {
  headers: Map<string, string>;
  body: Buffer;
}

const CRLFCRLF = Buffer.from('\r\n\r\n');

/** Header block + blank line + body (header names lower-cased). Without a blank line, all headers. */
export function parseMime(p: Buffer): Mime {
  let end = p.indexOf(CRLFCRLF);
  let bodyStart = end + 4;
  if (end < 0) {
    end = p.length;
    bodyStart = p.length;
  }
  return { headers: parseHeaderLines(p.toString('utf8', 0, Math.min(end, 65536))), body: p.subarray(bodyStart) };
}

export function parseHeaderLines(text: string): Map<string, string> {
  const h = new Map<string, string>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length && i < 256; i++) {
    const c = lines[i].indexOf(':');
    if (c <= 0) continue;
    const k = lines[i].slice(0, c).trim().toLowerCase();
    if (!h.has(k)) h.set(k, lines[i].slice(c + 1).trim().slice(0, 4096));
  }
  return h;
}

/** 'text/plain; charset=UTF-8' → { type: 'text/plain', charset: 'utf-8' } */
export function contentType(v: string | undefined): { type: string; charset?: string } {
  if (!v) return { type: '' };
  const [t, ...params] = v.split(';');
  let charset: string | undefined;
  for (const p of params) {
    const m = /^\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(p);
    if (m) charset = m[1].toLowerCase();
  }
  return { type: t.trim().toLowerCase(), charset };
}

// ---- MSNP2P (application/x-msnmsgrp2p) -------------------------------------------------------

export interface P2PHeader {
  sessionId: number;
  id: number;
  offset: number;
  total: number;
  length: number;
  flags: number;
}

export const P2P_HEADER = 48;

/** The 48-byte little-endian binary header and the data it frames (footer excluded). */
export function parseP2P(b: Buffer): { h: P2PHeader; data: Buffer } | null {
  if (b.length < P2P_HEADER) return null;
  const offset = Number(b.readBigUInt64LE(8));
  const total = Number(b.readBigUInt64LE(16));
  const length = b.readUInt32LE(24);
  if (length > b.length - P2P_HEADER || !Number.isSafeInteger(offset) || !Number.isSafeInteger(total)) return null;
  const h: P2PHeader = { sessionId: b.readUInt32LE(0), id: b.readUInt32LE(4), offset, total, length, flags: b.readUInt32LE(28) };
  return { h, data: b.subarray(P2P_HEADER, P2P_HEADER + length) };
}

export const EUF_FILE_TRANSFER = '5D3E02AB-6190-11D3-BBBB-00C04F795683';

export interface SlpInvite {
  method: string;
  to: string;
  from: string;
  eufGuid?: string;
  sessionId?: number;
  context?: Buffer;
}

/** An MSNSLP message (`INVITE MSNMSGR:… MSNSLP/1.0` + headers + body headers). */
export function parseSlp(text: string): SlpInvite | null {
  const m = /^([A-Z]+) MSNMSGR:\S* MSNSLP\/1\.0\r?\n/.exec(text);
  const m2 = m ? null : /^MSNSLP\/1\.0 (\d{3})/.exec(text);
  if (!m && !m2) return null;
  const h = parseHeaderLines(text);
  const addr = (v: string | undefined) => (v ?? '').replace(/^<msnmsgr:/i, '').replace(/>$/, '').replace(/;\{.*\}$/, '').trim();
  const sid = h.get('sessionid');
  let context: Buffer | undefined;
  const ctx = h.get('context');
  if (ctx && /^[A-Za-z0-9+/=]+$/.test(ctx)) context = Buffer.from(ctx, 'base64');
  return {
    method: m ? m[1] : `STATUS ${m2![1]}`,
    to: addr(h.get('to')),
    from: addr(h.get('from')),
    eufGuid: h.get('euf-guid')?.replace(/[{}]/g, '').toUpperCase(),
    sessionId: sid && /^\d{1,10}$/.test(sid) ? Number(sid) : undefined,
    context,
  };
}

/** File-transfer context: u32 length, u32 version, u64 size, u32 type, UTF-16LE name (520 bytes). */
export function parseFtContext(c: Buffer): { filename: string; size: number } | null {
  if (c.length < 22) return null;
  const size = Number(c.readBigUInt64LE(8));
  const nameBytes = c.subarray(20, Math.min(c.length, 20 + 520));
  let end = 0;
  while (end + 1 < nameBytes.length && (nameBytes[end] | nameBytes[end + 1]) !== 0) end += 2;
  const filename = nameBytes.toString('utf16le', 0, end);
  if (!filename || !Number.isSafeInteger(size)) return null;
  return { filename, size };
}
