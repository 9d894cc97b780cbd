// What an MSNP conversation means: who is signed in, who is on the switchboard, the chat text,
// and the file transfers offered (legacy invitations → MSNFTP side connection; MSNSLP → P2P data
// chunks on the switchboard itself). Fed commands by the TCP decoder or the HTTP gateway decoder.

import type { Dir } from '../../sensor/types';
import { UNKNOWN_ID, type FileMeta, type FileWriter, type SessionContext } from '../types';
import { bridgingOffsets, contentType, dropParams, EUF_FILE_TRANSFER, type MsnCommand, p2pVersionOfDest, p2pVersionOfRouting, parseFtContext, parseHeaderLines, parseMime, parseP2P, parseP2Pv2, parseSlp, TF_FIRST } from './parser';
import { msnftpDecoder, msnftpOpeningFor } from './msnftp';
import { dcOpening, msnDcDecoder } from './directconn';
import { ByteQueue, cp1252 } from '../text';

const MAX_TEXT = 65536;
const MAX_PARTICIPANTS = 64;
const MAX_INVITES = 64;
const MAX_SLP = 65536;
const CRLFCRLF = Buffer.from('\r\n\r\n');
const EMAIL = /^[^\s@<>]{1,128}@[^\s@<>]{1,128}$/;

/** MSNP16+ names an endpoint as `user;{guid}` (USR/JOI/IRO on the switchboard): the user part */
function endpointUser(u: string): string {
  return u.replace(/;\{[0-9a-fA-F-]{1,64}\}$/, '');
}

export function isPassport(s: string | undefined): s is string {
  return !!s && EMAIL.test(s);
}

interface P2PTransfer {
  meta: FileMeta;
  writer?: FileWriter;
  written: number;
}

export class MsnSession {
  /** the signed-in user of this connection */
  self = '';
  private participants = new Set<string>();
  private invites = new Map<string, FileMeta>();
  private p2p = new Map<number, P2PTransfer>();
  /** MSNSLP messages being reassembled, by P2P identifier (each in one growable buffer: a Buffer per 1-byte fragment cost ~100 bytes) */
  private slp = new Map<number, { body: ByteQueue; total: number }>();
  /** direct connection: sessions carved to their end (never opened again), and unnamed transfers opened */
  private ended = new Set<number>();
  private unnamed = 0;
  /** P2P v2 SLP messages being reassembled, by direction, sender and package number */
  private slp2 = new Map<string, { body: ByteQueue; total: number }>();

  /**
   * `offers`: on a direct connection, the file transfers its switchboard offered (by P2P session id),
   * whose data it carries; `direct`: this session is one (unknown sessions' file data is carved too).
   */
  constructor(
    private readonly ctx: SessionContext,
    private readonly opts: { offers?: (sessionId: number) => FileMeta | undefined; direct?: boolean } = {},
  ) {}

  /** The offer of P2P session `id`, for a direct connection that carries its data. */
  offer(id: number): FileMeta | undefined {
    return this.p2p.get(id)?.meta;
  }

  /** One packet of a direct connection: a P2P packet of that version, without a footer. */
  dcPacket(dir: Dir, packet: Buffer, ts: number, version: 1 | 2): void {
    if (version === 1) this.p2pChunk(dir, this.self || UNKNOWN_ID, undefined, packet, ts);
    else this.p2pV2(dir, this.self || UNKNOWN_ID, undefined, packet, ts);
  }

