// SIP and MSRP as the tests write them: a SIP message, an SDP offering MSRP paths, an MSRP SEND.
import type { Capture } from '../helpers/pcapgen';

/** a SIP request or response: start line, headers, Content-Length, body */
export function sip(start: string, headers: Record<string, string>, body = '', extra = ''): string {
  const h = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  return `${start}\r\n${h}${extra}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

/** an SDP body with one m=message line per entry of `paths` (each an a=path value) */
export function msrpSdp(ip: string, paths: string | string[], port = 2855): string {
  const ms = (Array.isArray(paths) ? paths : [paths]).map((p) => `m=message ${port} TCP/MSRP *\r\na=path:${p}\r\n`).join('');
  return `v=0\r\no=- 1 1 IN IP4 ${ip}\r\ns=-\r\nc=IN IP4 ${ip}\r\nt=0 0\r\n${ms}`;
}

/** a whole-message MSRP SEND chunk (From-Path left out when `from` is undefined) */
export function msrpSend(tid: string, to: string, from: string | undefined, text: string, flag = '$'): string {
  return `MSRP ${tid} SEND\r\nTo-Path: ${to}\r\n${from ? `From-Path: ${from}\r\n` : ''}Message-ID: ${tid}\r\nByte-Range: 1-${text.length}/${text.length}\r\nContent-Type: text/plain\r\n\r\n${text}\r\n-------${tid}${flag}\r\n`;
}

/**
 * An INVITE from `caller` to `callee` offering `offer` and its 200 OK answering `answer`, both over
 * UDP between `a` and `b` (the answer travels b → a): the SIP half of an MSRP session.
 */
export function msrpCall(c: Capture, o: { a: string; b: string; caller: string; callee: string; callId: string; offer: string | string[]; answer?: string; offerIp?: string; answerIp?: string }): void {
  const hdr = { Via: `SIP/2.0/UDP ${o.a};branch=z9hG4bK${o.callId}`, From: `<sip:${o.caller}>;tag=c1`, 'Call-ID': o.callId, 'Content-Type': 'application/sdp' };
  const ip = (addr: string) => addr.split(':')[0];
  c.udp(o.a, o.b, sip(`INVITE sip:${o.callee} SIP/2.0`, { ...hdr, To: `<sip:${o.callee}>`, CSeq: '1 INVITE' }, msrpSdp(o.offerIp ?? ip(o.a), o.offer)));
  if (o.answer) c.udp(o.a, o.b, sip('SIP/2.0 200 OK', { ...hdr, To: `<sip:${o.callee}>;tag=a1`, CSeq: '1 INVITE' }, msrpSdp(o.answerIp ?? ip(o.b), o.answer)), 's');
}
