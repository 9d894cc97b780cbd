// A bounded streaming XML reader for XMPP streams (RFC 6120 restricted XML): no DTDs, no entity
// expansion beyond the five predefined entities and numeric character references, depth and
// per-stanza size limits. Bytes go in as they arrive; every top-level stanza (a child of
// <stream:stream>, or a root element when the stream was picked up mid-session) comes out as a small
// element tree. Never throws on any input; everything it rejects is reported through onMalformed.
import { ByteQueue } from '../text';

export interface XmlElement {
  /** qualified name as written, e.g. "stream:features", "message" */
  name: string;
  /** local name (prefix removed) */
  local: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  /** concatenated character data directly inside this element */
  text: string;
}

export interface XmlLimits {
  /** bytes of one stanza, tags and text included */
  maxStanza: number;
  /** nesting depth below the stream */
  maxDepth: number;
  /** attributes per element */
  maxAttrs: number;
  /** elements per stanza */
  maxElements: number;
}

/** BOSH (XEP-0124): a top-level <body xmlns='http://jabber.org/protocol/httpbind'> wraps stanzas as <stream:stream> does */
export const NS_HTTPBIND = 'http://jabber.org/protocol/httpbind';

export const DEFAULT_LIMITS: XmlLimits = { maxStanza: 65536, maxDepth: 32, maxAttrs: 64, maxElements: 2048 };

export interface XmlHandler {
  /** <stream:stream …> opened (also on a stream restart after SASL/STARTTLS) */
  streamOpen(attrs: Record<string, string>): void;
  streamClose(): void;
  stanza(el: XmlElement): void;
  malformed(reason: string): void;
}

const enum C { LT = 0x3c, GT = 0x3e, AMP = 0x26, Q1 = 0x27, Q2 = 0x22, SLASH = 0x2f, BANG = 0x21, QM = 0x3f }

/** one attribute (sticky: from lastIndex on); shared, reset before each tag */
const ATTR = /\s*([^\s=/>]+)\s*=\s*(?:'([^']*)'|"([^"]*)")/y;

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** Replaces the predefined entities and numeric references; anything else is left as written. */
export function decodeEntities(s: string, onBad?: () => void): string {
  if (s.indexOf('&') < 0) return s;
  return s.replace(/&(#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|[a-zA-Z][a-zA-Z0-9]{0,31});/g, (all, e: string) => {
    if (e[0] === '#') {
      const cp = e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      if (cp > 0 && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff)) return String.fromCodePoint(cp);
      onBad?.();
      return '\uFFFD';
    }
    const v = ENTITIES[e];
    if (v !== undefined) return v;
    onBad?.(); // custom entities need a DTD, which XMPP forbids: never expanded
    return all;
  });
}

export class XmlStream {
  /** bytes held from the last segment (a markup token cut in two, or a cut entity/UTF-8 sequence) */
  private q = new ByteQueue();
  /**
   * How far the search for the end of the held markup token got (offset from the token's '<', and the
   * quote it was inside): the next segment goes on from there instead of rescanning the whole token.
   */
  private hint: { at: number; quote: number } | null = null;
  /** open elements of the current stanza (stack[0] is the stanza root) */
  private stack: XmlElement[] = [];
  /**
   * character data of the innermost open element not added to its text yet, as bytes: added at the
   * next markup, so a text in 1-byte segments becomes one string (appending each piece made a rope of
   * 1-character strings, ~33 bytes a byte: 2 MB for a 60 KB body)
   */
  private pending = new ByteQueue(0);
  private stanzaBytes = 0;
  private elements = 0;
  /** skipping an oversized/too-deep stanza: depth of the elements still open inside it */
  private skipDepth = 0;
  /** true once <stream:stream> was seen: stanzas are its children */
  private inStream = false;
  private stopped = false;

  /** one callback for every undefined entity of this stream (not a closure per text or attribute) */
  private readonly badEntity: () => void;

  /** inside a BOSH <body> wrapper (bosh mode only) */
  private wrapped = false;

  /** bosh: a top-level BOSH <body> is reported through streamOpen/streamClose, its children are stanzas */
  constructor(private readonly h: XmlHandler, private readonly limits: XmlLimits = DEFAULT_LIMITS, private readonly bosh = false) {
    this.badEntity = () => this.h.malformed('undefined entity');
  }

