// YMSG wire format, pure: bytes → PDUs. 20-byte header ("YMSG", version u16, vendor u16, body length
// u16 BE, service u16, status u32, session id u32), then `key C0 80 value C0 80` pairs. The length is
// 16 bits, so one PDU is at most 65555 bytes; garbage before a header is skipped to the next "YMSG".
import { cp1252, dropTags } from '../text';
import { MagicFramer, type MagicFormat } from './framer';

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

const YMSG_FORMAT: MagicFormat<YmsgPdu> = {
  magic: MAGIC,
  garbage: 'bytes between YMSG PDUs',
  header: (b, pos) => (b.compare(MAGIC, 0, 4, pos, pos + 4) !== 0 ? false : b.length - pos < HEADER ? 'more' : true),
  headerSize: HEADER,
  lengthAt: 8,
  packet(b, pos, body, malformed) {
    const { fields, bad } = parseFields(body);
    if (bad) malformed('YMSG body is not key/value pairs');
    return { version: b.readUInt16BE(pos + 4), service: b.readUInt16BE(pos + 10), status: b.readUInt32BE(pos + 12), session: b.readUInt32BE(pos + 16), fields };
  },
};

/** YMSG PDUs from a stream (`synced` false: it may start mid-PDU, so skip to the first "YMSG") */
export class YmsgFramer extends MagicFramer<YmsgPdu> {
  constructor(onPdu: (p: YmsgPdu) => void, onMalformed: (reason: string) => void, synced = true) {
    super(YMSG_FORMAT, onPdu, onMalformed, synced);
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
