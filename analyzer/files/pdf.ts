// A small, bounded PDF text extractor for DLP (ISO 32000-1: 7.3 objects, 7.4 filters, 7.5 file
// structure, 9.4 text objects, 9.10 ToUnicode). Objects are found by scanning for `N G obj` headers,
// never through the xref table (incremental updates and broken xrefs are common); a later definition
// of an object number wins. Text: the page tree's content streams (and Form XObjects they draw) read
// with their fonts' ToUnicode CMaps or simple encodings, then content streams no page references,
// the document info and XMP metadata. Everything is bounded and nothing throws: packet content is hostile.
import zlib from 'node:zlib';
import { cp1252 } from '../../signatures/text';

/**
 * A bound on work that a few bytes of a hostile file could buy (a Flate bomb, a stream or an array
 * named again and again): at most `max`, and `floor` plus `perByte` for each byte of the file read.
 */
export interface ScaledBound {
  max: number;
  floor: number;
  perByte: number;
}
export const scaledBound = (b: ScaledBound, bytes: number): number => Math.min(b.max, b.floor + b.perByte * bytes);

export const PDF_LIMITS = {
  /** bytes of the file read (the head; a larger file also has its last TAIL_BYTES read for the trailer) */
  maxBytes: 32 * 1024 * 1024,
  tailBytes: 1024 * 1024,
  maxObjects: 200_000,
  /** streams decoded */
  maxStreams: 20_000,
  /** decoded output of one stream, and of all streams together */
  maxStreamOut: 16 * 1024 * 1024,
  maxTotalOut: 64 * 1024 * 1024,
  /** bytes all filter stages produce (a Flate-of-Flate chain counts its middle too) */
  decodeWork: { max: 256 * 1024 * 1024, floor: 16 * 1024 * 1024, perByte: 32 } as ScaledBound,
  /** nesting of arrays and dictionaries in one object */
  maxDepth: 32,
  /** Form XObject nesting (Do inside a form) */
  maxFormDepth: 8,
  maxPages: 50_000,
  /** page-tree /Kids entries looked at in all (a valid tree has one per node, each at least `N 0 R`) */
  kids: { max: 1_000_000, floor: 16_384, perByte: 1 } as ScaledBound,
  /** entries one ToUnicode CMap may define (small ranges expanded; a range of over 256 codes is one) */
  maxCMapEntries: 100_000,
  /** entries all the document's ToUnicode CMaps may define together */
  cmapEntries: { max: 1_000_000, floor: 32_768, perByte: 1 } as ScaledBound,
  /** content bytes interpreted (a form or a page's content read again is replayed, not interpreted) */
  content: { max: 128 * 1024 * 1024, floor: 2 * 1024 * 1024, perByte: 16 } as ScaledBound,
  /** characters of XMP metadata made text (and at most 4 for each character of text asked for) */
  metadata: { max: 64 * 1024 * 1024, floor: 1024 * 1024, perByte: 4 } as ScaledBound,
  /** bytes of object-stream members parsed, 64 more for each (real object streams hold 0.2-0.4 bytes a byte of the file) */
  objStmWork: { max: 256 * 1024 * 1024, floor: 1024 * 1024, perByte: 8 } as ScaledBound,
};

const TAIL_GAP = Buffer.from('\nendstream endobj\n');
const NEWLINE = Buffer.from('\n');
/** content bytes one Form XObject draw counts for besides its own */
const FORM_DRAW = 1024;
/** content bytes a replayed run counts for (a form drawn again, a page whose content another page had) */
const RUN_REPLAY = 64;
/** the text of runs kept for replay: one, and all together (a longer run is read again when drawn again) */
const RUN_KEPT = 64 * 1024;
const RUNS_KEPT = 8 * 1024 * 1024;

type Obj = number | boolean | null | PdfString | Name | Ref | Obj[] | Dict;
class Name {
  constructor(readonly n: string) {}
}
class Ref {
  constructor(readonly num: number) {}
}
/** a string's bytes, kept as a latin1 JS string (cheaper than a Buffer per string) */
class PdfString {
  constructor(readonly s: string) {}
  get b(): Buffer {
    return Buffer.from(this.s, 'latin1');
  }
}
type Dict = Map<string, Obj>;

interface Entry {
  value: Obj;
  /** stream data bounds in the buffer (raw, still filtered) */
  stream?: { start: number; end: number };
  /** decoded object-stream member: its data already lives in `value` */
  pos: number;
}

/**
 * The bytes of the string token being lexed (literal or hex): a shared 64 KiB scratch, spilled into
 * chunks when longer, never a number[] (~45 bytes of memory per byte of an unterminated 32 MiB
 * string). One token at a time: the lexer never reads a string inside another.
 */
class StringBytes {
  private readonly scratch = Buffer.alloc(1 << 16);
  private chunks: Buffer[] | undefined;
  private o = 0;
  put(x: number): void {
    if (this.o === this.scratch.length) {
      (this.chunks ??= []).push(Buffer.from(this.scratch));
      this.o = 0;
    }
    this.scratch[this.o++] = x;
  }
  /** the token's bytes as a PdfString; empties the collector */
  take(): PdfString {
    let t = '';
    if (this.chunks) t = Buffer.concat([...this.chunks, this.scratch.subarray(0, this.o)]).toString('latin1');
    // a short string from a table of characters: a call into toString costs ~60 ns whatever the
    // length, most of the time of content made of `(a)` or `<41>` strings
    else if (this.o <= 6) for (let k = 0; k < this.o; k++) t += LATIN1[this.scratch[k]];
    else t = this.scratch.toString('latin1', 0, this.o);
    const s = new PdfString(t);
    this.chunks = undefined;
    this.o = 0;
    return s;
  }
}
const LATIN1 = Array.from({ length: 256 }, (_, c) => String.fromCharCode(c));
const STRING_BYTES = new StringBytes();
/**
 * Names of up to 6 bytes, shared by their bytes (a direct-mapped cache): content is full of /F1, /GS0,
 * /Im3, and a string per name was two thirds of the time of name-dense content.
 */
const NAME_SLOTS = 1021;
const NAME_KEYS = new Float64Array(NAME_SLOTS);
const NAMES: Array<Name | undefined> = new Array(NAME_SLOTS);
const POW10 = Array.from({ length: 16 }, (_, k) => 10 ** k);
/** the content operators content() acts on, by their bytes */
const OPS1 = Array.from({ length: 256 }, (_, c) => ("'\"qQ".includes(String.fromCharCode(c)) ? String.fromCharCode(c) : ''));
const OPS2 = new Map(['BT', 'ET', 'Tf', 'Tc', 'Tw', 'Tz', 'TL', 'Td', 'TD', 'T*', 'Tm', 'Tj', 'TJ', 'Do', 'BI'].map((o) => [o.charCodeAt(0) * 256 + o.charCodeAt(1), o]));
const isWs = (c: number) => c === 32 || c === 10 || c === 13 || c === 9 || c === 12 || c === 0;
const isDelim = (c: number) => c === 40 || c === 41 || c === 60 || c === 62 || c === 91 || c === 93 || c === 123 || c === 125 || c === 47 || c === 37;
const isDigit = (c: number) => c >= 48 && c <= 57;
const hexVal = (c: number) => (c >= 48 && c <= 57 ? c - 48 : c >= 65 && c <= 70 ? c - 55 : c >= 97 && c <= 102 ? c - 87 : -1);

/** A bounded PDF object lexer over one buffer; `work` counts bytes stepped so callers can cap it. */
class Lexer {
  i = 0;
  work = 0;
  /** `refs`: `N G R` is a reference (not in content streams, which have none: a lookahead per integer saved) */
  constructor(readonly b: Buffer, readonly end = b.length, readonly refs = true) {}

  skipWs(): void {
    const b = this.b;
    while (this.i < this.end) {
      const c = b[this.i];
      if (isWs(c)) this.i++;
      else if (c === 37) {
        while (this.i < this.end && b[this.i] !== 10 && b[this.i] !== 13) this.i++;
      } else break;
    }
  }

