// SIP/SIMPLE (RFC 3261, 3428, 3856) and MSRP (RFC 4975), on any port, over UDP and TCP.
// SIP over TLS (5061) is left to the TLS module: it carries calls and IM alike, and calls are not IM.
import type { DetectInput, DetectResult, SignatureModule } from '../types';
import { SipDecoder } from './decoder';
import { looksLikeMsrp, MsrpDecoder } from './msrp';
import { MAX_HEADER_BYTES, parseHead, startsSip } from './parser';

function detect(input: DetectInput): DetectResult {
  const b = input.data;
  if (b.length === 0) return 'more';
  if (input.transport === 'tcp') {
    const msrp = looksLikeMsrp(b);
    if (msrp === true) return { protocol: 'sip', evidence: { signature: 'msrp', reason: 'MSRP transaction line (SIMPLE session-mode IM)' } };
    if (msrp === 'more') return 'more';
  }
  const start = startsSip(b);
  if (start === 'more') return input.transport === 'tcp' ? 'more' : null;
  if (!start) return null;
  const end = b.indexOf('\r\n\r\n');
  if (end < 0) return input.transport === 'tcp' && b.length < MAX_HEADER_BYTES ? 'more' : null;
  // a start line alone could be anything: SIP requires Via, CSeq and Call-ID in every message
  const head = parseHead(b.subarray(0, end).toString('utf8'));
  if (!head || !head.headers.has('via') || !head.headers.has('cseq') || !head.headers.has('call-id')) return null;
  return {
    protocol: 'sip',
    notIm: true, // IM only once the decoder sees MESSAGE, MSRP or presence
    evidence: { signature: 'sip', reason: `SIP ${head.method ?? `status ${head.status}`} with Via, CSeq and Call-ID` },
  };
}

export const module: SignatureModule = {
  id: 'sip',
  protocols: ['sip'],
  transports: ['udp', 'tcp'],
  detect,
  decoder(ctx, d) {
    if (d.evidence.signature === 'msrp') return new MsrpDecoder(ctx);
    if (d.encrypted) {
      ctx.setService('sips');
      ctx.stopInspecting();
      return { onData() {} };
    }
    return new SipDecoder(ctx);
  },
};
