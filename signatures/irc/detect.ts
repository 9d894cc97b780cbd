// Is this flow IRC? In the spirit of Zeek's dpd.sig and nDPI irc.c: NICK+USER registration from the
// client, IRCv3 CAP negotiation, `:prefix COMMAND|numeric` lines from the server, or (for flows picked
// up mid-stream) PRIVMSG/NOTICE lines or several IRC commands. A prefixless numeric (`353 …`) counts
// only on a hinted IRC port, because SMTP/FTP replies look alike. Bounded: first 4 KiB, 16 lines.
import type { DetectInput, DetectResult, SignatureData } from '../types';
import { parseLine, type IrcMessage } from './parser';

const SCAN_BYTES = 4096;
const SCAN_LINES = 16;

/** Commands a server sends with a prefix, or a client sends: anything else on the first line is not IRC. */
const IRC_COMMANDS = new Set(
  ('PASS NICK USER OPER MODE SERVICE QUIT SQUIT JOIN PART TOPIC NAMES LIST INVITE KICK PRIVMSG NOTICE MOTD ' +
    'LUSERS VERSION STATS LINKS TIME CONNECT TRACE ADMIN INFO SERVLIST SQUERY WHO WHOIS WHOWAS KILL PING PONG ' +
    'ERROR AWAY REHASH USERHOST ISON WALLOPS CAP AUTHENTICATE STARTTLS SETNAME ACCOUNT CHGHOST BATCH TAGMSG ' +
    'MONITOR WEBIRC KNOCK SILENCE ACCEPT GLOBALUSERSTATE USERSTATE ROOMSTATE HOSTTARGET CLEARCHAT CLEARMSG ' +
    'WHISPER USERNOTICE RECONNECT NS CS NICKSERV CHANSERV ' +
    // a server link's own (RFC 2813 SERVER/NJOIN; TS6 and UnrealIRCd burst commands)
    'SERVER NJOIN CAPAB SVINFO SID UID EUID SJOIN TMODE BMASK ENCAP TB PROTOCTL').split(' '),
);

/**
 * What a server sends a client with a prefix (RFC 2812 §3 relayed and server messages, IRCv3 and
 * Twitch extensions). A prefixed line of another command — INFO, STATS, VERSION, … are a client's
 * queries, answered by numerics — is no server line: ":11.550Z INFO [bridge] …" is a log line's
 * timestamp tail (near-miss seed 20261145).
 */
const SERVER_SENT = new Set(
  ('PRIVMSG NOTICE JOIN PART QUIT NICK MODE KICK TOPIC INVITE KILL WALLOPS PING PONG ERROR CAP ACCOUNT AWAY ' +
    'CHGHOST SETNAME BATCH TAGMSG GLOBALUSERSTATE USERSTATE ROOMSTATE HOSTTARGET CLEARCHAT CLEARMSG ' +
    'WHISPER USERNOTICE RECONNECT').split(' '),
);

/** IRC commands that no other common line protocol (FTP, SMTP, POP, IMAP) uses: a few of them add up. */
const WEAK = new Set(['JOIN', 'PART', 'PING', 'PONG', 'MODE', 'NICK', 'WHO', 'WHOIS', 'TOPIC', 'NAMES', 'AWAY', 'ISON', 'USERHOST', 'KICK', 'INVITE']);

/** Numerics only IRC servers send (welcome, lusers, names, motd, whois, nick errors). */
const IRC_NUMERICS = new Set(
  // (codes FTP/SMTP also use — 250-252, 331, 332, 354, 421, 451 — are left out)
  ('001 002 003 004 005 253 254 255 265 266 311 312 313 317 318 319 321 322 323 324 329 333 ' +
    '341 352 353 366 372 375 376 401 403 404 431 432 433 436 437 442 461 462 464 473 474 475 670 900 903 904').split(' '),
);

/** control bytes IRC text may carry: TAB, LF, CR, CTCP \x01 and the mIRC formatting codes */
const TEXT_CONTROLS = new Uint8Array(32);
for (const c of [0x01, 0x02, 0x03, 0x04, 0x09, 0x0a, 0x0d, 0x0f, 0x11, 0x16, 0x1d, 0x1e, 0x1f]) TEXT_CONTROLS[c] = 1;

