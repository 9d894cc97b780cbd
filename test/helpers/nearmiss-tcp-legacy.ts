// Older and plainer TCP protocols for the near-miss corpus (test/signatures/near-miss.test.ts): a file
// sharing hub's chat (Direct Connect), a peer-to-peer search (Gnutella 0.6), source control that logs
// chat work (CVS pserver, svnserve), an internet radio stream with song titles (ICY), a remote login
// where a user `write`s to another (rlogin), mail on its way to a mailbox (spamd, LMTP), a gRPC chat
// service over cleartext HTTP/2, Bitcoin's peer protocol and an X11 client drawing a chat window.
// Chat words, screen names and protocol lines throughout; none of it is one of the IM protocols
// shadowim reports. Each is built from its specification (cited per generator).
import crypto from 'node:crypto';
import type { Exchange, Rng, Script } from './nearmiss';
import { b, cat, crlf, email, room, say, u16be, u32be, u32le, u8, who } from './nearmiss-tcp-more';

const lf = (...lines: string[]) => b(lines.map((l) => l + '\n').join(''));
const u16le = (n: number) => Buffer.from([n & 255, (n >> 8) & 255]);

/** NMDC, the Direct Connect hub protocol (nmdc.sourceforge.net): "|"-ended commands, $Lock/$Key, main chat "<nick> text|", $To: private messages */
function directConnect(rng: Rng): Script {
  const me = who(rng), peer = who(rng);
  const esc = (s: string) => s.replace(/\$/g, '&#36;').replace(/\|/g, '&#124;');
  const key = Array.from(rng.bytes(rng.range(40, 60)), (x) => String.fromCharCode(0x30 + (x % 64))).join('').replace(/[$|]/g, '/');
  const bar = (...cmds: string[]) => b(cmds.map((c) => c + '|').join(''));
  const ex: Exchange[] = [
    ['s', bar(`$Lock EXTENDEDPROTOCOL_${rng.hex(16)} Pk=${rng.pick(['PtokaX', 'YnHub', 'Verlihub'])}`, `$HubName ${room(rng)} hub`)],
    ['c', bar('$Supports UserCommand NoGetINFO NoHello UserIP2 TTHSearch ZPipe0 ', `$Key ${key}`, `$ValidateNick ${me}`)],
    ['s', bar('$Supports UserCommand NoGetINFO NoHello UserIP2 TTHSearch ', `$Hello ${me}`)],
    ['c', bar('$Version 1,0091', '$GetNickList', `$MyINFO $ALL ${me} <ApexDC++ V:1.6.5,M:A,H:1/0/0,S:3>$ $100\x01$${me}@example.com$${rng.range(1e6, 9e9)}$`)],
    ['s', bar(`$NickList ${peer}$$${me}$$opbot$$`, '$OpList opbot$$', `<opbot> ${esc(say(rng, 'dc-hub'))}`)],
  ];
  for (let i = rng.range(2, 7); i > 0; i--) {
    const r = rng.int(3);
    if (r === 0) ex.push(['c', bar(`<${me}> ${esc(say(rng, 'dc-me'))}`)]);
    else if (r === 1) ex.push(['s', bar(`<${peer}> ${esc(say(rng, 'dc-hub'))}`)]);
    else ex.push(['c', bar(`$To: ${peer} From: ${me} $<${me}> ${esc(say(rng, 'dc-me'))}`)]);
  }
  return { name: 'direct-connect-hub', port: 411, exchanges: ex, keywords: ['$To:', '<', '$MyINFO', '$Hello'] };
}

