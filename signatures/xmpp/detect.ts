// Is this flow XMPP? Like nDPI jabber.c / l7-filter jabber.pat: a <stream:stream> header carrying
// the jabber namespaces (an XML declaration alone is not enough: SOAP and HTTP bodies have one), a bare
// </stream:stream>, or, for a flow picked up mid-session, a <message>/<presence>/<iq> stanza that
// carries an XMPP namespace. TLS (legacy SSL on 5223) is left to the tls module. Bounded: first 4 KiB.
import type { DetectInput, DetectResult } from '../types';

const SCAN = 4096;
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
    // a stanza without any namespace yet: wait for a little more
    return rest.length < 1024 ? 'more' : null;
  }
  return null;
}

function hit(signature: string, reason: string): DetectResult {
  return { protocol: 'xmpp', evidence: { signature, reason } };
}