  /** a bare keyword or number token (regular characters) */
  word(): string {
    const s = this.i;
    while (this.i < this.end && !isWs(this.b[this.i]) && !isDelim(this.b[this.i])) this.i++;
    return this.b.toString('latin1', s, Math.min(this.i, s + 64));
  }

  /** set by plainNumber(): the number had neither sign nor point */
  digitsOnly = false;

  /**
   * `[+-]digits[.digits]` (at most 15 digits) ending at a white-space or delimiter: its value, the same
   * as Number() of the token (an integer below 2^53 over an exact power of ten is correctly rounded),
   * without making a string of it (content streams are mostly numbers); else undefined, nothing read.
   */
  plainNumber(): number | undefined {
    const b = this.b;
    let j = this.i;
    const sign = b[j] === 43 || b[j] === 45 ? b[j++] : 0;
    let m = 0, digits = 0, frac = -1;
    for (; j < this.end; j++) {
      const x = b[j];
      if (x >= 48 && x <= 57) {
        m = m * 10 + (x - 48);
        digits++;
        if (frac >= 0) frac++;
      } else if (x === 46 && frac < 0) frac = 0;
      else break;
    }
    if (digits === 0 || digits > 15 || (j < this.end && !isWs(b[j]) && !isDelim(b[j]))) return undefined;
    this.i = j;
    this.digitsOnly = sign === 0 && frac < 0;
    const n = frac > 0 ? m / POW10[frac] : m;
    return sign === 45 ? -n : n;
  }

  /**
   * A content-stream operator: like word(), but without making a string of every token (content is
   * mostly operators; that was half the time of operator-dense streams). The operators read are one
   * or two characters long; a longer or unknown one is ''.
   */
  operator(): string {
    const b = this.b;
    const s = this.i;
    while (this.i < this.end && !isWs(b[this.i]) && !isDelim(b[this.i])) this.i++;
    const n = this.i - s;
    if (n === 1) return OPS1[b[s]];
    return n === 2 ? OPS2.get(b[s] * 256 + b[s + 1]) ?? '' : '';
  }

  value(depth = 0): Obj | undefined {
    this.skipWs();
    if (this.i >= this.end || depth > PDF_LIMITS.maxDepth) return undefined;
    const b = this.b;
    const c = b[this.i];
    if (c === 47) return this.name();
    if (c === 40) return this.literal();
    if (c === 60) {
      if (b[this.i + 1] === 60) return this.dict(depth);
      return this.hex();
    }
    if (c === 91) {
      this.i++;
      const arr: Obj[] = [];
      for (;;) {
        this.skipWs();
        if (this.i >= this.end) return undefined;
        if (b[this.i] === 93) {
          this.i++;
          return arr;
        }
        const at = this.i;
        const v = this.value(depth + 1);
        if (v === undefined) {
          if (this.i === at) this.i++; // an unknown token: step over it
          continue;
        }
        if (arr.length < 1_000_000) arr.push(v);
      }
    }
    if (isDigit(c) || c === 43 || c === 45 || c === 46) {
      let n = this.plainNumber();
      let digitsOnly = this.digitsOnly;
      if (n === undefined) {
        const w = this.word();
        n = Number(w);
        if (!Number.isFinite(n)) return 0;
        digitsOnly = /^\d+$/.test(w);
      }
      // `N G R`: an indirect reference
      if (digitsOnly && this.refs) {
        const save = this.i;
        this.skipWs();
        const g0 = this.i;
        while (this.i < this.end && isDigit(b[this.i])) this.i++;
        if (this.i > g0 && this.i - g0 < 6) {
          this.skipWs();
          if (b[this.i] === 82 && (this.i + 1 >= this.end || isWs(b[this.i + 1]) || isDelim(b[this.i + 1]))) {
            this.i++;
            return new Ref(n);
          }
        }
        this.i = save;
      }
      return n;
    }
    if (isDelim(c)) {
      this.i++;
      return undefined;
    }
    const w = this.word();
    if (w === 'true') return true;
    if (w === 'false') return false;
    if (w === 'null') return null;
    return undefined;
  }

  private dict(depth: number): Dict | undefined {
    const b = this.b;
    this.i += 2;
    const d: Dict = new Map();
    for (;;) {
      this.skipWs();
      if (this.i >= this.end) return undefined;
      if (b[this.i] === 62 && b[this.i + 1] === 62) {
        this.i += 2;
        return d;
      }
      if (b[this.i] !== 47) {
        // not a key: skip one value (tolerates junk), never loop in place
        const at = this.i;
        this.value(depth + 1);
        if (this.i === at) this.i++;
        continue;
      }
      const k = this.name().n;
      const v = this.value(depth + 1);
      if (v !== undefined && d.size < 4096) d.set(k, v);
    }
  }

  name(): Name {
    const b = this.b;
    this.i++;
    const s = this.i;
    // the first 6 bytes (never 0: NUL is white space) as a number, the key of the shared short names
    let key = 0;
    while (this.i < this.end && !isWs(b[this.i]) && !isDelim(b[this.i])) {
      if (this.i - s < 6) key = key * 256 + b[this.i];
      this.i++;
    }
    const short = this.i - s <= 6;
    const slot = key % NAME_SLOTS;
    if (short && NAME_KEYS[slot] === key && NAMES[slot] !== undefined) return NAMES[slot]!;
    let n = b.toString('latin1', s, Math.min(this.i, s + 256));
    if (n.includes('#')) n = n.replace(/#([0-9a-fA-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
    const name = new Name(n);
    if (short) {
      NAME_KEYS[slot] = key;
      NAMES[slot] = name;
    }
    return name;
  }

  /** `( … )` with escapes, octal and balanced parentheses (a counter, no recursion); unterminated → to the end */
  literal(): PdfString {
    const b = this.b;
    const out = STRING_BYTES;
    let depth = 1;
    this.i++;
    const end = this.end;
    while (this.i < end) {
      let c = b[this.i++];
      if (c === 92) {
        if (this.i >= end) break;
        const e = b[this.i++];
        if (e === 110) c = 10;
        else if (e === 114) c = 13;
        else if (e === 116) c = 9;
        else if (e === 98) c = 8;
        else if (e === 102) c = 12;
        else if (e >= 48 && e <= 55) {
          let v = e - 48;
          for (let k = 0; k < 2 && this.i < end && b[this.i] >= 48 && b[this.i] <= 55; k++) v = v * 8 + b[this.i++] - 48;
          c = v & 0xff;
        } else if (e === 13 || e === 10) {
          // a line continuation
          if (e === 13 && b[this.i] === 10) this.i++;
          continue;
        } else c = e;
      } else if (c === 40) depth++;
      else if (c === 41 && --depth === 0) break;
      out.put(c);
    }
    const s = out.take();
    this.work += s.s.length;
    return s;
  }

  /** `< … >` (collected as bytes, like literal()) */
  private hex(): PdfString {
    const b = this.b;
    const out = STRING_BYTES;
    this.i++;
    let hi = -1;
    while (this.i < this.end) {
      const c = b[this.i++];
      if (c === 62) break;
      const v = hexVal(c);
      if (v < 0) continue;
      if (hi < 0) hi = v;
      else {
        out.put(hi * 16 + v);
        hi = -1;
      }
    }
    if (hi >= 0) out.put(hi * 16);
    return out.take();
  }
}

const nm = (v: Obj | undefined): string | undefined => (v instanceof Name ? v.n : undefined);
const num = (v: Obj | undefined): number | undefined => (typeof v === 'number' ? v : undefined);

// ---- encodings ----

const PDFDOC_80 = [0x2022, 0x2020, 0x2021, 0x2026, 0x2014, 0x2013, 0x192, 0x2044, 0x2039, 0x203a, 0x2212, 0x2030, 0x201e, 0x201c, 0x201d, 0x2018, 0x2019, 0x201a, 0x2122, 0xfb01, 0xfb02, 0x141, 0x152, 0x160, 0x178, 0x17d, 0x131, 0x142, 0x153, 0x161, 0x17e, 0];
const MAC_80 = 'ÄÅÇÉÑÖÜáàâäãåçéèêëíìîïñóòôöõúùûü†°¢£§•¶ß®©™´¨≠ÆØ∞±≤≥¥µ∂∑∏π∫ªºΩæø¿¡¬√ƒ≈∆«»… ÀÃÕŒœ–—“”‘’÷◊ÿŸ⁄€‹›ﬁﬂ‡·‚„‰ÂÊÁËÈÍÎÏÌÓÔ\uf8ffÒÚÛÙıˆ˜¯˘˙˚¸˝˛ˇ';

const WIN_TABLE = Array.from({ length: 256 }, (_, c) => winAnsiOf(c));
function winAnsi(c: number): string {
  return WIN_TABLE[c] ?? '';
}
/** WinAnsiEncoding is Windows-1252 (signatures/text.ts cp1252); its unassigned bytes and C0 controls but tab and line ends are nothing */
function winAnsiOf(c: number): string {
  const ch = cp1252(Buffer.of(c));
  // eslint-disable-next-line no-control-regex
  return /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u0080-\u009f]/.test(ch) ? '' : ch;
}