/** Gnutella 0.6 (the RFC-Gnutella 0.6 draft): an HTTP-like handshake, then 23-byte descriptor headers (GUID, type, TTL, hops, length LE) */
function gnutella(rng: Rng): Script {
  const desc = (type: number, payload: Buffer, guid = rng.bytes(16)) => cat(guid, u8(type), u8(rng.range(1, 7)), u8(rng.int(3)), u32le(payload.length), payload);
  const terms = ['msn messenger setup', 'aim 6.5 installer', 'yahoo messenger', 'irc chat logs', 'icq 2003b', 'trillian pro', 'chat transcript'];
  const ex: Exchange[] = [
    ['c', crlf('GNUTELLA CONNECT/0.6', `User-Agent: ${rng.pick(['LimeWire/4.18.8', 'Shareaza 2.7.10.2', 'gtk-gnutella/1.2.2'])}`, 'X-Ultrapeer: False', 'X-Query-Routing: 0.2', `Listen-IP: 10.0.${rng.int(255)}.${rng.int(255)}:6346`, '')],
    ['s', crlf('GNUTELLA/0.6 200 OK', 'User-Agent: LimeWire/4.18.8', 'X-Ultrapeer: True', `X-Try-Ultrapeers: 203.0.113.${rng.int(255)}:6346,198.51.100.${rng.int(255)}:6346`, '')],
    ['c', crlf('GNUTELLA/0.6 200 OK', '')],
    ['c', desc(0, Buffer.alloc(0))],
    ['s', desc(1, cat(u16le(6346), rng.bytes(4), u32le(rng.int(5000)), u32le(rng.int(1e6))))],
  ];
  for (let i = rng.range(1, 4); i > 0; i--) {
    const q = rng.pick(terms), guid = rng.bytes(16);
    ex.push(['c', desc(0x80, cat(u16le(0), q, u8(0)), guid)]);
    const names = Array.from({ length: rng.range(1, 3) }, () => `${q.replace(/ /g, '_')}${rng.pick(['.exe', '.zip', '.txt'])}`);
    const results = names.map((n, k) => cat(u32le(k), u32le(rng.range(1000, 9e6)), n, u8(0), u8(0)));
    ex.push(['s', desc(0x81, cat(u8(names.length), u16le(6346), rng.bytes(4), u32le(350), ...results, 'LIME', u8(2), u8(0x1c), u8(0x19), rng.bytes(16)), guid)]);
  }
  return { name: 'gnutella', port: 6346, exchanges: ex, keywords: ['GNUTELLA', 'messenger', 'chat'] };
}

/** CVS pserver (the CVS client/server protocol, "Connection and Authentication"): the auth request, I LOVE YOU, then requests and "M " lines of a log */
function cvsPserver(rng: Rng): Script {
  const user = who(rng);
  const scrambled = 'A' + Array.from(rng.bytes(rng.range(6, 12)), (x) => String.fromCharCode(0x21 + (x % 90))).join('');
  const log: string[] = ['M ', `M RCS file: /cvsroot/chatbot/${rng.pick(['irc.c', 'relay.py', 'msn.pl'])},v`, 'M Working file: relay'];
  for (let r = rng.range(2, 6); r > 0; r--) {
    log.push('M ----------------------------', `M revision 1.${r}`, `M date: 2004/0${rng.range(1, 9)}/1${rng.int(10)} 1${rng.int(10)}:0${rng.int(10)}:00;  author: ${who(rng)};  state: Exp;  lines: +${rng.range(1, 40)} -${rng.range(0, 9)}`, `M ${say(rng, 'cvs')}`);
  }
  log.push('M =============================================================================', 'ok');
  return {
    name: 'cvs-pserver', port: 2401, keywords: ['M ', 'BEGIN AUTH', 'Argument'],
    exchanges: [
      ['c', lf('BEGIN AUTH REQUEST', '/cvsroot', user, scrambled, 'END AUTH REQUEST')], ['s', lf('I LOVE YOU')],
      ['c', lf('Root /cvsroot', 'Valid-responses ok error Valid-requests Checked-in New-entry Updated Created Merged Mode Mod-time Removed M Mbinary E F MT', 'valid-requests')],
      ['s', lf('Valid-requests Root Valid-responses valid-requests Directory Entry Modified Argument Argumentx Global_option co update log ci', 'ok')],
      ['c', lf('Argument -N', 'Argument chatbot/relay', 'Directory .', '/cvsroot/chatbot', 'log')], ['s', lf(...log)],
    ],
  };
}

