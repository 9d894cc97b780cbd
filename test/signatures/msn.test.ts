// MSN (MSNP) through the engine (FlowHarness): detection on any port, switchboard chat, typing,
// UTF-8, legacy invitation + MSNFTP carving, MSNSLP offer + P2P carving, the HTTP gateway,
// credentials, and hostile input. Ground truth: the byte layouts in msn-wire.ts (protocol shapes).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FlowHarness } from '../helpers/harness';
import { Engine } from '../../signatures/engine';
import { loadRegistry } from '../../signatures/registry';
import { module as msn } from '../../signatures/msn';
import { MsnFramer, type MsnCommand } from '../../signatures/msn/parser';
import type { DetectInput } from '../../signatures/types';
import { invite, msg, msnftpBlocks, p2p, randomBytes, sha256, slpInvite, textMsg, typing } from './msn-wire';

const ME = 'alice@example.com';
const BUDDY = 'bob@example.net';

function sb(server = '203.0.113.9:1863', engine?: FlowHarness['engine'], port = 40000) {
  const h = new FlowHarness({ client: `10.1.1.10:${port}`, server, engine });
  h.send('c', `USR 1 ${ME} 1835953129.20013021.2623242\r\n`);
  h.send('s', `USR 1 OK ${ME} Alice\r\n`);
  h.send('c', `CAL 2 ${BUDDY}\r\n`);
  h.send('s', `CAL 2 RINGING 1835953129\r\nJOI ${BUDDY} Bob 1616756780\r\n`);
  return h;
}

function detectOn(data: string | Buffer, dir: 0 | 1 = 0) {
  const b = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
  const input = { transport: 'tcp', dir, data: b, other: Buffer.alloc(0), packetIndex: 0, flow: {} as any, lookup: { host: () => undefined, ip: () => undefined } } as DetectInput;
  return msn.detect(input, { id: 'msn' });
}

describe('msn: detection', () => {
  it('claims MSNP from the client login, the switchboard USR/ANS and server-side lines, on any port', () => {
    for (const s of ['VER 1 MSNP12 MSNP11 CVR0\r\n', 'VER 5 MSNP8 CVR0\r\n', `USR 7 TWN I ${ME}\r\n`, `ANS 1 ${ME} 849102291.520491113 11752013\r\n`,
      `USR 93 ${ME} 1835953129.20013021.2623242\r\n`, `JOI ${BUDDY} Bob 1616756780\r\n`, `IRO 1 1 2 ${BUDDY} Bob\r\n`, 'VER MSNFTP\r\n',
      `ILN 9 NLN ${BUDDY} Bob 268435492\r\n`, `NLN AWY ${BUDDY} Bob 268435492\r\n`, `FLN ${BUDDY}\r\n`, 'CHG 12 NLN 268435492\r\n']) {
      const r = detectOn(s);
      assert.ok(r && r !== 'more' && r.protocol === 'msn', `${JSON.stringify(s)} → ${JSON.stringify(r)}`);
    }
    const m = detectOn(Buffer.concat([textMsg(`${BUDDY} Bob`, 'hi')]), 1);
    assert.ok(m && m !== 'more' && m.protocol === 'msn');
  });

  it('never claims SMTP, HTTP, IRC, FTP or POP3 first lines', () => {
    for (const s of [
      '220 mail.example.com ESMTP Postfix\r\n', 'EHLO client.example.com\r\n', 'MAIL FROM:<a@b.c>\r\n',
      'GET / HTTP/1.1\r\nHost: example.com\r\n\r\n', 'HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<html>',
      'NICK bob\r\nUSER bob 0 * :Bob\r\n', ':irc.example.net 001 bob :Welcome\r\n', 'USER anonymous\r\n', '230 Login successful.\r\n',
      '+OK POP3 ready\r\n', 'USR 1 hello world\r\n', 'MSG 1 N 12\r\nhello world!', 'SSH-2.0-OpenSSH_9.6\r\n',
    ]) {
      const r = detectOn(s);
      assert.ok(r === null, `${JSON.stringify(s)} → ${JSON.stringify(r)}`);
    }
  });
});

describe('msn: seen from the SYN', () => {
  const fromSyn = (server: string, client: string) =>
    msn.detect({ transport: 'tcp', dir: 1, data: Buffer.from(server, 'latin1'), other: Buffer.from(client, 'latin1'), packetIndex: 0, flow: { clientBy: 'syn' } as any, lookup: { host: () => undefined, ip: () => undefined } } as DetectInput, { id: 'msn' });
  it('server lines decide only when the client opened in MSNP: not a file served after a Gopher selector (near-miss seed 41001323)', () => {
    const served = `USR 5 OK ${ME} 1 0\r\nthanks!\r\n`;
    assert.equal(fromSyn(served, '/irc/privmsg.txt\r\n'), null);
    assert.equal(fromSyn('VER 1 MSNP12 MSNP11 CVR0\r\n', 'GET-STATUS\r\n'), null);
    // the client's VER, a switchboard's USR/ANS, or nothing from the client yet: the server's line decides
    for (const client of ['VER 1 MSNP12 MSNP11 CVR0\r\n', `USR 1 ${ME} 1835953129.20013021.2623242\r\n`, `ANS 1 ${ME} 849102291.520491113 11752013\r\n`, '', 'VER 1 MSNP12']) {
      const r = fromSyn(served, client);
      assert.ok(r && r !== 'more' && r.protocol === 'msn', `${JSON.stringify(client)} → ${JSON.stringify(r)}`);
    }
  });
});