  handle(dir: Dir, c: MsnCommand, ts: number): void {
    const a = c.args;
    switch (c.cmd) {
      case 'VER':
        if (a.some((x) => /^MSNP\d+$/.test(x))) this.ctx.setService('chat');
        break;
      case 'CVR':
        if (dir === 0 && isPassport(a[a.length - 1])) this.ctx.addUser(a[a.length - 1]);
        break;
      case 'USR':
        if (dir === 0) {
          // notification server: USR trid TWN|SSO|MD5 I user / S ticket; switchboard: USR trid user cookie
          if (/^(TWN|SSO|MD5)$/.test(a[1] ?? '') && a[2] === 'I' && isPassport(a[3])) this.setSelf(a[3]);
          else if (/^(TWN|SSO)$/.test(a[1] ?? '') && a[2] === 'S' && a[3] && this.self) {
            // a Passport ticket replays as the password: report that it was seen, never its value
            this.ctx.credential(ts, dir, { user: this.self, mechanism: 'msn-passport-ticket' });
          } else if (isPassport(a[1])) this.setSelf(a[1]);
        } else if (a[1] === 'OK' && isPassport(a[2])) this.setSelf(a[2]);
        break;
      case 'ANS':
        if (dir === 0 && isPassport(a[1])) this.setSelf(a[1]);
        break;
      case 'IRO':
        if (isPassport(a[3])) this.join(a[3]);
        break;
      case 'JOI':
        if (isPassport(a[0])) this.join(a[0]);
        break;
      case 'CAL':
        if (dir === 0 && isPassport(a[1])) this.join(a[1]);
        break;
      case 'BYE':
        if (dir === 1 && isPassport(a[0])) this.participants.delete(a[0]);
        break;
      case 'XFR':
        if (a[1] === 'SB') this.ctx.setService('chat');
        break;
      case 'MSG':
        if (c.payload) this.msg(dir, c, ts);
        break;
      case 'SDG':
        if (c.payload) this.sdg(dir, c.payload, ts);
        break;
    }
  }

  private setSelf(u: string): void {
    u = endpointUser(u);
    this.self = u;
    this.ctx.addUser(u);
  }

  private join(u: string): void {
    u = endpointUser(u);
    this.ctx.addUser(u);
    if (u !== this.self && this.participants.size < MAX_PARTICIPANTS) this.participants.add(u);
  }

  /** sender of an MSG: the passport on a server→client MSG, the signed-in user on client→server */
  private sender(dir: Dir, c: MsnCommand): string {
    if (dir === 1 && isPassport(c.args[0])) return endpointUser(c.args[0]);
    return this.self || UNKNOWN_ID;
  }

  private recipients(from: string): string {
    const to = [...this.participants].filter((p) => p !== from);
    if (from !== this.self && this.self) to.unshift(this.self);
    return to.length ? to.join(', ') : UNKNOWN_ID;
  }

  private msg(dir: Dir, c: MsnCommand, ts: number): void {
    const mime = parseMime(c.payload!);
    const ct = contentType(mime.headers.get('content-type'));
    const from = this.sender(dir, c);
    if (from !== UNKNOWN_ID) this.ctx.addUser(from);
    switch (ct.type) {
      case 'text/plain': {
        const text = decodeText(mime.body, ct.charset);
        // blanks only: nothing to read or scan (as in every other decoder)
        if (!text.trim()) return;
        this.ctx.setService('chat');
        this.ctx.message(ts, dir, { from, to: this.recipients(from), text, kind: 'chat' });
        return;
      }
      case 'text/x-msmsgscontrol': {
        const u = mime.headers.get('typinguser');
        if (isPassport(u)) this.ctx.addUser(u);
        return;
      }
      case 'text/x-msmsgsinvite':
        this.invite(dir, from, parseHeaderLines(mime.body.toString('utf8', 0, Math.min(mime.body.length, 16384))), ts);
        return;
      case 'application/x-msnmsgrp2p': {
        const dest = mime.headers.get('p2p-dest');
        if (p2pVersionOfDest(dest) === 2) this.p2pV2(dir, from, dest, mime.body, ts);
        else this.p2pChunk(dir, from, dest, mime.body, ts);
        return;
      }
      default:
        return; // clientcaps, datacast, emoticons, …: not chat
    }
  }

  /** MSNP21 `SDG`: routing, reliability and messaging header blocks, then the body */
  private sdg(dir: Dir, p: Buffer, ts: number): void {
    const blocks: Map<string, string>[] = [];
    let pos = 0;
    for (let i = 0; i < 3; i++) {
      const end = p.indexOf(CRLFCRLF, pos);
      if (end < 0) return;
      blocks.push(parseHeaderLines(p.toString('utf8', pos, Math.min(end, pos + 65536))));
      pos = end + 4;
    }
    const [routing, , messaging] = blocks;
    const addr = (v: string | undefined) => dropParams((v ?? '').replace(/^\d+:/, '')).trim().slice(0, 256);
    const from = addr(routing.get('from'));
    const to = addr(routing.get('to'));
    if (isPassport(from)) this.ctx.addUser(from);
    if (isPassport(to)) this.ctx.addUser(to);
    if (dir === 0 && isPassport(from) && !this.self) this.setSelf(from);
    const type = (messaging.get('message-type') ?? '').toLowerCase();
    if (type === 'data' && contentType(messaging.get('content-type')).type === 'application/x-msnmsgrp2p') {
      this.sdgP2P(dir, from || UNKNOWN_ID, to, routing, messaging, p.subarray(pos), ts);
      return;
    }
    if (type !== 'text' || contentType(messaging.get('content-type')).type !== 'text/plain') return;
    const text = decodeText(p.subarray(pos), contentType(messaging.get('content-type')).charset);
    if (!text.trim()) return;
    this.ctx.setService('chat');
    this.ctx.message(ts, dir, { from: from || UNKNOWN_ID, to: to || UNKNOWN_ID, text, kind: /@thread\./.test(to) ? 'groupchat' : 'chat' });
  }