/** first words of other line protocols, compared without case */
const NOT_IRC = ['GET', 'POST', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'CONNECT', 'PATCH', 'HTTP/', 'EHLO', 'HELO', 'MAIL FROM', 'RCPT TO', 'SSH-', '* OK', '+OK', '<'].map((w) =>
  Buffer.from(w.toLowerCase(), 'latin1'),
);

/** NOT_IRC by first byte (both cases of a letter) */
const NOT_IRC_BY_FIRST: Buffer[][] = Array.from({ length: 256 }, () => []);
for (const w of NOT_IRC) {
  NOT_IRC_BY_FIRST[w[0]].push(w);
  if (w[0] >= 0x61 && w[0] <= 0x7a) NOT_IRC_BY_FIRST[w[0] - 0x20].push(w);
}

/** `b` starts with one of NOT_IRC (ASCII letters in any case) */
function startsNotIrc(b: Buffer): boolean {
  next: for (const w of NOT_IRC_BY_FIRST[b[0]]) {
    if (b.length < w.length) continue;
    for (let i = 0; i < w.length; i++) {
      const c = b[i];
      if (c !== w[i] && !(w[i] >= 0x61 && w[i] <= 0x7a && c === w[i] - 0x20)) continue next;
    }
    return true;
  }
  return false;
}

export function detectIrc(input: DetectInput, data: SignatureData): DetectResult {
  if (input.transport !== 'tcp') return null;
  const buf = input.data.length > SCAN_BYTES ? input.data.subarray(0, SCAN_BYTES) : input.data;
  if (!buf.length) return 'more';
  // other line protocols by their first bytes (HTTP, SMTP, SSH, XML…), before any scan or string. Only
  // from the SYN: picked up mid-stream, the first bytes are the tail of a lost line and may start
  // with anything ("puTr…" is no HTTP PUT; midstream-fuzz seed 90210); there the first whole line is
  // judged below, and no HTTP, SMTP or SSH line is an IRC line.
  const fromSyn = input.flow.clientBy === 'syn';
  if (fromSyn && startsNotIrc(buf)) return null;
  // Seen from the SYN, an IRC client's first line is an IRC command (NICK, USER, CAP, PASS, WEBIRC…):
  // server lines answering anything else are text being served — a Gopher selector "/irc/privmsg.txt"
  // answered by a file that quotes ":irc.example.net 001 bob :Welcome" (near-miss seed 41001321)
  if (fromSyn && input.dir === 1 && clientOpensOther(input.other)) return null;
  // IRC is text: a NUL or other binary byte early on rules it out
  const probe = Math.min(buf.length, 256);
  for (let i = 0; i < probe; i++) {
    const c = buf[i];
    if (c < 0x20 && !TEXT_CONTROLS[c]) return null;
  }
  const lastNl = buf.lastIndexOf(0x0a);
  if (lastNl < 0) return buf.length >= 1024 ? null : 'more';

  const text = buf.subarray(0, lastNl).toString('latin1');
  const lines = text.split('\n', SCAN_LINES);
  // without the SYN the capture may begin mid-line: the first line may be the tail of any line
  // ("…[ircbot] PRIVMSG #ops :done", ":14.949Z INFO …"), so it is never evidence: judge the rest
  if (input.flow.clientBy !== 'syn') {
    if (lines.length < 2) return buf.length >= SCAN_BYTES ? null : 'more';
    lines.shift();
  }
  let nick = false, user = false, weak = 0, numericNoPrefix = false;
  // A server line or a PRIVMSG decides among IRC lines: the stream's first line seen from the SYN, or
  // a line right after an IRC line; otherwise when the next line is an IRC line. The same words stand
  // alone as a value in a key-value store, a message broker's payload (a NATS MSG, a beanstalkd job)
  // or a mail, between that protocol's own lines; picked up mid-stream, the line before the first
  // whole one is lost, so a lone line there waits for the next.
  let pending: DetectResult = null;
  let afterIrc = false, first = input.flow.clientBy === 'syn';
  for (let li = 0; li < lines.length; li++) {
    const line = lines[li].replace(/\r$/, '');
    if (!line) continue;
    const m = parseLine(line);
    if (!m) return li === 0 ? null : 'more';
    // a prefix that is no nick, server or address (a log's timestamp tail) makes the line no IRC line
    const known = (IRC_COMMANDS.has(m.command) || /^\d{3}$/.test(m.command)) && (m.prefix === undefined || validPrefix(m.prefix));
    // an IRC line as IRC sends it: the command in capitals, in its parameter shape (a mail's next line
    // "Join us in #general" is prose)
    const ircLine = known && sentUpper(line, m.command) && paramShape(m);
    if (pending && ircLine) return pending;
    pending = null;
    // several IRC commands count as a run of IRC lines: a text file or a mail with "JOIN #general" and
    // "NICK bob" between lines of prose quotes them (near-miss seeds 41001542, 41001683)
    if (!ircLine) weak = 0;
    const amongIrc = afterIrc || first;
    afterIrc = ircLine;
    first = false;
    if (!known) {
      if (li === 0) return null;
      continue;
    }
    const numeric = /^\d{3}$/.test(m.command);
    // (a line with a prefix got here only with a valid one: `known` checked it)
    if (m.prefix !== undefined && (numeric ? serverNumeric(m, input) : SERVER_SENT.has(m.command))) {
      const h = hit('irc.server-line', `"${line.slice(0, 60)}": a prefixed ${numeric ? 'numeric reply' : m.command} line`);
      if (amongIrc) return h;
      pending = h;
      continue;
    }
    switch (m.command) {
      case 'NICK':
        if (m.params.length >= 1 && m.params.length <= 2 && /^[^\s,*?!@]{1,64}$/.test(m.params[0]) && sentUpper(line, 'NICK')) nick = true;
        break;
      case 'USER':
        if (m.params.length >= 4 && sentUpper(line, 'USER')) user = true;
        break;
      case 'CAP':
        if (/^(?:LS|REQ|END|LIST|ACK|NAK|\*)$/i.test(m.params[0] ?? '')) return hit('irc.cap', 'IRCv3 CAP negotiation');
        break;
      case 'PRIVMSG':
      case 'NOTICE':
        if (privmsgShape(m, line) && sentUpper(line, m.command)) {
          const h = hit('irc.privmsg', `${m.command} with a target and a text (stream picked up mid-session)`);
          if (amongIrc) return h;
          pending = h;
        }
        break;
      default:
        if (/^\d{3}$/.test(m.command)) {
          // a prefixless reply code IRC does not use: an FTP/SMTP-style reply stream
          if (!IRC_NUMERICS.has(m.command)) return null;
          // (a prefixed numeric that is no server line, one from the client side, counts for nothing.)
          // Picked up mid-stream, a reply must name its target and say something: a bare "254" there
          // is as likely a chunk size in an HTTP body (from the SYN, HTTP's first line rules IRC out)
          if (m.prefix === undefined && (input.flow.clientBy === 'syn' || m.params.length >= 2)) numericNoPrefix = true;
        }
    }
    if (nick && user) return hit('irc.registration', 'NICK and USER registration from the client');
    if (WEAK.has(m.command) && paramShape(m) && sentUpper(line, m.command)) weak++;
    if (weak >= 3) return hit('irc.commands', 'several IRC commands (JOIN/PING/MODE/…)');
  }
  if (numericNoPrefix && onIrcPort(input, data)) return hit('irc.numeric', 'IRC numeric reply on an IRC port');
  return buf.length >= SCAN_BYTES ? null : 'more';
}

