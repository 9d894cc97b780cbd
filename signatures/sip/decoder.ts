// SIP signalling → IM events: page-mode MESSAGE (RFC 3428), session-mode INVITE with MSRP
// (RFC 4975) → the MSRP connection is followed, presence (PUBLISH/SUBSCRIBE/NOTIFY with PIDF) noted.
// A flow is an IM session only once it carries one of these; voice/video calls are not IM.
import type { Dir } from '../../sensor/types';
import type { KnowledgeBase, SessionContext, StreamDecoder } from '../types';
import { imText } from './body';
import { hostIs, MsrpDecoder, msrpOpeningFor, rememberMsrpPath, revokeMsrpPath, type MsrpPathOwner } from './msrp';
import { addressOf, header, mediaType, parseDatagram, SipFramer, tagOf, type SipMessage } from './parser';
import { msrpAuthority, parseSdp } from './sdp';
import { clip } from '../../analyzer/clip';

/** Retransmissions and proxied copies of one request share Call-ID, CSeq and From tag: report once. */
const seenByEngine = new WeakMap<KnowledgeBase, Map<string, true>>();
const MAX_SEEN = 20000;

function firstTime(kb: KnowledgeBase, key: string): boolean {
  let seen = seenByEngine.get(kb);
  if (!seen) seenByEngine.set(kb, (seen = new Map()));
  if (seen.has(key)) return false;
  if (seen.size >= MAX_SEEN) seen.delete(seen.keys().next().value as string);
  seen.set(key, true);
  return true;
}

export class SipDecoder implements StreamDecoder {
  private framers: [SipFramer, SipFramer] = [new SipFramer(), new SipFramer()];
  private chat = false;
  /** file offers by Call-ID: the answer's MSRP path carries the offer's file (bounded) */
  private files = new Map<string, { name?: string; size?: number }>();
  /** each side's own MSRP path by Call-ID ('o' the offer's, 'a' the answer's; bounded): the announced connection knows both */
  private callPaths = new Map<string, { uri: string; claim: MsrpPathOwner }>();

  constructor(private readonly ctx: SessionContext) {}

  onData(dir: Dir, data: Buffer, ts: number): void {
    if (this.ctx.flow.transport === 'udp') {
      const m = parseDatagram(data);
      if (m) this.handle(dir, m, ts);
      else this.ctx.malformed('sip datagram');
      return;
    }
    const f = this.framers[dir];
    const before = f.malformed;
    f.push(data, (m) => this.handle(dir, m, ts));
    for (let i = before; i < f.malformed; i++) this.ctx.malformed('sip framing');
  }

  onGap(dir: Dir): void {
    this.framers[dir] = new SipFramer();
  }