  // ---- legacy invitations (text/x-msmsgsinvite) → MSNFTP ---------------------------------------

  private invite(dir: Dir, from: string, h: Map<string, string>, ts: number): void {
    const command = (h.get('invitation-command') ?? '').toUpperCase();
    const cookie = (h.get('invitation-cookie') ?? '').slice(0, 32);
    if (!cookie) return;
    if (command === 'INVITE') {
      const file = h.get('application-file');
      if (!file) return;
      const sizeText = h.get('application-filesize') ?? '';
      const size = /^\d{1,15}$/.test(sizeText) ? Number(sizeText) : undefined;
      const meta: FileMeta = {
        filename: file.slice(0, 512), from, to: this.recipients(from),
        ...(size !== undefined ? { size } : {}),
        transfer_id: `${this.ctx.flow.id}:msnftp:${cookie}`,
      };
      if (this.invites.size >= MAX_INVITES) this.invites.delete(this.invites.keys().next().value as string);
      this.invites.set(cookie, meta);
      this.ctx.setService('file');
      this.ctx.fileTransfer(ts, dir, { from: meta.from, to: meta.to, filename: meta.filename, ...(size !== undefined ? { size } : {}), stage: 'offer', transfer_id: meta.transfer_id });
      return;
    }
    if (command === 'ACCEPT') {
      const meta = this.invites.get(cookie);
      const port = Number(h.get('port'));
      if (!meta || !Number.isInteger(port) || port <= 0 || port > 65535) return;
      const ips = new Set([h.get('ip-address'), h.get('ip-address-internal')].filter((x): x is string => !!x)); // (the engine keeps the addresses)
      const verify = msnftpOpeningFor(h.get('authcookie'));
      for (const ip of ips) {
        this.ctx.expect(
          { transport: 'tcp', server: { ip, port }, ttlMicros: 300_000_000, protocol: 'msn', reason: `MSNFTP connection announced for ${meta.filename}`, verify, key: `msnftp:${cookie}` },
          (ctx) => msnftpDecoder(ctx, meta),
        );
      }
    }
  }

  // ---- MSNSLP / P2P (application/x-msnmsgrp2p) --------------------------------------------------

  /**
   * A transport message (`Bridge: TCPv1`, `Listening: true`) names where a peer listens for a direct
   * connection: the next TCP connection to each address (kept 5 minutes) carries this link's P2P
   * packets, file data among them.
   */
  private directConnection(endpoints: { ip: string; port: number }[]): void {
    for (const server of endpoints) {
      this.ctx.expect(
        // verified: an announcement naming another service's address and port cannot take its flows
        { transport: 'tcp', server, ttlMicros: 300_000_000, protocol: 'msn', reason: `MSN direct connection announced on ${this.ctx.flow.id}`, verify: dcOpening, key: 'msn-dc' },
        (ctx) => msnDcDecoder(ctx, new MsnSession(ctx, { offers: (id) => this.offer(id), direct: true })),
      );
    }
  }

  /**
   * An SDG `Message-Type: Data` body: one or more P2P packets (MSNPSharp SDGBridge / digsby
   * recv_sdg_data split the body at `Bridging-Offsets`); v2 when the routing addresses carry an epid.
   */
  private sdgP2P(dir: Dir, from: string, to: string, routing: Map<string, string>, messaging: Map<string, string>, body: Buffer, ts: number): void {
    if (!body.length) return;
    const offsets = bridgingOffsets(messaging.get('bridging-offsets'), body.length);
    if (!offsets) {
      this.ctx.malformed('SDG Bridging-Offsets unreadable');
      return;
    }
    const v2 = p2pVersionOfRouting(routing.get('to'), routing.get('from')) === 2;
    for (let i = 0; i < offsets.length; i++) {
      const part = body.subarray(offsets[i], i + 1 < offsets.length ? offsets[i + 1] : body.length);
      if (v2) this.p2pV2(dir, from, to, part, ts);
      else this.p2pChunk(dir, from, to, part, ts);
    }
  }