  /**
   * One document ended (a BOSH HTTP body, a WebSocket message): whatever is still open was cut off;
   * the next document starts clean.
   */
  endDocument(): void {
    if (this.stopped) return;
    if (this.stack.length || this.skipDepth || this.q.length) this.h.malformed('XML document ended inside an element');
    this.dropOpen();
    this.resync = false;
    this.wrapped = false;
  }

  /** stop parsing (e.g. the rest of the stream is TLS) */
  stop(): void {
    this.stopped = true;
    this.dropOpen();
  }

  /** bytes lost: whatever stanza was open is abandoned; resynchronise on the next '<' */
  gap(): void {
    this.dropOpen();
    this.resync = true;
  }

  /** forgets the bytes held and the elements open (the stanza being read, one being skipped) */
  private dropOpen(): void {
    this.q.clear();
    this.pending.clear();
    this.hint = null;
    this.stack = [];
    this.skipDepth = 0;
    this.stanzaBytes = 0;
  }

  private resync = false;

  push(data: Buffer): void {
    if (this.stopped || !data.length) return;
    // held bytes first: the segment joins them in the queue (copied once), else it is read in place
    const held = this.q.length > 0;
    if (held) this.q.push(data);
    const b = held ? this.q.view() : data;
    let pos = 0;
    if (this.resync) {
      const lt = b.indexOf(C.LT);
      if (lt < 0) {
        this.q.clear();
        this.hint = null;
        return;
      }
      pos = lt;
      this.resync = false;
    }
    while (pos < b.length && !this.stopped) {
      if (b[pos] !== C.LT) {
        // character data up to the next '<'
        const lt = b.indexOf(C.LT, pos);
        let end = lt < 0 ? b.length : lt;
        if (lt < 0) {
          // text continues in the next segment: consume it now (streaming, no re-copying), but keep
          // a trailing entity reference that may be cut in two
          const amp = b.lastIndexOf(C.AMP, end - 1);
          if (amp >= pos && end - amp <= 12 && b.indexOf(0x3b /* ; */, amp) < 0) end = amp;
          end = utf8Boundary(b, pos, end);
          if (end === pos) break;
        }
        this.text(b, pos, end);
        this.account(end - pos);
        pos = end;
        continue;
      }
      const end = this.tokenEnd(b, pos);
      if (end < 0) {
        // incomplete markup: wait, unless it is already too big to be a legal token
        if (b.length - pos > this.limits.maxStanza) {
          this.h.malformed('XML token larger than the stanza limit');
          this.stack = [];
          this.skipDepth = 0;
          this.resync = true;
          this.q.clear();
          this.hint = null;
          return;
        }
        break;
      }
      this.markup(b, pos, end);
      this.account(end - pos);
      pos = end;
    }
    if (held) this.q.consume(pos);
    else if (pos < b.length) this.q.push(b.subarray(pos)); // copy: the caller's buffer is reused
  }

  /** counts stanza bytes; returns false when the stanza was dropped for being too big */
  private account(n: number): boolean {
    if (!this.stack.length) return true;
    this.stanzaBytes += n;
    if (this.stanzaBytes > this.limits.maxStanza) {
      this.h.malformed('stanza larger than the limit');
      this.skipDepth = this.stack.length;
      this.stack = [];
      return false;
    }
    return true;
  }

  /** end offset (exclusive) of the markup token starting at `pos`, or -1 when incomplete */
  private tokenEnd(b: Buffer, pos: number): number {
    // the token held from the last segment starts at 0: go on where its search stopped
    const hint = pos === 0 ? this.hint : null;
    this.hint = null;
    const next = b[pos + 1];
    if (next === undefined) return -1;
    if (next === C.BANG) {
      if (b.length - pos < 9) {
        // could be a comment or CDATA whose opener is split
        const head = b.subarray(pos, pos + 9).toString('latin1');
        if ('<!--'.startsWith(head.slice(0, 4)) || '<![CDATA['.startsWith(head)) return -1;
      }
      if (b[pos + 2] === 0x2d && b[pos + 3] === 0x2d) return this.closer(b, pos, 4, '-->', hint);
      if (b.subarray(pos, pos + 9).toString('latin1') === '<![CDATA[') return this.closer(b, pos, 9, ']]>', hint);
    }
    if (next === C.QM) return this.closer(b, pos, 2, '?>', hint);
    let q = hint ? hint.quote : 0;
    for (let i = hint ? hint.at : pos + 1; i < b.length; i++) {
      const c = b[i];
      if (q) {
        if (c === q) q = 0;
      } else if (c === C.Q1 || c === C.Q2) q = c;
      else if (c === C.GT) return i + 1;
      else if (c === C.LT) {
        // '<' inside a tag is illegal: end the broken token here so parsing can resume
        return i;
      }
    }
    this.hint = { at: b.length - pos, quote: q };
    return -1;
  }

