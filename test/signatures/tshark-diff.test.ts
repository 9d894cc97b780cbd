// Differential fuzz of the message decoders, tshark (Wireshark's dissectors) as the oracle: per
// protocol, many random but valid IM sessions (random identities, texts in the charsets the protocol
// allows, up to its length limit, markup and colour codes where it has them) written twice, as the
// same bytes: once in random TCP segments (headers and fields split, several PDUs in one, neighbours
// swapped, a segment repeated), which `shadowim analyze` reads, and once with every PDU whole in its
// segment, which tshark reads (its IRC, MSNMS and XMPP dissectors do not reassemble, and its YMSG one
// lost PDUs cut into tiny segments). Two captures per protocol, one shadowim run and one tshark run.
// Every message tshark's dissector reads must be one shadowim reports, in the same order within its
// session, with the same sender, recipient and text. Where a chat client shows markup as text and
// shadowim documents that it does the same (AIM HTML, YMSG and IRC colour codes), tshark's raw value
// is brought to that form (test/helpers/tshark.ts); where tshark does not name a side (AIM names only
// the buddy, MSN a client's MSG names nobody) the session's own identity from the builder stands in.
// Gadu-Gadu 8.0: tshark names the peers but does not read the text, which is compared with what the
// builder wrote. Exception: a text of blanks only is no message to any decoder (below).
//
// Seeds: xorshift32 (test/helpers/fuzz.ts), SHADOWIM_FUZZ_SEED and SHADOWIM_FUZZ_SCALE as for the other
// fuzz tests. Each session has a generator of its own made of the seed and its index, so a mismatch
// is rebuilt alone with the replay line the failure prints (SHADOWIM_TSHARK_DIFF_ONLY=I, --grep the
// protocol); SHADOWIM_TSHARK_DIFF_KEEP=DIR keeps the two captures.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Capture, type TcpConversation } from '../helpers/pcapgen';
import { analyzeFile } from '../helpers/analyze';
import { fuzzCases, fuzzSeed, Rand } from '../helpers/fuzz';
import { haveTshark, tsharkRead, type Msg } from '../helpers/tshark';
import { Flaps, bosOpening, fragment, incomingIm, outgoingIm, tlv, u16, typing as aimTyping } from './oscar-wire';
import { msg, textMsg, typing as msnTyping } from './msn-wire';
import { pdu } from './ymsg-wire';
import { login80, pkt, recvMsg80, recvMsgOld, sendMsg80, sendMsgOld, u32, welcome } from './gadugadu-wire';

const span = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => String.fromCodePoint(a + i));
const LETTERS = span(0x61, 0x7a).concat(span(0x41, 0x5a));
const DIGITS = span(0x30, 0x39);
const ASCII = span(0x20, 0x7e);
// printable Latin-1 above ASCII (U+00A0 no-break space and U+00AD soft hyphen are whitespace/format characters)
const LATIN1 = span(0xa1, 0xff).filter((c) => c !== '\u00ad');
// a spread of scripts: Latin extended, Greek, Cyrillic, Hebrew, Arabic, Devanagari, CJK, Hangul, symbols, emoji (astral)
const UNICODE = [
  ...span(0x100, 0x17f), ...span(0x391, 0x3a9), ...span(0x410, 0x44f), ...span(0x5d0, 0x5ea), ...span(0x627, 0x64a),
  ...span(0x905, 0x939), ...span(0x4e00, 0x4e3f), ...span(0xac00, 0xac3f), ...span(0x2190, 0x21ff), ...span(0x1f600, 0x1f64f),
  '€', '✓', '—', '“', '”', '…',
];
// CP1250 (Gadu-Gadu): ASCII and the Polish letters
const POLISH = [...'ąćęłńóśźżĄĆĘŁŃÓŚŹŻ'];
const CP1250 = new Map<string, number>();
for (let b = 0x80; b <= 0xff; b++) CP1250.set(new TextDecoder('windows-1250').decode(Buffer.from([b])), b);
const cp1250 = (s: string) => Buffer.from([...s].map((c) => (c.charCodeAt(0) < 0x80 ? c.charCodeAt(0) : CP1250.get(c)!)));

/**
 * A random text of `min`–`max` characters from `pools` (mostly letters and spaces), without runs of 4
 * digits (the analyzer masks card and account numbers in message texts, DLP's job, not the
 * decoder's). Mostly it does not start or end with whitespace and has no two blanks in a row; one
 * text in five (when the protocol keeps text as sent) mixes in `blanks` anywhere, ends included.
 */
