// Cheap, safe metadata from a carved file's structure, with bounded effort: zip member names and
// count, encryption (general-purpose bit 0), Office macros (vbaProject.bin in OOXML, _VBA_PROJECT in
// OLE), docx/xlsx/pptx core properties, PDF info and encryption, and the text of office documents,
// PDFs (analyzer/files/pdf.ts), Word/Excel/PowerPoint 97–2003 (ole.ts, doc.ts, xls.ts, ppt.ts) and RTF (rtf.ts) for DLP. Small members are inflated in memory (zlib inflateRaw with
// an output cap); nothing is ever extracted to disk.
import fs from 'node:fs';
import zlib from 'node:zlib';
import type { FileInfo } from '../../common/events';
import { fileTypeOf, oleKind, zipKindFromNames } from '../../signatures/fileType';
import { PdfDoc } from './pdf';
import { OleFile, type OleStream } from './ole';
import { docText, readFib } from './doc';
import { xlsEncrypted, xlsText } from './xls';
import { pptEncrypted, pptText } from './ppt';
import { rtfText } from './rtf';
import { dropScriptStyle, dropTags } from '../../signatures/text';

/** Random access to a file's bytes: the spool, or only the head kept in memory. */
export interface ByteSource {
  size: number;
  read(offset: number, length: number): Buffer;
}

export function bufferSource(b: Buffer): ByteSource {
  return { size: b.length, read: (o, n) => b.subarray(Math.max(0, o), Math.min(b.length, o + n)) };
}

/** Opens a file for bounded reads; close() when done. */
export function fileSource(p: string): ByteSource & { close(): void } {
  const fd = fs.openSync(p, fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW ?? 0));
  const size = fs.fstatSync(fd).size;
  return {
    size,
    read(o, n) {
      const len = Math.max(0, Math.min(n, size - o));
      const b = Buffer.alloc(len);
      let got = 0;
      while (got < len) {
        const r = fs.readSync(fd, b, got, len - got, o + got);
        if (r <= 0) break;
        got += r;
      }
      return got === len ? b : b.subarray(0, got);
    },
    close: () => fs.closeSync(fd),
  };
}

export interface ZipEntry {
  name: string;
  flags: number;
  method: number;
  compSize: number;
  size: number;
  localOffset: number;
}

const MAX_ENTRIES = 10_000;
const MAX_CD_BYTES = 4 * 1024 * 1024;
const MAX_MEMBER_OUT = 4 * 1024 * 1024;
const MAX_MEMBER_IN = 8 * 1024 * 1024;
const MAX_NAMES = 20;
const OLE_SCAN_BYTES = 8 * 1024 * 1024;

/** The zip central directory (bounded); undefined when it cannot be found (truncated file, head only). */
export function zipEntries(src: ByteSource): ZipEntry[] | undefined {
  const tailLen = Math.min(src.size, 65557);
  const tail = src.read(src.size - tailLen, tailLen);
  let eocd = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) return undefined;
  const count = tail.readUInt16LE(eocd + 10);
  const cdSize = tail.readUInt32LE(eocd + 12);
  const cdOff = tail.readUInt32LE(eocd + 16);
  if (cdSize > MAX_CD_BYTES || cdOff + cdSize > src.size) return undefined;
  const cd = src.read(cdOff, cdSize);
  const out: ZipEntry[] = [];
  let p = 0;
  while (p + 46 <= cd.length && out.length < Math.min(count || MAX_ENTRIES, MAX_ENTRIES)) {
    if (cd.readUInt32LE(p) !== 0x02014b50) break;
    const nlen = cd.readUInt16LE(p + 28), xlen = cd.readUInt16LE(p + 30), clen = cd.readUInt16LE(p + 32);
    out.push({
      flags: cd.readUInt16LE(p + 8),
      method: cd.readUInt16LE(p + 10),
      compSize: cd.readUInt32LE(p + 20),
      size: cd.readUInt32LE(p + 24),
      name: cd.toString('utf8', p + 46, Math.min(cd.length, p + 46 + nlen)),
      localOffset: cd.readUInt32LE(p + 42),
    });
    p += 46 + nlen + xlen + clen;
  }
  return out;
}