  /** end of a token closed by `close` (comment, CDATA, processing instruction), searched from `from` on */
  private closer(b: Buffer, pos: number, from: number, close: string, hint: { at: number } | null): number {
    const e = b.indexOf(close, pos + (hint ? hint.at : from), 'latin1');
    if (e >= 0) return e + close.length;
    // an end not found yet can only start in the last close.length - 1 bytes
    this.hint = { at: Math.max(from, b.length - pos - close.length + 1), quote: 0 };
    return -1;
  }

  private text(b: Buffer, start: number, end: number): void {
    const top = this.stack[this.stack.length - 1];
    if (!top || this.skipDepth) return;
    // one segment's text (the usual case) is added at once; pieces of several are collected
    if (!this.pending.length && b[end] === C.LT) top.text += decodeEntities(b.toString('utf8', start, end), this.badEntity);
    else this.pending.push(b.subarray(start, end));
  }

  /** the text collected goes to the element it was read in, if that is still open (entities and UTF-8 are never cut between pieces) */
  private flushText(): void {
    const n = this.pending.length;
    if (!n) return;
    const top = this.stack[this.stack.length - 1];
    if (top && !this.skipDepth) top.text += decodeEntities(this.pending.view().toString('utf8'), this.badEntity);
    this.pending.clear();
  }

  /**
   * One markup token, b[start, end), starting with '<'. Its kind is told from its ASCII bytes; only
   * the parts kept become strings (decoding a part cut at ASCII bytes gives the same characters as
   * cutting the decoded token there).
   */
  private markup(b: Buffer, start: number, end: number): void {
    this.flushText();
    const len = end - start;
    const c1 = len > 1 ? b[start + 1] : -1;
    if (c1 === C.QM) return; // XML declaration / processing instruction
    if (c1 === C.BANG) {
      if (len >= 4 && b[start + 2] === 0x2d && b[start + 3] === 0x2d) return; // comment
      if (len >= 9 && b.toString('latin1', start, start + 9) === '<![CDATA[') {
        const s = b.toString('utf8', start, end);
        const top = this.stack[this.stack.length - 1];
        if (top && !this.skipDepth) top.text += s.slice(9, -3);
        return;
      }
      this.h.malformed('DTD / declaration in an XMPP stream (forbidden, ignored)');
      return;
    }
    if (b[end - 1] !== C.GT) {
      this.h.malformed('broken tag');
      return;
    }
    if (c1 === C.SLASH) {
      this.closeTag(b.toString('utf8', start + 2, end - 1).trim());
      return;
    }
    const selfClose = len >= 2 && b[end - 2] === C.SLASH;
    const innerEnd = selfClose ? end - 2 : end - 1;
    const inner = b.toString('utf8', start + 1, innerEnd);
    const name = tagName(b, start + 1, innerEnd, inner);
    if (name === undefined) {
      this.h.malformed('tag without a name');
      return;
    }
    const attrs = this.attrs(inner, name.length);
    if (attrs === undefined) return;
    const local = name.slice(name.indexOf(':') + 1);
    if (local === 'stream' && (name === 'stream:stream' || name.endsWith(':stream') || attrs.xmlns === 'http://etherx.jabber.org/streams')) {
      // stream header (or restart): everything before is finished
      this.stack = [];
      this.skipDepth = 0;
      this.inStream = true;
      this.h.streamOpen(attrs);
      return;
    }
    if (this.skipDepth) {
      if (!selfClose) this.skipDepth++;
      return;
    }
    if (this.bosh && !this.stack.length && local === 'body' && attrs.xmlns === NS_HTTPBIND) {
      // the BOSH wrapper of one HTTP body: its attributes are the session's (to, from, sid, type)
      this.h.streamOpen(attrs);
      this.wrapped = !selfClose;
      if (selfClose) this.h.streamClose();
      return;
    }
    if (this.stack.length >= this.limits.maxDepth) {
      this.h.malformed('XML nested deeper than the limit');
      this.skipDepth = this.stack.length + (selfClose ? 0 : 1);
      this.stack = [];
      return;
    }
    if (this.stack.length && ++this.elements > this.limits.maxElements) {
      this.h.malformed('too many elements in one stanza');
      this.skipDepth = this.stack.length + (selfClose ? 0 : 1);
      this.stack = [];
      return;
    }
    const el: XmlElement = { name, local, attrs, children: [], text: '' };
    const parent = this.stack[this.stack.length - 1];
    if (parent) parent.children.push(el);
    else {
      this.stanzaBytes = inner.length + (selfClose ? 3 : 2); // the token's length as a string
      this.elements = 1;
    }
    if (selfClose) {
      if (!parent) this.h.stanza(el);
    } else this.stack.push(el);
  }