function text(r: Rand, pools: string[][], min: number, max: number, blanks: string[] = []): string {
  const n = r.range(min, max);
  const loose = blanks.length > 0 && r.chance(0.2);
  const out: string[] = [];
  let digits = 0;
  while (out.length < n) {
    const k = r.int(10);
    let c = k < 5 ? r.pick(LETTERS) : k < 7 ? ' ' : r.pick(r.pick(pools));
    if (loose && r.chance(0.1)) c = r.pick(blanks);
    if (/\d/.test(c) && ++digits > 3) c = 'x';
    if (!/\d/.test(c)) digits = 0;
    if (!loose && /\s/.test(c) && (out.length === 0 || out.length === n - 1 || /\s/.test(out[out.length - 1]))) c = r.pick(LETTERS);
    out.push(c);
  }
  return out.join('');
}

/** most texts are chat-sized; one in 30 goes up to `cap`, the longest the decoder reports whole */
const upTo = (r: Rand, usual: number, cap: number) => (r.chance(1 / 30) ? cap : usual);

function ident(r: Rand, first: string[], rest: string[], min: number, max: number): string {
  let s = r.pick(first);
  const n = r.range(min, max);
  while (s.length < n) s += r.pick(rest);
  return s;
}

type Pdus = { dir: 'c' | 's'; data: Buffer }[];

/**
 * A session's PDUs written as TCP segments. `random` (what shadowim reads): runs of one direction's
 * PDUs cut into random segments — tiny ones that split headers and fields, small, full-sized, or
 * several PDUs in one. `whole` (what tshark reads): the same bytes with every PDU whole, one to four
 * to a segment (larger than an Ethernet MTU when they must be): given random segments, tshark's IRC,
 * MSNMS and XMPP dissectors, which do not reassemble, cut and lost messages, and its YMSG one lost
 * some PDUs split into tiny segments.
 */
function emit(t: TcpConversation, pdus: Pdus, r: Rand, mode: 'random' | 'whole'): void {
  for (let i = 0; i < pdus.length; ) {
    let j = i + 1;
    while (j < pdus.length && pdus[j].dir === pdus[i].dir && (mode === 'random' ? r.chance(0.7) : j - i < 4 && r.chance(0.6))) j++;
    const data = Buffer.concat(pdus.slice(i, j).map((p) => p.data));
    const dir = pdus[i].dir;
    if (mode === 'whole') t.send(dir, data, { segment: data.length || 1 });
    else {
      const kind = r.int(4);
      const n = kind === 0 ? r.range(1, 7) : kind === 1 ? r.range(8, 64) : kind === 2 ? r.range(65, 1460) : 1460;
      const count = Math.ceil(data.length / n);
      // now and then neighbours swapped and a segment sent twice: the sensor reorders, tshark need not
      const reorder = Array.from({ length: count }, (_, x) => x);
      if (r.chance(0.2)) for (let x = r.int(2); x + 1 < count; x += 2 + r.int(3)) [reorder[x], reorder[x + 1]] = [reorder[x + 1], reorder[x]];
      const retransmit = r.chance(0.1) ? [r.int(count)] : [];
      t.send(dir, data, { segment: n, reorder, retransmit });
    }
    i = j;
  }
}

interface Said {
  from: string;
  to: string;
  text: string;
}
interface Session {
  /** client port: shadowim's events name it */
  port: number;
  /** the session's own identity, for the side tshark does not name */
  me: string;
  said: Said[];
}
interface Proto {
  name: string;
  /** sessions in CI */
  sessions: number;
  /** tshark -d for a port it gives to another dissector */
  decodeAs?: string[];
  /**
   * A text of blanks only (after markup and colour codes go) is no message to shadowim's decoder
   * (`if (!text.trim()) return`: nothing to read or scan; YMSG's typing PDUs carry 14=" "), while
   * tshark shows what was sent: such messages are left out of tshark's list. Every decoder (MSN's since 27 November).
   */
  blankIsNoMessage: boolean;
  /** the messages (with the markup tshark shows) and identities of one session, written to `w` */
  build(r: Rand, w: (dir: 'c' | 's', b: Buffer | string) => void): { me: string; said: Said[] };
  server: string;
}

// ---- AIM / ICQ over OSCAR ---------------------------------------------------------------------

const escHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const utf16be = (s: string) => Buffer.from(s, 'utf16le').swap16();

/** a chat client's HTML around a text: font and body tags, a line break, an entity */
function aimHtml(r: Rand, t: string): string {
  let h = escHtml(t);
  if (r.chance(0.3)) h = h.replace(/ /, '<br>');
  if (r.chance(0.3)) h = h.replace(/e/, '&#101;');
  if (r.chance(0.3)) h = `<B>${h}</B>`;
  if (r.chance(0.6)) h = `<HTML><BODY BGCOLOR="#ffffff"><FONT FACE="Arial" SIZE=${r.range(1, 4)} COLOR="#000000">${h}</FONT></BODY></HTML>`;
  return h;
}

