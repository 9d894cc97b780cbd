// Is this flow XMPP? Like nDPI jabber.c / l7-filter jabber.pat: a <stream:stream> header carrying
// the jabber namespaces (an XML declaration alone is not enough: SOAP and HTTP bodies have one), a bare
// </stream:stream>, or, for a flow picked up mid-session, a <message>/<presence>/<iq> stanza that
// carries an XMPP namespace or has XMPP's shape (and is not XML quoted in a log, mail or webhook). TLS (legacy SSL on 5223) is left to the tls module. Bounded: first 4 KiB.
import type { DetectInput, DetectResult } from '../types';

const SCAN = 4096;
/** to= or from= holding a JID: local@domain[/resource], or a dotted domain[/resource] */
const JID_ATTR = /\s(?:to|from)=(['"])(?:[^\s'"@<>/]{1,64}@[A-Za-z0-9.-]{1,253}(?:\/[^'"<>]{0,128})?|[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){1,8}(?:\/[^'"<>]{1,128})?)\1/;
const IQ_TYPE = /\stype=(['"])(?:get|set|result|error)\1/;
const XMPP_NS = /jabber:(?:client|server|component|iq:|x:)|http:\/\/jabber\.org\/|urn:xmpp:|urn:ietf:params:xml:ns:xmpp-/;
/** RFC 6121 §5.2.2: the only message types (an alarm feed's type="alarm" is not a stanza) */
const NAME_START = /^\/?[A-Za-z_:]/;
const MESSAGE_TYPE = /\stype=(['"])(?:chat|groupchat|normal|headline|error)\1/;

export function detectXmpp(input: DetectInput): DetectResult {
  if (input.transport !== 'tcp') return null;
  const b = input.data.length > SCAN ? input.data.subarray(0, SCAN) : input.data;
  let i = 0;
  while (i < b.length && (b[i] === 0x20 || b[i] === 0x0a || b[i] === 0x0d || b[i] === 0x09)) i++;
  if (i >= b.length) return b.length >= 512 ? null : 'more';
  // Seen from the SYN, the initiating entity sends the first stream header (RFC 6120 §4.2): XML from
  // the server after client bytes that are no XML is a file being served, not a stream
  if (input.flow.clientBy === 'syn' && input.dir === 1 && clientOpensOther(input.other)) return null;
  // without the SYN the capture may begin inside a stanza: look from the next '<' on
  let skipped = false, tagTail = false;
  if (b[i] !== 0x3c && input.flow.clientBy !== 'syn') {
    skipped = true;
    const lt = b.indexOf(0x3c, i);
    if (lt < 0) return b.length >= 1024 ? null : 'more';
    // the skipped bytes end a tag (`…type='chat'>`) or are text that end tags close below
    let e = lt - 1;
    while (e > i && (b[e] === 0x20 || b[e] === 0x0a || b[e] === 0x0d || b[e] === 0x09)) e--;
    tagTail = b[e] === 0x3e;
    i = lt;
  }
  if (b[i] !== 0x3c) return null;
  const s = b.subarray(i).toString('latin1');
  let rest = s;
  if (rest.startsWith('<?')) {
    if (!/^<\?xml[\s?]/.test(rest.slice(0, 6)) && rest.length >= 6) return null;
    const e = rest.indexOf('?>');
    if (e < 0) return rest.length > 256 ? null : 'more';
    rest = rest.slice(e + 2).replace(/^\s+/, '');
    if (!rest) return 'more';
  }
  if (!rest.startsWith('<')) return null;
  let endTags = false;
  if (input.flow.clientBy !== 'syn') {
    // picked up mid-stanza: skip the rest of the stanza we missed the start of (its end tags, and
    // whole child elements before them when the capture began inside the stanza's opening tag)
    if (!/^<\/stream:stream\s*>/.test(rest) && !/^<(?:message|presence|iq|stream:stream|\?)[\s/>]/.test(rest)) {
      const t = stanzaTail(rest);
      if (t === 'more') return b.length < SCAN ? 'more' : null;
      if (t > 0) {
        rest = rest.slice(t);
        endTags = true;
      }
    }
    if (!rest) return 'more';
  }
  const tagEnd = rest.indexOf('>');
  const name = /^<\/?([A-Za-z_][\w.:-]{0,63})/.exec(rest)?.[1];
  if (!name) return rest.length < 16 ? 'more' : null;
  if (tagEnd < 0) {
    // the tag is still arriving: only worth waiting for when its name is one of ours
    const plausible = /^(?:stream:stream|stream|message|presence|iq)$/.test(name) || 'stream:stream'.startsWith(name);
    return plausible && rest.length < SCAN ? 'more' : null;
  }
  const tag = rest.slice(0, tagEnd + 1);
  // Skipped text that no end tag closed is not the tail of a stanza: a log line, a mail or an HTTP
  // head that quotes XML ("bridge out: <message to=…>", "c2s recv: <stream:stream …>").
  if (skipped && !endTags && !tagTail) return null;
  // Picked up mid-stream, the top level from here on holds elements and whitespace only, as between
  // stanzas: text or a stray end tag after this one is another document (an XML attachment's
  // </notifications>, the next log line).
  const top = input.flow.clientBy !== 'syn' || /^(?:message|presence|iq)$/.test(name) ? topLevel(rest) : { started: 0, closed: false, firstEnd: -1 };
  if (!top) return null;
  if (/^<\/stream:stream\s*>/.test(rest)) return hit('xmpp.stream-close', 'a bare </stream:stream> (end of an XMPP stream)');
  if (name === 'stream:stream' || name.endsWith(':stream')) {
    const etherx = /http:\/\/etherx\.jabber\.org\/streams/.test(tag);
    if (!etherx && !/xmlns=['"]jabber:/.test(tag)) return null;
    const full = etherx && XMPP_NS.test(tag);
    // Picked up mid-stream, a stream header as the first bytes is also what a log line quoting one
    // looks like once a capture starts at its line (syslog on 5222: near-miss seed 20261152): it decides
    // when the stream goes on as XMPP, an element after it here or the other side answering in XMPP.
    if (input.flow.clientBy !== 'syn' && !(top.started > 0 || otherOpensXmpp(input.other))) return b.length < SCAN ? 'more' : null;
    return full ? hit('xmpp.stream', 'stream header with the jabber namespaces') : hit('xmpp.stream', 'XMPP stream header');
  }
  if (/^(?:message|presence|iq)$/.test(name)) {
    // the namespace inside this stanza (a whole one), not somewhere further in the window
    if (top.firstEnd < 0) return rest.length < SCAN ? 'more' : null;
    if (XMPP_NS.test(rest.slice(0, top.firstEnd))) return hit('xmpp.stanza', `<${name}> stanza with an XMPP namespace (stream picked up mid-session)`);
    // inside a stream the default namespace is the stream's: a plain chat stanza carries none. Its
    // shape still is XMPP's: a JID in to/from, and a <body> (message, of an XMPP type) or an iq type
    // with an id. Shape alone is weak (an XML attachment, a webhook's body, a syslog feed quoting
    // stanzas), so the stanza must be whole and the other direction must be stanzas too.
    if (JID_ATTR.test(tag) && (name === 'message' ? /<body[\s>]/.test(rest) && (!/\stype=/.test(tag) || MESSAGE_TYPE.test(tag)) : name === 'iq' && IQ_TYPE.test(tag) && /\sid=['"]/.test(tag))) {
      if (!input.other.length) return b.length < SCAN ? 'more' : null;
      const other = otherLooksXmpp(input.other);
      if (other === 'more') return b.length < SCAN ? 'more' : null;
      if (!other) return null;
      return hit('xmpp.stanza', `<${name}> stanza addressed to a JID (stream picked up mid-session)`);
    }
    // a stanza without any namespace yet: wait for a little more
    return rest.length < 1024 ? 'more' : null;
  }
  return null;
}

/** the client's first bytes (after whitespace) are no XML: not an XMPP stream (nothing yet: can't tell) */
function clientOpensOther(o: Buffer): boolean {
  // (a UTF-8 byte order mark may come first: RFC 6120 §11.6 forbids it, some libraries send it)
  let i = o[0] === 0xef && o[1] === 0xbb && o[2] === 0xbf ? 3 : 0;
  while (i < o.length && (o[i] === 0x20 || o[i] === 0x0a || o[i] === 0x0d || o[i] === 0x09)) i++;
  return i < o.length && o[i] !== 0x3c;
}

/** The other direction begins an XMPP stream (its header, after an XML declaration) or reads as stanzas. */
function otherOpensXmpp(o: Buffer): boolean {
  if (!o.length) return false;
  const s = o.toString('latin1', 0, SCAN).replace(/^\s+/, '').replace(/^<\?xml[^>]{0,256}\?>\s*/, '');
  if (/^<stream:stream[\s>]/.test(s)) {
    const e = s.indexOf('>');
    return e > 0 && /http:\/\/etherx\.jabber\.org\/streams/.test(s.slice(0, e));
  }
  return otherLooksXmpp(o) === true;
}

/** The other direction of a mid-session pickup reads as stanzas as well (after a fragment that end tags or a tag's tail close). */
function otherLooksXmpp(o: Buffer): boolean | 'more' {
  const s = o.toString('latin1', 0, SCAN);
  let i = 0;
  while (i < s.length && (s[i] === ' ' || s[i] === '\n' || s[i] === '\r' || s[i] === '\t')) i++;
  let closedFragment = true;
  if (s[i] !== '<') {
    const lt = s.indexOf('<', i);
    if (lt < 0) return false;
    closedFragment = /[>]\s*$/.test(s.slice(i, lt));
    i = lt;
  }
  let rest = s.slice(i);
  const t = /^<(?:message|presence|iq)[\s/>]/.test(rest) ? 0 : stanzaTail(rest);
  if (t === 'more') return s.length < SCAN ? 'more' : false;
  if (t > 0) rest = rest.slice(t);
  if (!closedFragment && !t) return false;
  return /^<(?:message|presence|iq)[\s/>]/.test(rest) && topLevel(rest) !== null;
}

/**
 * Where the stanza a capture began inside ends in `s` (from a '<'): past its remaining children and
 * text, just after the end tag that closes the most of what was never opened here (the stanza's own:
 * siblings of the element it began in close at a level above it). 'more' while nothing has closed or
 * no stanza starts after it within `s`. Linear in `s` (the window).
 */
function stanzaTail(s: string): number | 'more' {
  let depth = 0, min = 0, end = 0, i = 0;
  for (;;) {
    const lt = s.indexOf('<', i);
    if (lt < 0) break;
    const gt = s.indexOf('>', lt);
    if (gt < 0) break;
    if (s.charCodeAt(lt + 1) === 0x2f) {
      if (/^<\/stream:stream\s*>/.test(s.slice(lt, gt + 1))) break;
      if (--depth < min) {
        min = depth;
        end = gt + 1;
      }
    } else if (s.charCodeAt(lt + 1) !== 0x21 && s.charCodeAt(lt + 1) !== 0x3f && s.charCodeAt(gt - 1) !== 0x2f) depth++;
    i = gt + 1;
  }
  // nothing closed yet: what comes later may close what came before (the caller bounds the wait)
  if (min === 0) return 'more';
  // the level reached is the stream's only once a stanza starts there (a sibling of the element the
  // capture began in closes a level above the stanza's own end tag, which is still to come)
  return /^\s*<(?:message|presence|iq)[\s/>]/.test(s.slice(end, end + 64)) ? end : 'more';
}

/**
 * The top level of `s` (from a stanza's '<' to the end of the window), as a stream between stanzas
 * would be: elements and whitespace only (inside a stanza too), end tags matching elements opened in `s` (or
 * </stream:stream>). null when it is not; else how many top-level elements started, whether the
 * first one closed and where it ended (-1: not within the window). A tag cut by the window's end stops the scan. Bounded by the window.
 */
function topLevel(s: string): { started: number; closed: boolean; firstEnd: number } | null {
  let depth = 0, started = 0, closed = false, firstEnd = -1;
  // a stanza's children are elements (RFC 6120 §8.2, RFC 6121 schemas): text directly inside a
  // <message>/<presence>/<iq> is prose quoting one ("See <message to=…> in the config.": near-miss
  // seed 41000469). SASL's <auth>/<response> do hold text, so only stanzas are held to this.
  let inStanza = false;
  let i = 0;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c !== 0x3c) {
      if (depth > 0) {
        const lt = s.indexOf('<', i);
        if (depth === 1 && inStanza && /\S/.test(lt < 0 ? s.slice(i) : s.slice(i, lt))) return null;
        if (lt < 0) break;
        i = lt;
        continue;
      }
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return null;
      i++;
      continue;
    }
    if (s.startsWith('<!--', i) || s.startsWith('<![CDATA[', i) || s.startsWith('<?', i)) {
      const close = s.startsWith('<!--', i) ? '-->' : s[i + 1] === '?' ? '?>' : ']]>';
      if (close === ']]>' && depth === 0) return null;
      const e = s.indexOf(close, i);
      if (e < 0) break;
      i = e + close.length;
      continue;
    }
    // the tag's end, outside quoted attribute values
    let j = i + 1, q = 0;
    for (; j < s.length; j++) {
      const ch = s.charCodeAt(j);
      if (q) {
        if (ch === q) q = 0;
      } else if (ch === 0x22 || ch === 0x27) q = ch;
      else if (ch === 0x3e) break;
    }
    if (j >= s.length) break;
    // '<165>' (a syslog priority), '< 3': not a tag, so not XML
    if (!NAME_START.test(s.slice(i + 1, i + 3))) return null;
    if (s.charCodeAt(i + 1) === 0x2f) {
      if (depth === 0) {
        if (!/^<\/stream:stream\s*>$/.test(s.slice(i, j + 1))) return null;
      } else if (--depth === 0 && !closed) {
        closed = true;
        firstEnd = j + 1;
      }
    } else if (s.charCodeAt(j - 1) === 0x2f) {
      if (depth === 0) {
        started++;
        if (!closed) firstEnd = j + 1;
        closed = true;
      }
    } else if (!(depth === 0 && /^<stream:stream[\s>]/.test(s.slice(i, j + 1)))) {
      if (depth === 0) {
        started++;
        inStanza = /^<(?:message|presence|iq)[\s>]/.test(s.slice(i, j + 1));
      }
      depth++;
    }
    i = j + 1;
  }
  return { started, closed, firstEnd };
}

function hit(signature: string, reason: string): DetectResult {
  return { protocol: 'xmpp', evidence: { signature, reason } };
}