/** svnserve (subversion's libsvn_ra_svn/protocol): parenthesised tuples, "len:bytes" strings; a greeting, an anonymous login and a log */
function svnserve(rng: Rng): Script {
  const s = (t: string) => `${Buffer.byteLength(t)}:${t}`;
  const uuid = crypto.randomUUID();
  const url = `svn://svn.example.com/${rng.pick(['chatbot', 'im-bridge', 'ircd'])}/trunk`;
  const entries = Array.from({ length: rng.range(2, 6) }, (_, i) => `( ( ) ${i + 1} ( ${s(who(rng))} ) ( ${s(`2024-01-1${rng.int(10)}T09:0${rng.int(10)}:00.000000Z`)} ) ( ${s(say(rng, 'svn'))} ) false false 0 ( ) false ) `);
  return {
    name: 'svnserve', port: 3690, keywords: ['( success', '( log'],
    exchanges: [
      ['s', b('( success ( 2 2 ( ) ( edit-pipeline svndiff1 accepts-svndiff2 absent-entries commit-revprops depth log-revprops atomic-revprops partial-replay inherited-props ephemeral-txnprops file-revs-reverse list ) ) ) ')],
      ['c', b(`( 2 ( edit-pipeline svndiff1 accepts-svndiff2 absent-entries depth mergeinfo log-revprops ) ${s(url)} ${s('SVN/1.14.2 (x86_64-pc-linux-gnu) ra_svn')} ( ) ) `)],
      ['s', b(`( success ( ( ANONYMOUS ) ${s(uuid)} ) ) `)], ['c', b(`( ANONYMOUS ( ${s('')} ) ) `)],
      ['s', b(`( success ( ) ) ( success ( ${s(uuid)} ${s(url.replace(/\/trunk$/, ''))} ( mergeinfo ) ) ) `)],
      ['c', b(`( log ( ( ${s('')} ) ( ${entries.length} ) ( 1 ) true false 0 false revprops ( ${s('svn:author')} ${s('svn:date')} ${s('svn:log')} ) ) ) `)],
      ['s', b(`( success ( ( ) ( ) ) ) ${entries.join('')}done ( success ( ) ) `)],
    ],
  };
}

/** An ICY (SHOUTcast/Icecast) listener: "Icy-MetaData: 1", an "ICY 200 OK" reply, MPEG audio with a metadata block every icy-metaint bytes */
function icyStream(rng: Rng): Script {
  const metaint = rng.pick([2048, 4096, 8192]);
  const parts: Buffer[] = [crlf('ICY 200 OK', 'icy-notice1: <BR>This stream requires <a href="http://www.winamp.com/">Winamp</a><BR>', `icy-name: ${rng.pick(['Chat FM', 'Talk Radio 24', 'IRC Beats'])}`, 'icy-genre: Talk', 'icy-br: 128', `icy-metaint: ${metaint}`, 'content-type: audio/mpeg', '')];
  for (let i = rng.range(1, 3); i > 0; i--) {
    const audio = rng.bytes(metaint);
    for (let o = 0; o + 4 < metaint; o += 418) audio.set([0xff, 0xfb, 0x90, 0x64], o); // MPEG-1 layer III frame headers
    const title = Buffer.from(`StreamTitle='${say(rng, 'icy').replace(/'/g, '')}';StreamUrl='';`);
    const blocks = Math.ceil(title.length / 16);
    parts.push(audio, u8(blocks), title, Buffer.alloc(blocks * 16 - title.length));
  }
  return {
    name: 'icy-stream', port: 8000, keywords: ['StreamTitle', 'ICY'],
    exchanges: [['c', crlf('GET /stream HTTP/1.0', 'Host: radio.example.com:8000', 'User-Agent: VLC/3.0.18 LibVLC/3.0.18', 'Icy-MetaData: 1', '')], ['s', Buffer.concat(parts)]],
  };
}