/** a SNAC (in its FLAP) with flag 0x8000: a length and TLVs (family version) before its body */
function withVersion(flap: Buffer): Buffer {
  const pre = Buffer.concat([u16(6), tlv(1, u16(0x0001))]);
  const out = Buffer.concat([flap.subarray(0, 16), pre, flap.subarray(16)]);
  out.writeUInt16BE(flap.readUInt16BE(4) + pre.length, 4);
  out.writeUInt16BE(0x8000, 10);
  return out;
}

const oscar: Proto = {
  name: 'oscar',
  blankIsNoMessage: true,
  sessions: 30,
  server: '64.12.24.50:5190',
  // tshark 4.0 gives AIM no port of its own (the corpus decodes 443 the same way)
  decodeAs: ['tcp.port==5190,aim'],
  build(r, w) {
    const icq = r.chance(0.25);
    // AIM screen names: a letter, then letters, digits and single spaces; ICQ: a UIN
    const name = () => (icq ? ident(r, DIGITS.slice(1), DIGITS, 5, 9) : ident(r, LETTERS, [...LETTERS, ...DIGITS, ' '], 3, 16).replace(/ +/g, ' ').replace(/ $/, 'z'));
    const me = name();
    let buddies = [name(), name()].filter((b) => b !== me);
    if (!buddies.length) buddies = [me + '0'];
    const c = new Flaps(r.range(0, 0x7000)), s = new Flaps(r.range(0, 0x7000));
    for (const [dir, b] of bosOpening(c, s, { me })) w(dir, b);
    const said: Said[] = [];
    for (let i = r.range(1, 12); i > 0; i--) {
      const buddy = r.pick(buddies);
      if (r.chance(0.15)) w('c', aimTyping(c, buddy));
      const charset = r.pick([0, 0, 2, 3]);
      // charset 0 is ASCII, or UTF-8 as iChat and later clients send it
      const pools = charset === 0 ? (r.chance(0.7) ? [ASCII] : [ASCII, UNICODE]) : charset === 3 ? [ASCII, LATIN1] : [ASCII, LATIN1, UNICODE];
      const frags: Buffer[] = [];
      const htmls: string[] = [];
      for (let f = r.chance(0.15) ? 2 : 1; f > 0; f--) {
        const h = aimHtml(r, text(r, pools, 1, upTo(r, 400, 7000)));
        htmls.push(h);
        frags.push(fragment(charset === 2 ? utf16be(h) : Buffer.from(h, charset === 3 ? 'latin1' : 'utf8'), charset));
      }
      // the features (0x0501) as clients send them: 1 to 4 bytes
      const features = Buffer.from([1, 1, 2, 3].slice(0, r.range(1, 4)));
      const block = Buffer.concat([u16(0x0501), u16(features.length), features, ...frags]);
      const cookie = Buffer.from(u32(r.int(0x7fffffff)).toString('hex') + '00000000', 'hex');
      if (r.chance(0.5)) {
        w('c', outgoingIm(c, buddy, block, cookie));
        said.push({ from: me, to: buddy, text: htmls.join('') });
      } else {
        w('s', r.chance(0.1) ? withVersion(incomingIm(s, buddy, block, cookie)) : incomingIm(s, buddy, block, cookie));
        said.push({ from: buddy, to: me, text: htmls.join('') });
      }
    }
    return { me, said };
  },
};

// ---- MSN switchboard ---------------------------------------------------------------------------

/** a text MSG as different clients write its MIME header (order, charset parameter, format line) */
function chat(r: Rand, head: string, t: string): Buffer {
  switch (r.int(4)) {
    case 0:
      return msg(head, 'MIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8', t);
    case 1:
      return msg(head, `MIME-Version: 1.0\nX-MMS-IM-Format: FN=Segoe%20UI; EF=B; CO=${r.range(0, 0xffffff)}; CS=1; PF=0\nContent-Type: text/plain; charset=UTF-8`, t);
    case 2:
      return msg(head, 'MIME-Version: 1.0\nContent-Type: text/plain;charset=utf-8\nX-MMS-IM-Format: FN=MS%20Sans%20Serif; EF=; CO=0; CS=0; PF=0\nMessage-ID: {a1b2}', t);
    default:
      return textMsg(head, t);
  }
}

