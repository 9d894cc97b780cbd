// Ordinary traffic that looks a little like IM, for the near-miss corpus (test/signatures/near-miss.test.ts):
// seeded generators of whole conversations (who sends which bytes, in order) for many everyday
// protocols, with the words, shapes and ports IM detectors look for. Nothing here is IM (BOSH is
// marked: it is XMPP carried in HTTP).
import crypto from 'node:crypto';
import { dnsQuery, dnsResponse } from '../signatures/modern-wire';
import { Flaps, fragment, incomingIm, messageBlock, outgoingIm, u32 as o32 } from '../signatures/oscar-wire';
import { Capture } from './pcapgen';

/** mulberry32: small, seeded, good enough to pick cases */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 1;
  }
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)];
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
  hex(n: number): string {
    return this.bytes(Math.ceil(n / 2)).toString('hex').slice(0, n);
  }
  /** some of `a`, in a random order */
  some<T>(a: readonly T[], n: number): T[] {
    const c = [...a];
    for (let i = c.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [c[i], c[j]] = [c[j], c[i]];
    }
    return c.slice(0, n);
  }
}

export type Side = 'c' | 's';
export type Exchange = [Side, Buffer];

export interface Script {
  name: string;
  /** the port the protocol normally runs on */
  port: number;
  exchanges: Exchange[];
  /** byte strings worth starting a mid-stream pickup at (the words IM detectors look for) */
  keywords?: string[];
  /** protocols it may be reported as (BOSH is XMPP) */
  allow?: string[];
}

const b = (s: string | Buffer): Buffer => (typeof s === 'string' ? Buffer.from(s, 'utf8') : s);
const u16 = (n: number) => Buffer.from([(n >> 8) & 255, n & 255]);
const u24 = (n: number) => Buffer.from([(n >> 16) & 255, (n >> 8) & 255, n & 255]);
const u32 = (n: number) => {
  const x = Buffer.alloc(4);
  x.writeUInt32BE(n >>> 0);
  return x;
};

// ---- text that IM detectors look at -----------------------------------------------------------

/** prose lines whose first word is an IRC/MSNP command (case aside), or that quote IM words */
const PROSE = [
  'Join us on Friday for the release party.',
  'Ping me if anything is unclear.',
  'Who is on call this weekend?',
  'Mode of transport: train, then bus.',
  'Names of the attendees are below.',
  'Notice importante : la salle a change.',
  'Topic for next week: capacity planning',
  'Away until Monday, back on the 22nd.',
  'List of open tickets follows.',
  'Time to ship it.',
  'Invite whoever you think should be there.',
  'Kick-off is at 10:00 in room 4.',
  'Part of the budget goes to hardware.',
  'Nick from sales will join later.',
  'User feedback was mostly positive.',
  'Quit smoking campaign starts in March.',
  'Stats for January are attached.',
  'Version 2.3 fixes the login bug.',
  'Info session on the new VPN tomorrow.',
  'Links to the recordings are on the wiki.',
  'Error rates dropped after the patch :)',
  'PNG',
  'PNG images are attached, JPG on request.',
  'CHL 0 29409134351025259292',
  'QNG 50',
  'URL: https://intranet.example.com/wiki/Release',
  'ACK from the vendor received.',
  'OUT of office until the 22nd',
  'SYN cookies are enabled on the edge.',
  'LST of hosts is in the spreadsheet.',
  'REM this is a batch file comment',
  'UBX shipment arrives Tuesday 42',
  'USR 5 OK',
  'MSG 1 N',
  'PRIVMSG is the IRC command for a message.',
  'NOTICE: maintenance window tonight',
  'JOIN #general on the new chat server',
  'PING 10.0.0.1 failed twice',
  'WHO owns the backup job?',
  'MODE: read-only until migration ends',
  'YMSG is the Yahoo Messenger protocol name.',
  'See <message to="ops@example.com"> in the config.',
];

const FILLER = [
  'Hi all,',
  'Please find the minutes of the meeting below.',
  'The deployment went fine; no customer impact.',
  'Thanks,',
  'Best regards',
  'The numbers for Q3 look good, see the attached spreadsheet.',
  'Reminder: the office is closed on Monday.',
  '--',
  '',
  '> quoted reply from the previous mail',
  '>> and an older one',
];

export function prose(rng: Rng, lines: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < lines; i++) out.push(rng.chance(0.55) ? rng.pick(PROSE) : rng.pick(FILLER));
  return out;
}

/** an application's log: timestamps, levels, and the IM words an IRC bot or chat bridge would log */
export function logLines(rng: Rng, n: number): string[] {
  const t0 = Date.UTC(2024, 0, 15, 9, 0, 0);
  const out: string[] = [];
  const says = [
    () => `sent PRIVMSG #ops :deploy ${rng.range(100, 999)} finished`,
    () => `>> PRIVMSG #ops :build ${rng.range(1000, 9999)} passed`,
    () => `<< :irc.example.net 001 opsbot :Welcome to the network`,
    () => `relay MSG alice@example.com Alice ${rng.range(10, 300)}`,
    () => `MSG from queue: ${rng.hex(8)}`,
    () => `YMSG packet dropped (len ${rng.range(20, 900)})`,
    () => `bridge out: <message to="a@b.c"><body>hello ${rng.int(100)}</body></message>`,
    () => `bridge in: <message from="bob@example.org/phone" to="ops@example.com" type="chat"><body>ack</body></message>`,
    () => `xmpp: <iq type="get" id="p${rng.int(99)}" to="example.com"><ping/></iq>`,
    () => `c2s recv: <stream:stream to="example.com" xmlns="jabber:client" xmlns:stream="http://etherx.jabber.org/streams" version="1.0">`,
    () => `c2s send: </stream:stream> (${rng.pick(['idle', 'shutdown', 'conflict'])})`,
    () => `JOIN #ops ok`,
    () => `PING timeout after ${rng.range(1, 90)}s`,
    () => `NICK change refused`,
    () => `USR 5 OK alice@example.com 1 0`,
    () => `PNG received, QNG 50 sent`,
    () => `GET /api/v1/status 200 ${rng.range(1, 90)}ms`,
    () => `user bob@example.com logged in from 10.0.${rng.int(255)}.${rng.int(255)}`,
  ];
  for (let i = 0; i < n; i++) {
    const ts = new Date(t0 + i * rng.range(10, 5000)).toISOString();
    const lvl = rng.pick(['INFO', 'DEBUG', 'WARN', 'INFO', 'ERROR']);
    out.push(`${ts} ${lvl} [${rng.pick(['ircbot', 'bridge', 'worker-1', 'http'])}] ${rng.pick(says)()}`);
  }
  return out;
}

/** an RFC 5322 message, MIME multipart with a text part, an XML attachment and a base64 blob */
export function email(rng: Rng): string {
  const boundary = `----=_Part_${rng.hex(12)}`;
  const xml = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<notifications>',
    `  <message to="a@b.c" from="monitor@example.net" type="chat" id="n${rng.int(99)}"><body>disk ${rng.range(80, 99)}% full</body></message>`,
    `  <iq type="get" id="q${rng.int(99)}" to="example.com"><query/></iq>`,
    `  <message to="ops@example.com"><body>PRIVMSG #ops :hello</body></message>`,
    '</notifications>',
  ].join('\r\n');
  const blob = rng.bytes(rng.range(300, 1500)).toString('base64').replace(/.{76}/g, '$&\r\n');
  return [
    `Return-Path: <alice@example.org>`,
    `Received: from client.example.org (client.example.org [192.0.2.45])`,
    `\tby mail.example.com (Postfix) with ESMTPS id ${rng.hex(10).toUpperCase()}`,
    `From: Alice Example <alice@example.org>`,
    `To: Bob Example <bob@example.com>`,
    `Subject: ${rng.pick(['Minutes', 'Re: release', 'PNG export', 'MSG queue stats', 'Weekly report'])}`,
    `Date: Mon, 15 Jan 2024 09:${10 + rng.int(50)}:00 +0000`,
    `Message-ID: <${rng.hex(16)}@example.org>`,
    'MIME-Version: 1.0',
    `Content-Type: multipart/mixed; boundary="${boundary}"`,
    '',
    'This is a multi-part message in MIME format.',
    `--${boundary}`,
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
    '',
    ...prose(rng, rng.range(8, 24)),
    '',
    `--${boundary}`,
    'Content-Type: text/xml; name="alerts.xml"',
    'Content-Disposition: attachment; filename="alerts.xml"',
    '',
    xml,
    `--${boundary}`,
    'Content-Type: text/plain; name="bot.log"',
    'Content-Disposition: attachment; filename="bot.log"',
    '',
    ...logLines(rng, rng.range(4, 12)),
    `--${boundary}`,
    'Content-Type: application/octet-stream; name="report.bin"',
    'Content-Transfer-Encoding: base64',
    '',
    blob,
    `--${boundary}--`,
    '',
  ].join('\r\n');
}

