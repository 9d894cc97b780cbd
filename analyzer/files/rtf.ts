// Text of RTF documents (RTF 1.9.1): one pass over the bytes, linear whatever the input. Groups are
// followed to a bounded depth (deeper braces are only counted); ignorable destinations (`{\*\…}`) and
// the ones without document text (font, color and style tables, info, pictures, objects, field
// instructions, …) are skipped; `\'hh` is decoded in the document's code page (`\ansicpg`, cp1252 by
// default), `\uN` as UTF-16 with its `\ucN` fallback characters dropped; paragraph, line, row, cell and
// tab control words become separators, `\~` a space, `\-` nothing — so a card number written with
// non-breaking spaces or with a control word between its groups reads whole, and picture hex does not.

import { cp1252 } from '../../signatures/text';

const MAX_DEPTH = 256;
const MAX_WORD = 32;

/** destinations whose content is not document text */
const SKIP = new Set([
  'fonttbl', 'colortbl', 'stylesheet', 'info', 'pict', 'object', 'objdata', 'objclass', 'listtable', 'listoverridetable',
  'revtbl', 'rsidtbl', 'generator', 'xmlnsdecl', 'datastore', 'themedata', 'colorschememapping', 'latentstyles',
  'fldinst', 'filetbl', 'pgdsctbl', 'nonshppict', 'bkmkstart', 'bkmkend', 'datafield', 'mmathPr', 'fontemb', 'fontfile',
  'private', 'userprops', 'docvar', 'xe', 'tc', 'pn', 'pntxta', 'pntxtb', 'blipuid', 'sp', 'sn', 'sv',
]);
const NEWLINE = new Set(['par', 'line', 'sect', 'page', 'row', 'softline', 'column', 'nestrow']);
const TAB = new Set(['tab', 'cell', 'nestcell']);
// a Map, not an object: `\constructor` or `\toString` found Object's own members (`in`) and put
// "function Object() { [native code] }" in the text
const CHAR = new Map<string, string>([
  ['lquote', '\u2018'], ['rquote', '\u2019'], ['ldblquote', '\u201c'], ['rdblquote', '\u201d'], ['bullet', '\u2022'],
  ['endash', '\u2013'], ['emdash', '\u2014'], ['emspace', ' '], ['enspace', ' '], ['qmspace', ' '],
]);
const DOUBLE_BYTE = new Set([932, 936, 949, 950, 1361]);

/** the code pages read (Windows ANSI, Mac Roman, the CJK double-byte ones, KOI8-R, Latin-1); others read as cp1252 */
const LABELS = new Map<number, string>([
  [874, 'windows-874'], ...[1250, 1251, 1252, 1253, 1254, 1255, 1256, 1257, 1258].map((n) => [n, `windows-${n}`] as [number, string]),
  [10000, 'macintosh'], [932, 'shift_jis'], [936, 'gbk'], [949, 'euc-kr'], [950, 'big5'], [20866, 'koi8-r'], [28591, 'iso-8859-1'],
]);
// every known code page is built once per process: a file naming thousands of unknown ones and
// switching between known ones (\ansicpgN 80,000 times per MB) must not rebuild a table each time
const tables = new Map<number, string[] | TextDecoder | null>();
/** a single-byte code page as a table, a double-byte one as a decoder; null when unknown (cp1252 then) */
function codepage(cp: number): string[] | TextDecoder | null {
  const label = LABELS.get(cp);
  if (!label) return null;
  if (tables.has(cp)) return tables.get(cp)!;
  let t: string[] | TextDecoder | null = null;
  try {
    if (DOUBLE_BYTE.has(cp)) t = new TextDecoder(label);
    // Windows-1252 (and Latin-1, its WHATWG alias) from our own table: Node 20.18.3+ TextDecoder reads 0x80–0x9F as C1 controls
    else if (label === 'windows-1252' || label === 'iso-8859-1') t = Array.from({ length: 256 }, (_, i) => cp1252(Buffer.of(i)));
    else {
      const d = new TextDecoder(label);
      t = Array.from({ length: 256 }, (_, i) => (i < 0x80 ? String.fromCharCode(i) : d.decode(Uint8Array.of(i))));
    }
  } catch {
    t = null;
  }
  tables.set(cp, t);
  return t;
}