/** Local headers walked from the start (when there is no central directory): names and flags only. */
function zipLocalEntries(src: ByteSource): ZipEntry[] {
  const b = src.read(0, Math.min(src.size, MAX_MEMBER_IN));
  const out: ZipEntry[] = [];
  let i = 0;
  while (i + 30 <= b.length && out.length < MAX_ENTRIES && b.readUInt32LE(i) === 0x04034b50) {
    const flags = b.readUInt16LE(i + 6), method = b.readUInt16LE(i + 8);
    const compSize = b.readUInt32LE(i + 18), size = b.readUInt32LE(i + 22);
    const nlen = b.readUInt16LE(i + 26), xlen = b.readUInt16LE(i + 28);
    out.push({ flags, method, compSize, size, name: b.toString('utf8', i + 30, Math.min(b.length, i + 30 + nlen)), localOffset: i });
    // a data descriptor (bit 3) leaves the size unknown here: stop rather than guess
    if (flags & 8) break;
    i += 30 + nlen + xlen + compSize;
  }
  return out;
}

/**
 * One member's bytes, at most `maxOut` (a larger member: its first `maxOut` bytes, which is what its
 * text needs); undefined when encrypted, unsupported or unreadable. At most MAX_MEMBER_IN compressed
 * bytes are read.
 */
export function zipMember(src: ByteSource, e: ZipEntry, maxOut = MAX_MEMBER_OUT): Buffer | undefined {
  if (e.flags & 1) return undefined;
  if (e.compSize === 0xffffffff) return undefined;
  const lh = src.read(e.localOffset, 30);
  if (lh.length < 30 || lh.readUInt32LE(0) !== 0x04034b50) return undefined;
  const start = e.localOffset + 30 + lh.readUInt16LE(26) + lh.readUInt16LE(28);
  if (e.method === 0) {
    const data = src.read(start, Math.min(e.compSize, maxOut));
    return data.length ? data : undefined;
  }
  if (e.method !== 8) return undefined;
  const want = Math.min(e.compSize, MAX_MEMBER_IN);
  const data = src.read(start, want);
  if (data.length < want) return undefined;
  if (want === e.compSize) {
    try {
      return zlib.inflateRawSync(data, { maxOutputLength: maxOut });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ERR_BUFFER_TOO_LARGE') return undefined;
    }
  }
  return inflatePrefix(data, maxOut);
}

/**
 * The first bytes (at most `maxOut`) a deflate stream inflates to, from a prefix of it. Was: a member
 * over the cap was dropped whole, so a card number in a 300 KB document.xml was never scanned.
 * Prefixes double from the shortest that could give `maxOut` (deflate expands at most 1032:1), so
 * the tries inflate about twice what is kept; past the cap, a few halvings look for at least half.
 */
function inflatePrefix(data: Buffer, maxOut: number): Buffer | undefined {
  const tryLen = (n: number): Buffer | 'over' | undefined => {
    try {
      return zlib.inflateRawSync(data.subarray(0, n), { maxOutputLength: maxOut, finishFlush: zlib.constants.Z_SYNC_FLUSH });
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' ? 'over' : undefined;
    }
  };
  let best: Buffer | undefined;
  let lo = 0;
  let hi = data.length;
  for (let n = Math.min(data.length, Math.max(64, maxOut >> 10)); ; n = Math.min(data.length, n * 2)) {
    const r = tryLen(n);
    if (r === undefined) return best; // corrupt past here: what came before
    if (r === 'over') {
      hi = n;
      break;
    }
    best = r;
    lo = n;
    if (r.length >= maxOut || n === data.length) return best;
  }
  for (let i = 0; i < 8 && hi - lo > 64 && (best?.length ?? 0) < maxOut >> 1; i++) {
    const mid = lo + ((hi - lo) >> 1);
    const r = tryLen(mid);
    if (r === undefined) break;
    if (r === 'over') hi = mid;
    else {
      best = r;
      lo = mid;
    }
  }
  return best;
}

export interface Inspection {
  /** true type, refined with the whole file when available (central directory names, OLE directory) */
  type: string;
  info: FileInfo;
  /** zip members (for text extraction) */
  entries?: ZipEntry[];
  /** a PDF's object structure (text is extracted from it on demand) */
  pdf?: PdfDoc;
  /** a Word, Excel or PowerPoint 97–2003 compound file (text is extracted from it on demand) */
  ole?: OleFile;
}