  private p2pChunk(dir: Dir, from: string, dest: string | undefined, body: Buffer, ts: number): void {
    const p = parseP2P(body);
    if (!p) {
      this.ctx.malformed('P2P message shorter than its header');
      return;
    }
    const { h, data } = p;
    if (h.sessionId === 0) {
      if (!data.length || h.total > MAX_SLP) return;
      let s = this.slp.get(h.id);
      if (!s) {
        if (this.slp.size >= 16) this.slp.clear();
        s = { body: new ByteQueue(), total: h.total };
        this.slp.set(h.id, s);
      }
      if (h.offset !== s.body.length) return; // out-of-sequence SLP fragment: drop
      s.body.push(data);
      if (s.body.length < s.total) return;
      this.slp.delete(h.id);
      this.slpMessage(dir, from, dest, s.body.view().toString('utf8'), ts);
      return;
    }
    if (h.flags & 0x02) return; // acknowledgement
    let t = this.p2p.get(h.sessionId);
    if (!t && this.opts.direct) t = this.directTransfer(h.sessionId, (h.flags & 0x01000030) === 0x01000030, h.total, data.length);
    if (!t) return;
    // an empty file is one data message with nothing in it and total 0 (libpurple msn_slplink_send_msgpart)
    if (!data.length && !((h.flags & 0x20) && h.total === 0 && (t.meta.size ?? 0) === 0)) return;
    this.carve(h.sessionId, t, dir, h.offset, data, h.total, ts);
  }

  /**
   * A P2P v2 packet. No offset or total on the wire: an SLP message starts with TF_FIRST and its
   * data TLV `remaining` counts down to 0 on the last packet of the same package number (Miranda NG
   * msn_p2p.cpp p2p_processMsgV2; libpurple msn_p2p_info_is_first / msn_p2p_info_is_final). File
   * data (TF 4–7, session id ≠ 0) is placed at size − remaining − length when the offer gave a size.
   */
  private p2pV2(dir: Dir, from: string, dest: string | undefined, body: Buffer, ts: number): void {
    const r = parseP2Pv2(body);
    if ('error' in r) {
      this.ctx.malformed(r.error);
      return;
    }
    const { h, data } = r;
    if (!data.length) return; // ACK/NAK/SYN-only packets carry nothing
    if (h.sessionId === 0) {
      const key = `${dir}:${from}:${h.packageNumber}`;
      let s = this.slp2.get(key);
      if (h.tf & TF_FIRST) {
        const total = data.length + h.remaining;
        if (total > MAX_SLP) {
          this.slp2.delete(key);
          return;
        }
        if (this.slp2.size >= 16) this.slp2.clear();
        s = { body: new ByteQueue(), total };
        this.slp2.set(key, s);
      } else if (!s) return; // a continuation whose first packet was not seen
      if (s.body.length + data.length + h.remaining !== s.total) {
        this.slp2.delete(key);
        this.ctx.malformed('P2Pv2 SLP packet sizes disagree with the remaining count');
        return;
      }
      s.body.push(data);
      if (h.remaining > 0) return;
      this.slp2.delete(key);
      this.slpMessage(dir, from, dest, s.body.view().toString('utf8'), ts);
      return;
    }
    if (h.ack || h.nak || (h.tf & 0x04) === 0) return; // only TF 4–7 carries data
    // a direct connection: file data is TF 6 (7 on the first packet, Miranda NG p2p_sendPortion); 4–5 is MSN objects'
    const t = this.p2p.get(h.sessionId) ?? (this.opts.direct ? this.directTransfer(h.sessionId, (h.tf & 6) === 6, data.length + h.remaining, data.length) : undefined);
    if (!t) return;
    const size = t.meta.size;
    const at = size !== undefined ? size - h.remaining - data.length : -1;
    const offset = at >= 0 ? at : t.written;
    this.carve(h.sessionId, t, dir, offset, data, offset + data.length + h.remaining, ts);
  }