/** A text string outside content streams (info, bookmarks): UTF-16BE with a BOM, UTF-8 with a BOM, else PDFDocEncoding. */
export function textString(b: Buffer): string {
  if (b.length >= 2 && b[0] === 0xfe && b[1] === 0xff) {
    const body = Buffer.from(b.subarray(2, 2 + ((b.length - 2) & ~1)));
    return body.swap16().toString('utf16le');
  }
  if (b.length >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) return b.subarray(3).toString('utf8');
  let s = '';
  for (const c of b) {
    if (c >= 0x80 && c < 0xa1) s += c === 0xa0 ? '\u20ac' : PDFDOC_80[c - 0x80] ? String.fromCharCode(PDFDOC_80[c - 0x80]) : '';
    else s += c < 32 && c !== 9 && c !== 10 && c !== 13 ? ' ' : String.fromCharCode(c);
  }
  return s;
}

// glyph names (Adobe Glyph List, the part documents use for text) → Unicode
const GLYPHS: Record<string, string> = {
  space: ' ', exclam: '!', quotedbl: '"', numbersign: '#', dollar: '$', percent: '%', ampersand: '&', quotesingle: "'",
  parenleft: '(', parenright: ')', asterisk: '*', plus: '+', comma: ',', hyphen: '-', period: '.', slash: '/',
  zero: '0', one: '1', two: '2', three: '3', four: '4', five: '5', six: '6', seven: '7', eight: '8', nine: '9',
  colon: ':', semicolon: ';', less: '<', equal: '=', greater: '>', question: '?', at: '@', bracketleft: '[',
  backslash: '\\', bracketright: ']', asciicircum: '^', underscore: '_', grave: '`', braceleft: '{', bar: '|',
  braceright: '}', asciitilde: '~', quoteright: '\u2019', quoteleft: '\u2018', endash: '\u2013', emdash: '\u2014',
  bullet: '\u2022', quotedblleft: '\u201c', quotedblright: '\u201d', minus: '-', nbspace: ' ', fi: 'fi', fl: 'fl',
  Euro: '\u20ac', sterling: '£', yen: '¥', section: '§', copyright: '©', registered: '®', degree: '°', ellipsis: '\u2026',
};
function glyphUnicode(g: string): string | undefined {
  if (/^[A-Za-z]$/.test(g)) return g;
  const k = GLYPHS[g];
  if (k !== undefined) return k;
  let m = /^uni([0-9A-F]{4})+$/.exec(g);
  if (m) return g.slice(3).match(/.{4}/g)!.map((h) => String.fromCharCode(parseInt(h, 16))).join('');
  m = /^u([0-9A-F]{4,6})$/.exec(g);
  if (m) {
    const n = parseInt(m[1], 16);
    return n <= 0x10ffff ? String.fromCodePoint(n) : undefined;
  }
  return undefined;
}

/** A ToUnicode CMap (bfchar / bfrange, 1- to 4-byte codes). */
export interface CMap {
  /** code length per codespace range */
  spaces: Array<{ len: number; lo: number; hi: number }>;
  /** the codespace ranges of each code length (index 1-4) merged and sorted: [lo, hi, lo, hi, …] */
  byLen?: number[][];
  map: Map<number, string>;
  /**
   * bfranges of over 256 codes to a string, not expanded (one `<0000> <FFFF>` range was 65,536 map
   * entries from 20 bytes): looked up, the last first, when `map` has no entry for the code
   */
  ranges?: Array<{ len: number; lo: number; hi: number; stem: string; unit: number }>;
  /** entries defined (small ranges expanded, a large one counting one; a code defined twice counts twice) */
  entries: number;
}

/** The text `code` (`len` bytes) maps to in a CMap, or undefined. */
export function cmapText(cm: CMap, code: number, len: number): string | undefined {
  const u = cm.map.get(code + len * 2 ** 32);
  if (u !== undefined || !cm.ranges) return u;
  for (let i = cm.ranges.length - 1; i >= 0; i--) {
    const r = cm.ranges[i];
    // the destination's last byte incremented (9.10.3), as when expanded
    if (r.len === len && code >= r.lo && code <= r.hi) return r.unit < 0 ? r.stem : r.stem + String.fromCharCode((r.unit & 0xff00) | ((r.unit + code - r.lo) & 0xff));
  }
  return undefined;
}

function utf16be(b: Buffer): string {
  const even = Buffer.from(b.subarray(0, b.length & ~1));
  return even.swap16().toString('utf16le');
}
const codeOf = (b: Buffer) => {
  let n = 0;
  for (let i = 0; i < b.length && i < 4; i++) n = n * 256 + b[i];
  return n;
};

