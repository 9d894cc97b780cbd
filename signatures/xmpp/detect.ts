// Is this flow XMPP? Like nDPI jabber.c / l7-filter jabber.pat: a <stream:stream> header carrying
// the jabber namespaces (an XML declaration alone is not enough: SOAP and HTTP bodies have one), a bare
// </stream:stream>, or, for a flow picked up mid-session, a <message>/<presence>/<iq> stanza that
// carries an XMPP namespace. TLS (legacy SSL on 5223) is left to the tls module. Bounded: first 4 KiB.
import type { DetectInput, DetectResult } from '../types';

const SCAN = 4096;
/** to= or from= holding a JID: local@domain[/resource], or a dotted domain[/resource] */
const JID_ATTR = /\s(?:to|from)=(['"])(?:[^\s'"@<>/]{1,64}@[A-Za-z0-9.-]{1,253}(?:\/[^'"<>]{0,128})?|[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){1,8}(?:\/[^'"<>]{1,128})?)\1/;
const IQ_TYPE = /\stype=(['"])(?:get|set|result|error)\1/;
const XMPP_NS = /jabber:(?:client|server|component|iq:|x:)|http:\/\/jabber\.org\/|urn:xmpp:|urn:ietf:params:xml:ns:xmpp-/;

export function detectXmpp(input: DetectInput): DetectResult {
  if (input.transport !== 'tcp') return null;
  const b = input.data.length > SCAN ? input.data.subarray(0, SCAN) : input.data;
  let i = 0;
  while (i < b.length && (b[i] === 0x20 || b[i] === 0x0a || b[i] === 0x0d || b[i] === 0x09)) i++;
  if (i >= b.length) return b.length >= 512 ? null : 'more';
  // without the SYN the capture may begin inside a stanza: look from the next '<' on
  if (b[i] !== 0x3c && input.flow.clientBy !== 'syn') {
    const lt = b.indexOf(0x3c, i);
    if (lt < 0) return b.length >= 1024 ? null : 'more';
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
  if (input.flow.clientBy !== 'syn') {
    // picked up mid-stanza: skip the end tags of the stanza we missed the start of
    const m = /^(?:<\/[^>]{1,64}>\s*)+/.exec(rest);
    if (m && !/^<\/stream:stream\s*>/.test(rest)) rest = rest.slice(m[0].length);
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
  if (/^<\/stream:stream\s*>/.test(rest)) return hit('xmpp.stream-close', 'a bare </stream:stream> (end of an XMPP stream)');
  if (name === 'stream:stream' || name.endsWith(':stream')) {
    if (/http:\/\/etherx\.jabber\.org\/streams/.test(tag) && XMPP_NS.test(tag)) return hit('xmpp.stream', 'stream header with the jabber namespaces');
    if (/http:\/\/etherx\.jabber\.org\/streams/.test(tag) || /xmlns=['"]jabber:/.test(tag)) return hit('xmpp.stream', 'XMPP stream header');
    return null;
  }
  if (/^(?:message|presence|iq)$/.test(name)) {
    if (XMPP_NS.test(rest)) return hit('xmpp.stanza', `<${name}> stanza with an XMPP namespace (stream picked up mid-session)`);
    // inside a stream the default namespace is the stream's: a plain chat stanza carries none. Its
    // shape still is XMPP's: a JID in to/from, and a <body> (message) or an iq type with an id.
    if (JID_ATTR.test(tag) && (name === 'message' ? /<body[\s>]/.test(rest) : name === 'iq' && IQ_TYPE.test(tag) && /\sid=['"]/.test(tag))) {
      return hit('xmpp.stanza', `<${name}> stanza addressed to a JID (stream picked up mid-session)`);
    }
    // a stanza without any namespace yet: wait for a little more
    return rest.length < 1024 ? 'more' : null;
  }
  return null;
}

function hit(signature: string, reason: string): DetectResult {
  return { protocol: 'xmpp', evidence: { signature, reason } };
}