const KEYWORDS = ['PRIVMSG', 'NOTICE', 'MSG ', 'YMSG', 'PNG', 'CHL', 'QNG', 'UBX', 'USR ', 'JOIN', 'PING', 'Join', 'Ping', 'Who', 'Notice', '<message', '<iq', '<presence', '*', 'NICK'];

// ---- HTTP ---------------------------------------------------------------------------------------

const UAS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
  'curl/8.5.0',
  'python-requests/2.31.0',
  'Go-http-client/1.1',
  'Apache-HttpClient/4.5.14 (Java/17.0.9)',
];
const HOSTS = ['www.example.com', 'api.example.com', 'intranet.example.com', 'cdn.example.net', 'updates.example.org', 'status.example.com'];

function httpReq(rng: Rng, method: string, path: string, headers: Record<string, string> = {}, body?: string | Buffer): Buffer {
  const h: string[] = [`${method} ${path} HTTP/1.1`, `Host: ${headers.Host ?? rng.pick(HOSTS)}`, `User-Agent: ${headers['User-Agent'] ?? rng.pick(UAS)}`, 'Accept: */*'];
  for (const [k, v] of Object.entries(headers)) if (k !== 'Host' && k !== 'User-Agent') h.push(`${k}: ${v}`);
  const bb = body === undefined ? undefined : b(body);
  if (bb) h.push(`Content-Length: ${bb.length}`);
  return Buffer.concat([b(h.join('\r\n') + '\r\n\r\n'), bb ?? Buffer.alloc(0)]);
}

function httpRes(status: string, headers: Record<string, string>, body: string | Buffer, chunked = false, rng?: Rng): Buffer {
  const bb = b(body);
  const h = [`HTTP/1.1 ${status}`, 'Date: Mon, 15 Jan 2024 09:30:00 GMT', 'Server: nginx/1.24.0'];
  for (const [k, v] of Object.entries(headers)) h.push(`${k}: ${v}`);
  if (!chunked) {
    h.push(`Content-Length: ${bb.length}`);
    return Buffer.concat([b(h.join('\r\n') + '\r\n\r\n'), bb]);
  }
  h.push('Transfer-Encoding: chunked');
  const parts: Buffer[] = [b(h.join('\r\n') + '\r\n\r\n')];
  for (let o = 0; o < bb.length; ) {
    const n = Math.min(bb.length - o, rng ? rng.range(50, 900) : 512);
    parts.push(b(n.toString(16) + '\r\n'), bb.subarray(o, o + n), b('\r\n'));
    o += n;
  }
  parts.push(b('0\r\n\r\n'));
  return Buffer.concat(parts);
}

function httpJson(rng: Rng): Script {
  const ex: Exchange[] = [];
  for (let i = rng.range(2, 4); i > 0; i--) {
    if (rng.chance(0.5)) {
      ex.push(['c', httpReq(rng, 'GET', `/api/v1/messages?since=${rng.range(1e6, 9e6)}`, { Accept: 'application/json' })]);
      const items = Array.from({ length: rng.range(1, 6) }, () => ({
        id: rng.hex(8), from: 'alice@example.com', to: 'bob@example.com', type: 'chat',
        message: rng.pick(['PRIVMSG #ops :hi', 'MSG 1 N 12', 'see <message to="a@b.c"><body>x</body></message>', 'lunch?']),
      }));
      ex.push(['s', httpRes('200 OK', { 'Content-Type': 'application/json' }, JSON.stringify({ items, next: null }), rng.chance(0.4), rng)]);
    } else {
      const body = JSON.stringify({ to: 'ops@example.com', body: `PING ${rng.int(1000)}`, level: 'warn' });
      ex.push(['c', httpReq(rng, 'POST', '/api/v1/notify', { 'Content-Type': 'application/json' }, body)]);
      ex.push(['s', httpRes('202 Accepted', { 'Content-Type': 'application/json' }, '{"queued":true}')]);
    }
  }
  return { name: 'http-json', port: 80, exchanges: ex, keywords: KEYWORDS };
}

function httpSoap(rng: Rng): Script {
  const env = (inner: string) =>
    `<?xml version="1.0" encoding="utf-8"?>\r\n<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\r\n<soap:Body>\r\n${inner}\r\n</soap:Body>\r\n</soap:Envelope>\r\n`;
  const req = env(`<SendNotification xmlns="http://example.com/notify"><message to="ops@example.com" from="monitor@example.com" type="chat" id="n${rng.int(99)}"><body>Disk ${rng.range(80, 99)}% full on db${rng.int(9)}</body></message></SendNotification>`);
  const res = env(`<SendNotificationResponse xmlns="http://example.com/notify"><iq type="result" id="n1" to="monitor@example.com"/></SendNotificationResponse>`);
  return {
    name: 'http-soap', port: 80, keywords: KEYWORDS,
    exchanges: [
      ['c', httpReq(rng, 'POST', '/NotifyService.asmx', { 'Content-Type': 'text/xml; charset=utf-8', SOAPAction: '"http://example.com/notify/SendNotification"' }, req)],
      ['s', httpRes('200 OK', { 'Content-Type': 'text/xml; charset=utf-8' }, res)],
    ],
  };
}

/** an XML webhook whose payload happens to be shaped like an XMPP stanza (no namespace) */
function httpXmlWebhook(rng: Rng): Script {
  const ex: Exchange[] = [];
  for (let i = rng.range(1, 3); i > 0; i--) {
    const stanza = rng.chance(0.5)
      ? `<message to="ops@example.com" from="monitor@example.net" type="chat" id="n${rng.int(999)}"><body>CPU ${rng.range(80, 99)}% on web${rng.int(9)}</body></message>`
      : `<iq type="set" id="job${rng.int(999)}" to="scheduler.example.com"><run job="backup"/></iq>`;
    // headers and body in separate writes, as most HTTP clients do: a pickup can start at the body
    ex.push(['c', httpReq(rng, 'POST', '/hooks/notify', { 'Content-Type': 'application/xml' }, stanza).subarray(0, -stanza.length)]);
    ex.push(['c', b(stanza)]);
    ex.push(['s', httpRes('202 Accepted', { 'Content-Type': 'application/xml' }, `<?xml version="1.0"?><result status="queued" id="${rng.int(999)}"/>`)]);
  }
  return { name: 'http-xml-webhook', port: 80, exchanges: ex, keywords: KEYWORDS };
}

function httpChunkedFeed(rng: Rng): Script {
  const entries = Array.from({ length: rng.range(3, 8) }, (_, i) =>
    `<entry><id>urn:uuid:${rng.hex(8)}</id><title>Release ${i}</title><author><name>ops</name><email>ops@example.com</email></author><content type="html">&lt;message&gt; PRIVMSG and MSG handling fixed</content></entry>`);
  const feed = `<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom"><title>Changes</title>\n${entries.join('\n')}\n</feed>\n`;
  return {
    name: 'http-chunked-feed', port: 80, keywords: KEYWORDS,
    exchanges: [
      ['c', httpReq(rng, 'GET', '/feed.atom', { 'Accept-Encoding': 'identity' })],
      ['s', httpRes('200 OK', { 'Content-Type': 'application/atom+xml' }, feed, true, rng)],
    ],
  };
}