export function parseCMap(data: Buffer, maxEntries = PDF_LIMITS.maxCMapEntries): CMap {
  const cm: CMap = { spaces: [], map: new Map(), entries: 0 };
  const lx = new Lexer(data);
  const stack: Obj[] = [];
  let mode = '';
  let entries = 0;
  while (lx.i < data.length) {
    lx.skipWs();
    if (lx.i >= data.length) break;
    const at = lx.i;
    const c = data[lx.i];
    let v: Obj | undefined;
    if (c === 47 || c === 40 || c === 60 || c === 91 || isDigit(c) || c === 45) v = lx.value();
    else {
      const w = lx.word();
      if (lx.i === at) lx.i++;
      if (w.startsWith('begin')) mode = w;
      else if (w.startsWith('end')) mode = '';
      stack.length = 0;
      continue;
    }
    if (lx.i === at) lx.i++;
    if (v === undefined) continue;
    stack.push(v);
    if (mode === 'begincodespacerange' && stack.length === 2) {
      const [lo, hi] = stack as PdfString[];
      if (lo instanceof PdfString && hi instanceof PdfString && lo.b.length >= 1 && lo.b.length <= 4 && cm.spaces.length < 256)
        cm.spaces.push({ len: lo.b.length, lo: codeOf(lo.b), hi: codeOf(hi.b) });
      stack.length = 0;
    } else if (mode === 'beginbfchar' && stack.length === 2) {
      const [src, dst] = stack;
      if (src instanceof PdfString && dst instanceof PdfString && entries++ < maxEntries) cm.map.set(codeOf(src.b) + src.b.length * 2 ** 32, utf16be(dst.b));
      stack.length = 0;
    } else if (mode === 'beginbfrange' && stack.length === 3) {
      const [lo, hi, dst] = stack;
      if (lo instanceof PdfString && hi instanceof PdfString) {
        const lob = lo.b;
        const len = lob.length, a = codeOf(lob), z = codeOf(hi.b);
        // a string destination: the last byte is incremented (9.10.3); decoded once, then only its
        // last UTF-16 unit changes (an odd last byte is not part of any unit)
        const d = dst instanceof PdfString ? dst.b : undefined;
        const stem = d && d.length ? (d.length & 1 ? utf16be(d) : utf16be(d.subarray(0, d.length - 2))) : undefined;
        const n = Math.min(z - a + 1, 65536);
        if (d && n > 256 && (cm.ranges?.length ?? 0) < 16) {
          if (stem !== undefined && entries < maxEntries) {
            // a later definition wins, as when expanded: the codes of the range defined before go
            // (a walk over the smaller of the two, counted as entries)
            const key = a + len * 2 ** 32, size = cm.map.size;
            if (size >= n) for (let k = 0; k < n; k++) cm.map.delete(key + k);
            else if (size) for (const c of cm.map.keys()) if (c >= key && c < key + n) cm.map.delete(c);
            (cm.ranges ??= []).push({ len, lo: a, hi: a + n - 1, stem, unit: d.length & 1 ? -1 : (d[d.length - 2] << 8) | d[d.length - 1] });
            entries += 1 + Math.min(size, n);
          }
        } else for (let k = 0; k < n && entries < maxEntries; k++, entries++) {
          let s: string | undefined;
          if (d) {
            if (stem !== undefined) s = d.length & 1 ? stem : stem + String.fromCharCode((d[d.length - 2] << 8) | ((d[d.length - 1] + k) & 0xff));
          } else if (Array.isArray(dst)) {
            const e = dst[k];
            if (e instanceof PdfString) s = utf16be(e.b);
          }
          if (s !== undefined) cm.map.set(a + k + len * 2 ** 32, s);
        }
      }
      stack.length = 0;
    } else if (stack.length > 3) stack.length = 0;
  }
  cm.entries = Math.min(entries, maxEntries);
  cm.byLen = codespaceTable(cm.spaces);
  return cm;
}

/** The first of the sorted `xs` greater than `x`, else `end`. */
function nextAfter(xs: number[], x: number, end: number): number {
  let a = 0, z = xs.length;
  while (a < z) {
    const m = (a + z) >> 1;
    if (xs[m] <= x) a = m + 1;
    else z = m;
  }
  return a < xs.length ? Math.min(xs[a], end) : end;
}

/** Per code length, the union of its codespace ranges as sorted disjoint intervals (empty ranges dropped). */
function codespaceTable(spaces: CMap['spaces']): number[][] {
  const out: number[][] = [[], [], [], [], []];
  for (let l = 1; l <= 4; l++) {
    const rs = spaces.filter((r) => r.len === l && r.lo <= r.hi).sort((x, y) => x.lo - y.lo);
    const t = out[l];
    for (const r of rs) {
      if (t.length && r.lo <= t[t.length - 1] + 1) t[t.length - 1] = Math.max(t[t.length - 1], r.hi);
      else t.push(r.lo, r.hi);
    }
  }
  return out;
}

/** `code` (of `len` bytes) lies in a codespace range: a binary search, not a walk over up to 256 ranges per byte shown */
function inCodespace(t: number[], code: number): boolean {
  let a = 0, z = (t.length >> 1) - 1;
  while (a <= z) {
    const m = (a + z) >> 1;
    if (code < t[2 * m]) z = m - 1;
    else if (code > t[2 * m + 1]) a = m + 1;
    else return true;
  }
  return false;
}

interface Font {
  cmap?: CMap;
  /** two-byte codes (Type0) */
  twoByte: boolean;
  /** single-byte code → text for simple fonts without ToUnicode */
  simple?: (c: number) => string;
  widths?: { first: number; w: Obj[] };
  defaultWidth: number;
}

// ---- the document ----

export interface PdfInfo {
  title?: string;
  author?: string;
  subject?: string;
  keywords?: string;
}

export class PdfDoc {
  readonly objects = new Map<number, Entry>();
  readonly trailers: Dict[] = [];
  encrypted = false;
  /** the scan hit a bound (objects, work, size): the text may be incomplete */
  truncated = false;
  private outTotal = 0;
  /** bytes every filter of every stream produced (a chain's intermediate outputs included) */
  private decodeWork = 0;
  private streamsDecoded = 0;
  private decoded = new Map<number, Buffer | null>();
  private fonts = new Map<Dict, Font>();
  private diffTables = new Map<Obj[], Map<number, string>>();
  private cmaps = new Map<number, CMap>();
  /** CMap entries defined so far (each CMap is bounded, and so are all of them: one per font could be 20,000 of them) */
  private cmapEntries = 0;
  /** content bytes interpreted, and replays counted (RUN_REPLAY each) */
  private contentWork = 0;
  /** the scaled bounds, for this file's size */
  private readonly bound: { decodeWork: number; kids: number; cmapEntries: number; content: number; metadata: number; objStmWork: number };
  /**
   * Runs read, by resources, then by `f<num>@<depth>` (a form) or `p<nums>` (a page's content list,
   * null: read once, not kept; kept when a second page has it)
   */
  private runs = new Map<Dict | undefined, Map<string, Run | null>>();
  private runChars = 0;

  private constructor(readonly buf: Buffer) {
    const L = PDF_LIMITS, n = buf.length;
    this.bound = {
      decodeWork: scaledBound(L.decodeWork, n),
      kids: scaledBound(L.kids, n),
      cmapEntries: scaledBound(L.cmapEntries, n),
      content: scaledBound(L.content, n),
      metadata: scaledBound(L.metadata, n),
      objStmWork: scaledBound(L.objStmWork, n),
    };
  }

  /** Reads the object structure of a PDF (bounded; never throws). */
  static parse(buf: Buffer): PdfDoc {
    const doc = new PdfDoc(buf);
    try {
      doc.scan();
    } catch {
      doc.truncated = true;
    }
    return doc;
  }

  /** The head (and, for a large file, the tail, where the last trailer is) of a byte source. */
  static fromSource(src: { size: number; read(o: number, n: number): Buffer }): PdfDoc {
    const L = PDF_LIMITS;
    if (src.size <= L.maxBytes + L.tailBytes) return PdfDoc.parse(src.read(0, src.size));
    const doc = PdfDoc.parse(Buffer.concat([src.read(0, L.maxBytes), TAIL_GAP, src.read(src.size - L.tailBytes, L.tailBytes)]));
    doc.truncated = true;
    return doc;
  }