export function inspect(src: ByteSource, headType: string): Inspection {
  const info: FileInfo = {};
  let type = headType;
  const zipLike = ['zip', 'docx', 'xlsx', 'pptx', 'ooxml', 'jar', 'apk', 'odf'].includes(headType);
  if (zipLike) {
    const entries = zipEntries(src) ?? zipLocalEntries(src);
    if (entries.length) {
      info.members = entries.length;
      info.member_names = entries.slice(0, MAX_NAMES).map((e) => cleanText(e.name, 128));
      if (entries.some((e) => e.flags & 1)) info.encrypted = true;
      if (entries.some((e) => /(^|\/)vbaProject\.bin$/i.test(e.name))) info.macros = true;
      type = zipKindFromNames(entries.map((e) => e.name), src.read(0, 256));
      const core = entries.find((e) => e.name === 'docProps/core.xml');
      if (core) {
        const xml = zipMember(src, core, 256 * 1024)?.toString('utf8');
        if (xml) {
          const title = xmlElement(xml, 'dc:title'), creator = xmlElement(xml, 'dc:creator');
          if (title) info.title = title;
          if (creator) info.creator = creator;
        }
      }
      return { type, info, entries };
    }
  } else if (headType.startsWith('ole') || ['doc', 'xls', 'ppt', 'msi', 'office-encrypted'].includes(headType)) {
    const b = src.read(0, Math.min(src.size, OLE_SCAN_BYTES));
    type = oleKind(b);
    if (b.includes(U16_VBA) || b.includes(U16_MACROS)) info.macros = true;
    if (type === 'office-encrypted') info.encrypted = true;
    const reader = OLE_READERS.get(type);
    if (reader) {
      const ole = safe(() => OleFile.open(src));
      if (ole) {
        if (safe(() => reader.encrypted(ole))) info.encrypted = true;
        return { type, info, ole };
      }
    }
  } else if (headType === 'pdf') {
    // an encrypted PDF (/Encrypt in a trailer) has no readable text: flagged like an encrypted archive
    const pdf = PdfDoc.fromSource(src);
    if (pdf.encrypted) info.encrypted = true;
    const meta = pdf.info();
    if (meta.title && cleanText(meta.title, 128)) info.title = cleanText(meta.title, 128);
    if (meta.author && cleanText(meta.author, 128)) info.creator = cleanText(meta.author, 128);
    return { type, info, pdf };
  } else if (headType === 'data' && src.size > 32774) {
    // the head may have been shorter than a late magic (ISO 9660 at 32769)
    const t = fileTypeOf(src.read(0, 33 * 1024));
    if (t !== 'data') type = t;
  }
  return { type, info };
}
const U16_VBA = Buffer.from('_VBA_PROJECT', 'utf16le');

/** Word, Excel and PowerPoint 97–2003: the older formats' own encryption (RC4/XOR), and their text */
const OLE_READERS = new Map<string, { encrypted(ole: OleFile): boolean; text(ole: OleFile, maxChars: number): string }>([
  ['doc', { encrypted: (ole) => withStream(ole, 'WordDocument', (s) => !!readFib(s)?.encrypted, false), text: docText }], // FIB fEncrypted/fObfuscated
  ['xls', { encrypted: (ole) => withStream(ole, 'Workbook', xlsEncrypted, false), text: (ole, max) => withStream(ole, 'Workbook', (s) => xlsText(s, max), '') }], // FILEPASS
  ['ppt', { encrypted: pptEncrypted, text: pptText }], // CryptSession10Container, Current User token
]);
function withStream<T>(ole: OleFile, name: string, f: (s: OleStream) => T, none: T): T {
  const s = ole.stream(name);
  return s ? f(s) : none;
}
const U16_MACROS = Buffer.from('Macros', 'utf16le');

// ---- text for DLP ----

const TEXT_TYPES = new Set(['text', 'html', 'xml', 'svg', 'script']);
/** RTF bytes read (pictures and objects before the text can be large) */
const RTF_MAX_BYTES = 32 * 1024 * 1024;

/** a reader of a hostile structure must not take the file service down: a bug is no text */
function safe<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch (e) {
    if (process.env.SHADOWIM_DEBUG) console.error(e);
    return undefined;
  }
}