/** XMPP over BOSH (XEP-0124/0206): it is XMPP, so only xmpp may be reported */
function httpBosh(rng: Rng): Script {
  const rid = rng.range(1e6, 9e6);
  const sid = rng.hex(16);
  const wrap = (r: number, inner: string) => `<body rid='${r}' sid='${sid}' xmlns='http://jabber.org/protocol/httpbind'>${inner}</body>`;
  const ex: Exchange[] = [];
  for (let i = 0; i < rng.range(2, 4); i++) {
    const req = wrap(rid + i, `<message to='juliet@example.com' type='chat' xmlns='jabber:client'><body>hi ${i}</body></message>`);
    ex.push(['c', httpReq(rng, 'POST', '/http-bind', { Host: 'xmpp.example.com', 'Content-Type': 'text/xml; charset=utf-8' }, req)]);
    ex.push(['s', httpRes('200 OK', { 'Content-Type': 'text/xml; charset=utf-8' }, `<body xmlns='http://jabber.org/protocol/httpbind'/>`)]);
  }
  return { name: 'http-bosh', port: 5280, exchanges: ex, keywords: KEYWORDS, allow: ['xmpp'] };
}

function httpTextDownload(rng: Rng): Script {
  const text = [...prose(rng, rng.range(10, 30)), ...logLines(rng, rng.range(10, 30))].join('\n') + '\n';
  return {
    name: 'http-text-download', port: 80, keywords: KEYWORDS,
    exchanges: [
      ['c', httpReq(rng, 'GET', '/logs/bot.log')],
      ['s', httpRes('200 OK', { 'Content-Type': 'text/plain; charset=utf-8' }, text, rng.chance(0.5), rng)],
    ],
  };
}

function pngImage(rng: Rng): Buffer {
  const chunk = (type: string, data: Buffer) => Buffer.concat([u32(data.length), b(type), data, rng.bytes(4)]);
  const ihdr = Buffer.concat([u32(rng.range(16, 640)), u32(rng.range(16, 480)), Buffer.from([8, 6, 0, 0, 0])]);
  return Buffer.concat([Buffer.from([0x89]), b('PNG\r\n\x1a\n'), chunk('IHDR', ihdr), chunk('IDAT', rng.bytes(rng.range(500, 6000))), chunk('IEND', Buffer.alloc(0))]);
}

function httpImage(rng: Rng): Script {
  return {
    name: 'http-png', port: 80, keywords: ['PNG', 'IHDR'],
    exchanges: [['c', httpReq(rng, 'GET', '/img/logo.png')], ['s', httpRes('200 OK', { 'Content-Type': 'image/png' }, pngImage(rng))]],
  };
}

// ---- mail ---------------------------------------------------------------------------------------

function dotStuff(s: string): string {
  return s.replace(/^\./gm, '..');
}

function smtp(rng: Rng): Script {
  const ex: Exchange[] = [
    ['s', b('220 mail.example.com ESMTP Postfix (Ubuntu)\r\n')],
    ['c', b('EHLO client.example.org\r\n')],
    ['s', b('250-mail.example.com\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n250-ETRN\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n250 SMTPUTF8\r\n')],
  ];
  for (let m = rng.range(1, 2); m > 0; m--) {
    ex.push(['c', b('MAIL FROM:<alice@example.org> SIZE=4096\r\n')], ['s', b('250 2.1.0 Ok\r\n')]);
    ex.push(['c', b('RCPT TO:<bob@example.com>\r\n')], ['s', b('250 2.1.5 Ok\r\n')]);
    ex.push(['c', b('DATA\r\n')], ['s', b('354 End data with <CR><LF>.<CR><LF>\r\n')]);
    ex.push(['c', b(dotStuff(email(rng)) + '\r\n.\r\n')], ['s', b(`250 2.0.0 Ok: queued as ${rng.hex(10).toUpperCase()}\r\n`)]);
  }
  ex.push(['c', b('QUIT\r\n')], ['s', b('221 2.0.0 Bye\r\n')]);
  return { name: 'smtp', port: 25, exchanges: ex, keywords: KEYWORDS };
}

function imap(rng: Rng): Script {
  const msg = email(rng);
  const n = Buffer.byteLength(msg);
  return {
    name: 'imap', port: 143, keywords: [...KEYWORDS, '* ', 'a3 '],
    exchanges: [
      ['s', b('* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ AUTH=PLAIN] Dovecot (Ubuntu) ready.\r\n')],
      ['c', b('a1 LOGIN bob hunter2\r\n')],
      ['s', b('a1 OK [CAPABILITY IMAP4rev1 IDLE] Logged in\r\n')],
      ['c', b('a2 SELECT INBOX\r\n')],
      ['s', b('* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags permitted.\r\n* 3 EXISTS\r\n* 0 RECENT\r\n* OK [UIDVALIDITY 1705300000] UIDs valid\r\n* OK [UIDNEXT 4] Predicted next UID\r\na2 OK [READ-WRITE] Select completed (0.001 + 0.000 secs).\r\n')],
      ['c', b('a3 FETCH 1 (FLAGS BODY.PEEK[])\r\n')],
      ['s', b(`* 1 FETCH (FLAGS (\\Seen) BODY[] {${n}}\r\n${msg})\r\na3 OK Fetch completed.\r\n`)],
      ['c', b('a4 IDLE\r\n')],
      ['s', b('+ idling\r\n')],
      ['s', b('* 4 EXISTS\r\n')],
      ['c', b('DONE\r\n')],
      ['s', b('a4 OK Idle completed (12.345 + 12.344 secs).\r\n')],
      ['c', b('a5 LOGOUT\r\n')],
      ['s', b('* BYE Logging out\r\na5 OK Logout completed.\r\n')],
    ],
  };
}

function pop3(rng: Rng): Script {
  const msg = dotStuff(email(rng));
  return {
    name: 'pop3', port: 110, keywords: KEYWORDS,
    exchanges: [
      ['s', b('+OK Dovecot (Ubuntu) ready.\r\n')],
      ['c', b('USER bob\r\n')], ['s', b('+OK\r\n')],
      ['c', b('PASS hunter2\r\n')], ['s', b('+OK Logged in.\r\n')],
      ['c', b('STAT\r\n')], ['s', b(`+OK 2 ${msg.length * 2}\r\n`)],
      ['c', b('LIST\r\n')], ['s', b(`+OK 2 messages:\r\n1 ${msg.length}\r\n2 ${msg.length}\r\n.\r\n`)],
      ['c', b('RETR 1\r\n')], ['s', b(`+OK ${msg.length} octets\r\n${msg}\r\n.\r\n`)],
      ['c', b('QUIT\r\n')], ['s', b('+OK Logging out.\r\n')],
    ],
  };
}

// ---- FTP, SSH, TLS, DNS -------------------------------------------------------------------------

function ftp(rng: Rng): Script {
  const p = rng.range(20000, 60000);
  return {
    name: 'ftp', port: 21, keywords: ['USER', 'PASS', 'LIST', '2'],
    exchanges: [
      ['s', b('220 (vsFTPd 3.0.5)\r\n')],
      ['c', b('USER anonymous\r\n')], ['s', b('331 Please specify the password.\r\n')],
      ['c', b('PASS guest@example.com\r\n')], ['s', b('230 Login successful.\r\n')],
      ['c', b('SYST\r\n')], ['s', b('215 UNIX Type: L8\r\n')],
      ['c', b('FEAT\r\n')], ['s', b('211-Features:\r\n EPRT\r\n EPSV\r\n MDTM\r\n PASV\r\n REST STREAM\r\n SIZE\r\n TVFS\r\n UTF8\r\n211 End\r\n')],
      ['c', b('PWD\r\n')], ['s', b('257 "/" is the current directory\r\n')],
      ['c', b('TYPE I\r\n')], ['s', b('200 Switching to Binary mode.\r\n')],
      ['c', b('PASV\r\n')], ['s', b(`227 Entering Passive Mode (198,51,100,21,${p >> 8},${p & 255}).\r\n`)],
      ['c', b('LIST -la\r\n')], ['s', b('150 Here comes the directory listing.\r\n')], ['s', b('226 Directory send OK.\r\n')],
      ['c', b('SIZE pub/notes.txt\r\n')], ['s', b('213 4096\r\n')],
      ['c', b('RETR pub/notes.txt\r\n')], ['s', b('150 Opening BINARY mode data connection for pub/notes.txt (4096 bytes).\r\n')], ['s', b('226 Transfer complete.\r\n')],
      ['c', b('NOOP\r\n')], ['s', b('200 NOOP ok.\r\n')],
      ['c', b('QUIT\r\n')], ['s', b('221 Goodbye.\r\n')],
    ],
  };
}