  private scan(): void {
    const b = this.buf;
    const lx = new Lexer(b);
    const budget = 4 * b.length + (1 << 20);
    let p = 0;
    let count = 0;
    const objStms: Array<{ num: number; pos: number }> = [];
    for (;;) {
      const at = b.indexOf('obj', p, 'latin1');
      if (at < 0) break;
      p = at + 3;
      if (p < b.length && !isWs(b[p]) && !isDelim(b[p])) continue;
      // back over `N G `
      let k = at - 1;
      if (k < 0 || !isWs(b[k])) continue;
      while (k >= 0 && isWs(b[k]) && at - k < 8) k--;
      const gEnd = k;
      while (k >= 0 && isDigit(b[k]) && gEnd - k < 6) k--;
      if (k === gEnd || k < 0 || !isWs(b[k])) continue;
      while (k >= 0 && isWs(b[k]) && gEnd - k < 16) k--;
      const nEnd = k;
      while (k >= 0 && isDigit(b[k]) && nEnd - k < 11) k--;
      if (k === nEnd || (k >= 0 && !isWs(b[k]) && !isDelim(b[k]))) continue;
      const n = Number(b.toString('latin1', k + 1, nEnd + 1));
      if (++count > PDF_LIMITS.maxObjects || lx.work > budget) {
        this.truncated = true;
        break;
      }
      lx.i = p;
      const value = lx.value();
      lx.work += lx.i - p;
      if (value === undefined) continue;
      const e: Entry = { value, pos: at };
      p = lx.i;
      if (value instanceof Map) {
        lx.skipWs();
        if (b.toString('latin1', lx.i, lx.i + 6) === 'stream') {
          let s = lx.i + 6;
          if (b[s] === 13) s++;
          if (b[s] === 10) s++;
          let end = -1;
          const len = num(value.get('Length'));
          if (len !== undefined && len >= 0 && s + len <= b.length) {
            // trust /Length only when `endstream` follows it
            let q = s + len;
            while (q < b.length && isWs(b[q]) && q < s + len + 4) q++;
            if (b.toString('latin1', q, q + 9) === 'endstream') end = s + len;
          }
          let after: number;
          if (end < 0) {
            const es = b.indexOf('endstream', s, 'latin1');
            end = es < 0 ? b.length : es;
            after = es < 0 ? b.length : es + 9;
            // the EOL before `endstream` is not data
            if (end > s && b[end - 1] === 10) end--;
            if (end > s && b[end - 1] === 13) end--;
          } else after = end;
          e.stream = { start: s, end };
          p = after;
          lx.work += after - s;
          if (nm(value.get('Type')) === 'ObjStm') objStms.push({ num: n, pos: at });
          if (nm(value.get('Type')) === 'XRef') this.trailers.push(value);
        }
      }
      this.objects.set(n, e);
    }
    // trailers (classic): `trailer << … >>`
    for (let q = 0, t = 0; t < 10_000; t++) {
      const at = b.indexOf('trailer', q, 'latin1');
      if (at < 0 || lx.work > budget) break;
      lx.i = at + 7;
      const v = lx.value();
      lx.work += lx.i - at;
      if (v instanceof Map) this.trailers.push(v);
      q = Math.max(lx.i, at + 7);
    }
    this.encrypted = this.trailers.some((t) => t.has('Encrypt'));
    if (this.encrypted) return;
    // object streams: members not redefined by a later plain object
    let work = 0;
    for (const os of objStms) {
      if (work > this.bound.objStmWork) break;
      const e = this.objects.get(os.num);
      if (!e?.stream) continue;
      const data = this.streamData(os.num);
      if (!data) continue;
      const d = e.value as Dict;
      const count = Math.min(num(d.get('N')) ?? 0, PDF_LIMITS.maxObjects);
      const first = num(d.get('First')) ?? 0;
      const hl = new Lexer(data, Math.min(data.length, first));
      const pairs: number[] = [];
      for (let k = 0; k < count; k++) {
        const on = hl.value(), off = hl.value();
        if (typeof on !== 'number' || typeof off !== 'number') break;
        pairs.push(on, first + off);
      }
      // members are stored one after another (7.5.7): each is parsed up to the next one's offset, and
      // an offset named again is parsed once (members all in one unterminated 8 MiB string, or each a
      // byte further into it, were 4 times its length of parsing for each object stream)
      const starts = [...new Set(pairs.filter((_, k) => k & 1))].sort((x, y) => x - y);
      const parsed = new Map<number, Obj | undefined>();
      for (let k = 0; k < pairs.length && this.objects.size < PDF_LIMITS.maxObjects; k += 2) {
        const on = pairs[k], at = pairs[k + 1];
        const prev = this.objects.get(on);
        if (prev && prev.pos > os.pos) continue;
        if (!Number.isInteger(at) || at < 0 || at >= data.length) continue;
        let v = parsed.get(at);
        if (!parsed.has(at)) {
          if (work > this.bound.objStmWork) {
            this.truncated = true;
            break;
          }
          // and within what is left of the bound: one member can be a 16 MiB unterminated string
          const next = nextAfter(starts, at, data.length), end = Math.min(next, at + this.bound.objStmWork - work);
          if (end < next) this.truncated = true;
          const ol = new Lexer(data, end);
          ol.i = at;
          v = ol.value();
          work += ol.i - at + 64;
          parsed.set(at, v);
        }
        if (v !== undefined) this.objects.set(on, { value: v, pos: os.pos });
      }
    }
  }

  private get(v: Obj | undefined, hops = 0): Obj | undefined {
    while (v instanceof Ref && hops++ < 16) v = this.objects.get(v.num)?.value;
    return v instanceof Ref ? undefined : v;
  }
  private dict(v: Obj | undefined): Dict | undefined {
    const d = this.get(v);
    return d instanceof Map ? d : undefined;
  }

  /** The decoded bytes of stream object `n` (cached), or undefined (not a stream, unsupported filter, over a bound). */
  streamData(n: number): Buffer | undefined {
    const c = this.decoded.get(n);
    if (c !== undefined) return c ?? undefined;
    const e = this.objects.get(n);
    let out: Buffer | undefined;
    if (e?.stream && this.streamsDecoded < PDF_LIMITS.maxStreams && this.outTotal < PDF_LIMITS.maxTotalOut) {
      this.streamsDecoded++;
      out = this.decode(e.value as Dict, this.buf.subarray(e.stream.start, e.stream.end));
      if (out) this.outTotal += out.length;
    }
    this.decoded.set(n, out ?? null);
    return out;
  }

  private decode(d: Dict, raw: Buffer): Buffer | undefined {
    const f = this.get(d.get('Filter') ?? d.get('F'));
    const filters = (Array.isArray(f) ? f : f === undefined ? [] : [f]).map((x) => nm(this.get(x)) ?? '?');
    if (filters.length > 4) return undefined;
    let data: Buffer | undefined = raw;
    for (const name of filters) {
      if (!data) return undefined;
      // what a chain makes on the way is bounded too: Flate of Flate of 16 MiB of empty stored blocks
      // inflates 16 MiB twice per 16 KB stream and leaves nothing to count in outTotal
      const cap = Math.min(PDF_LIMITS.maxStreamOut, PDF_LIMITS.maxTotalOut - this.outTotal, this.bound.decodeWork - this.decodeWork);
      if (cap <= 0) {
        this.truncated = true;
        return undefined;
      }
      if (name === 'FlateDecode' || name === 'Fl') {
        data = inflate(data, cap);
        // a failed inflate may have produced up to `cap` bytes before giving up (a bomb): it counts
        if (!data) {
          this.outTotal += cap;
          this.decodeWork += cap;
        }
      }
      else if (name === 'ASCIIHexDecode' || name === 'AHx') data = asciiHex(data);
      else if (name === 'ASCII85Decode' || name === 'A85') data = ascii85(data, cap);
      else return undefined; // LZW, RunLength, image codecs, Crypt: not text we read
      if (data && data.length > cap) data = data.subarray(0, cap);
      if (data) this.decodeWork += data.length;
    }
    return data;
  }

  info(): PdfInfo {
    const out: PdfInfo = {};
    if (this.encrypted) return out;
    try {
      this.readInfo(out);
    } catch {
      // malformed: what was read
    }
    return out;
  }

  private readInfo(out: PdfInfo): void {
    for (let k = this.trailers.length - 1; k >= 0; k--) {
      const d = this.dict(this.trailers[k].get('Info'));
      if (!d) continue;
      for (const [key, f] of [['Title', 'title'], ['Author', 'author'], ['Subject', 'subject'], ['Keywords', 'keywords']] as const) {
        const v = this.get(d.get(key));
        if (v instanceof PdfString && out[f] === undefined) out[f] = textString(v.b.subarray(0, 64 * 1024));
      }
      break;
    }
  }