/**
 * A numeric reply as servers send them: to its target (a nick or `*`) and at least one more parameter,
 * from a server name with a dot in it or with a numeric only IRC uses (":deploy 612 finished", a log
 * text's line, has neither; near-miss seed 20262365). From a known client side a prefix and a number
 * are no evidence ("…:x!yMSG 100 N 118", an MSN command glued to the tail of a lost message body).
 */
function serverNumeric(m: IrcMessage, input: DetectInput): boolean {
  if (input.dir === 0 && input.flow.clientBy !== 'first') return false;
  return m.params.length >= 2 && (m.prefix!.includes('.') || IRC_NUMERICS.has(m.command));
}

function hit(signature: string, reason: string): DetectResult {
  return { protocol: 'irc', evidence: { signature, reason } };
}

/**
 * The client's first whole line is no IRC command (false while no line has ended: a server may speak
 * first, "NOTICE AUTH :*** Looking up your hostname"). Commands are taken in any case here.
 */
function clientOpensOther(other: Buffer): boolean {
  let o = 0;
  while (o < other.length && (other[o] === 0x0d || other[o] === 0x0a)) o++;
  const nl = other.subarray(o, o + 1024).indexOf(0x0a);
  if (nl < 0) return false;
  const line = other.toString('latin1', o, o + nl).replace(/\r$/, '');
  const m = parseLine(line);
  return !m || !IRC_COMMANDS.has(m.command.toUpperCase());
}