// A double-byte run of one or two bytes, decoded afresh (no lead byte held): its text kept per code
// page. A code page switch or a control word ends a run, so \ansicpg932\'82\ansicpg936\'82… decoded one
// byte at a time, a TextDecoder call each (54 ms per MB); 65,792 keys at most, 4,096 kept per code page.
const short = new Map<TextDecoder, Map<number, string>>();
const SHORT_KEPT = 4096;
function decodeShort(d: TextDecoder, b: Uint8Array, n: number): string {
  let m = short.get(d);
  if (!m) short.set(d, (m = new Map()));
  const key = n === 1 ? b[0] : 256 + ((b[0] << 8) | b[1]);
  let s = m.get(key);
  if (s === undefined) {
    s = d.decode(b.subarray(0, n));
    if (m.size < SHORT_KEPT) m.set(key, s);
  }
  return s;
}

/** The document text of an RTF file, at most `maxChars`. */
export function rtfText(b: Buffer, maxChars: number): string {
  // text as joined runs: a file of one-character pieces (\~, \par, \uN) kept one string per character
  // until the end (40-70 bytes each: 72 MB for 1.5 MB of a\~ at the 1 M character cap)
  const out: string[] = [];
  let run: string[] = [];
  let length = 0;
  let cp: string[] | TextDecoder = codepage(1252) as string[];
  const skip = new Uint8Array(MAX_DEPTH + 1);
  const uc = new Uint8Array(MAX_DEPTH + 1);
  uc[0] = 1;
  let depth = 0;
  let over = 0; // braces past MAX_DEPTH: counted only
  let toSkip = 0; // fallback characters after \uN still to drop
  const bytes = new Uint8Array(4096); // 8-bit text and \'hh waiting to be decoded (double-byte code pages need pairs)
  let nb = 0;

  const emit = (s: string) => {
    if (!skip[depth] && s) {
      run.push(s);
      length += s.length;
      if (run.length >= 4096) {
        out.push(run.join(''));
        run = [];
      }
    }
  };
  // `more`: the buffer is only full, the text goes on: a double-byte decoder keeps a lead byte for the next bytes
  // the decoders are shared: one left holding a lead byte would put it before the next file's text
  let pending = false;
  const flush = (more = false) => {
    if (!nb) {
      if (pending && !more && !Array.isArray(cp)) emit(cp.decode());
      pending = pending && more;
      return;
    }
    if (Array.isArray(cp) && nb < 32) {
      let s = '';
      for (let k = 0; k < nb; k++) s += cp[bytes[k]];
      emit(s);
    } else if (Array.isArray(cp)) {
      // a run of text as code units made one string: grown a character at a time it cost 140 ms per MB
      const u = new Uint16Array(nb);
      for (let k = 0; k < nb; k++) u[k] = cp[bytes[k]].charCodeAt(0);
      emit(String.fromCharCode.apply(null, u as unknown as number[]));
    } else if (nb <= 2 && !more && !pending) {
      emit(decodeShort(cp, bytes, nb));
    } else {
      emit(cp.decode(bytes.subarray(0, nb), { stream: more }));
      pending = more;
    }
    nb = 0;
  };
  const byte = (x: number) => {
    if (toSkip > 0) toSkip--;
    else if (!skip[depth]) {
      bytes[nb++] = x;
      if (nb >= 4096) flush(true);
    }
  };

  const n = b.length;
  let i = 0;
  while (i < n && length < maxChars) {
    const c = b[i];
    if (c === 0x7b /* { */) {
      flush();
      toSkip = 0;
      if (depth < MAX_DEPTH && !over) {
        depth++;
        skip[depth] = skip[depth - 1];
        uc[depth] = uc[depth - 1];
      } else over++;
      i++;
    } else if (c === 0x7d /* } */) {
      flush();
      toSkip = 0;
      if (over) over--;
      else if (depth > 0) depth--;
      i++;
    } else if (c === 0x5c /* \ */) {
      i++;
      if (i >= n) break;
      const d = b[i];
      if ((d >= 0x61 && d <= 0x7a) || (d >= 0x41 && d <= 0x5a)) {
        // a control word: letters, an optional signed number, an optional space eaten as delimiter
        const w0 = i;
        while (i < n && ((b[i] >= 0x61 && b[i] <= 0x7a) || (b[i] >= 0x41 && b[i] <= 0x5a))) i++;
        const word = i - w0 <= MAX_WORD ? b.toString('latin1', w0, i) : '';
        let neg = false, hasNum = false, num = 0;
        if (i < n && b[i] === 0x2d /* - */ && i + 1 < n && b[i + 1] >= 0x30 && b[i + 1] <= 0x39) {
          neg = true;
          i++;
        }
        while (i < n && b[i] >= 0x30 && b[i] <= 0x39) {
          if (num < 1e9) num = num * 10 + (b[i] - 0x30);
          hasNum = true;
          i++;
        }
        if (neg) num = -num;
        if (i < n && b[i] === 0x20) i++;
        if (word === 'bin' && hasNum && num > 0) {
          flush();
          i += num; // raw binary data
          continue;
        }
        if (word === 'u' && hasNum) {
          flush();
          if (toSkip > 0) {
            toSkip--;
            continue;
          }
          const u = num < 0 ? num + 65536 : num;
          if (u >= 0 && u <= 0xffff) emit(String.fromCharCode(u));
          toSkip = uc[depth];
          continue;
        }
        if (toSkip > 0) {
          toSkip--; // a control word counts as one fallback character
          continue;
        }
        flush();
        if (SKIP.has(word)) skip[depth] = 1;
        else if (NEWLINE.has(word)) emit('\n');
        else if (TAB.has(word)) emit('\t');
        else if (CHAR.has(word)) emit(CHAR.get(word)!);
        else if (word === 'uc' && hasNum) uc[depth] = Math.max(0, Math.min(255, num));
        else if (word === 'ansicpg' && hasNum) cp = codepage(num) ?? cp;
        else if (word === 'mac') cp = codepage(10000) ?? cp;
      } else if (d === 0x27 /* ' */) {
        i++;
        const h = i + 1 < n ? hex(b[i]) * 16 + hex(b[i + 1]) : -1;
        if (h >= 0) {
          i += 2;
          byte(h);
        }
      } else {
        i++;
        if (toSkip > 0 && d !== 0x0d && d !== 0x0a) {
          toSkip--;
          continue;
        }
        // \\ \{ \} are bytes of the text: in a double-byte code page one can be a pair's trail byte (Shift-JIS 表 is 95 5C)
        if (d === 0x5c || d === 0x7b || d === 0x7d) {
          byte(d);
          continue;
        }
        flush();
        if (d === 0x2a /* * */) skip[depth] = 1;
        else if (d === 0x7e /* ~ */) emit(' ');
        else if (d === 0x5f /* _ */) emit('-');
        else if (d === 0x0d || d === 0x0a) emit('\n');
        // \- (optional hyphen), \| \: and others: nothing
      }
    } else if (c < 0x20 && c !== 0x09) {
      i++; // line ends in RTF source are not text, nor other control bytes
    } else {
      if (c === 0x09) {
        flush();
        emit('\t');
      } else byte(c);
      i++;
    }
  }
  flush();
  out.push(run.join(''));
  const s = out.join('');
  return s.length > maxChars ? s.slice(0, maxChars) : s;
}

function hex(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1000;
}