  /**
   * The document's text, at most maxChars: pages in page-tree order, then content streams no page
   * references, then the info dictionary and XMP metadata (through `xml`, markup → text).
   */
  text(maxChars: number, xml: (s: string) => string = (s) => s): string {
    if (this.encrypted) return '';
    const out = new TextOut(maxChars);
    try {
      const used = new Set<number>();
      for (const page of this.pages()) {
        if (out.full) break;
        this.page(page, out, used);
        out.br();
      }
      // orphan content streams (a broken page tree, or pages in a part we did not read)
      for (const [n, e] of this.objects) {
        if (out.full) break;
        if (!e.stream || used.has(n) || !this.maybeContent(e.value as Dict)) continue;
        // at the bound: the rest is not decoded either
        if (this.spent) break;
        const data = this.streamData(n);
        if (!data || !/\bBT\b/.test(data.toString('latin1', 0, Math.min(data.length, 1 << 20)))) continue;
        const dict = e.value as Dict;
        const len = this.allow(data.length);
        if (len > 0) this.content(len < data.length ? data.subarray(0, len) : data, this.dict(dict.get('Resources')), out, 0, used);
        out.br();
      }
      const info = this.info();
      for (const v of [info.title, info.author, info.subject, info.keywords]) if (v) out.line(v);
      // XMP bytes made text, in all (64 streams of 1 MiB of tags from a 73 KB file were 1.2 s)
      let xmp = Math.min(this.bound.metadata, 4 * maxChars);
      for (const [n, e] of this.objects) {
        if (out.full) break;
        const d = e.value as Dict;
        if (!e.stream || nm(d.get('Type')) !== 'Metadata') continue;
        if (xmp <= 0) {
          this.truncated = true;
          break;
        }
        const data = this.streamData(n);
        if (!data) continue;
        const len = Math.min(data.length, xmp);
        xmp -= len;
        out.line(xml(data.toString('utf8', 0, len)));
      }
    } catch {
      // a bound or a malformed structure: keep what was read
    }
    return out.text();
  }

  /** streams that are certainly not content: images, fonts, CMaps, object/xref streams, metadata, attachments */
  private maybeContent(d: Dict): boolean {
    const type = nm(d.get('Type')), sub = nm(d.get('Subtype'));
    if (type && type !== 'XObject') return false;
    if (sub && sub !== 'Form') return false;
    if (d.has('Length1') || d.has('Length2') || d.has('Length3') || d.has('CMapName') || d.has('UseCMap')) return false;
    if (d.has('Width') && d.has('Height')) return false;
    return true;
  }

  private *pages(): Generator<Dict> {
    const seen = new Set<Dict>();
    let yielded = 0;
    for (let k = this.trailers.length - 1; k >= 0; k--) {
      const root = this.dict(this.trailers[k].get('Root'));
      const top = root && this.dict(root.get('Pages'));
      if (!top) continue;
      const stack: Array<{ d: Dict; depth: number }> = [{ d: top, depth: 0 }];
      // Kids entries looked at: a valid tree has one per node; nodes sharing one big /Kids array
      // would otherwise cost (and stack) nodes × entries
      let visits = 0;
      while (stack.length && yielded < PDF_LIMITS.maxPages) {
        const { d, depth } = stack.pop()!;
        if (seen.has(d) || depth > 64) continue;
        seen.add(d);
        const kids = this.get(d.get('Kids'));
        if (Array.isArray(kids) && nm(d.get('Type')) !== 'Page') {
          for (let i = Math.min(kids.length, PDF_LIMITS.maxPages) - 1; i >= 0; i--) {
            if (++visits > this.bound.kids) {
              this.truncated = true;
              stack.length = 0;
              break;
            }
            const kd = this.dict(kids[i]);
            if (kd && !seen.has(kd)) stack.push({ d: kd, depth: depth + 1 });
          }
        } else if (d.has('Contents')) {
          yielded++;
          yield d;
        }
      }
      break;
    }
    // pages the tree does not reach, in file order
    for (const e of this.objects.values()) {
      if (yielded >= PDF_LIMITS.maxPages) break;
      const d = e.value;
      if (d instanceof Map && nm(d.get('Type')) === 'Page' && !seen.has(d)) {
        seen.add(d);
        yielded++;
        yield d;
      }
    }
  }

  /** a page's resources, inherited from its parents */
  private resources(page: Dict): Dict | undefined {
    let d: Dict | undefined = page;
    for (let k = 0; d && k < 32; k++) {
      const r = this.dict(d.get('Resources'));
      if (r) return r;
      d = this.dict(d.get('Parent'));
    }
    return undefined;
  }

  private font(res: Dict | undefined, name: string): Font | undefined {
    const fonts = res && this.dict(res.get('Font'));
    const d = this.dict(fonts?.get(name));
    if (!d) return undefined;
    const known = this.fonts.get(d);
    if (known) return known;
    const sub = nm(d.get('Subtype'));
    const f: Font = { twoByte: sub === 'Type0', defaultWidth: sub === 'Type0' ? 1000 : 0 };
    const tu = d.get('ToUnicode');
    if (tu instanceof Ref) {
      f.cmap = this.cmaps.get(tu.num);
      const data = f.cmap ? undefined : this.streamData(tu.num);
      if (data) {
        f.cmap = parseCMap(data, Math.min(PDF_LIMITS.maxCMapEntries, this.bound.cmapEntries - this.cmapEntries));
        this.cmapEntries += f.cmap.entries;
        this.cmaps.set(tu.num, f.cmap);
      }
    }
    if (sub === 'Type0') {
      const desc = this.get(d.get('DescendantFonts'));
      const cid = this.dict(Array.isArray(desc) ? desc[0] : undefined);
      f.defaultWidth = num(cid?.get('DW')) ?? 1000;
    } else {
      const w = this.get(d.get('Widths'));
      if (Array.isArray(w)) f.widths = { first: num(this.get(d.get('FirstChar'))) ?? 0, w };
      const desc = this.dict(d.get('FontDescriptor'));
      f.defaultWidth = num(desc?.get('MissingWidth')) ?? 0;
      f.simple = this.simpleEncoding(this.get(d.get('Encoding')));
    }
    if (this.fonts.size < 10_000) this.fonts.set(d, f);
    return f;
  }

  private simpleEncoding(enc: Obj | undefined): (c: number) => string {
    let base = winAnsi;
    const baseName = nm(enc instanceof Map ? this.get(enc.get('BaseEncoding')) : enc);
    if (baseName === 'MacRomanEncoding') base = (c) => (c >= 0x80 ? MAC_80[c - 0x80] ?? '' : winAnsi(c));
    if (!(enc instanceof Map)) return base;
    const diffs = this.get(enc.get('Differences'));
    if (!Array.isArray(diffs)) return base;
    // one table per /Differences array: thousands of fonts may share one of 4,096 names
    let table = this.diffTables.get(diffs);
    if (!table) {
      table = new Map<number, string>();
      let code = 0;
      for (const x of diffs.slice(0, 4096)) {
        if (typeof x === 'number') code = x;
        else if (x instanceof Name) {
          const u = glyphUnicode(x.n);
          table.set(code++, u ?? '');
        }
      }
      this.diffTables.set(diffs, table);
    }
    const t = table;
    return (c) => t.get(c) ?? base(c);
  }

  /**
   * Counts `size` content bytes to interpret and `extra` for the call: how many of them may be read
   * (fewer at the bound: a stream is read up to it), or -1 (the bound is reached: nothing is read).
   */
  private allow(size: number, extra = 64): number {
    if (this.contentWork + extra > this.bound.content) {
      this.truncated = true;
      return -1;
    }
    this.contentWork += extra;
    const n = Math.min(size, this.bound.content - this.contentWork);
    this.contentWork += n;
    if (n < size) this.truncated = true;
    return n;
  }

  /** the content bound is reached: nothing more is decoded or read */
  private get spent(): boolean {
    if (this.contentWork + 64 <= this.bound.content) return false;
    this.truncated = true;
    return true;
  }

  private keep(res: Dict | undefined, key: string, run: Run | null): void {
    let m = this.runs.get(res);
    if (!m) this.runs.set(res, (m = new Map()));
    if (run && (run.body.length > RUN_KEPT || this.runChars + run.body.length > RUNS_KEPT)) run = null;
    if (run) this.runChars += run.body.length;
    m.set(key, run);
  }