const msn: Proto = {
  name: 'msn',
  blankIsNoMessage: true,
  sessions: 30,
  server: '207.46.108.38:1863',
  build(r, w) {
    const local = () => ident(r, LETTERS, [...LETTERS, ...DIGITS, '.', '_', '-'], 1, 20).replace(/[._-]+$/, 'z');
    const passport = () => `${local()}@${r.pick(['hotmail.com', 'msn.com', 'example.org', 'live.co.uk'])}`;
    const me = passport();
    const buddy = passport();
    const friendly = encodeURIComponent(text(r, [ASCII, UNICODE], 1, 20));
    w('c', `USR 1 ${me} ${r.range(1e8, 2e9)}.${r.range(1e7, 9e7)}.${r.range(1e3, 9e3)}\r\n`);
    w('s', `USR 1 OK ${me} ${encodeURIComponent(text(r, [ASCII], 1, 12))}\r\n`);
    w('s', `JOI ${buddy} ${friendly} ${r.range(0, 1e9)}\r\n`);
    const said: Said[] = [];
    let trid = 2;
    for (let i = r.range(1, 12); i > 0; i--) {
      const t = text(r, [ASCII, LATIN1, UNICODE], 1, upTo(r, 1000, 16000), [' ', '\t', '\r\n']);
      if (r.chance(0.5)) {
        if (r.chance(0.2)) w('c', msnTyping(`${trid++} U`, me));
        w('c', chat(r, `${trid++} ${r.pick(['N', 'A', 'U'])}`, t));
        said.push({ from: me, to: buddy, text: t });
      } else {
        if (r.chance(0.2)) w('s', msnTyping(`${buddy} ${friendly}`, buddy));
        w('s', chat(r, `${buddy} ${friendly}`, t));
        said.push({ from: buddy, to: me, text: t });
      }
    }
    return { me, said };
  },
};

// ---- Yahoo -------------------------------------------------------------------------------------

/** colour codes and Yahoo's font/style tags around parts of a text */
function ymsgStyle(r: Rand, t: string): string {
  const codes = ['\x1b[1m', '\x1b[x1m', '\x1b[31m', `\x1b[#${r.range(0, 0xffffff).toString(16).padStart(6, '0')}m`, '\x1b[2m'];
  let s = t;
  if (r.chance(0.4)) s = r.pick(codes) + s;
  if (r.chance(0.3)) s = s.replace(/ /, ` ${r.pick(codes)}`);
  if (r.chance(0.3)) s = `<font face="${r.pick(['Arial', 'Tahoma', 'Comic Sans MS'])}" size="${r.range(8, 14)}">${s}</font>`;
  if (r.chance(0.2)) s = s.replace(/ (\S+)/, (_, w: string) => ` ${r.pick(['<b>', '<i>', '<u>', '<B>', '<s>'])}${w}</${r.pick(['b', 'i', 'u'])}>`);
  if (r.chance(0.05)) s = `<alt #00ff00,#0000ff>${s}</alt>`;
  if (r.chance(0.1)) s = `<fade #ff0000,#0000ff>${s}</fade>`;
  return s;
}

const ymsg: Proto = {
  name: 'ymsg',
  blankIsNoMessage: true,
  sessions: 30,
  server: '98.136.112.33:5050',
  build(r, w) {
    const id = () => ident(r, LETTERS, [...LETTERS, ...DIGITS, '_', '.'], 4, 32).replace(/[._]+$/, 'y');
    const me = id();
    const buddy = id();
    const session = r.range(1, 0x7fffffff);
    // protocol versions of Yahoo! Messenger 5.5 to 11 (the header's u16 at 4)
    const version = r.pick([9, 10, 11, 12, 13, 15, 16, 17]);
    const send = w;
    w = (dir, b) => {
      const pdu = Buffer.from(b);
      pdu.writeUInt16BE(version, 4);
      send(dir, pdu);
    };
    w('c', pdu(0x57, [[1, me]], 0, 0));
    w('s', pdu(0x57, [[1, me], [94, 'challenge'], [13, '0']], 0, session));
    const said: Said[] = [];
    for (let i = r.range(1, 12); i > 0; i--) {
      const latin1 = r.chance(0.25);
      const t = ymsgStyle(r, text(r, latin1 ? [LATIN1] : [ASCII.filter((c) => c !== '<'), LATIN1, UNICODE], 1, upTo(r, 800, 16000), [' ', '\t', '\n']));
      const value = latin1 ? Buffer.from(t, 'latin1') : t;
      const utf8 = latin1 ? [] : ([[97, '1']] as [number, string][]);
      const room = `${buddy}-${r.range(1, 999)}`;
      if (r.chance(0.15)) {
        // conference (0x1d): 3 sender, 57 room; chat room (0xa8): 109 sender, 104 room, 117 text
        const from = r.chance(0.5) ? me : buddy;
        if (r.chance(0.5)) w(from === me ? 'c' : 's', pdu(0x1d, [[1, me], [57, room], [3, from], [14, value], ...utf8], 0, session));
        else w(from === me ? 'c' : 's', pdu(0xa8, [[1, me], [104, room], [109, from], [117, value], ...utf8], 1, session));
        said.push({ from, to: room, text: t });
      } else if (r.chance(0.5)) {
        if (r.chance(0.2)) w('c', pdu(0x4b, [[1, me], [5, buddy], [13, '1'], [14, ' '], [49, 'TYPING']], 0x16, session));
        w('c', pdu(0x06, [[1, me], [5, buddy], [14, value], ...utf8], 0, session));
        said.push({ from: me, to: buddy, text: t });
      } else if (r.chance(0.15)) {
        // offline messages delivered at login: one PDU, repeated 31/32, 5, 4, 15 time, 14 text groups (status 5)
        const more = text(r, [ASCII.filter((c) => c !== '<'), LATIN1, UNICODE], 1, 200);
        const group = (v: string | Buffer, at: number): [number, string | Buffer][] => [[31, '6'], [32, '6'], [5, me], [4, buddy], [15, String(1700000000 + at)], [14, v]];
        w('s', pdu(0x06, [...group(value, 0), ...group(more, 60), ...utf8], 5, session));
        said.push({ from: buddy, to: me, text: t }, { from: buddy, to: me, text: more });
      } else {
        w('s', pdu(0x06, [[5, me], [4, buddy], [14, value], ...utf8], 1, session));
        said.push({ from: buddy, to: me, text: t });
      }
    }
    return { me, said };
  },
};

