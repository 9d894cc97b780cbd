// Variants real clients put on the wire that the other generated captures do not: each case is
// modelled on a public capture whose expected decode is stored as text (nDPI result files, Zeek
// baselines, Arkime test expectations; each case names its source), built here from the
// protocol layouts, and run through `shadowim analyze`. tshark is the oracle where it dissects the
// variant.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Capture } from '../helpers/pcapgen';
import { analyzeCapture } from '../helpers/analyze';
import { Flaps, bname, fragment, incomingIm, messageBlock, outgoingIm, tlv, u16 } from './oscar-wire';

const haveTshark = spawnSync('tshark', ['-v']).status === 0;

function tshark(args: string[]): string {
  const r = spawnSync('tshark', args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

function withFile<T>(cap: Capture, fn: (file: string) => T): T {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-variants-'));
  try {
    const file = path.join(dir, 'c.pcap');
    fs.writeFileSync(file, cap.pcap());
    return fn(file);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function utf16be(s: string): Buffer {
  const b = Buffer.from(s, 'utf16le');
  for (let i = 0; i + 1 < b.length; i += 2) [b[i], b[i + 1]] = [b[i + 1], b[i]];
  return b;
}

function le32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return b;
}
function le16(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(v);
  return b;
}

describe('classic variants: OSCAR/ICQ', function () {
  this.timeout(60000);
  // nDPI's Oscar.pcap: one TCP flow 10.30.29.3:63357 <-> 178.237.24.249:443 (Mail.ru's ICQ network),
  // 38 + 33 packets over 72 s, no sign-on in it: an ICQ 7/8 client's live BOS connection picked up
  // after login. nDPI today guesses TLS by port for it.
  const BUDDY = '123456789';

  function icqMidSession(server: string): Capture {
    const cap = new Capture();
    const t = cap.tcp('10.30.29.3:63357', server); // no SYN: the capture starts in the session
    const c = new Flaps(0x2201), s = new Flaps(0x71a0);
    t.send('c', c.flap(5, Buffer.alloc(0))); // keep-alive
    // ICQ 6+ directory (MDir, family 0x0025) lookup of the buddy, and its answer
    t.send('c', c.snac(0x25, 0x02, Buffer.concat([u16(1), tlv(1, Buffer.from(BUDDY))]), 0, 0x10));
    t.send('s', s.snac(0x25, 0x03, Buffer.concat([u16(0), u16(1), tlv(0x32, Buffer.from('Alice'))]), 0, 0x10));
    t.send('s', incomingIm(s, BUDDY, messageBlock(fragment(utf16be('Привет, the invoice is attached'), 2))));
    t.send('c', outgoingIm(c, BUDDY, messageBlock(fragment(utf16be('got it, thanks'), 2))));
    t.send('c', c.flap(5, Buffer.alloc(0)));
    return cap;
  }

  it('recognises an ICQ 7/8 session picked up mid-connection whose first frames use the directory family 0x0025', () => {
    const ev = analyzeCapture(icqMidSession('178.237.24.249:443'));
    const sessions = ev.filter((e) => e.type === 'session');
    assert.equal(sessions.length, 1, JSON.stringify(sessions));
    assert.equal(sessions[0].protocol, 'icq');
    assert.equal(sessions[0].encrypted, false);
    const texts = ev.filter((e) => e.type === 'message').map((e) => `${e.from}>${e.to}:${e.text}`);
    assert.deepEqual(texts, [`${BUDDY}>(unknown):Привет, the invoice is attached`, `(unknown)>${BUDDY}:got it, thanks`]);
  });

  it('calls it ICQ from the UIN peer alone when the server is not in a known ICQ range', () => {
    const ev = analyzeCapture(icqMidSession('198.51.100.7:443'));
    const s = ev.filter((e) => e.type === 'session');
    assert.deepEqual(s.map((e) => e.protocol), ['icq']);
    assert.ok(s[0].users.includes(BUDDY));
  });

  it('learns the own UIN from an ICQ meta request (family 0x0015) and agrees with tshark on the texts', function () {
    const cap = new Capture();
    const t = cap.tcp('10.30.29.3:63358', '178.237.24.249:443');
    const c = new Flaps(0x0300), s = new Flaps(0x0400);
    // CLI_META_REQ for offline messages: TLV 1 = LE16 length, LE32 own UIN, LE16 0x003c, LE16 seq
    t.send('c', c.snac(0x15, 0x02, tlv(1, Buffer.concat([le16(8), le32(987654321), le16(0x3c), le16(2)]))));
    t.send('c', outgoingIm(c, 'buddy.on.aim', messageBlock(fragment(Buffer.from('from an ICQ account to an AIM name'), 0))));
    t.send('s', incomingIm(s, 'buddy.on.aim', messageBlock(fragment(Buffer.from('<HTML>answer</HTML>'), 0))));
    const ev = analyzeCapture(cap);
    const sess = ev.filter((e) => e.type === 'session');
    assert.deepEqual(sess.map((e) => e.protocol), ['icq']);
    assert.ok(sess[0].users.includes('987654321'));
    const msgs = ev.filter((e) => e.type === 'message');
    assert.deepEqual(msgs.map((e) => [e.from, e.to]), [['987654321', 'buddy.on.aim'], ['buddy.on.aim', '987654321']]);
    if (!haveTshark) return this.skip();
    const oracle = withFile(cap, (file) => tshark(['-r', file, '-d', 'tcp.port==443,aim', '-Y', 'aim.messageblock.message', '-T', 'fields', '-e', 'aim.messageblock.message']))
      .trim().split('\n').map((l) => l.replace(/<[^>]+>/g, ''));
    assert.deepEqual(msgs.map((e) => e.text), oracle);
  });

  it('keeps an AIM session AIM when a UIN buddy talks to a known AIM screen name', () => {
    const cap = new Capture();
    const t = cap.tcp('10.20.0.5:50200', '64.12.24.50:5190').open();
    const c = new Flaps(0x0100), s = new Flaps(0x0200);
    t.send('c', c.hello());
    t.send('s', s.snac(1, 0x0f, Buffer.concat([bname('AcmeAnalyst7'), u16(0), u16(0)])));
    t.send('c', outgoingIm(c, BUDDY, messageBlock(fragment(Buffer.from('AIM to ICQ interop'), 0))));
    t.close();
    const ev = analyzeCapture(cap);
    assert.deepEqual(ev.filter((e) => e.type === 'session').map((e) => e.protocol), ['aim']);
  });

  it('a TLS flow to the ICQ range is not called ICQ by its address', () => {
    const cap = new Capture();
    const t = cap.tcp('10.30.29.3:63400', '178.237.24.249:443').open();
    // a ClientHello-shaped start with random bytes after it: not FLAP
    t.send('c', Buffer.concat([Buffer.from('160301', 'hex'), u16(60), Buffer.alloc(60, 7)]));
    t.send('s', Buffer.concat([Buffer.from('160303', 'hex'), u16(40), Buffer.alloc(40, 9)]));
    t.close();
    const ev = analyzeCapture(cap);
    assert.deepEqual(ev.filter((e) => e.type === 'session' && (e.protocol === 'icq' || e.protocol === 'aim')), []);
  });
});

describe('classic variants: MSNP 11–21 sessions picked up mid-session', function () {
  this.timeout(60000);
  // An idle notification-server connection seen without its sign-on opens with keep-alives
  // (PNG/QNG), challenges and status updates; MSNP 21 (Messenger 2011/2012) carries chat as SDG.
  function routed(from: string, to: string, text: string): Buffer {
    const body = Buffer.from(text, 'utf8');
    const head =
      `Routing: 1.0\r\nTo: 1:${to}\r\nFrom: 1:${from};epid={f52973b6-c926-4bad-9ba8-7c1e840e4ab0}\r\n\r\n` +
      'Reliability: 1.0\r\n\r\n' +
      `Messaging: 2.0\r\nMessage-Type: Text\r\nContent-Transfer-Encoding: 7bit\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Length: ${body.length}\r\n\r\n`;
    return Buffer.concat([Buffer.from(head, 'utf8'), body]);
  }
  function cmd(line: string, payload?: Buffer): Buffer {
    return payload ? Buffer.concat([Buffer.from(`${line} ${payload.length}\r\n`), payload]) : Buffer.from(`${line}\r\n`);
  }

  it('recognises an MSNP 15 notification session that starts with PNG/QNG and status XML', () => {
    const cap = new Capture();
    const t = cap.tcp('10.1.1.20:49320', '65.54.239.80:1863'); // no SYN
    t.send('c', cmd('PNG'));
    t.send('s', cmd('QNG 48'));
    t.send('s', cmd('UBX 1:bob@hotmail.com', Buffer.from('<Data><PSM>at the office</PSM><CurrentMedia></CurrentMedia></Data>')));
    t.send('c', cmd('UUX 12', Buffer.from('<Data><PSM>busy</PSM><CurrentMedia></CurrentMedia><MachineGuid>{A1}</MachineGuid></Data>')));
    const ev = analyzeCapture(cap);
    assert.deepEqual(ev.filter((e) => e.type === 'session').map((e) => e.protocol), ['msn']);
  });

  it('reads MSNP 21 SDG chat on a session picked up after its sign-on', () => {
    const cap = new Capture();
    const t = cap.tcp('10.1.1.21:49400', '65.54.239.81:1863');
    t.send('c', cmd('PNG'));
    t.send('s', cmd('QNG 50'));
    t.send('c', cmd('SDG 31', routed('alice@hotmail.com', 'bob@hotmail.com', 'the merger closes friday')));
    t.send('s', cmd('SDG 0', routed('bob@hotmail.com', 'alice@hotmail.com', 'keep it quiet')));
    const ev = analyzeCapture(cap);
    const sess = ev.filter((e) => e.type === 'session');
    assert.deepEqual(sess.map((e) => e.protocol), ['msn']);
    const msgs = ev.filter((e) => e.type === 'message').map((e) => `${e.from}>${e.to}:${e.text}`);
    assert.deepEqual(msgs, ['alice@hotmail.com>bob@hotmail.com:the merger closes friday', 'bob@hotmail.com>alice@hotmail.com:keep it quiet']);
  });

  it('keep-alive-shaped lines alone, or followed by other text, are not MSN', () => {
    const cap = new Capture();
    const t = cap.tcp('10.1.1.22:49500', '192.0.2.80:1863').open();
    t.send('c', cmd('PNG'));
    t.send('s', cmd('QNG 50'));
    t.send('c', Buffer.from('HELO example.org\r\n'));
    t.close();
    const u = cap.tcp('10.1.1.22:49501', '192.0.2.80:1863').open();
    u.send('c', cmd('UUX 1', Buffer.from('{"json":"not MSN status XML at all"}')));
    u.close();
    const ev = analyzeCapture(cap);
    assert.deepEqual(ev.filter((e) => e.type === 'session'), []);
  });
});

describe('classic variants: IRC server-to-server link', function () {
  this.timeout(60000);
  // A TS6 link (PASS … TS 6 :SID, CAPAB, SERVER, SVINFO, then relayed lines with UID prefixes):
  // the relayed lines are other users', and the link password names the server, not a nick.
  it('names relayed senders by their prefix and the link password by the server name', () => {
    const cap = new Capture();
    const t = cap.tcp('10.0.0.6:40000', '198.51.100.10:6667').open();
    t.send('c', 'PASS linkpass TS 6 :42X\r\nCAPAB :QS EX IE KLN UNKLN ENCAP TB SERVICES EUID\r\nSERVER hub.example.net 1 :Hub\r\nSVINFO 6 6 0 :1700000000\r\n');
    t.send('s', 'PASS linkpass TS 6 :00A\r\nCAPAB :QS EX\r\nSERVER leaf.example.net 1 :Leaf\r\nSVINFO 6 6 0 :1700000000\r\n');
    t.send('c', ':42XAAAAAB PRIVMSG #ops :relayed over the link\r\n');
    t.send('s', ':00AAAAAAC PRIVMSG #ops :and back\r\n');
    t.close();
    const ev = analyzeCapture(cap);
    assert.deepEqual(ev.filter((e) => e.type === 'session').map((e) => e.protocol), ['irc']);
    assert.deepEqual(ev.filter((e) => e.type === 'message').map((e) => `${e.from}>${e.to}:${e.text}`), ['42XAAAAAB>#ops:relayed over the link', '00AAAAAAC>#ops:and back']);
    assert.deepEqual(ev.filter((e) => e.type === 'credential').map((e) => `${e.user}/${e.mechanism}`), ['hub.example.net/irc-server-link']);
    assert.ok(!JSON.stringify(ev).includes('linkpass'));
  });
});

describe('classic variants: XMPP picked up mid-session', function () {
  this.timeout(60000);
  // nDPI's jabber.pcap has client flows that start mid-session (no stream header in them); inside a
  // stream the default namespace is the stream's, so a plain chat stanza names no namespace at all.
  function midSession(port: number, client: string, server: string): Capture {
    const cap = new Capture();
    const t = cap.tcp(`172.16.0.62:${port}`, '172.16.1.138:5222'); // no SYN
    t.send('c', client);
    t.send('s', server);
    return cap;
  }

  it('recognises plain chat stanzas addressed to JIDs and agrees with tshark on the bodies', function () {
    const cap = midSession(57150,
      "<message to='chatback@cs-xmpp.lan' type='chat' id='purple1'><body>meet at the dock at nine</body></message>",
      "<message from='chatback@cs-xmpp.lan/home' to='tom@cs-xmpp.lan/darkstar' type='chat' id='x2'><body>ok, bring the files</body></message>");
    const ev = analyzeCapture(cap);
    assert.deepEqual(ev.filter((e) => e.type === 'session').map((e) => e.protocol), ['xmpp']);
    const msgs = ev.filter((e) => e.type === 'message');
    // our JID is learnt from what the server delivers: the first line we sent predates it
    assert.deepEqual(msgs.map((e) => `${e.to}:${e.text}`), ['chatback@cs-xmpp.lan:meet at the dock at nine', 'tom@cs-xmpp.lan/darkstar:ok, bring the files']);
    assert.equal(msgs[1].from, 'chatback@cs-xmpp.lan/home');
    if (!haveTshark) return this.skip();
    const out = withFile(cap, (file) => tshark(['-r', file, '-Y', 'xmpp.message.body', '-O', 'xmpp']));
    const bodies = [...out.matchAll(/BODY \[value="([^"]*)"\]/g)].map((m) => m[1]);
    assert.deepEqual(msgs.map((e) => e.text), bodies);
  });

  it('an iq with a type, an id and a JID is XMPP too; XML without those is not', () => {
    const ok = analyzeCapture(midSession(57151,
      "<iq type='get' id='purple2' to='cs-xmpp.lan'><ping xmlns='urn:xmpp:ping'/></iq>".replace(" xmlns='urn:xmpp:ping'", ''),
      "<iq type='result' id='purple2' from='cs-xmpp.lan/x' to='tom@cs-xmpp.lan/darkstar'/>"));
    assert.deepEqual(ok.filter((e) => e.type === 'session').map((e) => e.protocol), ['xmpp']);
    const no = analyzeCapture(midSession(57152,
      '<message id="7" to="queue/orders"><body>{"sku":1}</body></message>',
      '<message status="ok"/>'));
    assert.deepEqual(no.filter((e) => e.type === 'session'), []);
  });
});

describe('classic variants already handled (regression cover for the stored captures)', function () {
  this.timeout(60000);
  it('Zeek xmpp-dialback-starttls shape: a server-to-server stream with dialback goes encrypted at <proceed/>', () => {
    const cap = new Capture();
    const t = cap.tcp('184.73.173.246:1193', '104.236.167.107:5269').open();
    t.send('c', "<?xml version='1.0'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:server' xmlns:db='jabber:server:dialback' version='1.0' from='hosted.im' to='0xxon.net'>");
    t.send('s', "<?xml version='1.0'?><stream:stream xmlns='jabber:server' xmlns:db='jabber:server:dialback' xmlns:stream='http://etherx.jabber.org/streams' id='abc' from='0xxon.net' to='hosted.im' version='1.0'><stream:features><dialback xmlns='urn:xmpp:features:dialback'/><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:features>");
    t.send('c', "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
    t.send('s', "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
    t.send('c', Buffer.from('160301002f0100002b0303', 'hex'));
    t.close();
    const s = analyzeCapture(cap).filter((e) => e.type === 'session');
    assert.deepEqual(s.map((e) => [e.protocol, e.encrypted, e.server_name]), [['xmpp', true, '0xxon.net']]);
  });

  it('IRCv3: CAP LS 302, SASL PLAIN, message tags and echo-message', () => {
    const cap = new Capture();
    const t = cap.tcp('10.0.0.5:50000', '198.51.100.9:6667').open();
    t.send('c', 'CAP LS 302\r\nNICK alice\r\nUSER alice 0 * :Alice\r\n');
    t.send('s', ':irc.example.net CAP * LS * :account-notify away-notify\r\n:irc.example.net CAP * LS :sasl=PLAIN,EXTERNAL server-time message-tags echo-message\r\n');
    t.send('c', 'CAP REQ :sasl server-time message-tags echo-message\r\n');
    t.send('s', ':irc.example.net CAP alice ACK :sasl server-time message-tags echo-message\r\n');
    t.send('c', 'AUTHENTICATE PLAIN\r\n');
    t.send('s', 'AUTHENTICATE +\r\n');
    t.send('c', `AUTHENTICATE ${Buffer.from('alice\0alice\0hunter2').toString('base64')}\r\nCAP END\r\n`);
    t.send('s', ':irc.example.net 903 alice :SASL authentication successful\r\n:irc.example.net 001 alice :Welcome\r\n');
    t.send('c', '@+draft/reply=abc;label=x PRIVMSG #chan :hello tagged\r\n');
    t.send('s', '@time=2024-01-15T09:30:00.000Z;account=bob :bob!b@host PRIVMSG #chan :hi alice\r\n');
    t.send('s', '@time=2024-01-15T09:30:00.000Z :alice!a@host PRIVMSG #chan :hello tagged\r\n');
    t.close();
    const ev = analyzeCapture(cap);
    assert.deepEqual(ev.filter((e) => e.type === 'message').map((e) => `${e.from}>${e.to}:${e.text}`), ['alice>#chan:hello tagged', 'bob>#chan:hi alice']);
    assert.deepEqual(ev.filter((e) => e.type === 'credential').map((e) => `${e.user}/${e.mechanism}`), ['alice/sasl-plain']);
    assert.ok(!JSON.stringify(ev).includes('hunter2'));
  });
});
