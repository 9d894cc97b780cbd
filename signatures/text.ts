// Text from the wire → plain text for message events: markup stripped, entities decoded, control
// characters removed, length bounded. Shared by every decoder that meets HTML or XML-ish bodies.

export const MAX_TEXT = 64 * 1024;

const LATIN1_ENTITIES =
  'nbsp iexcl cent pound curren yen brvbar sect uml copy ordf laquo not shy reg macr deg plusmn sup2 sup3 acute micro ' +
  'para middot cedil sup1 ordm raquo frac14 frac12 frac34 iquest Agrave Aacute Acirc Atilde Auml Aring AElig Ccedil ' +
  'Egrave Eacute Ecirc Euml Igrave Iacute Icirc Iuml ETH Ntilde Ograve Oacute Ocirc Otilde Ouml times Oslash Ugrave ' +
  'Uacute Ucirc Uuml Yacute THORN szlig agrave aacute acirc atilde auml aring aelig ccedil egrave eacute ecirc euml ' +
  'igrave iacute icirc iuml eth ntilde ograve oacute ocirc otilde ouml divide oslash ugrave uacute ucirc uuml yacute thorn yuml';
/** HTML 4 named entities chat clients produce: markup characters, Latin-1 (U+00A0–U+00FF), punctuation */
const NAMED: Record<string, string> = {
  amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", ndash: '\u2013', mdash: '\u2014', lsquo: '\u2018', rsquo: '\u2019',
  ldquo: '\u201c', rdquo: '\u201d', hellip: '\u2026', euro: '\u20ac', trade: '\u2122', bull: '\u2022',
};
LATIN1_ENTITIES.split(' ').forEach((n, i) => (NAMED[n] = String.fromCharCode(0xa0 + i)));
NAMED.nbsp = ' ';

export function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|[a-zA-Z]{2,8});/g, (m, e: string) => {
    if (e[0] === '#') {
      const cp = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return cp > 0 && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff) ? String.fromCodePoint(cp) : '\ufffd';
    }
    return NAMED[e] ?? NAMED[e.toLowerCase()] ?? m;
  });
}

/**
 * What `s.replace(/<(script|style)\b[^>]*>[\s\S]*?<\/\1\s*>/gi, rep)` gives (without `tagEnd`:
 * `/<(script|style)\b[\s\S]*?<\/\1\s*>/gi`), in linear time: the RegExp scans to the end for every
 * opening tag that is never closed, so 256 KiB of `<script>` cost seconds. Once no closing tag of a
 * name follows some point, none follows any later opening of that name either.
 */
export function dropScriptStyle(s: string, rep: string, tagEnd = true): string {
  const open = /<(script|style)\b/gi;
  const dead = new Set<string>();
  let out = '';
  let last = 0;
  for (let m = open.exec(s); m; m = open.exec(s)) {
    const name = m[1].toLowerCase();
    if (dead.has(name)) continue;
    let from = m.index + m[0].length;
    if (tagEnd) {
      const gt = s.indexOf('>', from);
      if (gt < 0) break;
      from = gt + 1;
    }
    const close = new RegExp(`<\\/${name}\\s*>`, 'gi');
    close.lastIndex = from;
    const c = close.exec(s);
    if (!c) {
      dead.add(name);
      if (dead.size === 2) break;
      continue;
    }
    out += s.slice(last, m.index) + rep;
    last = open.lastIndex = c.index + c[0].length;
  }
  return last ? out + s.slice(last) : s;
}

/**
 * Removes each match of `open` (a global RegExp: a tag's start) with what follows it up to the first
 * '>', when that '>' is at most `max` characters on: `s.replace(/OPEN[^>]{0,max}>/g, '')` in linear
 * time (the RegExp looks up to `max` characters ahead from every opening: ~0.7 µs a character on a
 * text of openings without '>').
 */
export function dropTags(s: string, open: RegExp, max: number): string {
  let out = '';
  let last = 0;
  let gt = -1;
  open.lastIndex = 0;
  for (let m = open.exec(s); m; m = open.exec(s)) {
    const from = m.index + m[0].length;
    if (gt < from) gt = s.indexOf('>', from);
    if (gt < 0) break;
    if (gt - from > max) {
      open.lastIndex = m.index + 1;
      continue;
    }
    out += s.slice(last, m.index);
    last = open.lastIndex = gt + 1;
  }
  return last ? out + s.slice(last) : s;
}