// ---- IRC ---------------------------------------------------------------------------------------

const NICK_FIRST = [...LETTERS, ...'[]\\`_^{|}'];
const NICK_REST = [...NICK_FIRST, ...DIGITS, '-'];

function ircColours(r: Rand, t: string): string {
  const codes = () => r.pick(['\x02', '\x1f', '\x0f', '\x16', '\x1d', `\x03${r.range(0, 15)}`, `\x03${String(r.range(0, 15)).padStart(2, '0')},${r.range(0, 15)}`, '\x03']);
  let s = t;
  if (r.chance(0.3)) s = codes() + s;
  if (r.chance(0.3)) s = s.replace(/ /, ` ${codes()}`);
  if (r.chance(0.2)) s += codes();
  return s;
}

const irc: Proto = {
  name: 'irc',
  blankIsNoMessage: true,
  sessions: 30,
  server: '198.51.100.7:6667',
  build(r, w) {
    const me = ident(r, NICK_FIRST, NICK_REST, 1, 16);
    let buddy = ident(r, NICK_FIRST, NICK_REST, 1, 16);
    if (buddy === me) buddy += 'x';
    // channel names: any octet but NUL, BEL, CR, LF, space and comma (RFC 2812 2.3.1)
    const wide = r.chance(0.3); // a channel name in UTF-8: the session's lines are UTF-8 then
    const chan = ident(r, ['#', '&', '+', '!'], [...LETTERS, ...DIGITS, '-', '_', '.', ...(wide ? UNICODE.slice(0, 100) : [])], 2, 20);
    w('c', `NICK ${me}\r\nUSER ${me.replace(/[^a-z]/gi, '') || 'u'} 0 * :${text(r, [ASCII], 1, 20)}\r\n`);
    w('s', `:irc.example.net 001 ${me} :Welcome to the network ${me}\r\n`);
    const said: Said[] = [];
    if (r.chance(0.5)) {
      w('c', `JOIN ${chan}\r\n`);
      w('s', `:${me}!u@10.0.0.1 JOIN :${chan}\r\n:irc.example.net 353 ${me} = ${chan} :@${buddy} ${me}\r\n:irc.example.net 366 ${me} ${chan} :End of /NAMES list.\r\n`);
    }
    for (let i = r.range(1, 12); i > 0; i--) {
      if (r.chance(0.1)) w('s', `PING :irc.example.net\r\n`);
      if (r.chance(0.1)) w('c', `PONG :irc.example.net\r\n`);
      const latin1 = !wide && r.chance(0.2);
      let t = ircColours(r, text(r, latin1 ? [ASCII, LATIN1] : [ASCII, LATIN1, UNICODE], 1, 400, [' ', '\t']));
      // a line is at most 512 bytes with its CRLF (RFC 2812 2.3): the text is cut to fit the longest prefix and tags
      const room = 510 - 180 - Buffer.byteLength(`PRIVMSG ${chan.length > buddy.length ? chan : buddy} :\x01ACTION \x01`);
      while (Buffer.byteLength(t, latin1 ? 'latin1' : 'utf8') > room) t = [...t].slice(0, -1).join('');
      if (!t.trim()) t = 'x';
      const eol = r.chance(0.1) ? '\n' : '\r\n'; // some clients end lines with LF alone
      const line = (s: string) => Buffer.from(s + eol, latin1 ? 'latin1' : 'utf8');
      const to = r.chance(0.5) ? chan : buddy;
      const cmd = r.chance(0.8) ? 'PRIVMSG' : 'NOTICE';
      // CTCP ACTION ("/me"): a client shows "* nick text"
      const action = cmd === 'PRIVMSG' && r.chance(0.15);
      // a one-word text may go without the colon (RFC 2812: the last parameter)
      const param = action ? `:\x01ACTION ${t}\x01` : !/[\s:]/.test(t) && t[0] !== '@' && r.chance(0.5) ? t : `:${t}`;
      const shown = (from: string) => (action ? `* ${from} ${t}` : t);
      if (r.chance(0.5)) {
        w('c', line(`${cmd} ${to} ${param}`));
        said.push({ from: me, to, text: shown(me) });
      } else {
        const target = to === chan ? chan : me;
        const tags = r.chance(0.2) ? `@time=2024-01-15T09:30:${String(r.int(60)).padStart(2, '0')}.000Z;msgid=${r.range(1, 1e9)} ` : '';
        const prefix = r.chance(0.2) && cmd === 'PRIVMSG' ? buddy : `${buddy}!${r.chance(0.3) ? '~' : ''}${buddy.replace(/[^a-z]/gi, '') || 'u'}@host-${r.range(1, 250)}.example.com`;
        w('s', line(`${tags}:${prefix} ${cmd} ${target} ${param}`));
        said.push({ from: buddy, to: target, text: shown(buddy) });
      }
    }
    return { me, said };
  },
};