  /**
   * A page's content streams, an array of them being one stream split anywhere (7.8.2). A stream named
   * again in the array is not read again (no writer does that; named 1,000 times it was 1,000 times
   * the work); pages with the same content and resources are read once, then replayed.
   */
  private page(page: Dict, out: TextOut, used: Set<number>): void {
    const res = this.resources(page);
    const contents = this.get(page.get('Contents'));
    const refs = Array.isArray(contents) ? contents : [page.get('Contents')];
    const nums = new Set<number>();
    for (const r of refs.slice(0, 1000)) if (r instanceof Ref) nums.add(r.num);
    const key = nums.size <= 64 ? 'p' + [...nums].join(' ') : undefined;
    const known = key === undefined ? undefined : this.runs.get(res)?.get(key);
    if (known) {
      if (this.allow(0, RUN_REPLAY) >= 0) out.replay(known);
      return;
    }
    for (const n of nums) used.add(n);
    if (this.spent) return;
    const parts: Buffer[] = [];
    let size = 0;
    for (const n of nums) {
      const data = this.streamData(n);
      if (data) {
        parts.push(data, NEWLINE);
        size += data.length + 1;
      }
    }
    const allowed = parts.length ? this.allow(size) : -1;
    if (allowed <= 0) return;
    // up to the bound only: the concatenation of streams over it is not made
    const data = parts.length === 2 ? parts[0].subarray(0, allowed) : Buffer.concat(parts, allowed);
    if (key === undefined || known === undefined) {
      // the first page with this content: read into `out`, remembered as seen
      this.content(data, res, out, 0, used);
      if (key !== undefined) this.keep(res, key, null);
      return;
    }
    const sub = new TextOut(out.room);
    this.content(data, res, sub, 0, used);
    const run = sub.run();
    this.keep(res, key, run);
    out.replay(run);
  }

  /** A Form XObject drawn at `depth`, on lines of its own: read once for its resources and depth, then replayed. */
  private draw(num: number, res: Dict | undefined, out: TextOut, depth: number, used: Set<number>): void {
    const key = `f${num}@${depth}`;
    const known = this.runs.get(res)?.get(key);
    if (known) {
      if (this.allow(0, RUN_REPLAY) < 0) return;
      out.br();
      out.replay(known);
      out.br();
      return;
    }
    const data = this.spent ? undefined : this.streamData(num);
    if (!data) return;
    // a draw costs more than its bytes (a lexer, a text state, its resources): tiny forms drawing each
    // other 8 deep were ~1.2 us for each 84 bytes counted
    const n = this.allow(data.length, FORM_DRAW);
    if (n < 0) return;
    const sub = new TextOut(out.room);
    this.content(n < data.length ? data.subarray(0, n) : data, res, sub, depth, used);
    const run = sub.run();
    this.keep(res, key, run);
    out.br();
    out.replay(run);
    out.br();
  }

  /** Runs a content stream's text operators into `out` (9.4); the caller has counted its bytes (allow). */
  private content(data: Buffer, res: Dict | undefined, out: TextOut, formDepth: number, used: Set<number>): void {
    const lx = new Lexer(data, data.length, false);
    // the operands since the last operator; no operator takes more than 6, so past 64 only the last
    // 8 are kept (shifting the array once per operand made operand-only content quadratic in 64)
    const ops: Obj[] = new Array(64);
    let n = 0;
    const arg = (k: number): Obj | undefined => (k <= n ? ops[n - k] : undefined);
    const st = new TextState();
    let font: Font | undefined;
    let fontName: string | undefined, fontOf: Font | undefined;
    const stack: Array<{ font: Font | undefined; fs: number; tc: number; tw: number; th: number; tl: number }> = [];
    while (lx.i < data.length && !out.full) {
      lx.skipWs();
      if (lx.i >= data.length) break;
      const at = lx.i;
      const c = data[at];
      if (isDelim(c) || isDigit(c) || c === 43 || c === 45 || c === 46) {
        const v = lx.value();
        if (lx.i === at) lx.i++;
        if (v !== undefined) {
          if (n === 64) {
            ops.copyWithin(0, 56, 64);
            n = 8;
          }
          ops[n++] = v;
        }
        continue;
      }
      const op = lx.operator();
      if (lx.i === at) {
        lx.i++;
        continue;
      }
      switch (op) {
        case 'BT':
          st.beginText();
          break;
        case 'ET':
          break;
        case 'Tf': {
          const name = nm(arg(2));
          // the same font again (a Tf per line is common) without the resource lookups
          if (name !== undefined) {
            if (name !== fontName) {
              fontName = name;
              fontOf = this.font(res, name);
            }
            font = fontOf;
          }
          st.fs = num(arg(1)) ?? st.fs;
          break;
        }
        case 'Tc':
          st.tc = num(arg(1)) ?? 0;
          break;
        case 'Tw':
          st.tw = num(arg(1)) ?? 0;
          break;
        case 'Tz':
          st.th = (num(arg(1)) ?? 100) / 100;
          break;
        case 'TL':
          st.tl = num(arg(1)) ?? 0;
          break;
        case 'Td':
        case 'TD': {
          const tx = num(arg(2)) ?? 0, ty = num(arg(1)) ?? 0;
          if (op === 'TD') st.tl = -ty;
          st.move(tx, ty);
          break;
        }
        case 'T*':
          st.move(0, -st.tl);
          break;
        case 'Tm': {
          if (n >= 6) st.setMatrix(num(arg(6)) ?? 0, num(arg(5)) ?? 0, num(arg(4)) ?? 0, num(arg(3)) ?? 0, num(arg(2)) ?? 0, num(arg(1)) ?? 0);
          break;
        }
        case 'Tj':
          this.show(arg(1), font, st, out);
          break;
        case "'":
          st.move(0, -st.tl);
          this.show(arg(1), font, st, out);
          break;
        case '"':
          st.tw = num(arg(3)) ?? st.tw;
          st.tc = num(arg(2)) ?? st.tc;
          st.move(0, -st.tl);
          this.show(arg(1), font, st, out);
          break;
        case 'TJ': {
          const arr = arg(1);
          if (Array.isArray(arr))
            for (const x of arr) {
              if (typeof x === 'number') st.advance((-x / 1000) * st.fs * st.th);
              else this.show(x, font, st, out);
            }
          break;
        }
        case 'q':
          if (stack.length < 256) stack.push({ font, fs: st.fs, tc: st.tc, tw: st.tw, th: st.th, tl: st.tl });
          break;
        case 'Q': {
          const s = stack.pop();
          if (s) ({ font, fs: st.fs, tc: st.tc, tw: st.tw, th: st.th, tl: st.tl } = s);
          break;
        }
        case 'Do': {
          const name = nm(arg(1));
          const xo = name !== undefined && res ? this.dict(res.get('XObject'))?.get(name) : undefined;
          if (xo instanceof Ref && formDepth < PDF_LIMITS.maxFormDepth) {
            const e = this.objects.get(xo.num);
            const d = e?.value;
            if (e?.stream && d instanceof Map && nm(d.get('Subtype')) === 'Form') {
              used.add(xo.num);
              this.draw(xo.num, this.dict(d.get('Resources')) ?? res, out, formDepth + 1, used);
            }
          }
          break;
        }
        case 'BI': {
          // inline image: its data runs from ID to a whitespace-delimited EI
          const id = data.indexOf('ID', lx.i, 'latin1');
          if (id < 0) return;
          // a byte loop, not indexOf('EI') per candidate: image data of EIEIEI… made one call per 2 bytes (~20 ns a byte)
          let q = -1;
          for (let k = id + 3, n = data.length; k + 1 < n; k++) {
            if (data[k] === 0x45 && data[k + 1] === 0x49 && isWs(data[k - 1]) && (k + 2 >= n || isWs(data[k + 2]))) {
              q = k + 2;
              break;
            }
          }
          if (q < 0) return;
          lx.i = q;
          break;
        }
      }
      n = 0;
    }
  }