describe('msn: picked up mid-stream', () => {
  const mime = 'MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\nFrom: carol@example.com\r\nSubject: lunch\r\n\r\nnoon?\r\n';
  const mid = (data: string, other = '', dir: 0 | 1 = 1) =>
    msn.detect({ transport: 'tcp', dir, data: Buffer.from(data, 'latin1'), other: Buffer.from(other, 'latin1'), packetIndex: 0, flow: { clientBy: 'first' } as any, lookup: { host: () => undefined, ip: () => undefined } } as DetectInput, { id: 'msn' });

  it('a NATS MSG whose subject holds an address and whose payload is a mail is no MSNP MSG, however it is cut', () => {
    // NATS client protocol: MSG <subject> <sid> <#bytes>, the payload, CRLF, then the next NATS line
    const nats = `MSG inbox.carol@example.com 17 ${mime.length}\r\n${mime}\r\nMSG chat.ops 3 5\r\nhello\r\nPING\r\n`;
    for (let cut = 'MSG inbox.carol@example.com 17 150\r\nMIME-Version: 1.0'.length; cut <= nats.length; cut++) {
      const r = mid(nats.slice(0, cut), 'PUB chat.ops 5\r\nhello\r\n');
      assert.ok(r === null || r === 'more', `${cut}: ${JSON.stringify(r)}`);
    }
    // the other direction picked up at a payload's text that starts with MSNP's command word
    const half = `MSG inbox.carol@example.com 17 ${mime.length}\r\n${mime.slice(0, 60)}`;
    assert.equal(mid(half, 'MSG from the queue looked odd\r\n'), 'more');
    const h = new FlowHarness({ server: '198.51.100.9:4222', clientBy: 'first' });
    for (let o = 0; o < nats.length; o += 64) h.send('s', nats.slice(o, o + 64));
    h.end();
    assert.equal(h.of('session').length, 0);
  });

  it('what follows a lone first line frames as MSNP only with MSG lines in MSG\'s form', () => {
    // a BBS user's typed lines, picked up mid-stream: a pasted VER line, then a chat line starting with "MSG"
    for (const data of ['VER 1 MSNP12 MSNP11 CVR0\r\nMSG from the queue looked odd\r\n', 'VER 1 MSNP12 MSNP11 CVR0\r\nMSG from the q', `USR 5 OK ${ME} 1 0\r\nMSG 3 N twelve\r\n`]) {
      const r = mid(data, '*** carol has joined the channel.\r\n', 0);
      assert.ok(r === null || r === 'more', `${JSON.stringify(data)}: ${JSON.stringify(r)}`);
    }
    for (const data of [`VER 1 MSNP12 MSNP11 CVR0\r\nMSG 2 N ${mime.length}\r\n${mime}`, `USR 5 OK ${ME} 1 0\r\nMSG Hotmail Hotmail 512\r\nMIME-Version: 1.0\r\n`, `USR 5 OK ${ME} 1 0\r\nMSG Hotmail Hotmail 512\r\nMIME-Version: 1.0\r\nCont`]) {
      const r = mid(data, '', 0);
      assert.ok(r && r !== 'more' && r.protocol === 'msn', `${JSON.stringify(data)}: ${JSON.stringify(r)}`);
    }
  });

  it('one direction speaking as both sides of MSNP is no MSNP: a pasted client version list, then a server\'s challenge (near-miss seed 75000048)', () => {
    // a telnet BBS picked up mid-stream: the user pastes "VER … MSNP12 MSNP11 CVR0", later "CHL 0 …"
    for (const [data, other] of [
      ['VER 1 MSNP12 MSNP11 CVR0\r\nCHL 0 29409134351025259292\r\n', '*** Private message sent to bob.\r\n'],
      ['VER 1 MSNP12 MSNP11 CVR0\r\nCHL 0 29409134351025259292\r\n', ''],
      [`CHL 0 29409134351025259292\r\nQRY 7 msmsgs@msnmsgr.com 32\r\n`, ''],
      // a neutral line between them, or a client's USR … TWN I before a challenge
      ['VER 1 MSNP12 MSNP11 CVR0\r\nPNG\r\nCHL 0 29409134351025259292\r\n', ''],
      [`USR 3 TWN I ${ME}\r\nCHL 0 29409134351025259292\r\n`, ''],
    ]) {
      const r = mid(data, other, 0);
      assert.ok(r === null || r === 'more', `${JSON.stringify(data)}: ${JSON.stringify(r)}`);
    }
    // each side as it speaks: a client's version list then its CVR; a server's answer then its challenge
    // (the servers answer QRY, CAL and ANS with those words in other forms: a sixth review found the
    // first version of this rule refusing a notification server's QRY ack and a switchboard's ANS OK)
    for (const data of [
      'VER 1 MSNP12 MSNP11 CVR0\r\nCVR 2 0x0409 winnt 5.1 i386 MSNMSGR 8.1.0178 msmsgs alice@example.com\r\n',
      'VER 1 MSNP12 CVR0\r\nCHL 0 29409134351025259292\r\n',
      `NLN NLN ${BUDDY} Bob 268435492\r\nQRY 12\r\n`,
      `IRO 1 1 1 ${BUDDY} Bob\r\nANS 1 OK\r\n`,
      `JOI ${BUDDY} Bob 1616756780\r\nCAL 3 RINGING 11752013\r\n`,
      // an MSNP2–7 notification server echoes the client's version list (hypothetic.org's session:
      // VER 4 MSNP7 MSNP6 MSNP5 MSNP4 CVR0 both ways), then signs the user in (a seventh review)
      `VER 4 MSNP7 MSNP6 MSNP5 MSNP4 CVR0\r\nINF 5 MD5\r\nUSR 6 MD5 S 1056561624.17795\r\nUSR 7 OK ${ME} Alice 1\r\n`,
    ]) {
      const r = mid(data, '', 0);
      assert.ok(r && r !== 'more' && r.protocol === 'msn', `${JSON.stringify(data)}: ${JSON.stringify(r)}`);
    }
  });

  it("the other direction's first line opens MSNP with three digits only as an error reply: not IRC's welcome (near-miss seed 55000006)", () => {
    // a telnet BBS picked up mid-stream, a byte per segment: the user pastes a USR line; the server's
    // first line seen is a pasted IRC welcome, then chat
    const usr = `USR 5 OK ${ME} 1 0\r\n`;
    for (const server of ['001 bob :Welcome\r\nFrom carol: QUIT smoking, they said\r\n', '001 bob :Welcome\r\n', '375 bob :- irc.example.net Message of the day\r\n']) {
      for (let cut = 1; cut <= usr.length; cut++) {
        const r = mid(usr.slice(0, cut), server, 0);
        assert.ok(r === null || r === 'more', `${JSON.stringify(server)} / ${cut}: ${JSON.stringify(r)}`);
      }
    }
    // an error reply, a command that decides nothing alone, or an MSNP line that decides: MSNP
    for (const server of ['911 5\r\n', `BYE ${BUDDY}\r\n`, 'CHL 0 29409134351025259292\r\n', `ILN 9 NLN ${BUDDY} Bob\r\n`]) {
      const r = mid(usr, server, 0);
      assert.ok(r && r !== 'more' && r.protocol === 'msn', `${JSON.stringify(server)}: ${JSON.stringify(r)}`);
    }
    const h = new FlowHarness({ server: '198.51.100.49:443', clientBy: 'first' });
    h.send('s', '001 bob :Welcome\r\n');
    h.send('s', 'From carol: QUIT smoking, they said\r\n');
    for (const ch of usr) h.send('c', ch);
    h.send('s', 'From erin: Join us in #general after standup\r\n');
    h.send('c', '/p mallory the log shows USR 5 OK\r\n');
    h.end();
    assert.equal(h.of('session').length, 0);
  });

  it('a STOMP flow picked up at a body that ends in a pasted USR line is no MSNP: a NUL ends no MSNP line, a bare ACK opens none (near-miss seed 56000054)', () => {
    const usr = `USR 5 OK ${ME} 1 0`;
    const ack = 'ACK\r\nid:4fb731\r\n\r\n\0\r\n';
    const msg = 'MESSAGE\r\nsubscription:1\r\ndestination:/queue/messages.dave\r\ncontent-length:2\r\n\r\n{}\0';
    for (const server of [`${usr}\0\r\n${msg}`, `${usr}\r\n\0\r\n${msg}`, `${usr}\r\n`]) {
      for (let cut = 1; cut <= server.length; cut++) {
        const r = mid(server.slice(0, cut), ack);
        assert.ok(r === null || r === 'more', `${JSON.stringify(server.slice(0, cut))}: ${JSON.stringify(r)}`);
      }
    }
    // MSNP's own: ACK with its transaction id, and a bare OUT, still open it
    for (const client of ['ACK 4\r\n', 'OUT\r\n']) {
      const r = mid(`${usr}\r\n`, client);
      assert.ok(r && r !== 'more' && r.protocol === 'msn', `${JSON.stringify(client)}: ${JSON.stringify(r)}`);
    }
    const h = new FlowHarness({ server: '198.51.100.42:5222', clientBy: 'first' });
    h.send('s', `${usr}\0`);
    h.send('c', 'ACK\r\nid:4fb731\r\n\r\n\0\r\n');
    h.send('s', '\r\n');
    h.send('s', msg);
    h.end();
    assert.equal(h.of('session').length, 0);
  });

  it('what follows a lone first line frames as MSNP only with MSG payloads that start with a MIME header', () => {
    // a NATS server picked up after a message whose payload ended in a pasted VER line: its next MSG has
    // MSG's form (subject, sid, length) and a JSON payload (near-miss seed 34000379)
    const json = '{"id":"94ebae4f3cdf","room":"lobby","from":"trent@example.com","to":"bob@example.com","type":"chat","text":"who is on call?"}';
    const nats = `VER 1 MSNP12 MSNP11 CVR0\r\nMSG notify.frank 26 ${json.length}\r\n${json}\r\n`;
    for (let cut = 40; cut <= nats.length; cut += 7) {
      const r = mid(nats.slice(0, cut), 'PONG\r\n', 0);
      assert.ok(r === null || r === 'more', `cut at ${cut}: ${JSON.stringify(r)}`);
    }
    const sw = `VER 1 MSNP12 MSNP11 CVR0\r\nMSG ${BUDDY} Bob ${mime.length}\r\n${mime}`;
    const r = mid(sw, '', 0);
    assert.ok(r && r !== 'more' && r.protocol === 'msn', `${JSON.stringify(sw)}: ${JSON.stringify(r)}`);
    // the MSG line whole, its payload not yet begun or its MIME header not yet whole: the next bytes decide
    for (const cut of [sw.indexOf('MIME'), sw.indexOf('MIME') + 8]) assert.equal(mid(sw.slice(0, cut), '', 0), 'more', `cut at ${cut}`);
  });

  it('a switchboard MSG decides once MSNP follows it, in this direction or the other', () => {
    const sbMsg = `MSG ${BUDDY} Bob ${mime.length}\r\n${mime}`;
    assert.equal(mid(sbMsg), 'more');
    for (const [data, other] of [[`${sbMsg}BYE ${BUDDY}\r\n`, ''], [sbMsg, `MSG 4 N ${mime.length}\r\n${mime}`], [sbMsg, 'ACK 4\r\n'], [sbMsg, `BYE ${BUDDY}\r\n`], [`${sbMsg}MSG ${BUDDY} Bob ${mime.length}\r\nMIME-Version: 1.0\r\n`, '']]) {
      const r = mid(data, other);
      assert.ok(r && r !== 'more' && r.protocol === 'msn', JSON.stringify(r));
    }
  });
});