function ftpData(rng: Rng): Script {
  const listing = Array.from({ length: rng.range(5, 30) }, () =>
    `${rng.pick(['-rw-r--r--', 'drwxr-xr-x'])}    1 ${rng.pick(['0', 'ftp'])}        ${rng.pick(['0', 'ftp'])}    ${String(rng.range(0, 1e7)).padStart(10)} Jan ${rng.range(1, 28)} 09:${rng.range(10, 59)} ${rng.pick(['PNG', 'MSG', 'notes.txt', 'pub', 'CHL.log', 'YMSG.bin', 'irc.log'])}`).join('\r\n') + '\r\n';
  const file = [...prose(rng, 20), ...logLines(rng, 20)].join('\n');
  return { name: 'ftp-data', port: 20, keywords: KEYWORDS, exchanges: [['s', b(listing)], ['s', b(file)]] };
}

function ssh(rng: Rng): Script {
  const pkt = (payload: Buffer) => {
    const pad = 4 + ((8 - ((payload.length + 5 + 4) % 8)) % 8);
    return Buffer.concat([u32(payload.length + pad + 1), Buffer.from([pad]), payload, rng.bytes(pad)]);
  };
  const namelist = (s: string) => Buffer.concat([u32(s.length), b(s)]);
  const kexinit = () => pkt(Buffer.concat([Buffer.from([20]), rng.bytes(16),
    namelist('curve25519-sha256,ecdh-sha2-nistp256,diffie-hellman-group14-sha256'), namelist('ssh-ed25519,rsa-sha2-512'),
    namelist('chacha20-poly1305@openssh.com,aes256-gcm@openssh.com'), namelist('chacha20-poly1305@openssh.com,aes256-gcm@openssh.com'),
    namelist('umac-64-etm@openssh.com,hmac-sha2-256'), namelist('umac-64-etm@openssh.com,hmac-sha2-256'),
    namelist('none,zlib@openssh.com'), namelist('none,zlib@openssh.com'), namelist(''), namelist(''), Buffer.from([0]), u32(0)]));
  const ex: Exchange[] = [
    ['c', b('SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13\r\n')],
    ['s', b('SSH-2.0-OpenSSH_8.9p1 Debian-3\r\n')],
    ['c', kexinit()], ['s', kexinit()],
    ['c', pkt(Buffer.concat([Buffer.from([30]), u32(32), rng.bytes(32)]))],
    ['s', pkt(Buffer.concat([Buffer.from([31]), rng.bytes(rng.range(200, 400))]))],
  ];
  for (let i = rng.range(4, 12); i > 0; i--) ex.push([rng.pick(['c', 's'] as const), rng.bytes(rng.range(36, 1400))]);
  return { name: 'ssh', port: 22, exchanges: ex };
}

const TLS_NAMES = ['www.example.com', 'api.example.net', 'login.example.org', 'cdn.example.com', 'mail.example.com', 'update.example.org'];

function tlsClientHello(rng: Rng, sni: string): Buffer {
  const name = b(sni);
  const list = Buffer.concat([Buffer.from([0]), u16(name.length), name]);
  const exts = Buffer.concat([
    u16(0), u16(list.length + 2), u16(list.length), list,
    Buffer.from('000a000800060017001d0018', 'hex'),
    Buffer.from('0010000e000c02683208687474702f312e31', 'hex'),
    Buffer.from('002b0003020304', 'hex'),
  ]);
  const body = Buffer.concat([Buffer.from([3, 3]), rng.bytes(32), Buffer.from([32]), rng.bytes(32), u16(6), Buffer.from('130113021303', 'hex'), Buffer.from([1, 0]), u16(exts.length), exts]);
  const hs = Buffer.concat([Buffer.from([1]), u24(body.length), body]);
  return Buffer.concat([Buffer.from([0x16, 3, 1]), u16(hs.length), hs]);
}

/** a TLS ClientHello record for `sni` (fixed random bytes) */
export function tlsHello(sni: string): Buffer {
  return tlsClientHello(new Rng(1), sni);
}

function tlsRecord(type: number, data: Buffer): Buffer {
  return Buffer.concat([Buffer.from([type, 3, 3]), u16(data.length), data]);
}

function tls(rng: Rng): Script {
  const sh = Buffer.concat([Buffer.from([2]), u24(70), Buffer.from([3, 3]), rng.bytes(32), Buffer.from([32]), rng.bytes(32), Buffer.from([0x13, 0x01, 0])]);
  const ex: Exchange[] = [
    ['c', tlsClientHello(rng, rng.pick(TLS_NAMES))],
    ['s', Buffer.concat([tlsRecord(0x16, sh), tlsRecord(0x14, Buffer.from([1])), tlsRecord(0x17, rng.bytes(rng.range(800, 4000)))])],
    ['c', Buffer.concat([tlsRecord(0x14, Buffer.from([1])), tlsRecord(0x17, rng.bytes(rng.range(40, 90)))])],
  ];
  for (let i = rng.range(3, 10); i > 0; i--) ex.push([rng.pick(['c', 's'] as const), tlsRecord(0x17, rng.bytes(rng.range(30, 3000)))]);
  return { name: 'tls', port: 443, exchanges: ex };
}

const DNS_NAMES = ['www.example.com', 'mail.example.org', 'ntp.example.net', 'cdn.example.com', 'printer.corp.example', '_ldap._tcp.example.com'];

function dnsTcp(rng: Rng): Script {
  const ex: Exchange[] = [];
  for (let i = rng.range(1, 4); i > 0; i--) {
    const name = rng.pick(DNS_NAMES);
    const id = rng.int(65536);
    const q = dnsQuery(name, id);
    const r = dnsResponse(name, `198.51.100.${rng.range(1, 254)}`, undefined, id);
    ex.push(['c', Buffer.concat([u16(q.length), q])], ['s', Buffer.concat([u16(r.length), r])]);
  }
  return { name: 'dns-tcp', port: 53, exchanges: ex };
}

// ---- key-value stores, brokers, streaming -------------------------------------------------------