// ---- XMPP --------------------------------------------------------------------------------------

const escXml = (s: string, attr = false) => {
  let e = s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  if (attr) e = e.replace(/'/g, '&apos;').replace(/"/g, '&quot;');
  return e;
};
/** character data written as a client might: some characters as references */
function xmlText(r: Rand, t: string): string {
  if (r.chance(0.1) && !t.includes(']]>')) return `<![CDATA[${t}]]>`;
  return [...t].map((c) => (c === '&' || c === '<' ? escXml(c) : (c === '"' || c === "'") && r.chance(0.5) ? (c === '"' ? '&quot;' : '&apos;') : c === '>' && r.chance(0.5) ? '&gt;' : r.chance(0.03) ? `&#${r.chance(0.5) ? c.codePointAt(0) : 'x' + c.codePointAt(0)!.toString(16)};` : c)).join('');
}

const xmpp: Proto = {
  name: 'xmpp',
  blankIsNoMessage: true,
  sessions: 30,
  server: '198.51.100.9:5222',
  build(r, w) {
    const local = () => ident(r, [...LETTERS, ...UNICODE.slice(0, 200)], [...LETTERS, ...DIGITS, '.', '_', '-', ...UNICODE.slice(0, 200)], 1, 20);
    const domain = r.pick(['example.org', 'jabber.example.net', 'xmpp.example.com']);
    const me = `${local()}@${domain}/${text(r, [ASCII, UNICODE], 1, 20)}`;
    const buddyBare = `${local()}@${r.pick(['example.org', 'chat.example.com'])}`;
    const buddy = r.chance(0.5) ? buddyBare : `${buddyBare}/${text(r, [ASCII, UNICODE], 1, 12)}`;
    w('c', `<?xml version='1.0'?><stream:stream to='${domain}' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>`);
    w('s', `<?xml version='1.0'?><stream:stream from='${domain}' id='s${r.range(1, 1e9)}' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>`);
    w('c', `<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>${escXml(me.slice(me.indexOf('/') + 1))}</resource></bind></iq>`);
    w('s', `<iq type='result' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>${escXml(me)}</jid></bind></iq>`);
    const said: Said[] = [];
    const q = () => r.pick(["'", '"']);
    const attr = (name: string, v: string) => {
      const quote = q();
      return ` ${name}=${quote}${escXml(v, true)}${quote}`;
    };
    for (let i = r.range(1, 12); i > 0; i--) {
      // no limit in XMPP itself; 12,000 characters stay within shadowim's 64 KiB stanza bound
      const t = text(r, [ASCII, LATIN1, UNICODE], 1, upTo(r, 1000, 12000), [' ', '\t', '\n']);
      const type = r.pick(['chat', 'chat', 'normal']);
      const id = r.chance(0.5) ? attr('id', `m${i}`) : '';
      if (r.chance(0.1)) w('c', ' '); // whitespace keep-alive (RFC 6120 4.6.1)
      if (r.chance(0.1)) w('s', `<presence${attr('from', buddy)}${attr('to', me)}><show>away</show><status>${escXml(text(r, [ASCII, UNICODE], 1, 30))}</status></presence>`);
      if (r.chance(0.1)) w('c', `<iq type='get' id='p${i}'><ping xmlns='urn:xmpp:ping'/></iq>`);
      if (r.chance(0.15)) w(r.chance(0.5) ? 'c' : 's', `<message${attr('to', buddy)} type='chat'><composing xmlns='http://jabber.org/protocol/chatstates'/></message>`);
      if (r.chance(0.5)) {
        w('c', `<message${attr('to', buddy)} type='${type}'${id}>${r.chance(0.2) ? `<thread>t${r.range(1, 1e6)}</thread>` : ''}<body>${xmlText(r, t)}</body>${r.chance(0.3) ? "<active xmlns='http://jabber.org/protocol/chatstates'/>" : ''}</message>`);
        said.push({ from: me, to: buddy, text: t });
      } else {
        // a server may leave out `to` (our own JID), clients add XHTML-IM (XEP-0071) beside the body
        const xhtml = r.chance(0.2) ? `<html xmlns='http://jabber.org/protocol/xhtml-im'><body xmlns='http://www.w3.org/1999/xhtml'><p style='font-weight:bold'>${escXml(t)}</p></body></html>` : '';
        const body = `<body${r.chance(0.2) ? " xmlns='jabber:client'" : ''}>${xmlText(r, t)}</body>`;
        w('s', `<message${attr('from', buddy)}${r.chance(0.2) ? '' : attr('to', me)} type='${type}'${id}>${r.chance(0.5) ? xhtml + body : body + xhtml}</message>`);
        said.push({ from: buddy, to: me, text: t });
      }
    }
    return { me, said };
  },
};

// ---- Gadu-Gadu ---------------------------------------------------------------------------------

const gadugadu: Proto = {
  name: 'gadugadu',
  blankIsNoMessage: true,
  sessions: 30,
  server: '91.214.237.10:8074',
  build(r, w) {
    const uin = () => (r.chance(0.9) ? r.range(1000, 99_999_999) : r.range(100_000_000, 0x7fffffff));
    const me = uin();
    let buddy = uin();
    if (buddy === me) buddy++;
    w('s', welcome);
    w('c', login80(me));
    w('s', pkt(0x35, u32(1)));
    const said: Said[] = [];
    for (let i = r.range(1, 12); i > 0; i--) {
      // libgadu's GG_MSG_MAXSIZE: 1989 bytes of text
      const t = text(r, [ASCII, POLISH], 1, upTo(r, 1000, 1989), [' ', '\t', '\n']);
      const html = r.chance(0.5) ? `<span style="color:#000000; font-family:'MS Shell Dlg 2'; font-size:9pt; ">${escHtml(t)}</span>` : '';
      // GG 8.0 with an empty plain part: the text is the HTML part's (tshark reads neither; compared with what was written)
      const htmlOnly = html && !/^\s|\s$|\s\s|\n/.test(t) && r.chance(0.2);
      const out = r.chance(0.5);
      const old = r.chance(0.3);
      const plain = htmlOnly && !old ? Buffer.alloc(0) : cp1250(t);
      if (out) w('c', old ? sendMsgOld(buddy, cp1250(t)) : sendMsg80(buddy, html, plain));
      else w('s', old ? recvMsgOld(buddy, cp1250(t)) : recvMsg80(buddy, html, plain));
      if (r.chance(0.2)) w(out ? 'c' : 's', pkt(out ? 0x08 : 0x07, Buffer.alloc(0)));
      said.push(out ? { from: String(me), to: String(buddy), text: t } : { from: String(buddy), to: String(me), text: t });
    }
    return { me: String(me), said };
  },
};

const PROTOCOLS = [oscar, msn, ymsg, irc, xmpp, gadugadu];

// ---- the comparison ----------------------------------------------------------------------------

/** the seed of session i of a protocol: replayable alone */
const sessionSeed = (seed: number, i: number) => (Math.imul(seed ^ (i + 1), 0x9e3779b1) >>> 0) || 1;

function buildCaptures(p: Proto, seed: number, only?: number): { random: Capture; whole: Capture; sessions: Session[] } {
  const random = new Capture(), whole = new Capture();
  const sessions: Session[] = [];
  const n = fuzzCases(p.sessions);
  for (let i = 0; i < n; i++) {
    if (only !== undefined && i !== only) continue;
    const r = new Rand(sessionSeed(seed, i));
    const pdus: Pdus = [];
    const { me, said } = p.build(r, (dir, b) => pdus.push({ dir, data: typeof b === 'string' ? Buffer.from(b, 'utf8') : b }));
    const port = 20000 + i;
    const client = `10.${1 + (i >> 8)}.${i & 255}.${2 + (i % 200)}:${port}`;
    for (const [cap, mode] of [[random, 'random'], [whole, 'whole']] as const) {
      const t = cap.tcp(client, p.server).open();
      emit(t, pdus, new Rand(sessionSeed(seed ^ 0x5e9, i)), mode);
      t.close();
    }
    sessions.push({ port, me, said });
  }
  return { random, whole, sessions };
}

type Triple = [string, string, string];

function compare(p: Proto, seed: number, only?: number): { cases: number; messages: number; problems: string[] } {
  const { random, whole, sessions } = buildCaptures(p, seed, only);
  // SHADOWIM_TSHARK_DIFF_KEEP=DIR keeps the two captures (to replay a mismatch by hand)
  const keep = process.env.SHADOWIM_TSHARK_DIFF_KEEP;
  const dir = keep || fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-tshark-diff-'));
  const ourFile = path.join(dir, `${p.name}-random.pcap`), theirFile = path.join(dir, `${p.name}-whole.pcap`);
  let theirs: Msg[], ours: any[];
  try {
    fs.writeFileSync(ourFile, random.pcap());
    fs.writeFileSync(theirFile, whole.pcap());
    ours = analyzeFile(ourFile).events.filter((e) => e.type === 'message');
    theirs = tsharkRead(theirFile, p.decodeAs);
  } finally {
    if (!keep) fs.rmSync(dir, { recursive: true, force: true });
  }
  const problems: string[] = [];
  let messages = 0;
  sessions.forEach((s, k) => {
    const i = only ?? k;
    const where = `${p.name} seed ${seed} session ${i}`;
    // tshark numbers the TCP conversations in the order they start: session k is stream k
    const t = theirs.filter((m) => m.stream === k);
    const o = ours.filter((e) => e.client?.port === s.port);
    // the side tshark does not name is the session's own identity (an MSN client's MSG names neither:
    // the recipient is then the builder's)
    const want: Triple[] = t
      .map((m, j): Triple => {
        const from = m.from ?? s.me;
        const to = m.to ?? (from === s.me ? (s.said[j]?.to ?? '?') : s.me);
        return [from, to, m.textUnread ? (s.said[j]?.text ?? '?') : m.text];
      })
      .filter((m) => !p.blankIsNoMessage || m[2].trim() !== '');
    const got: Triple[] = o.map((e) => [e.from, e.to, e.text]);
    messages += want.length;
    // the oracle first: tshark read every message the builder wrote (else the builder or tshark is wrong)
    if (t.length !== s.said.length) problems.push(`${where}: tshark read ${t.length} of the ${s.said.length} messages written`);
    for (let j = 0; j < Math.max(want.length, got.length); j++) {
      const a = want[j], b = got[j];
      if (a && b && a[0] === b[0] && a[1] === b[1] && a[2] === b[2]) continue;
      problems.push(`${where} message ${j}: tshark ${JSON.stringify(a ?? null)}, shadowim ${JSON.stringify(b ?? null)}`);
      break; // the rest of a session is out of step after one difference
    }
  });
  return { cases: sessions.length, messages, problems };
}

describe('tshark as the oracle: random valid IM sessions read alike (differential fuzz)', function () {
  this.timeout(600000);
  if (!haveTshark) {
    it('skipped: tshark is not installed', function () {
      this.skip();
    });
    return;
  }
  const only = process.env.SHADOWIM_TSHARK_DIFF_ONLY === undefined ? undefined : Number(process.env.SHADOWIM_TSHARK_DIFF_ONLY);
  PROTOCOLS.forEach((p, n) => {
    const seed = fuzzSeed(0x7d1f0 + n);
    it(`${p.name}: ${fuzzCases(p.sessions)} sessions (seed ${seed}): every message tshark reads, shadowim reads alike`, function () {
      const r = compare(p, seed, only);
      assert.ok(r.messages > 0 || only !== undefined, 'tshark read no message at all');
      const replay = `replay one: SHADOWIM_FUZZ_SEED=${process.env.SHADOWIM_FUZZ_SEED ?? ''} SHADOWIM_FUZZ_SCALE=${process.env.SHADOWIM_FUZZ_SCALE ?? ''} SHADOWIM_TSHARK_DIFF_ONLY=<session> npx mocha test/signatures/tshark-diff.test.ts --grep ${p.name}`;
      assert.deepEqual(r.problems, [], `${r.problems.length} differences in ${r.cases} sessions (${r.messages} messages tshark read); ${replay}:\n${r.problems.slice(0, 12).join('\n')}`);
    });
  });
});