/** HTML → text: line breaks for <br>/<p>/<div>, script/style bodies dropped, all other tags removed. */
export function htmlToText(html: string): string {
  const s = dropScriptStyle(html.slice(0, MAX_TEXT * 4), '')
    .replace(/<br\s*\/?>/gi, '\n')
    .replace(/<\/(p|div|li|tr)\s*>/gi, '\n')
    // only things that look like tags: a bare '<' in text ("x < 5") is kept
    .replace(/<\/?[a-zA-Z!][^<>]*>/g, '');
  // (?<![ \t]): a run of blanks is tried from its start only; `[ \t]+\n` alone rescans the rest of a
  // run without a newline from each of its characters (64 KiB of spaces: 3.4 s)
  return cleanText(decodeEntities(s).replace(/(?<![ \t])[ \t]+\n/g, '\n').replace(/\n{3,}/g, '\n\n').trim());
}

/** Remove control characters (keeping tab and newline) and bound the length. */
export function cleanText(s: string, max = MAX_TEXT): string {
  // eslint-disable-next-line no-control-regex
  const t = s.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/g, '').replace(/\r\n?/g, '\n');
  return t.length > max ? t.slice(0, max) : t;
}

// Windows-1252's 0x80–0x9F (WHATWG Encoding, index-windows-1252); its five unassigned bytes stay C1 controls
const CP1252_HIGH = '\u20ac\u0081\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\u008d\u017d\u008f' +
  '\u0090\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u009d\u017e\u0178';

/**
 * Text that says it is Latin-1 (or says nothing and is not UTF-8), read as Windows-1252: what Windows
 * clients sent under that name (curly quotes, €, dashes at 0x80–0x9F) and how the WHATWG Encoding
 * standard, and so every browser, reads the labels iso-8859-1, latin1 and us-ascii.
 * (Not TextDecoder('windows-1252'): Node 20.18.3 and later decode it as Latin-1, nodejs/node#60888.)
 */
export function cp1252(b: Buffer): string {
  const s = b.toString('latin1');
  // eslint-disable-next-line no-control-regex
  return /[\u0080-\u009f]/.test(s) ? s.replace(/[\u0080-\u009f]/g, (c) => CP1252_HIGH[c.charCodeAt(0) - 0x80]) : s;
}

/** UTF-8 when valid, else Windows-1252 (old clients sent their code page without saying so). */
export function utf8OrCp1252(b: Buffer): string {
  const s = b.toString('utf8');
  return s.includes('\ufffd') && !b.includes(Buffer.from([0xef, 0xbf, 0xbd])) ? cp1252(b) : s;
}

const NO_BYTES = Buffer.alloc(0);
/** above this, a drained queue gives its storage back (a flow that once carried a big body keeps nothing) */
const KEEP_CAPACITY = 64 * 1024;

/**
 * Bytes of one direction waiting to be framed, in one growable buffer: appending copies each byte
 * once (amortised), instead of a Buffer.concat of everything held on every segment. `view()` is valid
 * until the next push/consume; copy what must outlive that.
 */
export class ByteQueue {
  private buf: Buffer = NO_BYTES;
  private start = 0;
  private end = 0;

  /**
   * `keep`: the most storage a drained queue keeps for the next bytes. 0 for a queue that is seldom
   * used (a line or PDU split by a segment boundary now and then): an idle flow then holds nothing.
   */
  constructor(private readonly keep = KEEP_CAPACITY) {}

  get length(): number {
    return this.end - this.start;
  }

  view(): Buffer {
    return this.buf.subarray(this.start, this.end);
  }

  push(data: Buffer): void {
    const n = data.length;
    if (!n) return;
    if (this.end + n > this.buf.length) {
      const len = this.end - this.start;
      if (len + n <= this.buf.length && this.start >= len) {
        // enough room once the consumed front is dropped, and moving costs no more than what was freed
        this.buf.copyWithin(0, this.start, this.end);
      } else {
        const next = Buffer.allocUnsafe(Math.max(len + n, this.buf.length * 2, 1024));
        this.buf.copy(next, 0, this.start, this.end);
        this.buf = next;
      }
      this.start = 0;
      this.end = len;
    }
    data.copy(this.buf, this.end);
    this.end += n;
  }

  /**
   * The bytes to frame next: `data` itself when nothing is held (no copy), else everything held
   * followed by `data` (a view). Pass the offset framing reached to `keepFrom` before any other call.
   */
  feed(data: Buffer): Buffer {
    if (this.end === this.start) return data;
    this.push(data);
    return this.view();
  }

  /** After framing `b` (from `feed`) up to `pos`: hold b[pos..], copied when `b` was the caller's buffer. */
  keepFrom(b: Buffer, pos: number): void {
    if (this.end > this.start) this.consume(pos);
    else if (pos < b.length) this.push(b.subarray(pos));
  }

  consume(n: number): void {
    this.start = Math.min(this.end, this.start + n);
    if (this.start === this.end) this.clear();
  }

  clear(): void {
    this.start = 0;
    this.end = 0;
    if (this.buf.length > this.keep) this.buf = NO_BYTES;
  }
}