/** The text a DLP detector should read, at most `maxChars`; undefined when the type carries none we can read. */
export function textOf(src: ByteSource, ins: Inspection, maxChars: number): string | undefined {
  if (TEXT_TYPES.has(ins.type)) {
    const b = src.read(0, Math.min(src.size, maxChars * 2));
    let s: string;
    if (b[0] === 0xff && b[1] === 0xfe) s = b.subarray(2).toString('utf16le');
    else if (b[0] === 0xfe && b[1] === 0xff) s = Buffer.from(b.subarray(2)).swap16().toString('utf16le');
    else s = b.toString('utf8');
    if (ins.type === 'html' || ins.type === 'xml' || ins.type === 'svg') s = xmlText(s);
    return s.slice(0, maxChars);
  }
  if (ins.type === 'rtf') return safe(() => rtfText(src.read(0, Math.min(src.size, RTF_MAX_BYTES)), maxChars)) || undefined;
  if (ins.ole) {
    const ole = ins.ole, reader = OLE_READERS.get(ins.type);
    if (ins.info.encrypted || !reader) return undefined;
    return safe(() => reader.text(ole, maxChars)) || undefined;
  }
  if (ins.pdf) return ins.pdf.encrypted ? undefined : ins.pdf.text(maxChars, xmlText) || undefined;
  if (!ins.entries || ins.info.encrypted) return undefined;
  const want = (n: string) =>
    (ins.type === 'docx' && /^word\/(document|header\d*|footer\d*|footnotes|endnotes|comments)\.xml$/.test(n)) ||
    (ins.type === 'xlsx' && (n === 'xl/sharedStrings.xml' || /^xl\/worksheets\/sheet\d+\.xml$/.test(n))) ||
    (ins.type === 'pptx' && /^ppt\/(slides\/slide|notesSlides\/notesSlide)\d+\.xml$/.test(n)) ||
    (ins.type === 'odf' && n === 'content.xml');
  const parts: string[] = [];
  let total = 0;
  let members = 0;
  for (const e of ins.entries) {
    if (total >= maxChars || members >= 64) break;
    if (!want(e.name)) continue;
    members++;
    const b = zipMember(src, e, Math.min(MAX_MEMBER_OUT, maxChars * 4));
    if (!b) continue;
    const t = xmlText(b.toString('utf8'));
    parts.push(t);
    total += t.length;
  }
  return parts.length ? parts.join('\n').slice(0, maxChars) : undefined;
}

/**
 * Markup → text: paragraph, row and cell ends become separators, other tags vanish (runs join up).
 * Linear in the input (it may be megabytes of hostile markup: an XMP packet, an HTML file): the
 * script/style and tag steps are not RegExps that rescan to the end from every unclosed `<script`,
 * `<br ` or `<`, and the separators are only looked for before the last `>` (each ends with one).
 */
export function xmlText(xml: string): string {
  const s = dropScriptStyle(xml, ' ', false);
  const k = s.lastIndexOf('>') + 1;
  return decodeEntities(
    dropTags(
      (s.slice(0, k).replace(/<\/(w:p|a:p|p|div|br|tr|row|si|text:p|li|h\d)\s*>|<(w:br|w:tab|br|row)\b[^>]*\/?>/gi, '\n') + s.slice(k))
        .replace(/<\/(c|v|td|th|w:tc|a:t)\s*>/gi, ' '),
      ANY_TAG,
      4096,
    ),
  );
}

/** any tag: `<` and up to 4,096 characters to its `>` */
const ANY_TAG = /</g;

function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]{1,6}|#\d{1,7}|amp|lt|gt|quot|apos|nbsp);/gi, (_m, e: string) => {
    const l = e.toLowerCase();
    if (l === 'amp') return '&';
    if (l === 'lt') return '<';
    if (l === 'gt') return '>';
    if (l === 'quot') return '"';
    if (l === 'apos') return "'";
    if (l === 'nbsp') return ' ';
    const n = l.startsWith('#x') ? parseInt(l.slice(2), 16) : parseInt(l.slice(1), 10);
    return n > 0 && n <= 0x10ffff ? String.fromCodePoint(n) : '';
  });
}

function xmlElement(xml: string, tag: string): string | undefined {
  const m = new RegExp(`<${tag}(?:\\s[^>]{0,512})?>([^<]{0,2048})</${tag}>`).exec(xml);
  return m ? cleanText(decodeEntities(m[1]), 128) || undefined : undefined;
}

/** Text from a file's structure shown in events: no control or formatting characters, bounded. */
export function cleanText(s: string, max: number): string {
  // eslint-disable-next-line no-control-regex
  const t = s.replace(/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/g, '').trim();
  return t.length > max ? t.slice(0, max - 1) + '…' : t;
}