  private handle(dir: Dir, m: SipMessage, ts: number): void {
    const ctx = this.ctx;
    const from = addressOf(header(m, 'from'));
    const to = addressOf(header(m, 'to'));
    const cseq = header(m, 'cseq') ?? '';
    const cseqMethod = cseq.split(/\s+/)[1]?.toUpperCase();
    if (m.method === 'REGISTER') {
      if (to) ctx.addUser(to);
      const contact = header(m, 'contact') ?? '';
      const ua = header(m, 'user-agent') ?? '';
      ctx.addEvidence({ signature: 'sip.register', reason: `REGISTER ${to ?? '?'} contact ${addressOf(contact) ?? '-'} user-agent ${clip(ua, 80) || '-'}` });
      // accepting MESSAGE is not using IM (Polycom desk phones list it on every REGISTER): evidence only
      if (/methods="[^"]*\bMESSAGE\b/i.test(contact)) ctx.addEvidence({ signature: 'sip.register.im', reason: 'registered contact accepts MESSAGE' });
      return;
    }
    if (m.method === 'MESSAGE') {
      if (from) ctx.addUser(from);
      if (to) ctx.addUser(to);
      const ct = header(m, 'content-type');
      ctx.setIm(true, { signature: 'sip.message', reason: 'SIP MESSAGE request (page-mode instant message)' });
      this.chat = true;
      ctx.setService('chat');
      // (some clients reuse Call-ID, CSeq and tag across users: the From address is part of the key)
      const key = `${header(m, 'call-id') ?? ''}|${cseq}|${tagOf(header(m, 'from'))}|${from ?? ''}`;
      if (!firstTime(ctx.kb, key)) return;
      if (mediaType(ct).type === 'application/im-iscomposing+xml') return; // typing, not a message
      const body = imText(ct, m.body);
      if (body && body.text) ctx.message(ts, dir, { from: body.from ?? from ?? '', to: body.to ?? to ?? '', text: body.text, kind: 'page' });
      return;
    }
    const sdpCarrier = m.method === 'INVITE' || (m.status !== undefined && m.status >= 200 && m.status < 300 && cseqMethod === 'INVITE');
    if (sdpCarrier && mediaType(header(m, 'content-type')).type === 'application/sdp') {
      const media = parseSdp(m.body);
      const im = media.filter((x) => x.media === 'message' && x.port > 0);
      if (!im.length) {
        if (!this.chat) ctx.setService(media.some((x) => x.media === 'video') ? 'video-call' : 'call');
        return;
      }
      // identities of the session: the INVITE's From is the caller whichever message carries the SDP
      const caller = from, callee = to;
      if (caller) ctx.addUser(caller);
      if (callee) ctx.addUser(callee);
      ctx.setIm(true, { signature: 'sip.invite.msrp', reason: 'INVITE with SDP m=message (MSRP session-mode IM)' });
      ctx.setService('chat');
      this.chat = true;
      const callId = (header(m, 'call-id') ?? '').slice(0, 128);
      for (const x of im) {
        let file: { name?: string; size?: number } | undefined = x.fileSelector ? { name: x.fileSelector.name, size: x.fileSelector.size } : undefined;
        if (file && m.method === 'INVITE' && this.files.size < 64) this.files.set(callId, file);
        file ??= this.files.get(callId);
        if (file?.name && m.method === 'INVITE' && firstTime(ctx.kb, `ft|${header(m, 'call-id')}|${file.name}`)) {
          ctx.fileTransfer(ts, dir, { from: caller ?? '', to: callee ?? '', filename: file.name, size: file.size, stage: 'offer', transfer_id: header(m, 'call-id')?.slice(0, 128) });
        }
        // the path is its SDP's sender's (a request's From, a response's To): who connects to it sends
        // to that party, the accepting party's chunks come back the other way
        const owner = m.method ? caller : callee, peer = m.method ? callee : caller;
        // the endpoint's own URI is the last of its path (relays come before it): a chunk naming it
        // belongs to this session, on whatever connection it comes (docs/sip.md)
        const mine = m.method ? 'o' : 'a', theirs = m.method ? 'a' : 'o';
        // an endpoint's own path at the address of the side this SDP goes to (by address, or by a name
        // DNS answered for it) is not its sender's — a peer naming the user's address as its own would
        // make its chunks the user's: revoked, also if an earlier leg (to a proxy) remembered it —
        // unless both sides are one host (two clients on one machine)
        const sendIp = dir === 0 ? ctx.flow.client.ip : ctx.flow.server.ip, recvIp = dir === 0 ? ctx.flow.server.ip : ctx.flow.client.ip;
        const ownHost = x.paths.length ? msrpAuthority(x.paths[x.paths.length - 1])?.host : undefined;
        if (ownHost && sendIp !== recvIp && hostIs(ctx.kb, ctx.flow.zone, ownHost, recvIp)) {
          revokeMsrpPath(ctx.kb, ctx.flow.zone, callId, x.paths[x.paths.length - 1]);
          ctx.malformed('MSRP path at the address the SDP was sent to');
          continue;
        }
        const paths = x.paths;
        let claim: MsrpPathOwner | undefined;
        if (paths.length) {
          const last = paths[paths.length - 1];
          claim = rememberMsrpPath(ctx.kb, ctx.flow.zone, callId, last, { owner, other: peer, file });
          const k = `${mine}${callId}`;
          this.callPaths.delete(k);
          if (this.callPaths.size >= 128) this.callPaths.delete(this.callPaths.keys().next().value as string);
          this.callPaths.set(k, { uri: last, claim });
        }
        paths.forEach((p, i) => {
          const a = msrpAuthority(p);
          // an msrps: path is TLS (RFC 4975 6): its opening names no path, and taking any TLS
          // connection there would let an SDP claim the user's HTTPS to an address it names
          if (!a || /^msrps:/i.test(p)) return;
          // the endpoint's own URI: who connects to it is the other party; a relay's carries every
          // session of its client, each chunk told by its paths (a relay's host name is matched
          // through the DNS answers the engine learned)
          const own = i === paths.length - 1;
          ctx.expect(
            { transport: 'tcp', server: { ip: a.host, port: a.port }, ttlMicros: 600_000_000, reason: `MSRP path ${clip(p, 120)} from SDP`, key: p, verify: msrpOpeningFor(p, own ? claim : undefined) },
            // (the other side's path as the session's SDP gave it by the time the connection comes)
            (c) => {
              if (!own) return new MsrpDecoder(c, {});
              const them = this.callPaths.get(`${theirs}${callId}`);
              return new MsrpDecoder(c, { from: peer, to: owner, file }, a, { own: p, ownClaim: claim, peer: them?.uri, peerClaim: them?.claim });
            },
          );
        });
      }
      return;
    }
    if (m.method === 'PUBLISH' || m.method === 'SUBSCRIBE' || m.method === 'NOTIFY') {
      const event = (header(m, 'event') ?? '').toLowerCase();
      const pidf = mediaType(header(m, 'content-type')).type === 'application/pidf+xml';
      if (!event.startsWith('presence') && !pidf) return;
      if (from) ctx.addUser(from);
      ctx.setIm(true, { signature: 'sip.presence', reason: `${m.method} ${event || 'presence'} (SIMPLE presence)` });
      if (!this.chat) ctx.setService('presence');
      const basic = m.body.toString('utf8').match(/<(?:\w+:)?basic>\s*(open|closed)\s*</i)?.[1];
      if (basic) ctx.addEvidence({ signature: 'sip.pidf', reason: `presence of ${from ?? '?'}: ${basic.toLowerCase()}` });
    }
  }
}