/** rlogin (RFC 1282): NUL-separated users and terminal, the server's NUL, a window-size request; then a shell where the user write(1)s to another */
function rlogin(rng: Rng): Script {
  const me = who(rng), peer = who(rng);
  const ex: Exchange[] = [
    ['c', cat(u8(0), me, u8(0), me, u8(0), 'xterm/38400', u8(0))], ['s', u8(0)], ['s', u8(0x80)],
    ['c', cat(Buffer.from([0xff, 0xff, 0x73, 0x73]), u16be(24), u16be(80), u16be(0), u16be(0))],
    ['s', b(`Last login: Mon Jan 15 09:0${rng.int(10)}:12 2024 from 10.0.0.${rng.int(255)}\r\n${me}@host:~$ `)],
    ['c', b(`write ${peer}\r`)], ['s', b(`write ${peer}\r\n`)],
  ];
  for (let i = rng.range(1, 4); i > 0; i--) {
    const line = say(rng, 'rlogin');
    ex.push(['c', b(line + '\r')], ['s', b(line + '\r\n')]);
  }
  ex.push(['c', b('\x04')], ['s', b(`\r\nMessage from ${peer}@host on pts/${rng.int(9)} at 09:${rng.range(10, 59)} ...\r\n${say(rng, 'rlogin-peer')}\r\nEOF\r\n${me}@host:~$ `)], ['c', b('exit\r')], ['s', b('logout\r\n')]);
  return { name: 'rlogin-write', port: 513, exchanges: ex, keywords: ['Message from', 'write ', '\r\n'] };
}

function chatMail(rng: Rng, to: string): string {
  const lines = Array.from({ length: rng.range(2, 5) }, () => `> ${who(rng)}: ${say(rng, 'mail')}`);
  return [
    `Return-Path: <notifications@chat.example.com>`, `From: Chat <notifications@chat.example.com>`, `To: ${to}`,
    `Subject: ${rng.range(2, 9)} new messages in #${room(rng)}`, `Message-ID: <${rng.hex(16)}@chat.example.com>`, 'MIME-Version: 1.0', 'Content-Type: text/plain; charset=UTF-8', '',
    `You have new messages in #${room(rng)}:`, ...lines, '', 'Reply in the app to answer.', '',
  ].join('\r\n');
}

/** SpamAssassin's spamd (spamd's PROTOCOL file): a SPAMC/1.5 request with Content-length, a SPAMD/1.1 reply, a PING now and then */
function spamd(rng: Rng): Script {
  const to = email(rng);
  const mail = chatMail(rng, to);
  const ex: Exchange[] = [];
  if (rng.chance(0.4)) ex.push(['c', crlf('PING SPAMC/1.5', '')], ['s', crlf('SPAMD/1.5 0 PONG')]);
  const cmd = rng.pick(['PROCESS', 'CHECK', 'SYMBOLS', 'REPORT']);
  ex.push(['c', cat(crlf(`${cmd} SPAMC/1.5`, `Content-length: ${Buffer.byteLength(mail)}`, `User: ${to.split('@')[0]}`, ''), mail)]);
  const score = `${(rng.int(60) / 10).toFixed(1)} / 5.0`;
  const out = cmd === 'PROCESS' ? mail.replace('MIME-Version', `X-Spam-Status: No, score=${score.split(' ')[0]} required=5.0\r\nMIME-Version`) : cmd === 'CHECK' ? '' : 'HTML_MESSAGE,SPF_PASS';
  ex.push(['s', cat(crlf('SPAMD/1.1 0 EX_OK', `Content-length: ${Buffer.byteLength(out)}`, `Spam: False ; ${score}`, ''), out)]);
  return { name: 'spamd', port: 783, exchanges: ex, keywords: ['SPAMC', '> ', 'Subject'] };
}

/** LMTP (RFC 2033) delivering a chat service's notification mail: LHLO, MAIL, RCPT, DATA with dot-stuffing */
function lmtp(rng: Rng): Script {
  const to = email(rng);
  const data = chatMail(rng, to).replace(/^\./gm, '..');
  return {
    name: 'lmtp', port: 24, keywords: ['RCPT', '> ', 'DATA'],
    exchanges: [
      ['s', crlf('220 mail.example.com Dovecot ready.')], ['c', crlf('LHLO mx.example.com')],
      ['s', crlf('250-mail.example.com', '250-8BITMIME', '250-ENHANCEDSTATUSCODES', '250 PIPELINING')],
      ['c', crlf('MAIL FROM:<notifications@chat.example.com> BODY=8BITMIME', `RCPT TO:<${to}>`, 'DATA')],
      ['s', crlf('250 2.1.0 OK', '250 2.1.5 OK', '354 OK')], ['c', cat(data, '\r\n.\r\n')],
      ['s', crlf(`250 2.0.0 <${to}> ${rng.hex(22)} Saved`)], ['c', crlf('QUIT')], ['s', crlf('221 2.0.0 Bye')],
    ],
  };
}