  private closeTag(name: string): void {
    if (this.skipDepth) {
      this.skipDepth--;
      return;
    }
    if (!this.stack.length) {
      if (this.wrapped && name === 'body') {
        this.wrapped = false;
        this.h.streamClose();
        return;
      }
      if (name === 'stream:stream' || name.endsWith(':stream') || name === 'stream') {
        this.inStream = false;
        this.h.streamClose();
      } else this.h.malformed(`unexpected </${name.slice(0, 40)}>`);
      return;
    }
    const el = this.stack.pop()!;
    if (el.name !== name) this.h.malformed('mismatched end tag');
    if (!this.stack.length) this.h.stanza(el);
  }

  /** the attributes in `tag` after its name (from offset `from`) */
  private attrs(tag: string, from: number): Record<string, string> | undefined {
    const out = new (Attributes as unknown as new () => Record<string, string>)();
    const re = ATTR;
    re.lastIndex = from;
    let n = 0;
    let m: RegExpExecArray | null;
    let last = from;
    while ((m = re.exec(tag))) {
      last = re.lastIndex;
      if (++n > this.limits.maxAttrs) {
        this.h.malformed('too many attributes');
        break;
      }
      out[m[1]] = decodeEntities(m[2] ?? m[3] ?? '', this.badEntity);
    }
    if (last < tag.length && tag.slice(last).trim()) this.h.malformed('attribute syntax');
    return out;
  }

  get streamOpenSeen(): boolean {
    return this.inStream;
  }
}

/**
 * An element's attributes: nothing inherited (no Object.prototype in the chain, so a hostile name
 * such as "__proto__" or "constructor" is an own property like any other), as Object.create(null)
 * gave, but an ordinary object rather than a dictionary (made and read in about half the time).
 */
function Attributes(): void {}
Attributes.prototype = Object.create(null);

/**
 * The tag name at the start of `inner` (b[from, to) decoded), as /^([^\s/>]+)/ would match it:
 * ASCII names by their bytes, anything else through the pattern.
 */
function tagName(b: Buffer, from: number, to: number, inner: string): string | undefined {
  let i = from;
  for (; i < to; i++) {
    const c = b[i];
    if (c >= 0x80) {
      const m = /^([^\s/>]+)/.exec(inner);
      return m ? m[1] : undefined;
    }
    if (c === 0x20 || (c >= 0x09 && c <= 0x0d) || c === C.SLASH || c === C.GT) break;
  }
  return i > from ? inner.slice(0, i - from) : undefined;
}

/** `end` moved back so that a UTF-8 sequence cut by the segment boundary is not split */
function utf8Boundary(b: Buffer, start: number, end: number): number {
  for (let i = end - 1, n = 1; i >= start && n <= 4; i--, n++) {
    const c = b[i];
    if (c < 0x80) return end;
    if (c >= 0xc0) {
      const need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
      return n < need ? i : end;
    }
  }
  return end;
}

/** first child with this local name */
export function child(el: XmlElement | undefined, local: string): XmlElement | undefined {
  if (!el) return undefined;
  for (const c of el.children) if (c.local === local) return c;
  return undefined;
}

/** namespace of an element as declared on it (XMPP puts xmlns on each extension element) */
export function ns(el: XmlElement): string {
  return el.attrs.xmlns ?? '';
}