describe('msn: switchboard chat', () => {
  it('decodes MSG split across segments and several commands in one segment; typing is not a message', () => {
    const h = sb('203.0.113.9:443');
    const out = textMsg('3 N', 'Hey Bob, the numbers are in');
    h.send('c', out.subarray(0, 7)).send('c', out.subarray(7, 40)).send('c', out.subarray(40));
    h.send('s', Buffer.concat([typing(`${BUDDY} Bob`, BUDDY), textMsg(`${BUDDY} Bob`, 'great'), Buffer.from('ACK 3\r\n'), textMsg(`${BUDDY} Bob`, 'see you')]));
    h.send('c', typing('4 U', ME));
    h.end();
    const msgs = h.of('message');
    assert.deepEqual(msgs.map((m) => [m.from, m.to, m.text, m.direction]), [
      [ME, BUDDY, 'Hey Bob, the numbers are in', 'outbound'],
      [BUDDY, ME, 'great', 'inbound'],
      [BUDDY, ME, 'see you', 'inbound'],
    ]);
    assert.ok(msgs.every((m) => m.protocol === 'msn'));
    const s = h.of('session')[0];
    assert.equal(s.protocol, 'msn');
    assert.deepEqual(s.users.sort(), [ME, BUDDY].sort());
    assert.equal(s.malformed ?? 0, 0);
  });

  it('a text/plain MSG of blanks only is no message, as in the other decoders', () => {
    const h = sb('203.0.113.9:443');
    h.send('c', Buffer.concat([textMsg('3 N', '  \t\r\n '), textMsg('4 N', 'real text')]));
    h.end();
    assert.deepEqual(h.of('message').map((m) => m.text), ['real text']);
  });

  it('keeps UTF-8 text whole when a multi-byte character is split between segments', () => {
    const h = sb();
    const text = 'Grüße aus Köln — 東京 🚀';
    const m = textMsg('3 N', text);
    const cut = m.indexOf(Buffer.from('東')) + 1;
    h.send('c', m.subarray(0, cut)).send('c', m.subarray(cut));
    h.end();
    assert.deepEqual(h.of('message').map((x) => x.text), [text]);
  });

  it('clientcaps, datacast and other content types are not chat', () => {
    const h = sb();
    h.send('s', msg(`${BUDDY} Bob`, 'MIME-Version: 1.0\nContent-Type: text/x-clientcaps', 'Client-Name: Gaim/2.0\r\n'));
    h.send('s', msg(`${BUDDY} Bob`, 'MIME-Version: 1.0\nContent-Type: text/x-msmsgsdatacast', 'ID: 1\r\n'));
    h.end();
    assert.equal(h.of('message').length, 0);
  });

  it('MSNP21 SDG text messages (routing/reliability/messaging blocks); control messages are not chat', () => {
    const h = new FlowHarness({ server: '203.0.113.9:1863' });
    h.send('c', 'VER 1 MSNP21 CVR0\r\n');
    const sdg = (from: string, to: string, type: string, body: string) => {
      const p = `Routing: 1.0\r\nTo: 1:${to};epid={f00}\r\nFrom: 1:${from};epid={ba4}\r\n\r\nReliability: 1.0\r\n\r\nMessaging: 2.0\r\nMessage-Type: ${type}\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
      return `SDG 0 ${Buffer.byteLength(p)}\r\n${p}`;
    };
    h.send('c', sdg(ME, BUDDY, 'Text', 'modern hello ✓'));
    h.send('s', sdg(BUDDY, ME, 'Control/Typing', ''));
    h.send('s', sdg(BUDDY, ME, 'Text', 'modern reply'));
    h.end();
    assert.deepEqual(h.of('message').map((m) => [m.from, m.to, m.text]), [[ME, BUDDY, 'modern hello ✓'], [BUDDY, ME, 'modern reply']]);
    assert.deepEqual(h.of('session')[0].users.sort(), [ME, BUDDY].sort());
  });

  it('reports a Passport ticket as a credential without carrying the ticket', () => {
    const h = new FlowHarness({ server: '203.0.113.9:1863' });
    h.send('c', 'VER 1 MSNP8 CVR0\r\n').send('s', 'VER 1 MSNP8 CVR0\r\n');
    h.send('c', `USR 2 TWN I ${ME}\r\n`);
    h.send('c', 'USR 3 TWN S t=SECRETTICKETVALUE&p=SECRETPROFILE\r\n');
    h.send('s', `USR 3 OK ${ME} Alice 1 0\r\n`);
    const ev = h.end();
    const cred = h.of('credential');
    assert.equal(cred.length, 1);
    assert.equal(cred[0].user, ME);
    assert.equal(cred[0].mechanism, 'msn-passport-ticket');
    assert.ok(!JSON.stringify(ev).includes('SECRET'));
    assert.deepEqual(h.of('session')[0].users, [ME]);
  });
});

describe('msn: file transfer', () => {
  it('invitation → offer, MSNFTP side connection → file carved byte for byte', () => {
    const file = randomBytes(10_000, 42);
    const h = sb();
    const cookie = '1234567';
    h.send('c', invite('5 N', { 'Application-Name': 'File Transfer', 'Application-GUID': '{5D3E02AB-6190-11d3-BBBB-00C04F795683}', 'Invitation-Command': 'INVITE', 'Invitation-Cookie': cookie, 'Application-File': 'q3 report.xlsx', 'Application-FileSize': String(file.length) }));
    h.send('s', invite(`${BUDDY} Bob`, { 'Invitation-Command': 'ACCEPT', 'Invitation-Cookie': cookie, 'Launch-Application': 'FALSE', 'Request-Data': 'IP-Address:' }));
    h.send('c', invite('6 N', { 'Invitation-Command': 'ACCEPT', 'Invitation-Cookie': cookie, 'IP-Address': '10.1.1.10', 'Port': '6891', 'AuthCookie': '99887766', 'Launch-Application': 'FALSE', 'Request-Data': 'IP-Address:' }));
    // the receiver connects to the sender's port
    const ft = new FlowHarness({ engine: h.engine, client: '198.51.100.20:51000', server: '10.1.1.10:6891' });
    ft.send('c', 'VER MSNFTP\r\n').send('s', 'VER MSNFTP\r\n').send('c', `USR ${BUDDY} 99887766\r\n`).send('s', `FIL ${file.length}\r\n`).send('c', 'TFR\r\n');
    const blocks = msnftpBlocks(file);
    for (let o = 0; o < blocks.length; o += 1460) ft.send('s', blocks.subarray(o, o + 1460));
    ft.send('c', 'BYE 16777989\r\n');
    ft.end();
    h.end();
    const fts = h.of('file_transfer');
    const offer = fts.find((f) => f.stage === 'offer')!;
    const data = fts.find((f) => f.stage === 'data')!;
    assert.equal(offer.filename, 'q3 report.xlsx');
    assert.equal(offer.size, file.length);
    assert.equal(offer.from, ME);
    assert.equal(offer.to, BUDDY);
    assert.ok(data, 'carved file reported');
    assert.equal(data.transfer_id, offer.transfer_id);
    assert.equal(data.sha256, sha256(file));
    assert.equal(data.observed_size, file.length);
    assert.equal(data.complete, true);
    assert.equal(data.filename, 'q3 report.xlsx');
  });

  it('two MSNFTP transfers on one port (6891): each connection takes the invitation its USR line\'s AuthCookie names, whatever the order', () => {
    const files = [randomBytes(4000, 11), randomBytes(5000, 12)];
    const h = sb();
    for (const [i, f] of files.entries()) {
      h.send('c', invite(`${5 + i} N`, { 'Application-Name': 'File Transfer', 'Invitation-Command': 'INVITE', 'Invitation-Cookie': `c${i}`, 'Application-File': `part${i}.zip`, 'Application-FileSize': String(f.length) }));
      h.send('s', invite(`${BUDDY} Bob`, { 'Invitation-Command': 'ACCEPT', 'Invitation-Cookie': `c${i}`, 'Launch-Application': 'FALSE', 'Request-Data': 'IP-Address:' }));
      h.send('c', invite(`${7 + i} N`, { 'Invitation-Command': 'ACCEPT', 'Invitation-Cookie': `c${i}`, 'IP-Address': '10.1.1.10', 'Port': '6891', 'AuthCookie': `${1000 + i}`, 'Launch-Application': 'FALSE', 'Request-Data': 'IP-Address:' }));
    }
    // an MSNFTP connection whose AuthCookie is neither (another sender's) takes no invitation
    for (const i of [9, 1, 0]) {
      const f = files[i] ?? randomBytes(700, 13);
      const ft = new FlowHarness({ engine: h.engine, client: `198.51.100.20:${51000 + i}`, server: '10.1.1.10:6891' });
      ft.send('c', 'VER MSNFTP\r\n').send('s', 'VER MSNFTP\r\n').send('c', `USR ${BUDDY} ${1000 + i}\r\n`).send('s', `FIL ${f.length}\r\n`).send('c', 'TFR\r\n');
      ft.send('s', msnftpBlocks(f)).send('c', 'BYE 16777989\r\n').end();
    }
    h.end();
    const data = h.of('file_transfer').filter((f) => f.stage === 'data');
    assert.deepEqual(data.filter((d) => d.filename !== 'unknown (MSNFTP)').map((d) => [d.filename, d.sha256]).sort(), files.map((f, i) => [`part${i}.zip`, sha256(f)]));
    assert.equal(data.length, 3, 'the third is carved as an MSNFTP transfer of its own');
  });

  it('MSNFTP: a USR line with a long passport still names its AuthCookie; one switchboard\'s 64 invitations to a port do not keep another\'s from being matched', () => {
    const msnftp = (h: ReturnType<typeof sb>, port: number, user: string, auth: string, f: Buffer) => {
      const ft = new FlowHarness({ engine: h.engine, client: `198.51.100.20:${port}`, server: '10.1.1.10:6891' });
      ft.send('c', 'VER MSNFTP\r\n').send('s', 'VER MSNFTP\r\n').send('c', `USR ${user} ${auth}\r\n`).send('s', `FIL ${f.length}\r\n`).send('c', 'TFR\r\n').send('s', msnftpBlocks(f)).end();
    };
    const offer = (h: ReturnType<typeof sb>, c: string, auth: string, size: number) => {
      h.send('c', invite('5 N', { 'Application-Name': 'File Transfer', 'Invitation-Command': 'INVITE', 'Invitation-Cookie': c, 'Application-File': `${c}.zip`, 'Application-FileSize': String(size) }));
      h.send('c', invite('7 N', { 'Invitation-Command': 'ACCEPT', 'Invitation-Cookie': c, 'IP-Address': '10.1.1.10', 'Port': '6891', 'AuthCookie': auth, 'Launch-Application': 'FALSE', 'Request-Data': 'IP-Address:' }));
    };
    const files = [randomBytes(4000, 21), randomBytes(5000, 22), randomBytes(3000, 23)];
    // a switchboard's 64 invitations (its most) that never connect, then another's three
    const a = sb();
    for (let i = 0; i < 64; i++) offer(a, `junk${i}`, `${5000 + i}`, 100);
    const b = sb(undefined, a.engine, 40001);
    for (const [i, f] of files.slice(0, 2).entries()) offer(b, `c${i}`, `${1000 + i}`, f.length);
    offer(b, 'real', '777', files[2].length);
    const email = `${'b'.repeat(260)}@example.net`;
    for (const i of [1, 0]) msnftp(a, 51000 + i, email, `${1000 + i}`, files[i]);
    msnftp(a, 51002, BUDDY, '777', files[2]);
    a.end();
    b.end();
    const data = a.of('file_transfer').filter((f) => f.stage === 'data');
    assert.deepEqual(data.map((d) => [d.filename, d.sha256]).sort(), [['c0.zip', sha256(files[0])], ['c1.zip', sha256(files[1])], ['real.zip', sha256(files[2])]]);
  });

  it('an MSNFTP transfer cancelled by the sender (block flag 1) is reported incomplete', () => {
    const file = randomBytes(6000, 3);
    const h = sb();
    h.send('s', invite(`${BUDDY} Bob`, { 'Application-Name': 'File Transfer', 'Invitation-Command': 'INVITE', 'Invitation-Cookie': '55', 'Application-File': 'tool.exe', 'Application-FileSize': String(file.length) }));
    h.send('c', invite('5 N', { 'Invitation-Command': 'ACCEPT', 'Invitation-Cookie': '55', 'Launch-Application': 'FALSE', 'Request-Data': 'IP-Address:' }));
    h.send('s', invite(`${BUDDY} Bob`, { 'Invitation-Command': 'ACCEPT', 'Invitation-Cookie': '55', 'IP-Address': '198.51.100.20', 'Port': '6891', 'AuthCookie': '1' }));
    const ft = new FlowHarness({ engine: h.engine, client: '10.1.1.10:40500', server: '198.51.100.20:6891' });
    ft.send('c', 'VER MSNFTP\r\n').send('s', 'VER MSNFTP\r\n').send('c', `USR ${ME} 1\r\n`).send('s', `FIL ${file.length}\r\n`).send('c', 'TFR\r\n');
    ft.send('s', Buffer.concat([msnftpBlocks(file.subarray(0, 2045)), Buffer.from([1, 0, 0])]));
    ft.send('c', 'CCL\r\n');
    ft.end();
    h.end();
    const data = h.of('file_transfer').find((f) => f.stage === 'data')!;
    assert.deepEqual([data.filename, data.from, data.to, data.complete, data.observed_size], ['tool.exe', BUDDY, ME, false, 2045]);
    assert.equal(data.sha256, sha256(file.subarray(0, 2045)));
  });

  it('MSNSLP invite with a UTF-16LE name → offer; P2P data chunks on the switchboard → carved', () => {
    const file = randomBytes(3000, 7);
    const name = 'Zeugnis_Müller_日本.pdf';
    const h = sb();
    const slp = slpInvite(ME, BUDDY, 77, name, file.length);
    // the SLP message is split into two P2P chunks (offset/total), as clients do past 1202 bytes
    const half = 500;
    h.send('c', p2p('7 D', BUDDY, { session: 0, id: 1000, offset: 0, total: slp.length, flags: 0 }, slp.subarray(0, half)));
    h.send('c', p2p('8 D', BUDDY, { session: 0, id: 1000, offset: half, total: slp.length, flags: 0 }, slp.subarray(half)));
    for (let o = 0, i = 0; o < file.length; o += 1202, i++) {
      h.send('c', p2p(`${9 + i} D`, BUDDY, { session: 77, id: 2000 + i, offset: o, total: file.length, flags: 0x01000030 }, file.subarray(o, o + 1202), 2));
      h.send('s', p2p(`${BUDDY} Bob`, ME, { session: 77, id: 9000 + i, offset: 0, total: 0, flags: 2 }, Buffer.alloc(0)));
    }
    h.end();
    const fts = h.of('file_transfer');
    const offer = fts.find((f) => f.stage === 'offer')!;
    assert.equal(offer.filename, name);
    assert.equal(offer.size, file.length);
    assert.equal(offer.from, ME);
    assert.equal(offer.to, BUDDY);
    const data = fts.find((f) => f.stage === 'data')!;
    assert.equal(data.sha256, sha256(file));
    assert.equal(data.complete, true);
    assert.equal(data.transfer_id, offer.transfer_id);
    assert.equal(h.of('message').length, 0);
  });

  it('MSNSLP invite of an empty file: the one data message with nothing in it (total 0) → carved, complete, 0 bytes', () => {
    // libpurple send_file_cb → msn_slplink_send_msgpart: offset 0 is not below size 0, so the file-data
    // message goes out with no data, length 0 and total 0 (carve-roundtrip seed 4242 round 2372852532 case 15)
    const h = sb();
    const slp = slpInvite(ME, BUDDY, 78, 'empty.txt', 0);
    h.send('c', p2p('7 D', BUDDY, { session: 0, id: 1000, offset: 0, total: slp.length, flags: 0 }, slp));
    h.send('c', p2p('8 D', BUDDY, { session: 78, id: 2000, offset: 0, total: 0, flags: 0x01000030 }, Buffer.alloc(0), 2));
    // an ack of it (flags 2) and an empty data message of another, non-empty file carve nothing
    h.send('s', p2p(`${BUDDY} Bob`, ME, { session: 78, id: 9000, offset: 0, total: 0, flags: 2 }, Buffer.alloc(0)));
    const slp2 = slpInvite(ME, BUDDY, 79, 'full.bin', 10);
    h.send('c', p2p('9 D', BUDDY, { session: 0, id: 1001, offset: 0, total: slp2.length, flags: 0 }, slp2));
    h.send('c', p2p('10 D', BUDDY, { session: 79, id: 2001, offset: 0, total: 0, flags: 0x01000030 }, Buffer.alloc(0), 2));
    h.end();
    const data = h.of('file_transfer').filter((f) => f.stage === 'data');
    assert.deepEqual(data.map((d) => [d.filename, d.complete, d.observed_size, d.sha256]), [['empty.txt', true, 0, sha256(Buffer.alloc(0))]]);
  });
});

describe('msn: HTTP gateway', () => {
  function post(query: string, body: string) {
    return `POST http://gateway.messenger.hotmail.com/gateway/gateway.dll?${query} HTTP/1.1\r\nAccept: */*\r\nUser-Agent: MSMSGS\r\nHost: gateway.messenger.hotmail.com\r\nConnection: Keep-Alive\r\nContent-Type: application/x-msn-messenger\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
  }
  function reply(body: string | Buffer) {
    const b = typeof body === 'string' ? Buffer.from(body) : body;
    return Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nX-MSN-Messenger: SessionID=954547325.13160; GW-IP=207.46.110.18\r\nContent-Type: application/x-msn-messenger\r\nContent-Length: ${b.length}\r\n\r\n`), b]);
  }

  it('decodes MSNP commands and chat inside keep-alive request and response bodies', () => {
    const h = new FlowHarness({ client: '10.1.1.10:40001', server: '198.51.100.80:80' });
    h.send('c', post('Action=open&Server=SB&IP=207.46.108.38', `USR 1 ${ME} 1835953129.20013021.2623242\r\n`));
    h.send('s', reply(`USR 1 OK ${ME} Alice\r\n`));
    // two requests in one segment (pipelined), the second with a chat message
    const chat = textMsg('3 N', 'via the gateway').toString('latin1');
    h.send('c', Buffer.from(post('SessionID=954547325.13160', `CAL 2 ${BUDDY}\r\n`) + post('SessionID=954547325.13160', chat), 'latin1'));
    const r2 = reply(`CAL 2 RINGING 1\r\nJOI ${BUDDY} Bob\r\n`);
    const r3 = reply(textMsg(`${BUDDY} Bob`, 'answer through HTTP'));
    const both = Buffer.concat([r2, r3]);
    h.send('s', both.subarray(0, 50)).send('s', both.subarray(50));
    h.end();
    assert.deepEqual(h.of('message').map((m) => [m.from, m.to, m.text]), [
      [ME, BUDDY, 'via the gateway'],
      [BUDDY, ME, 'answer through HTTP'],
    ]);
    const s = h.of('session')[0];
    assert.equal(s.protocol, 'msn');
    assert.equal(s.server_name, 'gateway.messenger.hotmail.com');
    assert.match(s.evidence[0].signature, /msn\.http-gateway/);
    assert.deepEqual(s.users.sort(), [ME, BUDDY].sort());
  });

  it('chunked responses and an HTTP/1.0 response read until the connection closes', () => {
    const h = new FlowHarness({ client: '10.1.1.10:40001', server: '198.51.100.80:80' });
    h.send('c', post('Action=open&Server=SB&IP=207.46.108.38', `ANS 1 ${ME} 849102291.520491113 11752013\r\n`));
    const body = Buffer.concat([Buffer.from(`IRO 1 1 1 ${BUDDY} Bob\r\n`), textMsg(`${BUDDY} Bob`, 'chunked hello')]);
    const chunked = Buffer.concat([
      Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: application/x-msn-messenger\r\nTransfer-Encoding: chunked\r\n\r\n'),
      Buffer.from(`${(30).toString(16)}\r\n`), body.subarray(0, 30), Buffer.from('\r\n'),
      Buffer.from(`${(body.length - 30).toString(16)};ext=1\r\n`), body.subarray(30), Buffer.from('\r\n0\r\n\r\n'),
    ]);
    for (let o = 0; o < chunked.length; o += 7) h.send('s', chunked.subarray(o, o + 7));
    h.send('c', post('SessionID=1', 'PNG\r\n'));
    h.send('s', Buffer.concat([Buffer.from('HTTP/1.0 200 OK\r\nContent-Type: application/x-msn-messenger\r\n\r\n'), textMsg(`${BUDDY} Bob`, 'until close')]));
    h.end();
    assert.deepEqual(h.of('message').map((m) => [m.from, m.to, m.text]), [[BUDDY, ME, 'chunked hello'], [BUDDY, ME, 'until close']]);
    assert.equal(h.of('session')[0].malformed ?? 0, 0);
  });

  it('plain web traffic on port 80 is not MSN', () => {
    const h = new FlowHarness({ server: '198.51.100.80:80' });
    h.send('c', 'POST /api/login HTTP/1.1\r\nHost: example.com\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}');
    h.send('s', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}');
    h.end();
    assert.equal(h.of('session').filter((s) => s.protocol === 'msn').length, 0);
  });
});

describe('msn: hostile input', () => {
  it('a huge payload length is counted as malformed and skipped, with bounded memory', () => {
    const h = sb();
    h.send('c', 'MSG 3 N 4000000000\r\n');
    for (let i = 0; i < 20; i++) h.send('c', randomBytes(65536, i));
    h.end();
    assert.equal(h.of('message').length, 0);
    assert.ok((h.of('session')[0].malformed ?? 0) >= 1);
    assert.equal(h.engine.stats.decoderErrors, 0);
  });

  it('a 900 KB message in 1460-byte segments is decoded; its text is capped at 64 Ki characters', () => {
    const h = sb();
    const m = textMsg('3 N', 'x'.repeat(900_000));
    for (let o = 0; o < m.length; o += 1460) h.send('c', m.subarray(o, o + 1460));
    h.send('c', textMsg('4 N', 'after the big one'));
    h.end();
    const texts = h.of('message').map((x) => x.text);
    assert.equal(texts.length, 2);
    assert.equal(texts[0].length, 65536);
    assert.equal(texts[1], 'after the big one');
  });

  it('the payload limit comes from data.yaml and can be lowered by a user override', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'msn-override-'));
    fs.writeFileSync(path.join(dir, 'msn.yaml'), 'limits:\n  max_payload: 2048\n');
    const events: any[] = [];
    const engine = new Engine(loadRegistry({ overrideDir: dir }), { emit: (e) => events.push(e) });
    const h = new FlowHarness({ engine, server: '203.0.113.9:1863' });
    h.send('c', `USR 1 ${ME} 1835953129.20013021.2623242\r\n`).send('s', `JOI ${BUDDY} Bob\r\n`);
    h.send('c', textMsg('2 N', 'z'.repeat(3000))).send('c', textMsg('3 N', 'small'));
    h.end();
    fs.rmSync(dir, { recursive: true, force: true });
    assert.deepEqual(events.filter((e) => e.type === 'message').map((m) => m.text), ['small']);
    assert.equal(events.find((e) => e.type === 'session').malformed, 1);
  });

  it('no CRLF for megabytes: the framer holds at most one line limit', () => {
    const cmds: MsnCommand[] = [];
    let bad = 0;
    const f = new MsnFramer((c) => cmds.push(c), () => bad++);
    for (let i = 0; i < 64; i++) {
      f.push(Buffer.alloc(65536, 0x41));
      assert.ok(f.buffered <= f.maxLine + 65536);
    }
    f.push(Buffer.from('\r\nJOI bob@example.net Bob\r\n'));
    assert.equal(bad, 1);
    assert.deepEqual(cmds.map((c) => c.cmd), ['JOI']);
  });

  it('a lying length swallows what follows but never crashes; invalid UTF-8 is replaced, not thrown', () => {
    const h = sb();
    h.send('c', 'MSG 3 N 500\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nshort');
    h.end();
    assert.equal(h.of('message').length, 0);
    assert.equal(h.of('session')[0].malformed, 1);
    const h2 = sb();
    h2.send('c', textMsg('3 N', '').subarray(0, 0));
    h2.send('c', msg('3 N', 'MIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8', Buffer.from([0x68, 0x69, 0xff, 0xfe, 0xc3])));
    h2.end();
    assert.deepEqual(h2.of('message').map((m) => m.text), ['hi\ufffd\ufffd\ufffd']);
    assert.equal(h2.engine.stats.decoderErrors, 0);
  });
});