/** gRPC over cleartext HTTP/2 with prior knowledge (RFC 9113 3.3, HPACK RFC 7541 literals without indexing; gRPC's length-prefixed messages) */
function grpcH2c(rng: Rng): Script {
  const hint = (n: number, prefix: number, first: number) => { // RFC 7541 5.1
    const max = (1 << prefix) - 1;
    if (n < max) return [first | n];
    const out = [first | max];
    for (n -= max; n >= 128; n >>= 7) out.push((n & 127) | 128);
    out.push(n);
    return out;
  };
  const str = (s: string) => cat(Buffer.from(hint(Buffer.byteLength(s), 7, 0)), s);
  const lit = (name: string, value: string) => cat(u8(0), str(name), str(value));
  const frame = (type: number, flags: number, stream: number, payload: Buffer) => cat(u8(payload.length >> 16), u16be(payload.length & 0xffff), u8(type), u8(flags), u32be(stream), payload);
  const varint = (n: number) => { const o: number[] = []; for (; n >= 128; n >>>= 7) o.push((n & 127) | 128); o.push(n); return Buffer.from(o); };
  const pbStr = (field: number, s: string) => cat(u8((field << 3) | 2), varint(Buffer.byteLength(s)), s); // protobuf length-delimited field
  const grpcMsg = (pb: Buffer) => cat(u8(0), u32be(pb.length), pb);
  const ex: Exchange[] = [
    ['c', cat('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', frame(4, 0, 0, cat(u16be(3), u32be(100), u16be(4), u32be(65535))))],
    ['s', cat(frame(4, 0, 0, cat(u16be(3), u32be(250))), frame(4, 1, 0, Buffer.alloc(0)))], ['c', frame(4, 1, 0, Buffer.alloc(0))],
  ];
  for (let i = rng.range(1, 3), st = 1; i > 0; i--, st += 2) {
    const method = rng.pick(['SendMessage', 'PostToRoom', 'Notify']);
    const headers = cat(Buffer.from([0x83, 0x86]), lit(':path', `/chat.v1.ChatService/${method}`), lit(':authority', 'chat.internal.example.com:50051'), lit('content-type', 'application/grpc'), lit('te', 'trailers'), lit('user-agent', 'grpc-go/1.60.1'));
    const pb = cat(pbStr(1, `#${room(rng)}`), pbStr(2, who(rng)), pbStr(3, say(rng, 'grpc')));
    ex.push(['c', cat(frame(1, 4, st, headers), frame(0, 1, st, grpcMsg(pb)))]);
    ex.push(['s', cat(frame(1, 4, st, cat(u8(0x88), lit('content-type', 'application/grpc'))), frame(0, 0, st, grpcMsg(pbStr(1, rng.hex(16)))), frame(1, 5, st, lit('grpc-status', '0')))]);
  }
  return { name: 'grpc-h2c', port: 50051, exchanges: ex, keywords: ['PRI *', 'grpc', '#'] };
}

/** Bitcoin's peer protocol (developer reference, "P2P Network"): magic, 12-byte command, length, double-SHA256 checksum; version/verack/ping/inv */
function bitcoin(rng: Rng): Script {
  const msg = (cmd: string, payload: Buffer) => {
    const c = Buffer.alloc(12);
    c.write(cmd, 'latin1');
    const sum = crypto.createHash('sha256').update(crypto.createHash('sha256').update(payload).digest()).digest().subarray(0, 4);
    return cat(Buffer.from('f9beb4d9', 'hex'), c, u32le(payload.length), sum, payload);
  };
  const addr = () => cat(Buffer.alloc(8), Buffer.from('00000000000000000000ffff', 'hex'), rng.bytes(4), u16be(8333));
  const version = (ua: string) => cat(u32le(70016), Buffer.from([9, 4, 0, 0, 0, 0, 0, 0]), u32le(1705300000 + rng.int(86400)), u32le(0), addr(), addr(), rng.bytes(8), u8(ua.length), ua, u32le(820000 + rng.int(9999)), u8(1));
  const ex: Exchange[] = [
    ['c', msg('version', version('/Satoshi:25.0.0/'))], ['s', cat(msg('version', version(rng.pick(['/Satoshi:26.0.0/', '/btcwire:0.5.0/btcd:0.24.0/']))), msg('verack', Buffer.alloc(0)))],
    ['c', cat(msg('verack', Buffer.alloc(0)), msg('sendheaders', Buffer.alloc(0)))],
  ];
  for (let i = rng.range(1, 4); i > 0; i--) {
    const nonce = rng.bytes(8);
    ex.push(['s', msg('ping', nonce)], ['c', msg('pong', nonce)]);
    const n = rng.range(1, 8);
    ex.push(['s', msg('inv', cat(u8(n), ...Array.from({ length: n }, () => cat(u32le(rng.pick([1, 2])), rng.bytes(32)))))]);
  }
  return { name: 'bitcoin-p2p', port: 8333, exchanges: ex, keywords: ['version', 'ping'] };
}