  private show(s: Obj | undefined, font: Font | undefined, st: TextState, out: TextOut): void {
    if (!(s instanceof PdfString)) return;
    const b = s.s;
    st.place(out);
    const f = font ?? DEFAULT_FONT;
    const cmap = f.cmap;
    const spaces = cmap?.spaces;
    const byLen = spaces?.length ? (cmap!.byLen ??= codespaceTable(spaces)) : undefined;
    const simple = f.simple ?? winAnsi;
    let text = '';
    for (let i = 0; i < b.length; ) {
      let len = f.twoByte ? 2 : 1;
      if (spaces?.length) {
        // the shortest code a codespace range accepts (9.7.6.2)
        let code = 0;
        for (let l = 1; l <= 4 && i + l <= b.length; l++) {
          code = code * 256 + b.charCodeAt(i + l - 1);
          if (inCodespace(byLen![l], code)) {
            len = l;
            break;
          }
        }
      }
      if (i + len > b.length) len = b.length - i;
      let code = 0;
      for (let k = 0; k < len; k++) code = code * 256 + b.charCodeAt(i + k);
      i += len;
      let u = cmap && cmapText(cmap, code, len);
      if (u === undefined) u = f.twoByte ? '' : simple(code);
      text += u;
      let w = f.defaultWidth || 500;
      if (f.widths) {
        const x = f.widths.w[code - f.widths.first];
        if (typeof x === 'number' && x > 0) w = x;
      }
      st.advance(((w / 1000) * st.fs + st.tc + (len === 1 && code === 32 ? st.tw : 0)) * st.th);
    }
    st.markEnd();
    out.add(text);
  }
}

const DEFAULT_FONT: Font = { twoByte: false, defaultWidth: 0, simple: winAnsi };

/** The text matrix, enough of it to tell a new line or a word gap from a kerning step. */
class TextState {
  fs = 0;
  tc = 0;
  tw = 0;
  th = 1;
  tl = 0;
  // updated in place: no new arrays for every Td, T*, ' and Tm
  private readonly m = new Float64Array([1, 0, 0, 1, 0, 0]);
  private readonly lm = new Float64Array([1, 0, 0, 1, 0, 0]);
  /** where the last shown glyph ended (text space of the page), NaN before any text */
  private endX = NaN;
  private endY = NaN;

  beginText(): void {
    this.setMatrix(1, 0, 0, 1, 0, 0);
  }
  setMatrix(a: number, b: number, c: number, d: number, e: number, f: number): void {
    const l = this.lm;
    l[0] = a;
    l[1] = b;
    l[2] = c;
    l[3] = d;
    l[4] = e;
    l[5] = f;
    this.m.set(l);
  }
  move(tx: number, ty: number): void {
    const l = this.lm;
    const e = tx * l[0] + ty * l[2] + l[4], f = tx * l[1] + ty * l[3] + l[5];
    l[4] = e;
    l[5] = f;
    this.m.set(l);
  }
  advance(tx: number): void {
    if (!Number.isFinite(tx)) return;
    this.m[4] += tx * this.m[0];
    this.m[5] += tx * this.m[1];
  }
  /** before showing text: a line break or a word gap since the last glyph becomes a separator */
  place(out: TextOut): void {
    const x = this.m[4], y = this.m[5];
    const h = Math.abs(this.fs) * (Math.hypot(this.m[2], this.m[3]) || 1) || 1;
    if (Number.isFinite(this.endX)) {
      if (Math.abs(y - this.endY) > h * 0.5) out.br();
      else if (x - this.endX > h * 0.2 || this.endX - x > h * 2) out.space();
    }
    this.endX = x;
    this.endY = y;
  }
  /** after showing text: where it ended */
  markEnd(): void {
    this.endX = this.m[4];
    this.endY = this.m[5];
  }
}

/**
 * What one content run (a page's content, a form draw) put into its TextOut; replayed into another,
 * it adds what the run would have added there (a repeated draw of the same stream is not read again).
 */
interface Run {
  /** the separator ('', ' ' or '\n') asked for before the first text (all of them when there is no text) */
  lead: string;
  body: string;
  /** the separator asked for after the last text */
  trail: string;
}

/** Text output, bounded at maxChars; separators collapse. */
class TextOut {
  private parts: string[] = [];
  private n = 0;
  private pending = '';
  private lead = '';
  constructor(readonly max: number) {}
  get full(): boolean {
    return this.n >= this.max;
  }
  get room(): number {
    return this.max - this.n;
  }
  add(s: string): void {
    if (!s || this.full) return;
    if (!this.n) this.lead = this.pending;
    else if (this.pending) this.push(this.pending);
    this.pending = '';
    this.push(s);
  }
  private push(s: string): void {
    const t = s.length > this.max - this.n ? s.slice(0, this.max - this.n) : s;
    this.parts.push(t);
    this.n += t.length;
  }
  space(): void {
    if (this.pending !== '\n') this.pending = ' ';
  }
  br(): void {
    this.pending = '\n';
  }
  line(s: string): void {
    this.br();
    this.add(s);
    this.br();
  }
  text(): string {
    return this.parts.join('');
  }
  /** separators are ordered '' < ' ' < '\n' and a new one keeps the larger: a run's lead and trail sum its own */
  private sep(s: string): void {
    if (s === '\n') this.br();
    else if (s === ' ') this.space();
  }
  run(): Run {
    return this.n ? { lead: this.lead, body: this.text(), trail: this.pending } : { lead: this.pending, body: '', trail: '' };
  }
  replay(r: Run): void {
    this.sep(r.lead);
    this.add(r.body);
    this.sep(r.trail);
  }
}

/** zlib inflate with an output cap; a truncated stream gives what it has (a bomb over the cap: nothing). */
export function inflate(data: Buffer, cap: number): Buffer | undefined {
  if (cap <= 0) return undefined;
  try {
    return zlib.inflateSync(data, { maxOutputLength: cap, finishFlush: zlib.constants.Z_SYNC_FLUSH });
  } catch {
    // a raw deflate stream without the zlib header, as some writers produce
    try {
      return zlib.inflateRawSync(data, { maxOutputLength: cap, finishFlush: zlib.constants.Z_SYNC_FLUSH });
    } catch {
      return undefined;
    }
  }
}

export function asciiHex(b: Buffer): Buffer {
  const out = Buffer.allocUnsafe((b.length >> 1) + 1);
  let o = 0, hi = -1;
  for (const c of b) {
    if (c === 62) break;
    const v = hexVal(c);
    if (v < 0) continue;
    if (hi < 0) hi = v;
    else {
      out[o++] = hi * 16 + v;
      hi = -1;
    }
  }
  if (hi >= 0) out[o++] = hi * 16;
  return out.subarray(0, o);
}

export function ascii85(b: Buffer, cap = PDF_LIMITS.maxStreamOut): Buffer {
  const out = Buffer.allocUnsafe(Math.min(cap, b.length * 4) + 8);
  let o = 0, n = 0, acc = 0;
  let i = 0;
  if (b[0] === 60 && b[1] === 126) i = 2; // <~
  for (; i < b.length; i++) {
    const c = b[i];
    if (c === 126) break; // ~>
    if (o + 4 > cap) break;
    if (c === 122 && n === 0) {
      out.writeUInt32BE(0, o);
      o += 4;
      continue;
    }
    if (c < 33 || c > 117) continue;
    acc = acc * 85 + (c - 33);
    if (++n === 5) {
      out.writeUInt32BE(acc >>> 0, o);
      o += 4;
      n = 0;
      acc = 0;
    }
  }
  if (n > 1) {
    for (let k = n; k < 5; k++) acc = acc * 85 + 84;
    const t = Buffer.alloc(4);
    t.writeUInt32BE(acc >>> 0);
    t.copy(out, o, 0, n - 1);
    o += n - 1;
  }
  return out.subarray(0, o);
}