function resp(...args: string[]): Buffer {
  return b(`*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join(''));
}

function redis(rng: Rng): Script {
  const ex: Exchange[] = [
    ['c', rng.chance(0.5) ? b('PING\r\n') : resp('PING')], ['s', b('+PONG\r\n')],
    ['c', resp('SET', `user:${rng.int(999)}`, JSON.stringify({ nick: 'bob', status: 'away' }))], ['s', b('+OK\r\n')],
    ['c', resp('GET', 'motd')], ['s', b('$19\r\nPRIVMSG #ops :hello\r\n')],
    ['c', resp('PUBLISH', 'chat', 'MSG alice@example.com Alice 12')], ['s', b(':1\r\n')],
    ['c', resp('SUBSCRIBE', 'chat')], ['s', b('*3\r\n$9\r\nsubscribe\r\n$4\r\nchat\r\n:1\r\n')],
  ];
  for (let i = rng.range(2, 6); i > 0; i--) ex.push(['s', resp('message', 'chat', rng.pick(['JOIN #ops', 'PING', '<message to="a@b.c"><body>x</body></message>', 'hello']))]);
  return { name: 'redis', port: 6379, exchanges: ex, keywords: KEYWORDS };
}

function memcached(rng: Rng): Script {
  const v = JSON.stringify({ user: 'bob', last: 'PRIVMSG #ops :hi' });
  return {
    name: 'memcached', port: 11211, keywords: KEYWORDS,
    exchanges: [
      ['c', b(`set session:${rng.hex(8)} 0 3600 ${v.length}\r\n${v}\r\n`)], ['s', b('STORED\r\n')],
      ['c', b('get session:abc\r\n')], ['s', b(`VALUE session:abc 0 ${v.length}\r\n${v}\r\nEND\r\n`)],
      ['c', b('stats\r\n')], ['s', b(`STAT pid ${rng.range(100, 9999)}\r\nSTAT uptime ${rng.range(100, 99999)}\r\nSTAT version 1.6.21\r\nSTAT curr_connections 10\r\nEND\r\n`)],
      ['c', b('version\r\n')], ['s', b('VERSION 1.6.21\r\n')],
      ['c', b('quit\r\n')],
    ],
  };
}

function mqttLen(n: number): Buffer {
  const out: number[] = [];
  do {
    let d = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) d |= 128;
    out.push(d);
  } while (n > 0);
  return Buffer.from(out);
}
function mqttPacket(type: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([type]), mqttLen(body.length), body]);
}
const mstr = (s: string) => Buffer.concat([u16(Buffer.byteLength(s)), b(s)]);

function mqtt(rng: Rng): Script {
  const ex: Exchange[] = [
    ['c', mqttPacket(0x10, Buffer.concat([mstr('MQTT'), Buffer.from([4, 0xc2]), u16(60), mstr(`sensor-${rng.hex(6)}`), mstr('bob'), mstr('pw')]))],
    ['s', mqttPacket(0x20, Buffer.from([0, 0]))],
    ['c', mqttPacket(0x82, Buffer.concat([u16(1), mstr('chat/#'), Buffer.from([0])]))],
    ['s', mqttPacket(0x90, Buffer.concat([u16(1), Buffer.from([0])]))],
  ];
  for (let i = rng.range(3, 10); i > 0; i--) {
    const payload = rng.chance(0.5) ? b(JSON.stringify({ from: 'alice@example.com', text: 'PRIVMSG #x :hi', ts: rng.int(1e9) })) : rng.bytes(rng.range(4, 200));
    ex.push([rng.pick(['c', 's'] as const), mqttPacket(0x30, Buffer.concat([mstr(`chat/room${rng.int(5)}`), payload]))]);
    if (rng.chance(0.3)) ex.push(['c', Buffer.from([0xc0, 0])], ['s', Buffer.from([0xd0, 0])]);
  }
  return { name: 'mqtt', port: 1883, exchanges: ex, keywords: ['PRIVMSG', '*'] };
}

function rtsp(rng: Rng): Script {
  const url = `rtsp://198.51.100.30:554/stream${rng.int(9)}`;
  const sdp = `v=0\r\no=- ${rng.range(1e6, 9e6)} 1 IN IP4 198.51.100.30\r\ns=Camera\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=control:track1\r\n`;
  const cs = (n: number) => `CSeq: ${n}\r\nUser-Agent: LibVLC/3.0.20 (LIVE555 Streaming Media v2016.11.28)\r\n`;
  const rs = (n: number, extra = '') => `RTSP/1.0 200 OK\r\nCSeq: ${n}\r\nServer: Camera RTSP\r\n${extra}`;
  const ex: Exchange[] = [
    ['c', b(`OPTIONS ${url} RTSP/1.0\r\n${cs(1)}\r\n`)], ['s', b(rs(1, 'Public: OPTIONS, DESCRIBE, SETUP, TEARDOWN, PLAY, PAUSE\r\n') + '\r\n')],
    ['c', b(`DESCRIBE ${url} RTSP/1.0\r\n${cs(2)}Accept: application/sdp\r\n\r\n`)], ['s', b(rs(2, `Content-Type: application/sdp\r\nContent-Length: ${sdp.length}\r\n`) + '\r\n' + sdp)],
    ['c', b(`SETUP ${url}/track1 RTSP/1.0\r\n${cs(3)}Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n\r\n`)], ['s', b(rs(3, 'Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\nSession: 12345678;timeout=60\r\n') + '\r\n')],
    ['c', b(`PLAY ${url} RTSP/1.0\r\n${cs(4)}Session: 12345678\r\nRange: npt=0.000-\r\n\r\n`)], ['s', b(rs(4, 'Session: 12345678\r\n') + '\r\n')],
  ];
  let seq = rng.int(65536);
  for (let i = rng.range(5, 20); i > 0; i--) {
    const rtp = Buffer.concat([Buffer.from([0x80, 96]), u16(seq++ & 0xffff), u32(rng.int(2 ** 32)), u32(0x1234abcd), rng.bytes(rng.range(20, 1300))]);
    ex.push(['s', Buffer.concat([Buffer.from([0x24, 0]), u16(rtp.length), rtp])]);
  }
  return { name: 'rtsp', port: 554, exchanges: ex };
}

// ---- SIP without messaging (calls and registrations are not IM: docs/sip.md) -------------------

export function sipMessages(rng: Rng, transport: 'TCP' | 'UDP'): Exchange[] {
  const callId = `${rng.hex(16)}@192.0.2.10`;
  const tag = rng.hex(8);
  const branch = () => `z9hG4bK${rng.hex(10)}`;
  // desk phones: Polycom lists its methods on the Contact of its REGISTER (MESSAGE among them)
  const polycom = rng.chance(0.5);
  const contact = polycom
    ? `<sip:alice@192.0.2.10:5060;transport=${transport.toLowerCase()}>;methods="INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, MESSAGE, SUBSCRIBE, NOTIFY, PRACK, UPDATE, REFER"`
    : `<sip:alice@192.0.2.10:5060;transport=${transport.toLowerCase()}>`;
  const ua = polycom ? 'PolycomVVX-VVX_411-UA/6.4.3.5018' : 'Yealink SIP-T46S 66.86.0.15';
  const common = (method: string, n: number, extra = '') =>
    `Via: SIP/2.0/${transport} 192.0.2.10:5060;branch=${branch()};rport\r\nMax-Forwards: 70\r\nFrom: "Alice" <sip:alice@example.com>;tag=${tag}\r\nTo: <sip:${method === 'REGISTER' || method === 'SUBSCRIBE' ? 'alice' : 'bob'}@example.com>\r\nCall-ID: ${callId}\r\nCSeq: ${n} ${method}\r\n` +
    `Contact: ${contact}\r\nUser-Agent: ${ua}\r\nAllow: INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, REFER, NOTIFY, SUBSCRIBE, UPDATE, MESSAGE\r\n${extra}`;
  const req = (method: string, n: number, extra = '', body = '') => b(`${method} sip:${method === 'REGISTER' ? 'example.com' : 'bob@example.com'} SIP/2.0\r\n${common(method, n, extra)}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  const res = (status: string, method: string, n: number, extra = '', body = '') => b(`SIP/2.0 ${status}\r\n${common(method, n, extra).replace(/^Max-Forwards.*\r\n/m, '')}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  const sdp = `v=0\r\no=alice 2890844526 2890844526 IN IP4 192.0.2.10\r\ns=call\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\nm=audio ${rng.range(10000, 20000) * 2} RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n`;
  const sdpCt = 'Content-Type: application/sdp\r\n';
  return [
    ['c', req('REGISTER', 1, 'Expires: 3600\r\n')],
    ['s', res('401 Unauthorized', 'REGISTER', 1, `WWW-Authenticate: Digest realm="example.com", nonce="${rng.hex(16)}", algorithm=MD5\r\n`)],
    ['c', req('REGISTER', 2, `Expires: 3600\r\nAuthorization: Digest username="alice", realm="example.com", nonce="x", uri="sip:example.com", response="${rng.hex(32)}"\r\n`)],
    ['s', res('200 OK', 'REGISTER', 2, 'Expires: 3600\r\n')],
    ['c', req('INVITE', 3, sdpCt, sdp)],
    ['s', res('100 Trying', 'INVITE', 3)],
    ['s', res('180 Ringing', 'INVITE', 3)],
    ['s', res('200 OK', 'INVITE', 3, sdpCt, sdp)],
    ['c', req('ACK', 3)],
    ['c', req('BYE', 4)],
    ['s', res('200 OK', 'BYE', 4)],
    // voicemail indicator and a busy-lamp key: telephony subscriptions, not presence
    ['c', req('SUBSCRIBE', 5, 'Event: message-summary\r\nExpires: 3600\r\nAccept: application/simple-message-summary\r\n')],
    ['s', res('200 OK', 'SUBSCRIBE', 5, 'Expires: 3600\r\n')],
    ['s', req('NOTIFY', 6, 'Event: message-summary\r\nSubscription-State: active\r\nContent-Type: application/simple-message-summary\r\n', `Messages-Waiting: yes\r\nMessage-Account: sip:*97@example.com\r\nVoice-Message: ${rng.int(5)}/0 (0/0)\r\n`)],
    ['c', res('200 OK', 'NOTIFY', 6)],
    ['c', req('SUBSCRIBE', 7, 'Event: dialog\r\nExpires: 1800\r\nAccept: application/dialog-info+xml\r\n')],
    ['s', req('NOTIFY', 8, 'Event: dialog\r\nSubscription-State: active\r\nContent-Type: application/dialog-info+xml\r\n', '<?xml version="1.0"?>\r\n<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="1" state="full" entity="sip:bob@example.com"><dialog id="1"><state>confirmed</state></dialog></dialog-info>\r\n')],
    ['c', req('OPTIONS', 9)],
    ['s', res('200 OK', 'OPTIONS', 9)],
  ];
}

function sipTcp(rng: Rng): Script {
  return { name: 'sip-tcp', port: 5060, exchanges: sipMessages(rng, 'TCP'), keywords: ['INVITE', 'SIP/2.0', 'REGISTER'] };
}

// ---- logs, syslog, art, noise -------------------------------------------------------------------

function syslogTcp(rng: Rng): Script {
  const lines = logLines(rng, rng.range(10, 40)).map((l, i) => `<${rng.pick([134, 30, 11, 165])}>1 2024-01-15T09:30:${String(i % 60).padStart(2, '0')}Z host${rng.int(9)} app ${rng.range(100, 9999)} - - ${l}`);
  // RFC 6587: newline-delimited or octet-counted
  const octet = rng.chance(0.5);
  const data = lines.map((l) => (octet ? `${Buffer.byteLength(l)} ${l}` : `${l}\n`)).join('');
  return { name: 'syslog-tcp', port: 601, exchanges: [['c', b(data)]], keywords: KEYWORDS };
}

function logStream(rng: Rng): Script {
  const ex: Exchange[] = [];
  for (let i = rng.range(3, 10); i > 0; i--) ex.push(['c', b(logLines(rng, rng.range(1, 8)).join('\n') + '\n')]);
  return { name: 'log-stream', port: 9000, exchanges: ex, keywords: KEYWORDS };
}

function asciiArt(rng: Rng): Script {
  const rows: string[] = [];
  const chars = ' *+-|/\\_<>=#@.o';
  for (let r = rng.range(8, 30); r > 0; r--) {
    let row = '';
    for (let c = rng.range(20, 78); c > 0; c--) row += chars[rng.int(chars.length)];
    rows.push(row);
  }
  rows.push('*** Welcome to the BBS ***', '*  PRIVMSG-free zone   *', '<message board> Type HELP');
  return { name: 'ascii-art', port: 23, exchanges: [['s', b(rows.join('\r\n') + '\r\n')], ['c', b('HELP\r\n')], ['s', b('Commands: LIST, READ, POST, QUIT\r\n')]], keywords: ['*', '<message', 'PRIVMSG'] };
}

function randomBinary(rng: Rng): Script {
  const ex: Exchange[] = [];
  for (let i = rng.range(2, 10); i > 0; i--) ex.push([rng.pick(['c', 's'] as const), rng.bytes(rng.range(1, 3000))]);
  return { name: 'random-binary', port: rng.range(1024, 65000), exchanges: ex, keywords: ['*'] };
}

/** BEEP (RFC 3080): MSG/RPY/ANS frames with a MIME header, as syslog-reliable (RFC 3195) uses it */
function beep(rng: Rng): Script {
  const frame = (kw: string, ch: number, msgno: number, payload: string, seq: number) => `${kw} ${ch} ${msgno} . ${seq} ${Buffer.byteLength(payload)}\r\n${payload}END\r\n`;
  const greet = `Content-Type: application/beep+xml\r\n\r\n<greeting><profile uri='http://xml.resource.org/profiles/syslog/RAW'/></greeting>\r\n`;
  const ex: Exchange[] = [['s', b(frame('RPY', 0, 0, greet, 0))], ['c', b(frame('RPY', 0, 0, 'Content-Type: application/beep+xml\r\n\r\n<greeting/>\r\n', 0))]];
  let seq = 0;
  for (let i = rng.range(2, 6); i > 0; i--) {
    const p = `Content-Type: application/octet-stream\r\n\r\n<${rng.pick([134, 30])}>Jan 15 09:30:00 host app: ${rng.pick(logLines(rng, 3))}\r\n`;
    ex.push(['c', b(frame('MSG', 1, i, p, seq))], ['s', b(frame('ANS', 1, i, 'Content-Type: application/beep+xml\r\n\r\n<ok/>\r\n', 0))]);
    seq += Buffer.byteLength(p);
  }
  return { name: 'beep', port: 601, exchanges: ex, keywords: ['MSG', 'ANS', 'RPY', '<'] };
}

/** an XML event stream (not XMPP): alarms whose elements are named like stanzas, with non-XMPP types */
function xmlEvents(rng: Rng): Script {
  const ex: Exchange[] = [['s', b(`<?xml version="1.0"?>\n<events xmlns="urn:example:alarms:1">\n`)]];
  for (let i = rng.range(3, 10); i > 0; i--) {
    const ev = rng.pick([
      () => `<message to="noc@example.com" from="sensor${rng.int(99)}@plant.example.com" type="alarm" id="a${rng.int(999)}"><body>temperature ${rng.range(60, 99)}C</body></message>\n`,
      () => `<presence from="sensor${rng.int(99)}@plant.example.com" state="online"/>\n`,
      () => `<iq type="poll" id="q${rng.int(999)}" to="plant.example.com"/>\n`,
      () => `<reading sensor="t${rng.int(9)}" value="${rng.range(10, 99)}"/>\n`,
    ])();
    ex.push(['s', b(ev)]);
  }
  return { name: 'xml-events', port: 7001, exchanges: ex, keywords: ['<message', '<iq', '<presence'] };
}

/** EPP (RFC 5730/5734): 4-byte length + XML, on 700 */
function epp(rng: Rng): Script {
  const frame = (x: string) => Buffer.concat([u32(Buffer.byteLength(x) + 4), b(x)]);
  const hdr = '<?xml version="1.0" encoding="UTF-8" standalone="no"?><epp xmlns="urn:ietf:params:xml:ns:epp-1.0">';
  return {
    name: 'epp', port: 700, keywords: ['<'],
    exchanges: [
      ['s', frame(`${hdr}<greeting><svID>EPP server</svID><svDate>2024-01-15T09:30:00Z</svDate></greeting></epp>`)],
      ['c', frame(`${hdr}<command><login><clID>registrar${rng.int(99)}</clID><pw>secret</pw></login><clTRID>ABC-${rng.int(9999)}</clTRID></command></epp>`)],
      ['s', frame(`${hdr}<response><result code="1000"><msg>Command completed successfully</msg></result></response></epp>`)],
      ['c', frame(`${hdr}<command><check><domain:check xmlns:domain="urn:ietf:params:xml:ns:domain-1.0"><domain:name>example.com</domain:name></domain:check></check></command></epp>`)],
    ],
  };
}

/** an explicit proxy: CONNECT to ordinary hosts on IM ports, then TLS or a plain protocol in the tunnel */
function httpProxy(rng: Rng): Script {
  const host = rng.pick(['dev.example.com', 'ci.example.net', 'grafana.example.org', '198.51.100.77', 'git.example.com']);
  const port = rng.pick([5050, 1863, 5190, 5222, 6667, 4000, 8074, 443, 8443]);
  const ex: Exchange[] = [
    ['c', b(`CONNECT ${host}:${port} HTTP/1.1\r\nHost: ${host}:${port}\r\nProxy-Authorization: Basic ${Buffer.from('bob:pw').toString('base64')}\r\nUser-Agent: ${rng.pick(UAS)}\r\n\r\n`)],
    ['s', b('HTTP/1.1 200 Connection established\r\nProxy-Agent: Squid/6.6\r\n\r\n')],
  ];
  if (rng.chance(0.6)) {
    ex.push(['c', tlsClientHello(rng, host)], ['s', tlsRecord(0x16, rng.bytes(rng.range(100, 2000)))]);
    for (let i = rng.range(1, 6); i > 0; i--) ex.push([rng.pick(['c', 's'] as const), tlsRecord(0x17, rng.bytes(rng.range(30, 1500)))]);
  } else {
    ex.push(['c', httpReq(rng, 'GET', '/api/health', { Host: `${host}:${port}` })], ['s', httpRes('200 OK', { 'Content-Type': 'application/json' }, '{"status":"ok"}')]);
  }
  // and a plain request for an absolute URI on an IM port
  ex.push(['c', httpReq(rng, 'GET', `http://${host}:${rng.pick([5050, 1863, 5190])}/status`, { Host: `${host}` })], ['s', httpRes('200 OK', { 'Content-Type': 'text/plain' }, 'ok\n')]);
  return { name: 'http-proxy', port: 3128, exchanges: ex, keywords: ['CONNECT', 'GET'] };
}

/** link previews: a messenger's servers fetch a page from our web server (not IM use on our network) */
function linkPreviewCrawler(rng: Rng): Script {
  const ua = rng.pick([
    'TelegramBot (like TwitterBot)',
    'Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)',
    'Slackbot 1.0 (+https://api.slack.com/robots)',
    'Mozilla/5.0 (Windows NT 6.1; WOW64) SkypeUriPreview Preview/0.5 skype-url-preview@microsoft.com',
    'Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)',
    'facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)',
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_11_1) AppleWebKit/601.2.4 (KHTML, like Gecko) Version/9.0.1 Safari/601.2.4 facebookexternalhit/1.1 Facebot Twitterbot/1.0',
  ]);
  const page = `<!doctype html><html><head><meta property="og:title" content="Release notes"><title>Release</title></head><body>${prose(rng, 5).join('<br>')}</body></html>`;
  return {
    name: 'link-preview-crawler', port: 80, keywords: ['GET'],
    exchanges: [['c', httpReq(rng, 'GET', '/blog/release-notes', { Host: 'www.example.com', 'User-Agent': ua })], ['s', httpRes('200 OK', { 'Content-Type': 'text/html' }, page)]],
  };
}

/** a packet capture of IM sessions, downloaded: whole IM PDUs inside a file, between pcap record headers */
function pcapDownload(rng: Rng): Script {
  const cap = new Capture();
  const o = cap.tcp('10.9.0.5:40000', '64.12.24.50:5190');
  const c = new Flaps(rng.range(1, 60000)), sv = new Flaps(rng.range(1, 60000));
  // two FLAPs in one segment, as servers send them
  o.send('s', Buffer.concat([sv.hello(), sv.snac(1, 3, Buffer.from([0, 1, 0, 2, 0, 3, 0, 4]))]));
  o.send('c', Buffer.concat([c.hello(), c.snac(1, 2, Buffer.alloc(0))]));
  o.send('c', outgoingIm(c, 'buddy123', messageBlock(fragment(Buffer.from('see the attached capture'), 0))));
  o.send('s', incomingIm(sv, 'buddy123', messageBlock(fragment(Buffer.from('got it'), 0))));
  const y = cap.tcp('10.9.0.5:40001', '66.163.181.180:5050');
  for (let i = 0; i < rng.range(2, 5); i++) {
    const body = Buffer.from(`1\xc0\x80alice_example\xc0\x805\xc0\x80bob_example\xc0\x8014\xc0\x80hello ${i}\xc0\x80`, 'latin1');
    y.send(rng.pick(['c', 's'] as const), Buffer.concat([b('YMSG'), Buffer.from([0, 0x10, 0, 0]), u16(body.length), u16(6), o32(0), o32(0x1234), body]));
  }
  const irc = cap.tcp('10.9.0.5:40002', '198.51.100.66:6667');
  irc.send('c', 'PRIVMSG #ops :see capture\r\nPRIVMSG #ops :second line\r\n');
  irc.send('s', ':bob!b@h PRIVMSG #ops :thanks\r\n');
  const x = cap.tcp('10.9.0.5:40003', '198.51.100.67:5222');
  x.send('c', "<message to='juliet@example.com' type='chat' id='a1'><body>in a pcap</body></message>");
  x.send('s', "<message from='juliet@example.com/b' to='romeo@example.net/o' type='chat' id='a2'><body>ok</body></message>");
  const m = cap.tcp('10.9.0.5:40004', '65.54.239.80:1863');
  m.send('c', 'VER 1 MSNP12 MSNP11 CVR0\r\n');
  m.send('s', 'VER 1 MSNP12\r\nUSR 2 OK alice@example.com Alice\r\n');
  // (a capture rarely ends on an IM payload; one that does ends in bytes that are nothing but MSNP)
  cap.udp('10.9.0.5:53000', '10.9.0.1:53', dnsQuery('www.example.com', 9));
  const file = cap.pcap();
  return {
    name: 'pcap-download', port: 80, keywords: ['*', 'YMSG', 'PRIVMSG', '<message', 'VER ', 'USR '],
    exchanges: [['c', httpReq(rng, 'GET', '/captures/im-sample.pcap')], ['s', httpRes('200 OK', { 'Content-Type': 'application/vnd.tcpdump.pcap' }, file)]],
  };
}

/** web services whose paths happen to match IM URL shapes (a webhook relay's /relay?token=) */
function httpLookalikePaths(rng: Rng): Script {
  const ex: Exchange[] = [];
  const body = JSON.stringify({ event: 'deploy', text: 'build passed' });
  ex.push(['c', httpReq(rng, 'POST', `/relay?token=${rng.hex(24)}`, { Host: 'hooks.example.com', 'Content-Type': 'application/json' }, body)]);
  ex.push(['s', httpRes('200 OK', { 'Content-Type': 'application/json' }, '{"ok":true}')]);
  ex.push(['c', httpReq(rng, 'GET', `/relay?token=${rng.hex(16)}&channel=ops`, { Host: 'relay.example.net' })]);
  ex.push(['s', httpRes('200 OK', { 'Content-Type': 'application/octet-stream' }, rng.bytes(rng.range(100, 3000)))]);
  ex.push(['c', httpReq(rng, 'GET', `/gateway/status?session=${rng.hex(8)}`, { Host: 'gw.example.com' })]);
  ex.push(['s', httpRes('200 OK', { 'Content-Type': 'text/plain' }, 'up\n')]);
  return { name: 'http-lookalike-paths', port: 80, exchanges: ex, keywords: ['POST', 'GET'] };
}

export const TCP_GENERATORS: ((rng: Rng) => Script)[] = [
  httpProxy, linkPreviewCrawler, pcapDownload, httpLookalikePaths,
  httpJson, httpSoap, httpXmlWebhook, httpChunkedFeed, httpBosh, httpTextDownload, httpImage,
  smtp, imap, pop3, ftp, ftpData, ssh, tls, dnsTcp, redis, memcached, mqtt, rtsp, sipTcp,
  syslogTcp, logStream, asciiArt, randomBinary, beep, xmlEvents, epp,
];

// ---- UDP ----------------------------------------------------------------------------------------

export interface UdpScript {
  name: string;
  port: number;
  datagrams: Exchange[];
}

function ntp(rng: Rng): UdpScript {
  const pkt = (mode: number) => Buffer.concat([Buffer.from([(0 << 6) | (4 << 3) | mode, mode === 4 ? 2 : 0, 6, 0xe9]), rng.bytes(44)]);
  return { name: 'ntp', port: 123, datagrams: [['c', pkt(3)], ['s', pkt(4)], ['c', pkt(3)], ['s', pkt(4)]] };
}

function dnsUdp(rng: Rng): UdpScript {
  const d: Exchange[] = [];
  for (let i = rng.range(1, 4); i > 0; i--) {
    const name = rng.pick(DNS_NAMES);
    const id = rng.int(65536);
    d.push(['c', dnsQuery(name, id)], ['s', dnsResponse(name, `198.51.100.${rng.range(1, 254)}`, undefined, id)]);
  }
  return { name: 'dns-udp', port: 53, datagrams: d };
}

function quicVarint(n: number): Buffer {
  if (n < 64) return Buffer.from([n]);
  if (n < 16384) return Buffer.from([0x40 | (n >> 8), n & 0xff]);
  return Buffer.from([0x80 | (n >>> 24), (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]);
}

/** a QUIC v1 client Initial with a ClientHello for a web name (RFC 9001 Initial keys) */
function quicInitial(rng: Rng, sni: string): Buffer {
  const hello = tlsClientHello(rng, sni).subarray(5);
  const frames = Buffer.concat([Buffer.from([0x06]), quicVarint(0), quicVarint(hello.length), hello]);
  const dcid = rng.bytes(8);
  const salt = Buffer.from('38762cf7f55934b34d179ae6a4c80cadccbb7f0a', 'hex');
  const label = (secret: Buffer, l: string, len: number) => {
    const lb = Buffer.from('tls13 ' + l);
    const info = Buffer.concat([u16(len), Buffer.from([lb.length]), lb, Buffer.from([0]), Buffer.from([1])]);
    return crypto.createHmac('sha256', secret).update(info).digest().subarray(0, len);
  };
  const initial = crypto.createHmac('sha256', salt).update(dcid).digest();
  const secret = label(initial, 'client in', 32);
  const key = label(secret, 'quic key', 16), iv = label(secret, 'quic iv', 12), hp = label(secret, 'quic hp', 16);
  const scid = rng.bytes(8);
  const head = Buffer.concat([Buffer.from([0xc1, 0, 0, 0, 1, dcid.length]), dcid, Buffer.from([scid.length]), scid, Buffer.from([0])]);
  let payload = frames;
  const fixed = head.length + 2 + 2 + 16;
  if (fixed + payload.length < 1200) payload = Buffer.concat([payload, Buffer.alloc(1200 - fixed - payload.length)]);
  const length = 2 + payload.length + 16;
  const header = Buffer.concat([head, Buffer.from([0x40 | (length >> 8), length & 0xff]), u16(0)]);
  const c = crypto.createCipheriv('aes-128-gcm', key, iv);
  c.setAAD(header);
  const pkt = Buffer.concat([header, c.update(payload), c.final(), c.getAuthTag()]);
  const pnOff = header.length - 2;
  const mask = crypto.createCipheriv('aes-128-ecb', hp, null).update(pkt.subarray(pnOff + 4, pnOff + 20));
  pkt[0] ^= mask[0] & 0x0f;
  pkt[pnOff] ^= mask[1];
  pkt[pnOff + 1] ^= mask[2];
  return pkt;
}

function quic(rng: Rng): UdpScript {
  const d: Exchange[] = [['c', quicInitial(rng, rng.pick(TLS_NAMES))]];
  d.push(['s', Buffer.concat([Buffer.from([0xc0 | rng.int(4), 0, 0, 0, 1]), rng.bytes(rng.range(100, 1200))])]);
  for (let i = rng.range(2, 8); i > 0; i--) d.push([rng.pick(['c', 's'] as const), Buffer.concat([Buffer.from([0x40 | rng.int(64)]), rng.bytes(rng.range(30, 1200))])]);
  return { name: 'quic', port: 443, datagrams: d };
}

function rtp(rng: Rng): UdpScript {
  let seq = rng.int(65536);
  let ts = rng.int(2 ** 31);
  const ssrc = rng.int(2 ** 32);
  const pt = rng.pick([0, 8, 111, 96]);
  const d: Exchange[] = [];
  for (let i = rng.range(5, 20); i > 0; i--) {
    d.push(['c', Buffer.concat([Buffer.from([0x80, pt | (i === 1 ? 0x80 : 0)]), u16(seq++ & 0xffff), u32(ts), u32(ssrc), rng.bytes(pt === 0 || pt === 8 ? 160 : rng.range(40, 300))])]);
    ts = (ts + 160) >>> 0;
  }
  return { name: 'rtp', port: 2 * rng.range(8192, 16383), datagrams: d };
}

/** a browser's WebRTC connectivity check: STUN with no app-specific attribute (not IM: docs/modern.md) */
function stunPlain(rng: Rng): UdpScript {
  const msg = (type: number, attrs: Buffer) => Buffer.concat([u16(type), u16(attrs.length), Buffer.from('2112a442', 'hex'), rng.bytes(12), attrs]);
  const xorMapped = Buffer.concat([u16(0x0020), u16(8), Buffer.from([0, 1]), u16(rng.int(65536)), rng.bytes(4)]);
  const user = b(`${rng.hex(4)}:${rng.hex(4)}`);
  const attrs = Buffer.concat([u16(0x0006), u16(user.length), user, Buffer.alloc((4 - (user.length % 4)) % 4), u16(0x8029), u16(8), rng.bytes(8), u16(0x0024), u16(4), u32(0x6e7f1eff)]);
  return { name: 'stun-webrtc', port: 3478, datagrams: [['c', msg(0x0001, Buffer.alloc(0))], ['s', msg(0x0101, xorMapped)], ['c', msg(0x0001, attrs)], ['s', msg(0x0101, xorMapped)]] };
}

function sipUdp(rng: Rng): UdpScript {
  return { name: 'sip-udp', port: 5060, datagrams: sipMessages(rng, 'UDP') };
}

function syslogUdp(rng: Rng): UdpScript {
  return { name: 'syslog-udp', port: 514, datagrams: logLines(rng, rng.range(3, 12)).map((l) => ['c', b(`<134>Jan 15 09:30:00 host app: ${l}`)] as Exchange) };
}

function udpRandom(rng: Rng): UdpScript {
  const d: Exchange[] = [];
  for (let i = rng.range(2, 12); i > 0; i--) d.push([rng.pick(['c', 's'] as const), rng.bytes(rng.range(1, 1400))]);
  return { name: 'udp-random', port: rng.range(1024, 65000), datagrams: d };
}

/** STX … ETX framed binary telemetry (industrial and payment devices use such framing) */
function stxEtx(rng: Rng): UdpScript {
  const d: Exchange[] = [];
  for (let i = rng.range(2, 10); i > 0; i--) d.push([rng.pick(['c', 's'] as const), Buffer.concat([Buffer.from([0x02]), Buffer.from([rng.range(0x30, 0x39), rng.range(0x30, 0x39)]), rng.bytes(rng.range(9, 120)).map((x) => (x === 3 ? 4 : x)), Buffer.from([0x03])])]);
  return { name: 'udp-stx-etx', port: 7000, datagrams: d };
}

export const UDP_GENERATORS: ((rng: Rng) => UdpScript)[] = [ntp, dnsUdp, quic, rtp, stunPlain, sipUdp, syslogUdp, udpRandom, stxEtx];

/** the IM ports ordinary protocols are also tried on */
export const IM_TCP_PORTS = [5190, 1863, 5050, 5222, 6667, 4000, 8074, 443, 80];
export const IM_UDP_PORTS = [4000, 8000, 3478, 5190, 1863, 5050, 5222, 443];

/**
 * Where a capture of `s` may begin when it missed the start: an exchange and a byte in it — at random,
 * at a line start, or at a keyword. Returns the exchanges from there on.
 */
export function pickUp(rng: Rng, s: Script, how: 'byte' | 'line' | 'keyword'): Exchange[] {
  const total = s.exchanges.reduce((n, [, d]) => n + d.length, 0);
  let at = rng.int(Math.max(1, total));
  const all = Buffer.concat(s.exchanges.map(([, d]) => d));
  if (how === 'line') {
    const nl = all.indexOf(0x0a, at);
    if (nl >= 0 && nl + 1 < all.length) at = nl + 1;
  } else if (how === 'keyword' && s.keywords?.length) {
    const hits: number[] = [];
    for (const k of s.keywords) for (let i = all.indexOf(k); i >= 0 && hits.length < 200; i = all.indexOf(k, i + 1)) hits.push(i);
    if (hits.length) at = rng.pick(hits);
  }
  const out: Exchange[] = [];
  let o = 0;
  for (const [side, d] of s.exchanges) {
    if (o + d.length > at) out.push([side, o >= at ? d : d.subarray(at - o)]);
    o += d.length;
  }
  return out;
}