/**
 * A prefix as RFC 2812 §2.3.1 writes it: `nick!user@host` (or `nick@host`), a server name — a host
 * name, whose last label starts with a letter as top-level domains do, or an IPv4/IPv6 address — or a
 * nick alone (a letter or special character first); on a TS6 server link, a server or user id. A log
 * line picked up at its timestamp's tail (`:11.550Z INFO …`, `:00:10.776Z ERROR …`) has none of these
 * (near-miss seeds 20261145, 20262591).
 */
function validPrefix(p: string): boolean {
  if (!/^[^\s\0]{1,255}$/.test(p) || !/^[A-Za-z0-9[\]\\`_^{|}\-.:]/.test(p)) return false;
  if (p.includes('!') || p.includes('@')) return true;
  // a TS6 server-to-server link names servers and users by id: SID digit + 2, UID SID + 6 (charybdis, ratbox)
  if (/^[0-9][0-9A-Z]{2}(?:[A-Z][0-9A-Z]{5})?$/.test(p)) return true;
  if (/^[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.?$/.test(p)) {
    const labels = p.replace(/\.$/, '').split('.');
    return /^[A-Za-z]/.test(labels[labels.length - 1]) || /^\d{1,3}(?:\.\d{1,3}){3}$/.test(p);
  }
  if ((/^[0-9A-Fa-f:.]+$/.test(p) && p.includes('::')) || /^[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4}){7}$/.test(p)) return true;
  return /^[A-Za-z[\]\\`_^{|}][A-Za-z0-9[\]\\`_^{|}-]*$/.test(p);
}

function privmsgShape(m: IrcMessage, line: string): boolean {
  return m.params.length === 2 && /^[^\s:]{1,128}$/.test(m.params[0]) && line.includes(' :');
}

/**
 * The command as sent is upper case. IRC commands are case-insensitive, but clients and servers send
 * them in capitals; prose lines start "Notice …", "Ping me …", "Who is …".
 */
function sentUpper(line: string, command: string): boolean {
  let i = 0;
  if (line.charCodeAt(0) === 0x40) i = line.indexOf(' ') + 1;
  while (line.charCodeAt(i) === 0x20) i++;
  if (line.charCodeAt(i) === 0x3a) i = line.indexOf(' ', i) + 1;
  while (line.charCodeAt(i) === 0x20) i++;
  return line.startsWith(command, i);
}

const CHANNEL = /^[#&+!][^\s,:\x07]{0,199}$/;
/**
 * The parameter counts (and first parameters) the weak commands, and a few others whose words start
 * prose, take (RFC 2812 §3): prose has more words ("QUIT smoking, they said"). A text of several
 * words is one trailing parameter, after a colon.
 */
function paramShape(m: IrcMessage): boolean {
  const p = m.params, n = p.length;
  switch (m.command) {
    case 'JOIN': case 'PART': return n >= 1 && n <= 2 && (p[0] === '0' || p[0].split(',').every((c) => CHANNEL.test(c)));
    // PING and PONG name their origin (RFC 2812 3.7.2/3.7.3: a bare PING is ERR_NOORIGIN): NATS and
    // Redis keep-alives are bare "PING"/"PONG" lines
    case 'PING': case 'PONG': return n >= 1 && n <= 2;
    case 'WHO': case 'WHOIS': case 'NAMES': return n <= 2;
    case 'NICK': return n >= 1 && n <= 2;
    case 'MODE': return n === 1 || (n >= 2 && /^[+-]/.test(p[1]));
    case 'TOPIC': return n >= 1 && n <= 2 && CHANNEL.test(p[0]);
    case 'AWAY': return n <= 1;
    case 'KICK': return (n === 2 || n === 3) && CHANNEL.test(p[0]);
    case 'INVITE': return n === 2 && CHANNEL.test(p[1]);
    case 'ISON': case 'USERHOST': return n >= 1 && n <= 5;
    case 'QUIT': case 'ERROR': return n <= 1;
    case 'PRIVMSG': case 'NOTICE': return n === 2;
    default: return true;
  }
}

function onIrcPort(input: DetectInput, data: SignatureData): boolean {
  const ports = data.ports?.tcp ?? [];
  return ports.includes(input.flow.server.port) || ports.includes(input.flow.client.port);
}
