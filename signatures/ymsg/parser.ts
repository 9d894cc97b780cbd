// YMSG wire format, pure: bytes → PDUs. 20-byte header ("YMSG", version u16, vendor u16, body length
// u16 BE, service u16, status u32, session id u32), then `key C0 80 value C0 80` pairs. The length is
// 16 bits, so one PDU is at most 65555 bytes; garbage before a header is skipped to the next "YMSG".
import { ByteQueue, cp1252, dropTags } from '../text';

export interface YmsgPdu {
  version: number;
  service: number;
  status: number;
  session: number;
  fields: [string, Buffer][];
}

export const HEADER = 20;
const MAGIC = Buffer.from('YMSG');
const SEP = Buffer.from([0xc0, 0x80]);
const MAX_FIELDS = 4096;

/** The body's key/value pairs, in order (keys are ASCII digits; anything else ends the list). */
export function parseFields(body: Buffer): { fields: [string, Buffer][]; bad: boolean } {
  const fields: [string, Buffer][] = [];
  let pos = 0;
  let bad = false;
  while (pos < body.length && fields.length < MAX_FIELDS) {
    const k = body.indexOf(SEP, pos);
    if (k < 0) {
      // a trailing NUL or padding after the last pair is common in real captures
      if (body.subarray(pos).some((x) => x !== 0)) bad = true;
      break;
    }
    const key = body.toString('latin1', pos, k);
    if (!/^\d{1,5}$/.test(key)) {
      bad = true;
      break;
    }
    let v = body.indexOf(SEP, k + 2);
    if (v < 0) v = body.length; // last value without its separator
    fields.push([key, body.subarray(k + 2, v)]);
    pos = v + 2;
  }
  return { fields, bad };
}

/** Does a well-formed YMSG header start at `off` whose whole PDU is in `b`, and does the next one (if any) start right after? */
export function pduAt(b: Buffer, off: number): number {
  if (b.length - off < HEADER || b.compare(MAGIC, 0, 4, off, off + 4) !== 0) return -1;
  const len = b.readUInt16BE(off + 8);
  return off + HEADER + len <= b.length ? HEADER + len : -1;
}

/** The body looks like YMSG pairs: empty, or digits followed by C0 80. */
export function looksLikeBody(body: Buffer): boolean {
  if (!body.length) return true;
  let i = 0;
  while (i < body.length && i < 6 && body[i] >= 0x30 && body[i] <= 0x39) i++;
  return i > 0 && i + 1 < body.length && body[i] === 0xc0 && body[i + 1] === 0x80;
}

export class YmsgFramer {
  /**
   * bytes of a PDU not complete yet (or of a magic cut by a segment), in one growable buffer: a
   * 64 KiB PDU in 1-byte segments costs about its size (a Buffer per segment cost ~110 bytes a byte)
   */
  private q = new ByteQueue(0);
  private synced: boolean;

  /** `synced` false: the stream may start mid-PDU, so skip to the first "YMSG" */
  constructor(
    private readonly onPdu: (p: YmsgPdu) => void,
    private readonly onMalformed: (reason: string) => void,
    synced = true,
  ) {
    this.synced = synced;
  }

  push(data: Buffer): void {
    const b = this.q.feed(data);
    let pos = 0;
    while (b.length - pos >= 4) {
      if (b.compare(MAGIC, 0, 4, pos, pos + 4) !== 0) {
        const next = b.indexOf(MAGIC, pos + 1);
        // counted once per run of garbage: resynchronised at the next PDU
        if (this.synced) this.onMalformed('bytes between YMSG PDUs');
        this.synced = false;
        if (next < 0) {
          // keep the last 3 bytes: they may be the start of the next magic
          pos = Math.max(pos, b.length - 3);
          break;
        }
        pos = next;
        continue;
      }
      if (b.length - pos < HEADER) break;
      const len = b.readUInt16BE(pos + 8);
      if (b.length - pos < HEADER + len) break;
      const body = b.subarray(pos + HEADER, pos + HEADER + len);
      const { fields, bad } = parseFields(body);
      if (bad) this.onMalformed('YMSG body is not key/value pairs');
      // values point into `b` (the caller's buffer or the queue): the PDU is handled before push returns
      this.onPdu({
        version: b.readUInt16BE(pos + 4),
        service: b.readUInt16BE(pos + 10),
        status: b.readUInt32BE(pos + 12),
        session: b.readUInt32BE(pos + 16),
        fields,
      });
      pos += HEADER + len;
      this.synced = true;
    }
    this.q.keepFrom(b, pos);
  }

  /** bytes held for a PDU that has not completed */
  get buffered(): number {
    return this.q.length;
  }

  /** lost bytes: the next PDU boundary is unknown */
  resync(): void {
    this.q.clear();
    this.synced = false;
  }
}

// ---- text -----------------------------------------------------------------------------------

const utf8Strict = new TextDecoder('utf-8', { fatal: true });
const MAX_TEXT = 65536;

/** UTF-8 when flagged (key 97) or valid; Windows-1252 for legacy clients' bytes otherwise. */
export function decodeYahooText(b: Buffer, utf8Flag: boolean): string {
  const v = b.subarray(0, MAX_TEXT * 4);
  let s: string;
  if (utf8Flag) s = v.toString('utf8');
  else {
    try {
      s = utf8Strict.decode(v);
    } catch {
      s = cp1252(v);
    }
  }
  return stripStyle(s).slice(0, MAX_TEXT);
}

/** Yahoo's style tags, closing ones too (each up to 512 characters to its `>`; dropTags keeps it linear) */
const STYLE_TAG = /<\/?(?:font|b|i|u|s|fade|alt|snd)\b/gi;

/** Remove ANSI colour codes (ESC[…m, also Yahoo's ESC[#rrggbbm / ESC[x1m) and style tags. */
export function stripStyle(s: string): string {
  return (
    dropTags(
      // eslint-disable-next-line no-control-regex
      s.replace(/\u001b\[[0-9;#a-fA-Fx]{0,16}m/g, ''),
      STYLE_TAG,
      512,
    )
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '')
  );
}