/** An X11 client (X Window System Protocol, X11R7.7): little-endian connection setup with an MIT cookie; ChangeProperty WM_NAME and ImageText8 lines of a chat window */
function x11Chat(rng: Rng): Script {
  const pad = (x: Buffer) => cat(x, Buffer.alloc((4 - (x.length % 4)) % 4));
  const auth = 'MIT-MAGIC-COOKIE-1';
  const win = 0x01a00000 + rng.int(0xffff), gc = win + 1;
  const vendor = pad(b('The X.Org Foundation'));
  const extra = cat(u32le(12101004), u32le(0x01a00000), u32le(0x001fffff), u32le(256), u16le(20), u16le(0xffff), u8(1), u8(1), u8(0), u8(0), u8(32), u8(32), u8(8), u8(255), u32le(0), vendor,
    cat(u8(24), u8(32), u8(32), Buffer.alloc(5)), // one pixmap format
    cat(u32le(0x4ce), u32le(0x22), u32le(0xffffff), u32le(0), u32le(0xfa8031), u16le(1920), u16le(1080), u16le(508), u16le(285), u16le(1), u16le(1), u32le(0x21), u8(0), u8(0), u8(24), u8(1), // one screen
      cat(u8(24), u8(0), u16le(1), Buffer.alloc(4), u32le(0x21), u8(4), u8(8), u16le(256), u32le(0xff0000), u32le(0xff00), u32le(0xff), Buffer.alloc(4)))); // its depth and TrueColor visual
  const ex: Exchange[] = [
    ['c', cat('l', u8(0), u16le(11), u16le(0), u16le(auth.length), u16le(16), u16le(0), pad(b(auth)), rng.bytes(16))],
    ['s', cat(u8(1), u8(0), u16le(11), u16le(0), u16le(extra.length / 4), extra)],
  ];
  const title = b(`irssi - #${room(rng)} - ${who(rng)}`);
  // ChangeProperty(Replace, WM_NAME = atom 39, STRING = atom 31, format 8)
  ex.push(['c', cat(u8(18), u8(0), u16le(6 + pad(title).length / 4), u32le(win), u32le(39), u32le(31), u8(8), Buffer.alloc(3), u32le(title.length), pad(title))]);
  for (let i = rng.range(2, 8), y = 14; i > 0; i--, y += 14) {
    const line = b(`${rng.range(10, 23)}:${rng.range(10, 59)} <${who(rng)}> ${say(rng, 'x11')}`).subarray(0, 255);
    ex.push(['c', cat(u8(76), u8(line.length), u16le(4 + Math.ceil(line.length / 4)), u32le(win), u32le(gc), u16le(2), u16le(y), pad(line))]);
    if (rng.chance(0.3)) ex.push(['s', cat(u8(12), u8(0), u16le(i), u32le(win), u16le(0), u16le(0), u16le(640), u16le(480), u16le(0), Buffer.alloc(14))]); // Expose
  }
  return { name: 'x11-chat-window', port: 6000, exchanges: ex, keywords: ['<', 'irssi', 'MIT-MAGIC'] };
}

export const LEGACY_TCP_GENERATORS: ((rng: Rng) => Script)[] = [directConnect, gnutella, cvsPserver, svnserve, icyStream, rlogin, spamd, lmtp, grpcH2c, bitcoin, x11Chat];