  /**
   * On a direct connection, the transfer a data packet of session `id` starts: one its switchboard
   * offered, or (file data: v1 flags P2P_FILE_DATA, v2 TF 6/7; with bytes) one it did not see, at most
   * MAX_INVITES of those. A session carved to its end is not opened again (more packets of it are
   * repeats), so a flood of tiny packets cannot make a file event each.
   */
  private directTransfer(id: number, fileData: boolean, total: number, length: number): P2PTransfer | undefined {
    if (this.ended.has(id)) return undefined;
    let meta = this.opts.offers?.(id);
    if (!meta) {
      if (!fileData || length === 0 || total === 0 || this.unnamed >= MAX_INVITES) return undefined;
      this.unnamed++;
      meta = { filename: 'unknown (MSN direct connection)', from: UNKNOWN_ID, to: UNKNOWN_ID, size: total };
    }
    const t = { meta, written: 0 };
    if (this.p2p.size >= MAX_INVITES) this.p2p.delete(this.p2p.keys().next().value as number);
    this.p2p.set(id, t);
    return t;
  }

  /** data chunk of a P2P session at `offset`: holes reported as gaps, repeats skipped */
  private carve(id: number, t: P2PTransfer, dir: Dir, offset: number, data: Buffer, total: number, ts: number): void {
    if (!t.writer) t.writer = this.ctx.openFile(ts, dir, t.meta);
    if (offset > t.written) {
      t.writer.gap(offset - t.written);
      t.written = offset;
    } else if (offset < t.written) {
      const skip = t.written - offset;
      if (skip >= data.length) return; // a repeat
      t.writer.write(data.subarray(skip), ts);
      t.written += data.length - skip;
      this.maybeEnd(id, t, total, ts);
      return;
    }
    t.writer.write(data, ts);
    t.written += data.length;
    this.maybeEnd(id, t, total, ts);
  }

  private maybeEnd(id: number, t: P2PTransfer, total: number, ts: number): void {
    const want = t.meta.size ?? total;
    if (t.written >= want) {
      t.writer!.end(ts, true);
      this.p2p.delete(id);
      if (this.opts.direct) {
        if (this.ended.size >= 256) this.ended.delete(this.ended.values().next().value as number);
        this.ended.add(id);
      }
    }
  }

  private slpMessage(dir: Dir, from: string, dest: string | undefined, text: string, ts: number): void {
    const slp = parseSlp(text);
    if (slp && slp.endpoints.length) this.directConnection(slp.endpoints);
    if (!slp || slp.method !== 'INVITE' || slp.eufGuid !== EUF_FILE_TRANSFER || slp.sessionId === undefined || !slp.context) return;
    const ft = parseFtContext(slp.context);
    if (!ft) {
      this.ctx.malformed('MSNSLP file-transfer context unreadable');
      return;
    }
    const sender = isPassport(slp.from) ? slp.from : from;
    const destUser = dest === undefined ? undefined : dropParams(dest.replace(/^\d+:/, '')).trim();
    const to = isPassport(slp.to) ? slp.to : isPassport(destUser) ? destUser : this.recipients(sender);
    // (a placeholder, or the switchboard's recipients joined, is no user)
    if (isPassport(sender)) this.ctx.addUser(sender);
    if (isPassport(to)) this.ctx.addUser(to);
    const meta: FileMeta = { filename: ft.filename.slice(0, 512), from: sender, to, size: ft.size, transfer_id: `${this.ctx.flow.id}:p2p:${slp.sessionId}` };
    if (this.p2p.size >= MAX_INVITES) this.p2p.delete(this.p2p.keys().next().value as number);
    this.p2p.set(slp.sessionId, { meta, written: 0 });
    this.ctx.setService('file');
    this.ctx.fileTransfer(ts, dir, { from: sender, to, filename: meta.filename, size: ft.size, stage: 'offer', transfer_id: meta.transfer_id });
  }
}

/** Chat text: UTF-8 unless the charset says otherwise; bounded; control characters kept out. */
export function decodeText(body: Buffer, charset?: string): string {
  const b = body.subarray(0, MAX_TEXT * 4);
  // labels the WHATWG Encoding standard reads as Windows-1252 (the common ones)
  const latin = charset && /^(iso-8859-1|iso8859-1|latin1|l1|windows-1252|cp1252|us-ascii|ascii)$/.test(charset);
  // eslint-disable-next-line no-control-regex
  // trailing NULs: only the start of the last run is tried (/\u0000+$/ retried from every NUL: O(n^2))
  return (latin ? cp1252(b) : b.toString('utf8')).replace(/(?<!\u0000)\u0000+$/, '').replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/g, '').slice(0, MAX_TEXT);
}
