// IRC: detection, decoding, credentials, STARTTLS and DCC, through the decoder harness, generated
// captures through the real CLI, and the shared real captures (labels.json, tshark as the oracle).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { FlowHarness } from '../helpers/harness';
import { Capture } from '../helpers/pcapgen';
import { PCAPS_DIR, havePcaps, labels } from '../helpers/paths';
import { shadowim } from '../helpers/run';
import { analyzeCapture, analyzeFile } from '../helpers/analyze';
import { sendFile } from '../files/dcc';
import { haveTshark } from './irc-replay';
import { module as ircModule } from '../../signatures/irc';
import { LineFramer, parseDcc, parseDccResume, parseLine, stripFormatting, decodeText } from '../../signatures/irc/parser';
import { boundedIt } from '../helpers/bounded';
import { fuzzCases, fuzzSeconds, fuzzSeed } from '../helpers/fuzz';

const REG = 'NICK alice\r\nUSER alice 0 * :Alice A\r\n';
const WELCOME = ':irc.example.net 001 alice :Welcome to the network alice\r\n';

function irc(lines: [('c' | 's'), string | Buffer][], opts: { server?: string; clientBy?: 'syn' | 'first' | 'port' } = {}): FlowHarness {
  const h = new FlowHarness({ server: opts.server ?? '198.51.100.7:6667', ...(opts.clientBy ? { clientBy: opts.clientBy } : {}) });
  for (const [d, l] of lines) h.send(d, l);
  h.end();
  return h;
}

describe('irc: detection', () => {
  it('NICK+USER registration from the client, on any port', () => {
    const h = irc([['c', REG], ['s', WELCOME]], { server: '198.51.100.7:8080' });
    const s = h.of('session');
    assert.equal(s.length, 1);
    assert.equal(s[0].protocol, 'irc');
    assert.deepEqual(s[0].users, ['alice']);
  });

  it('a flow picked up mid-stream with server PRIVMSG lines', () => {
    const h = irc([['s', ':bob!b@host PRIVMSG #chan :hello there\r\n:carol!c@h PRIVMSG #chan :hi\r\n']], { server: '198.51.100.7:443' });
    assert.equal(h.of('session')[0]?.protocol, 'irc');
    assert.deepEqual(h.of('message').map((m) => [m.from, m.to, m.text]), [['bob', '#chan', 'hello there'], ['carol', '#chan', 'hi']]);
  });

  it('a client that starts with PRIVMSG (mid-stream pickup)', () => {
    const h = irc([['c', 'PRIVMSG #ops :deploy done\r\n']], { server: '198.51.100.7:7000' });
    assert.equal(h.of('session')[0]?.protocol, 'irc');
    assert.equal(h.of('message')[0].text, 'deploy done');
  });

  for (const [name, c, s] of [
    ['HTTP on an IRC port', 'GET / HTTP/1.1\r\nHost: x\r\nUser-Agent: NICK USER\r\n\r\n', 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'],
    ['SMTP', 'EHLO client\r\nMAIL FROM:<a@b>\r\n', '220 mail.example.com ESMTP\r\n250 ok\r\n'],
    ['FTP with USER/PASS', 'USER anonymous\r\nPASS guest@\r\nLIST\r\nQUIT\r\n', '220 FTP ready\r\n331 password\r\n230 ok\r\n'],
    ['binary', Buffer.from([0x16, 3, 1, 0, 0x2c, 1, 0, 0, 0x28]), Buffer.from([0x16, 3, 3, 0, 0x40])],
  ] as const) {
    it(`not IRC: ${name}`, () => {
      const h = irc([['c', c as any], ['s', s as any]]);
      assert.equal(h.of('session').filter((x) => x.protocol === 'irc').length, 0);
      assert.equal(h.of('message').length, 0);
    });
  }

  it('a capture that starts mid-line (no SYN seen): the fragment is skipped', () => {
    const flow = { id: 'f', transport: 'tcp' as const, client: { ip: '10.0.0.1', port: 5000 }, server: { ip: '10.0.0.2', port: 8000 }, firstTs: 0, clientBy: 'first' as const };
    const lookup = { host: () => undefined, ip: () => undefined };
    const input = (data: string, clientBy: 'first' | 'syn') => ({ transport: 'tcp' as const, dir: 1 as const, data: Buffer.from(data), other: Buffer.alloc(0), packetIndex: 0, flow: { ...flow, clientBy }, lookup });
    const midLine = 'ng to the meeting later\r\n:bob!b@h PRIVMSG #ops :see you there\r\n:carol!c@h PRIVMSG #ops :me too\r\n';
    assert.equal((ircModule.detect(input(midLine, 'first'), { id: 'irc' }) as any)?.protocol, 'irc');
    // one whole line so far: the next one tells (the line before it is lost)
    assert.equal(ircModule.detect(input('ng to the meeting later\r\n:bob!b@h PRIVMSG #ops :see you there\r\n', 'first'), { id: 'irc' }), 'more');
    assert.equal(ircModule.detect(input(midLine, 'syn'), { id: 'irc' }), null);
  });

  it('picked up mid-stream, a lost line\'s tail that starts like another protocol ("puT…", "get…", "<…") rules nothing out; from the SYN it does', () => {
    const flow = { id: 'f', transport: 'tcp' as const, client: { ip: '10.0.0.1', port: 5000 }, server: { ip: '10.0.0.2', port: 6667 }, firstTs: 0, clientBy: 'port' as const };
    const input = (data: string, clientBy: 'port' | 'syn') => ({ transport: 'tcp' as const, dir: 1 as const, data: Buffer.from(data), other: Buffer.alloc(0), packetIndex: 0, flow: { ...flow, clientBy }, lookup: { host: () => undefined, ip: () => undefined } });
    const lines = ':bob!b@host.example PRIVMSG #chan :reply\r\n:carol!c@h.example PRIVMSG #chan :again\r\n';
    // midstream-fuzz seed 90210, case 10125: the tail of a PRIVMSG text that happened to begin "puT"
    for (const t of ['puTrFVFAfz;byBM!A7yW,I_f-eB\r\n', 'get lunch?\r\n', '<3 see you\r\n', 'ssh-ing in now\r\n', 'helo again\r\n']) {
      assert.equal((ircModule.detect(input(t + lines, 'port'), { id: 'irc' }) as any)?.protocol, 'irc', t);
      assert.equal(ircModule.detect(input(t + lines, 'syn'), { id: 'irc' }), null, t);
    }
    // mid-stream, another protocol's whole lines are still no IRC: the first whole line decides
    for (const t of ['x\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n', 'x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n', 'x\r\n<stream:stream to="a">\r\n<b/>\r\n'])
      assert.equal(ircModule.detect(input(t, 'port'), { id: 'irc' }), null, t);
  });

  it('a prefixed line counts only with a command a server sends: a log picked up mid-stream with a timestamp tail is not IRC', () => {
    // an HTTP download of a bridge's log, picked up at a line: ":11.550Z INFO …" is the tail of "…T08:00:11.550Z INFO …" (near-miss seed 20261145)
    const log = '88\r\n:11.550Z INFO [bridge] << :irc.example.net 001 opsbot :Welcome to the network\r\n:12.001Z INFO [bridge] >> JOIN #ops\r\n';
    assert.equal(irc([['s', log]], { server: '198.51.100.7:443', clientBy: 'first' }).of('session').length, 0);
    // a log level that IRCv3 also names (WARN), and a numeric with a dotless "server" and no target (near-miss seeds 20262119, 20262365)
    for (const l of ['295\r\n:00.000Z WARN [worker-1] MSG from queue: e5828231\r\n:00.001Z WARN [worker-1] retry\r\n', ':04.701Z DEBUG [worker-1] sent PRIVMSG #ops \r\n312\r\n:deploy 612 finished\r\nnext line\r\n']) {
      assert.equal(irc([['s', l]], { server: '198.51.100.7:5190', clientBy: 'first' }).of('session').length, 0, l);
    }
    // a prefix must be a nick!user@host, a server name or address, or a nick: a timestamp's tail is none (near-miss seed 20262591)
    for (const l of ['324\r\n:00:10.776Z ERROR [http] << :irc.example.net 001 opsbot :Welcome\r\n:00:10.777Z NOTICE [http] #ops :done\r\n', 'x\r\n:09.5Z PRIVMSG #ops :hi\r\n:09.6Z JOIN #ops\r\n']) {
      assert.equal(irc([['s', l]], { server: '198.51.100.7:80', clientBy: 'first' }).of('session').length, 0, l);
    }
    for (const prefix of ['irc.example.net', 'irc.example.net.', '127.0.0.1', '2001:db8::1', 'bob', 'bob!b@h.example', 'bob!b@2001:db8::5', 'ChanServ', '42X', '42XAAAAAB']) {
      const h = irc([['s', `tail\r\n:${prefix} PRIVMSG #ops :hello there\r\n:${prefix} PRIVMSG #ops :again\r\n`]], { server: '198.51.100.7:80', clientBy: 'first' });
      assert.equal(h.of('session')[0]?.protocol, 'irc', prefix);
    }
    // the server's own lines still decide: a relayed message, a MODE, a notice, a numeric (with the line after them)
    for (const line of [':bob!b@h.example PRIVMSG #ops :hi', ':irc.example.net MODE alice +i', ':irc.example.net NOTICE * :*** Looking up your hostname', ':irc.example.net 001 alice :Welcome', ':localhost 376 alice :End of /MOTD command.', ':irc.example.net 612 alice :an extension numeric']) {
      const h = irc([['s', `tail of a lost line\r\n${line}\r\nPING :irc.example.net\r\n`]], { server: '198.51.100.7:443', clientBy: 'first' });
      assert.equal(h.of('session')[0]?.protocol, 'irc', line);
    }
  });

  it('bare PING/PONG keep-alives are not IRC commands: a NATS session seen from its SYN is not IRC', () => {
    // NATS (docs.nats.io client protocol): INFO/CONNECT JSON, then bare PING/PONG both ways; IRC's PING names its origin (RFC 2812 3.7.2)
    const nats: [('c' | 's'), string][] = [
      ['s', 'INFO {"server_id":"NABC","version":"2.10.7","proto":1,"max_payload":1048576}\r\n'],
      ['c', 'CONNECT {"verbose":false,"pedantic":false,"lang":"go","version":"1.31.0","protocol":1}\r\nPING\r\n'],
      ['s', 'PONG\r\nPING\r\n'], ['c', 'PONG\r\nSUB chat.ops 1\r\nPING\r\n'], ['s', 'PONG\r\n'],
    ];
    assert.equal(irc(nats, { server: '198.51.100.7:4222', clientBy: 'syn' }).of('session').length, 0);
    // with their origin they still count
    const h = irc([['c', 'PING :irc.example.net\r\nJOIN #ops\r\nPONG :irc.example.net\r\n']], { server: '198.51.100.7:4222', clientBy: 'syn' });
    assert.equal(h.of('session')[0]?.protocol, 'irc');
  });

  it('three IRC-only commands decide as a run of IRC lines, not scattered through prose (near-miss seeds 41001542, 41001683)', () => {
    const run = 'JOIN #ops\r\nMODE #ops +n\r\nWHO #ops\r\n';
    assert.equal(irc([['c', run]], { server: '198.51.100.7:8080' }).of('session')[0]?.protocol, 'irc');
    assert.equal(irc([['s', 'skipped tail\r\n' + run]], { server: '198.51.100.7:8080', clientBy: 'first' }).of('session')[0]?.protocol, 'irc');
    // a text file served mid-stream: the same commands, each between lines of prose
    const text = 'tail of a line\r\nJOIN #general\r\nhi all\r\nNICK bob\r\nlunch at noon?\r\nJOIN #general\r\nbrb\r\nMODE #ops +n\r\n';
    assert.equal(irc([['s', text]], { server: '198.51.100.7:80', clientBy: 'first' }).of('session').length, 0);
  });

  it('seen from the SYN, server lines decide only when the client opened with an IRC command: not a file served after a Gopher selector (near-miss seed 41001321)', () => {
    const served = ':irc.example.net 001 bob :Welcome\r\nthanks!\r\n:nick!user@host PRIVMSG #channel :text\r\nok :)\r\n';
    assert.equal(irc([['c', '/irc/privmsg.txt\r\n'], ['s', served]], { server: '198.51.100.7:70' }).of('session').length, 0);
    assert.equal(irc([['c', 'alice\r\n'], ['s', served]], { server: '198.51.100.7:6667' }).of('session').length, 0);
    // an IRC client's first line, in any case, or a server that speaks first: IRC
    for (const c of ['NICK bob\r\n', 'CAP LS 302\r\n', 'PASS secret\r\n', 'nick bob\r\n']) {
      assert.equal(irc([['c', c], ['s', served]], { server: '198.51.100.7:70' }).of('session')[0]?.protocol, 'irc', c);
    }
    assert.equal(irc([['s', served], ['c', 'NICK bob\r\n']], { server: '198.51.100.7:70' }).of('session')[0]?.protocol, 'irc');
  });

  it('picked up mid-stream, a PRIVMSG line is confirmed only by a next line sent as IRC sends it (command in capitals)', () => {
    // a mail carried in a NATS message, picked up at its Subject line: a pasted PRIVMSG line, then prose
    const mail = 'Subject: MSG queue stats\r\n\r\nPRIVMSG #ops :deploy done\r\nJoin us in #general after standup\r\nthanks\r\n';
    assert.equal(irc([['s', mail]], { server: '198.51.100.7:4222', clientBy: 'first' }).of('session').length, 0);
    for (const next of ['JOIN #general', ':irc.example.net 404 bob #ops :Cannot send to channel', 'PRIVMSG #ops :and more']) {
      const h = irc([['s', `Subject: x\r\n\r\nPRIVMSG #ops :deploy done\r\n${next}\r\n`]], { server: '198.51.100.7:4222', clientBy: 'first' });
      assert.equal(h.of('session')[0]?.protocol, 'irc', next);
    }
  });

  it('a lone server or PRIVMSG line among another protocol\'s lines is no IRC: a NATS payload, a beanstalkd job, a STOMP body', () => {
    // a bridge relaying raw IRC lines over a message broker: each payload follows that protocol's own line
    const nats = 'INFO {"server_id":"NABC","proto":1}\r\nPONG\r\nMSG chat.irc 1 33\r\n:irc.example.net 001 bob :Welcome\r\nMSG chat.irc 1 38\r\n:nick!user@host PRIVMSG #channel :text\r\nMSG chat.ops 1 25\r\nPRIVMSG #ops :deploy done\r\n';
    const beanstalk = 'USING chat\r\nRESERVED 12 33\r\n:irc.example.net 001 bob :Welcome\r\nDELETED\r\nRESERVED 13 25\r\nPRIVMSG #ops :deploy done\r\nDELETED\r\n';
    const stomp = 'MESSAGE\r\nsubscription:0\r\ndestination:/topic/irc\r\ncontent-length:38\r\n\r\n:nick!user@host PRIVMSG #channel :text\x00\r\n';
    for (const data of [nats, beanstalk, stomp]) {
      for (const clientBy of ['syn', 'first'] as const) {
        // seen from its start, or picked up at any line of it
        for (let at = 0; at >= 0; at = clientBy === 'syn' || data.indexOf('\n', at) < 0 ? -1 : data.indexOf('\n', at) + 1) {
          const h = irc([['s', data.slice(at)]], { server: '198.51.100.7:6667', clientBy });
          assert.equal(h.of('session').length, 0, `${clientBy} ${JSON.stringify(data.slice(at, at + 40))}`);
        }
      }
    }
    // nor is a lone line confirmed by a prose line whose first word is a command in capitals: a mail's text in a NATS message
    for (const next of ['QUIT smoking, they said', 'ERROR rates dropped after the patch', 'NOTICE the new rota']) {
      const mail = `MSG queue stats\r\n\r\n:irc.example.net 001 bob :Welcome\r\n${next}\r\n\r\n`;
      assert.equal(irc([['s', mail]], { server: '198.51.100.7:4000', clientBy: 'first' }).of('session').length, 0, next);
    }
    assert.equal(irc([['s', 'MSG queue stats\r\n\r\n:irc.example.net 001 bob :Welcome\r\nQUIT :Leaving\r\n']], { server: '198.51.100.7:4000', clientBy: 'first' }).of('session')[0]?.protocol, 'irc');
    // two IRC lines in a row are IRC (a relayed burst, or the stream itself)
    const h = irc([['s', 'MSG chat.irc 1 33\r\n:irc.example.net 001 bob :Welcome\r\n:irc.example.net 002 bob :Your host is irc.example.net\r\n']], { server: '198.51.100.7:6667', clientBy: 'first' });
    assert.equal(h.of('session')[0]?.protocol, 'irc');
  });

  it('a prefixless numeric counts only on an IRC port hint', () => {
    assert.equal(irc([['c', '353 \n']], { server: '198.51.100.7:6666' }).of('session').length, 1);
    assert.equal(irc([['c', '353 \n']], { server: '198.51.100.7:2525' }).of('session').length, 0);
    // picked up mid-stream, a bare number line is no reply: a chunked HTTP body's chunk size on 6667 (near-miss seed 35000023)
    // (the first segment ends inside the JSON line, as there)
    const chunked = '\r\n254\r\n{"items":[{"id":"61d3173a","from":"alice@example.com","message":"MSG 1 N 12"}]}\r\n0\r\n\r\n';
    assert.equal(irc([['s', chunked.slice(0, 40)], ['s', chunked.slice(40)]], { server: '198.51.100.7:6667', clientBy: 'port' }).of('session').length, 0);
    assert.equal(irc([['s', '\r\n353 bob = #ops :alice bob\r\n']], { server: '198.51.100.7:6667', clientBy: 'port' }).of('session')[0]?.protocol, 'irc');
    // a prefixed one from the client side is no server line and no bare numeric either: a NATS client publishing a relayed IRC line, on 6667
    assert.equal(irc([['c', 'PUB chat.random _INBOX.2d4c 33\r\n:irc.example.net 001 bob :Welcome\r\nPONG\r\n']], { server: '198.51.100.7:6667', clientBy: 'port' }).of('session').length, 0);
  });
});

describe('irc: decoding', () => {
  it('lines split across segments, byte by byte, and several lines in one segment', () => {
    const h = new FlowHarness({ server: '198.51.100.7:6667' });
    h.send('c', REG).send('s', WELCOME);
    const line = 'PRIVMSG #dev :split across segments\r\n';
    for (const ch of line) h.send('c', ch);
    h.send('c', 'PRIVMSG bob :one\r\nPRIVMSG bob :two\r\nPRIVMSG #dev :thr');
    h.send('c', 'ee\r\n');
    h.end();
    assert.deepEqual(h.of('message').map((m) => [m.from, m.to, m.text, m.kind]), [
      ['alice', '#dev', 'split across segments', 'channel'],
      ['alice', 'bob', 'one', 'private'],
      ['alice', 'bob', 'two', 'private'],
      ['alice', '#dev', 'three', 'channel'],
    ]);
  });

  it('strips mIRC colour and format codes; CTCP ACTION becomes "* nick text"; other CTCP is not chat', () => {
    const h = irc([
      ['c', REG], ['s', WELCOME],
      ['c', 'PRIVMSG #dev :\x02bold\x02 \x0304,12red on blue\x03 \x1ditalic\x1d \x1funder\x1f\x0f done\x16\r\n'],
      ['c', 'PRIVMSG #dev :\x01ACTION waves\x01\r\n'],
      ['c', 'PRIVMSG bob :\x01VERSION\x01\r\n'],
      ['s', ':bob!b@h NOTICE alice :\x01VERSION irssi 1.4\x01\r\n'],
      ['s', ':bob!b@h NOTICE alice :remember the meeting\r\n'],
    ]);
    assert.deepEqual(h.of('message').map((m) => [m.text, m.kind]), [
      ['bold red on blue italic under done', 'channel'],
      ['* alice waves', 'channel'],
      ['remember the meeting', 'notice'],
    ]);
  });

  it('UTF-8 and Latin-1 text', () => {
    const h = irc([
      ['c', REG], ['s', WELCOME],
      ['c', Buffer.from('PRIVMSG #fr :café ünïcödé ✓\r\n', 'utf8')],
      ['c', Buffer.concat([Buffer.from('PRIVMSG #fr :'), Buffer.from('caf\xe9 na\xefve', 'latin1'), Buffer.from('\r\n')])],
    ]);
    assert.deepEqual(h.of('message').map((m) => m.text), ['café ünïcödé ✓', 'café naïve']);
  });

  it('server-side messages take the prefix nick; the session nick follows NICK changes', () => {
    const h = irc([
      ['c', REG], ['s', WELCOME],
      ['s', ':alice!a@h NICK :alice2\r\n'],
      ['c', 'PRIVMSG #x :after rename\r\n'],
      ['s', ':dave!d@h PRIVMSG alice2 :private hello\r\n'],
    ]);
    assert.deepEqual(h.of('message').map((m) => [m.from, m.to, m.text, m.kind, m.direction]), [
      ['alice2', '#x', 'after rename', 'channel', 'outbound'],
      ['dave', 'alice2', 'private hello', 'private', 'inbound'],
    ]);
    assert.ok(h.of('session')[0].users.includes('dave'));
  });

  it('credentials: PASS, SASL PLAIN, NickServ IDENTIFY — never the secret, anywhere', () => {
    const secret = 'Tr0ub4dor&3-horse';
    const plain = Buffer.from(`\0alice-acct\0${secret}`).toString('base64');
    const h = irc([
      ['c', `CAP LS 302\r\nPASS ${secret}\r\n${REG}`],
      ['s', ':irc.example.net CAP * LS :sasl\r\n'],
      ['c', `AUTHENTICATE PLAIN\r\nAUTHENTICATE ${plain}\r\n`],
      ['s', ':irc.example.net 903 alice :SASL authentication successful\r\n'],
      ['c', `PRIVMSG NickServ :IDENTIFY ${secret}\r\nNS IDENTIFY alice ${secret}\r\n`],
    ]);
    const creds = h.of('credential').map((c) => [c.mechanism, c.user]);
    assert.deepEqual(creds, [['irc-pass', 'alice'], ['sasl-plain', 'alice-acct'], ['nickserv-identify', 'alice'], ['nickserv-identify', 'alice']]);
    assert.deepEqual(h.of('message').map((m) => m.text), ['IDENTIFY ****']);
    const all = JSON.stringify(h.events);
    assert.ok(!all.includes(secret) && !all.includes(plain), 'the secret must not appear in any event');
  });

  it('STARTTLS (670) marks the session encrypted and stops reading', () => {
    const h = irc([
      ['c', 'STARTTLS\r\n'],
      ['s', ':irc.example.net 670 * :STARTTLS successful, go ahead with TLS handshake\r\n'],
      ['c', Buffer.from([0x16, 3, 1, 0, 0x10, 1, 2, 3])],
      ['c', 'PRIVMSG #x :should not be seen\r\n'],
    ]);
    const s = h.of('session')[0];
    assert.equal(s.encrypted, true);
    assert.ok(s.evidence.some((e) => e.signature === 'irc.starttls'));
    assert.equal(h.of('message').length, 0);
  });

  it('bad input: megabytes without a newline, invalid UTF-8, junk lines — bounded, counted, no exception', () => {
    const h = new FlowHarness({ server: '198.51.100.7:6667' });
    h.send('c', REG).send('s', WELCOME);
    const junk = Buffer.alloc(64 * 1024, 0x41);
    for (let i = 0; i < 48; i++) h.send('c', junk); // 3 MiB, no newline
    h.send('c', '\r\nPRIVMSG #x :\xff\xfe still alive\r\n');
    h.send('c', Buffer.from([0x50, 0x52, 0x49, 0x56, 0x4d, 0x53, 0x47, 0x20, 0x23, 0x78, 0x20, 0x3a, 0xc3, 0x28, 0x0d, 0x0a]));
    h.send('c', '!!!\r\n');
    h.end();
    const s = h.of('session')[0];
    assert.ok((s.malformed ?? 0) >= 2, `malformed counted (${s.malformed})`);
    assert.equal(h.of('message').length, 2);
    assert.equal(h.of('message')[1].text, '\u00c3(');
  });
});

describe('irc: DCC on the harness', () => {
  it('reverse (passive) DCC SEND: port 0 + token, the receiver answers, the sender connects and streams client → server', () => {
    const h = new FlowHarness({ server: '198.51.100.7:6667' });
    h.send('c', REG).send('s', WELCOME);
    h.send('c', 'PRIVMSG bob :\x01DCC SEND notes.txt 167837962 0 11 77\x01\r\n');
    h.send('s', ':bob!b@h PRIVMSG alice :\x01DCC SEND notes.txt 3232235777 6000 11 77\x01\r\n');
    h.end();
    const d = new FlowHarness({ client: '10.1.1.10:50000', server: '192.168.1.1:6000', engine: h.engine });
    d.send('c', 'hello ').send('s', Buffer.from([0, 0, 0, 6])).send('c', 'world + trailing bytes beyond the size').end();
    const ft = h.of('file_transfer');
    assert.equal(ft.filter((f) => f.stage === 'offer').length, 1);
    const data = ft.find((f) => f.stage === 'data')!;
    assert.equal(data.filename, 'notes.txt');
    assert.equal(data.observed_size, 11);
    assert.equal(data.complete, true);
    assert.equal(data.sha256, crypto.createHash('sha256').update('hello world').digest('hex'));
  });

  it('a peer\'s DCC offer naming the IRC server\'s own address and port does not take the user\'s next IRC connections (opened by a server notice, or by NICK)', () => {
    const h = new FlowHarness({ server: '198.51.100.7:6667' });
    const asInt = (198 * 2 ** 24 + 51 * 2 ** 16 + 100 * 2 ** 8 + 7).toString();
    h.send('c', REG).send('s', WELCOME);
    h.send('s', `:bob!b@h PRIVMSG alice :\x01DCC SEND trap.bin ${asInt} 6667 100\x01\r\n`);
    h.send('s', `:bob!b@h PRIVMSG alice :\x01DCC CHAT chat ${asInt} 6667\x01\r\n`).end();
    const next = [
      new FlowHarness({ client: '10.1.1.10:50900', server: '198.51.100.7:6667', engine: h.engine })
        .send('s', ':irc.example.net NOTICE * :*** Looking up your hostname...\r\n').send('c', REG).send('s', WELCOME).send('c', 'PRIVMSG #ops :first connection\r\n'),
      new FlowHarness({ client: '10.1.1.10:50901', server: '198.51.100.7:6667', engine: h.engine })
        .send('c', 'NI').send('c', 'CK alice\r\nUSER alice 0 * :Alice A\r\n').send('s', WELCOME).send('c', 'PRIVMSG #ops :second connection\r\n'),
    ];
    for (const n of next) n.end();
    assert.deepEqual(h.of('message').map((m) => [m.text, m.to]), [['first connection', '#ops'], ['second connection', '#ops']]);
    assert.equal(h.of('file_transfer').filter((f) => f.stage === 'data').length, 0);
  });

  it('DCC whose first words look like IRC commands are still DCC: a reverse SEND of a file that starts "User notes", a CHAT opened by "nick here, you there?"', () => {
    const h = new FlowHarness({ server: '198.51.100.7:6667' });
    h.send('c', REG).send('s', WELCOME);
    // our client offers reverse (port 0 + token); bob answers with his address: our client connects and sends
    h.send('c', 'PRIVMSG bob :\x01DCC SEND notes.txt 167837962 0 24 91\x01\r\n');
    h.send('s', ':bob!b@h PRIVMSG alice :\x01DCC SEND notes.txt 3232235826 5020 24 91\x01\r\n');
    h.send('s', ':bob!b@h PRIVMSG alice :\x01DCC CHAT chat 3232235826 5021\x01\r\n');
    const file = 'User notes\r\nline two..\r\n';
    new FlowHarness({ client: '10.1.1.10:51020', server: '192.168.1.50:5020', engine: h.engine }).send('c', file).send('s', Buffer.from([0, 0, 0, 24])).end();
    new FlowHarness({ client: '10.1.1.10:51021', server: '192.168.1.50:5021', engine: h.engine }).send('c', 'nick here, you there?\r\n').send('s', 'yes\r\n').end();
    h.end();
    const data = h.of('file_transfer').filter((f) => f.stage === 'data');
    assert.deepEqual(data.map((f) => [f.filename, f.sha256]), [['notes.txt', crypto.createHash('sha256').update(file).digest('hex')]]);
    assert.deepEqual(h.of('message').filter((m) => m.kind === 'private').map((m) => m.text), ['nick here, you there?', 'yes']);
  });

  it('a peer\'s DCC offer naming the user\'s TLS IRC server: the user\'s TLS connection there is no file, and another host\'s connection is not even asked', () => {
    const h = new FlowHarness({ server: '198.51.100.7:6667' });
    const asInt = (198 * 2 ** 24 + 51 * 2 ** 16 + 100 * 2 ** 8 + 7).toString();
    h.send('c', REG).send('s', WELCOME);
    h.send('s', `:bob!b@h PRIVMSG alice :\x01DCC SEND trap.bin ${asInt} 6697 54\x01\r\n`).end();
    const hello = Buffer.concat([Buffer.from([0x16, 3, 1, 0, 49, 1, 0, 0, 45, 3, 3]), Buffer.alloc(43, 7)]);
    for (const client of ['10.9.9.9:50000', '10.1.1.10:50001']) {
      new FlowHarness({ client, server: '198.51.100.7:6697', engine: h.engine }).send('c', hello).send('s', Buffer.from([0x16, 3, 3, 0, 2, 2, 0])).end();
    }
    assert.deepEqual(h.of('file_transfer').filter((f) => f.stage === 'data'), []);
  });

  it('a peer\'s DCC offers naming the user\'s IRC server take none of its reconnections, whatever size the offer claims and however the client registers', () => {
    const asInt = (198 * 2 ** 24 + 51 * 2 ** 16 + 100 * 2 ** 8 + 7).toString();
    const hello = Buffer.concat([Buffer.from([0x16, 3, 1, 0, 49, 1, 0, 0, 45, 3, 3]), Buffer.alloc(43, 7)]);
    const openings: Array<[string, number, Array<['c' | 's', string | Buffer]>]> = [
      ['SEND 1400000000', 6667, [['c', 'NICK alice\r\nUSER alice 0 * :Alice\r\n']]],
      ['SEND 4294967295', 6667, [['s', ':irc.example.net NOTICE * :*** Looking up your hostname\r\n'], ['c', 'CAP LS 302\r\n']]],
      ['SEND 5000000000', 6667, [['c', 'PROXY TCP4 10.1.1.10 198.51.100.7 50000 6667\r\nNICK alice\r\n']]],
      ['SEND 400000000', 6697, [['c', hello]]],
      ['CHAT', 6667, [['c', 'PASS :secret pass\r\nNICK alice\r\n']]],
      ['CHAT', 6667, [['c', 'NICK :alice\r\n']]],
      ['CHAT', 6667, [['c', 'USER alice 0 * alice\r\n']]],
      ['CHAT', 6667, [['c', 'nick alice\r\nuser alice 0 * :Alice\r\n']]],
      ['CHAT', 6697, [['c', hello]]],
    ];
    for (const [i, [offer, port, opening]] of openings.entries()) {
      const h = new FlowHarness({ server: '198.51.100.7:6667' });
      h.send('c', REG).send('s', WELCOME);
      const [kind, size] = offer.split(' ');
      h.send('s', `:bob!b@h PRIVMSG alice :\x01DCC ${kind} ${kind === 'SEND' ? 'trap.bin' : 'chat'} ${asInt} ${port}${size ? ` ${size}` : ''}\x01\r\n`).end();
      const n = new FlowHarness({ client: `10.1.1.10:${50100 + i}`, server: `198.51.100.7:${port}`, engine: h.engine });
      for (const [d, b] of opening) n.send(d, b);
      n.send('s', ':irc.example.net 001 alice :Welcome\r\n').end();
      assert.deepEqual([h.of('file_transfer').filter((f) => f.stage === 'data').length, h.of('message').filter((m) => m.kind === 'private').length], [0, 0], `${offer} on ${port}: ${JSON.stringify(opening)}`);
    }
  });

  it('more openings of the user\'s IRC connections are not DCC: its server side alone (plain and TLS), a PROXY line alone in its segment, blank lines, SASL, CAP REQ, WebSocket, TS6 PASS, SSLv2 and PROXY v2 hellos; nor a peer answering its own reverse offer', () => {
    const asInt = (198 * 2 ** 24 + 51 * 2 ** 16 + 100 * 2 ** 8 + 7).toString();
    const motd = [':irc.example.net NOTICE * :*** Looking up your hostname...', ':irc.example.net NOTICE * :*** Found your hostname', ':irc.example.net 001 alice :Welcome to the network alice',
      ...Array.from({ length: 30 }, (_, i) => `:irc.example.net 372 alice :- message of the day, line ${i}`)].join('\r\n') + '\r\n';
    const serverHello = Buffer.concat([Buffer.from([0x16, 3, 3, 0, 90, 2, 0, 0, 86, 3, 3]), Buffer.alloc(1300, 9)]);
    const cases: Array<[string, string, number, Array<['c' | 's', string | Buffer]>]> = [
      ['server side alone, SEND', 'SEND trap.bin', 6667, [['s', motd]]],
      ['server side alone, CHAT', 'CHAT chat', 6667, [['s', motd]]],
      ['server side alone, TLS', 'SEND trap.bin', 6697, [['s', serverHello]]],
      ['PROXY alone', 'CHAT chat', 6667, [['c', 'PROXY TCP4 10.9.9.9 198.51.100.7 5000 6667\r\n'], ['c', 'NICK alice\r\nUSER alice 0 * :A\r\n'], ['s', motd]]],
      ['blank line first', 'CHAT chat', 6667, [['c', '\r\nNICK alice\r\n'], ['s', motd]]],
      ['CAP REQ', 'CHAT chat', 6667, [['c', 'CAP REQ sasl\r\n'], ['s', ':irc.example.net CAP * ACK :sasl\r\n']]],
      ['SASL', 'CHAT chat', 6667, [['c', 'AUTHENTICATE PLAIN\r\n'], ['s', 'AUTHENTICATE +\r\n']]],
      ['WebSocket', 'CHAT chat', 6667, [['c', 'GET / HTTP/1.1\r\nHost: irc.example.net\r\nUpgrade: websocket\r\n\r\n']]],
      ['TS6 PASS', 'CHAT chat', 6667, [['c', 'PASS pw TS 6 :42X\r\n'], ['s', motd]]],
      ['SSLv2 hello', 'CHAT chat', 6697, [['c', Buffer.from('802e0103010015000000100700c0', 'hex')]]],
      ['PROXY v2', 'CHAT chat', 6667, [['c', Buffer.concat([Buffer.from('0d0a0d0a000d0a515549540a2111000c', 'hex'), Buffer.alloc(12, 1), Buffer.from('NICK alice\r\n')])]]],
    ];
    for (const [i, [name, offer, port, opening]] of cases.entries()) {
      const h = new FlowHarness({ server: '198.51.100.7:6667' });
      h.send('c', REG).send('s', WELCOME);
      h.send('s', `:bob!b@h PRIVMSG alice :\x01DCC ${offer} ${asInt} ${port}${offer.startsWith('SEND') ? ' 100' : ''}\x01\r\n`).end();
      const n = new FlowHarness({ client: `10.1.1.10:${50300 + i}`, server: `198.51.100.7:${port}`, engine: h.engine });
      for (const [d, b] of opening) n.send(d, b);
      n.end();
      assert.deepEqual([h.of('file_transfer').filter((f) => f.stage === 'data').length, h.of('message').filter((m) => m.kind === 'private').length], [0, 0], name);
    }
    // bob offers reverse (port 0, token 55) and "answers" it himself, naming the server
    const h = new FlowHarness({ server: '198.51.100.7:6667' });
    h.send('c', REG).send('s', WELCOME);
    h.send('s', ':bob!b@h PRIVMSG alice :\x01DCC SEND t.bin 3232235826 0 100 55\x01\r\n');
    h.send('s', `:bob!b@h PRIVMSG alice :\x01DCC SEND t.bin ${asInt} 6667 100 55\x01\r\n`).end();
    new FlowHarness({ client: '10.1.1.10:50399', server: '198.51.100.7:6667', engine: h.engine }).send('c', 'nick alice\r\nuser alice 0 * :A\r\n').send('s', motd).end();
    assert.equal(h.of('file_transfer').filter((f) => f.stage === 'data').length, 0, 'self-answered reverse offer');
  });

  it('chat and files whose first line looks like an IRC client\'s are DCC once the other side answers as no server does', () => {
    const h = new FlowHarness({ server: '198.51.100.7:6667' });
    h.send('c', REG).send('s', WELCOME);
    h.send('s', ':bob!b@h PRIVMSG alice :\x01DCC CHAT chat 3232235826 5040\x01\r\n');
    const file = 'nick list\nalice\nbob\ncarol\ndave\n';
    h.send('c', `PRIVMSG bob :\x01DCC SEND list.txt 167837962 0 ${file.length} 66\x01\r\n`);
    h.send('s', `:bob!b@h PRIVMSG alice :\x01DCC SEND list.txt 3232235826 5041 ${file.length} 66\x01\r\n`);
    new FlowHarness({ client: '10.1.1.10:51040', server: '192.168.1.50:5040', engine: h.engine }).send('c', 'Nick here\r\n').send('s', 'hi nick\r\n').send('c', 'pass :)\r\n').end();
    new FlowHarness({ client: '10.1.1.10:51041', server: '192.168.1.50:5041', engine: h.engine }).send('c', file).send('s', Buffer.from([0, 0, 0, file.length])).end();
    h.end();
    assert.deepEqual(h.of('message').filter((m) => m.kind === 'private').map((m) => m.text), ['Nick here', 'hi nick', 'pass :)']);
    assert.deepEqual(h.of('file_transfer').filter((f) => f.stage === 'data').map((f) => [f.filename, f.sha256]), [['list.txt', crypto.createHash('sha256').update(file).digest('hex')]]);
  });

  it('a dual-stack client: IRC over IPv6, a peer\'s IPv4 DCC SEND, connected to from the client\'s IPv4 address, is carved', () => {
    const h = new FlowHarness({ client: '[2001:db8::10]:40000', server: '[2001:db8::7]:6667' });
    h.send('c', REG).send('s', WELCOME);
    h.send('s', ':bob!b@h PRIVMSG alice :\x01DCC SEND v4.txt 3232235826 5030 5\x01\r\n').end();
    new FlowHarness({ client: '10.1.1.10:51030', server: '192.168.1.50:5030', engine: h.engine }).send('s', 'hello').send('c', Buffer.from([0, 0, 0, 5])).end();
    assert.deepEqual(h.of('file_transfer').filter((f) => f.stage === 'data').map((f) => [f.filename, f.complete]), [['v4.txt', true]]);
  });

  it('a DCC CHAT whose first line starts with a colon, and DCC SENDs of files that start like an IRC server line (acknowledged, or longer than a server says before registration), are still theirs', () => {
    const h = new FlowHarness({ server: '198.51.100.7:6667' });
    h.send('c', REG).send('s', WELCOME);
    h.send('s', ':bob!b@h PRIVMSG alice :\x01DCC CHAT chat 3232235826 5010\x01\r\n');
    h.send('s', ':bob!b@h PRIVMSG alice :\x01DCC SEND log.txt 3232235826 5011 40\x01\r\n');
    new FlowHarness({ client: '10.1.1.10:51010', server: '192.168.1.50:5010', engine: h.engine }).send('s', ':) hi alice\r\n').send('c', 'hi bob\r\n').end();
    h.send('s', ':bob!b@h PRIVMSG alice :\x01DCC SEND big.log 3232235826 5012 3000\x01\r\n').end();
    const log = ':irc.example.net 001 alice :Welcome\r\n...';
    new FlowHarness({ client: '10.1.1.10:51011', server: '192.168.1.50:5011', engine: h.engine }).send('s', log.slice(0, 10)).send('s', log.slice(10)).send('c', Buffer.from([0, 0, 0, 40])).end();
    // an IRC session's log: a server line first, then what the client showed (no server line)
    const big = Buffer.from((':irc.example.net NOTICE * :*** Looking up your hostname\r\n' + '[12:00] <alice> a line of the log\r\n'.repeat(90)).slice(0, 3000));
    const b = new FlowHarness({ client: '10.1.1.10:51012', server: '192.168.1.50:5012', engine: h.engine });
    for (let o = 0; o < big.length; o += 500) b.send('s', big.subarray(o, o + 500));
    b.send('c', Buffer.from([0, 0, 0x0b, 0xb8])).end();
    assert.deepEqual(h.of('message').map((m) => m.text), [':) hi alice', 'hi bob']);
    const data = h.of('file_transfer').filter((f) => f.stage === 'data');
    const sha = (x: string | Buffer) => crypto.createHash('sha256').update(x).digest('hex');
    assert.deepEqual(data.map((f) => [f.filename, f.sha256, f.complete]), [['log.txt', sha(log), true], ['big.log', sha(big), true]]);
  });

  it('an offer naming a private address (NAT): the connection to the address the IRC flow shows is matched too', () => {
    const h = new FlowHarness({ client: '203.0.113.40:40000', server: '198.51.100.7:6667' });
    // 3232235826 = 192.168.1.50, the sender's LAN address; the receiver reaches it at 203.0.113.40
    h.send('c', REG).send('s', WELCOME).send('c', 'PRIVMSG bob :\x01DCC SEND nat.txt 3232235826 5003 5\x01\r\n').end();
    const d = new FlowHarness({ client: '198.18.0.9:51002', server: '203.0.113.40:5003', engine: h.engine });
    d.send('s', 'hello').end();
    const data = h.of('file_transfer').find((f) => f.stage === 'data')!;
    assert.equal(data.filename, 'nat.txt');
    assert.equal(data.complete, true);
  });

  it('an offer re-sent to the same address and port with another file: the connection carries the last one offered', () => {
    const h = new FlowHarness({ server: '198.51.100.7:6667' });
    // 3232235826 = 192.168.1.50: the first offer was cancelled and another file offered on its port
    h.send('c', REG).send('s', WELCOME);
    h.send('c', 'PRIVMSG bob :\x01DCC SEND first.txt 3232235826 5004 5\x01\r\n');
    h.send('c', 'PRIVMSG bob :\x01DCC SEND second.txt 3232235826 5004 6\x01\r\n').end();
    const d = new FlowHarness({ client: '198.18.0.9:51003', server: '192.168.1.50:5004', engine: h.engine });
    d.send('s', 'second').end();
    const data = h.of('file_transfer').filter((f) => f.stage === 'data');
    assert.deepEqual(data.map((f) => [f.filename, f.observed_size, f.complete]), [['second.txt', 6, true]]);
  });

  it('a DCC SEND of a name longer than 255 characters keeps its extension and no half emoji', () => {
    const h = new FlowHarness({ server: '198.51.100.7:6667' });
    const name = '😀'.repeat(140) + '.pdf'; // 284 UTF-16 units: a cut at 255 fell inside a pair and dropped .pdf
    h.send('c', REG).send('s', WELCOME).send('c', Buffer.from(`PRIVMSG bob :\x01DCC SEND "${name}" 167837962 5002 5\x01\r\n`));
    const offer = h.of('file_transfer').find((f) => f.stage === 'offer')!;
    assert.ok(offer.filename.length <= 255, `${offer.filename.length}`);
    assert.ok(offer.filename.endsWith('.pdf'), offer.filename.slice(-8));
    assert.doesNotMatch(offer.filename, /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/);
  });

  it('a DCC SEND connection that closes early is reported incomplete', () => {
    const h = new FlowHarness({ server: '198.51.100.7:6667' });
    h.send('c', REG).send('s', WELCOME).send('c', 'PRIVMSG bob :\x01DCC SEND big.iso 167837962 5002 1000000\x01\r\n').end();
    const d = new FlowHarness({ client: '10.9.9.9:51001', server: '10.1.1.10:5002', engine: h.engine });
    d.send('s', Buffer.alloc(5000, 1)).end();
    const data = h.of('file_transfer').find((f) => f.stage === 'data')!;
    assert.equal(data.complete, false);
    assert.equal(data.observed_size, 5000);
  });

  // mIRC's resume: the receiver asks DCC RESUME file port position, the sender answers DCC ACCEPT, and
  // the sender streams from that byte; the receiver acknowledges the file's position, not the bytes
  // of this connection. An acknowledgement past 16 MiB was taken for no DCC, and the bytes before
  // the resume point were not said to be missing.
  it('a resumed DCC SEND (RESUME/ACCEPT past 16 MiB): its connection is the transfer, the bytes before the resume point are missing', () => {
    const h = new FlowHarness({ server: '198.51.100.7:6667' });
    const at = 32 * 2 ** 20, size = at + 64;
    // 167837962 = 10.1.1.10: alice sends a log whose part from the resume point on starts like a server notice
    h.send('c', REG).send('s', WELCOME).send('c', `PRIVMSG bob :\x01DCC SEND chan.log 167837962 5002 ${size}\x01\r\n`);
    h.send('s', `:bob!b@h PRIVMSG alice :\x01DCC RESUME "chan.log" 5002 ${at}\x01\r\n`);
    h.send('c', `PRIVMSG bob :\x01DCC ACCEPT "chan.log" 5002 ${at}\x01\r\n`).end();
    const tail = Buffer.from(':irc.example.net NOTICE * :*** log resumed here, 64 bytes long\r\n'.padEnd(64, '.'));
    const ackAt = (n: number) => { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b; };
    const d = new FlowHarness({ client: '198.18.0.9:51003', server: '10.1.1.10:5002', engine: h.engine });
    d.send('s', tail.subarray(0, 40)).send('c', ackAt(at + 40)).send('s', tail.subarray(40)).send('c', ackAt(at + 64)).end();
    const data = h.of('file_transfer').filter((f) => f.stage === 'data');
    assert.deepEqual(data.map((f) => [f.filename, f.observed_size, f.gap_bytes, f.complete]), [['chan.log', 64, at, false]]);
    assert.equal(data[0].sha256, crypto.createHash('sha256').update(tail).digest('hex'));
    assert.equal(h.of('session')[0].malformed, undefined, 'RESUME and ACCEPT are no malformed DCC offers');
  });

  it('a resumed reverse DCC SEND: RESUME and ACCEPT name the port-0 offer by its token', () => {
    const h = new FlowHarness({ server: '198.51.100.7:6667' });
    const at = 20 * 2 ** 20;
    h.send('c', REG).send('s', WELCOME);
    h.send('s', `:bob!b@h PRIVMSG alice :\x01DCC SEND notes.txt 3232235777 0 ${at + 600} 88\x01\r\n`);
    h.send('c', `PRIVMSG bob :\x01DCC RESUME file.ext 0 ${at} 88\x01\r\n`);
    h.send('s', `:bob!b@h PRIVMSG alice :\x01DCC ACCEPT file.ext 0 ${at} 88\x01\r\n`);
    h.send('c', `PRIVMSG bob :\x01DCC SEND notes.txt 167837962 6001 ${at + 600} 88\x01\r\n`).end();
    // the sender (bob) connects to alice's port; his bytes from the resume point look like a client's
    // line: alice's acknowledgements (two) tell
    const d = new FlowHarness({ client: '192.168.1.1:50000', server: '10.1.1.10:6001', engine: h.engine });
    const tail = Buffer.concat([Buffer.from('NICK here\r\n'), crypto.randomBytes(589)]);
    const ackAt = (n: number) => { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b; };
    d.send('c', tail.subarray(0, 300)).send('s', ackAt(at + 300)).send('c', tail.subarray(300)).send('s', ackAt(at + 600)).end();
    const data = h.of('file_transfer').filter((f) => f.stage === 'data');
    assert.deepEqual(data.map((f) => [f.filename, f.observed_size, f.gap_bytes, f.complete, f.sha256]), [['notes.txt', 600, at, false, crypto.createHash('sha256').update(tail).digest('hex')]]);
  });

  it('a resume point does not make the user\'s IRC or XMPP connections a file: not "NICK" read as an acknowledgement (whole or cut), not "<?xm" accepted unasked', () => {
    const h = new FlowHarness({ server: '198.51.100.7:6667' });
    const asInt = (a: number, b: number, c: number, d: number) => String(((a * 256 + b) * 256 + c) * 256 + d);
    const nick = Buffer.from('NICK').readUInt32BE(0), xml = Buffer.from('<?xm').readUInt32BE(0);
    h.send('c', REG).send('s', WELCOME);
    // bob's offer names the user's IRC server; the user's client resumes it at a point just below "NICK"
    h.send('s', `:bob!b@h PRIVMSG alice :\x01DCC SEND trap.bin ${asInt(198, 51, 100, 7)} 6667 ${2 ** 33}\x01\r\n`);
    h.send('c', `PRIVMSG bob :\x01DCC RESUME trap.bin 6667 ${nick - 5}\x01\r\n`);
    h.send('s', `:bob!b@h PRIVMSG alice :\x01DCC ACCEPT trap.bin 6667 ${nick - 5}\x01\r\n`);
    // … and another names the user's XMPP server, "accepted" though nobody asked for a resume
    h.send('s', `:bob!b@h PRIVMSG alice :\x01DCC SEND trap2.bin ${asInt(198, 51, 100, 8)} 5222 ${2 ** 33}\x01\r\n`);
    h.send('s', `:bob!b@h PRIVMSG alice :\x01DCC ACCEPT trap2.bin 5222 ${xml}\x01\r\n`).end();
    const C_HDR = "<?xml version='1.0'?><stream:stream to='example.org' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>";
    const S_HDR = "<?xml version='1.0'?><stream:stream from='example.org' id='abc' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>";
    const next = [
      new FlowHarness({ client: '10.1.1.10:50900', server: '198.51.100.7:6667', engine: h.engine })
        .send('c', REG).send('s', WELCOME).send('c', 'PRIVMSG #ops :first connection\r\n'),
      new FlowHarness({ client: '10.1.1.10:50901', server: '198.51.100.7:6667', engine: h.engine })
        .send('s', ':irc.example.net NOTICE * :*** Looking up your hostname...\r\n').send('c', REG).send('s', WELCOME).send('c', 'PRIVMSG #ops :second connection\r\n'),
      new FlowHarness({ client: '10.1.1.10:50902', server: '198.51.100.7:6667', engine: h.engine })
        .send('c', 'NICK al').send('c', 'ice\r\nUSER alice 0 * :Alice A\r\n').send('s', WELCOME).send('c', 'PRIVMSG #ops :third connection\r\n'),
      new FlowHarness({ client: '10.1.1.10:50903', server: '198.51.100.8:5222', engine: h.engine })
        .send('c', C_HDR).send('s', S_HDR).send('c', "<message to='romeo@example.net' type='chat'><body>over xmpp</body></message>"),
    ];
    for (const n of next) n.end();
    assert.deepEqual(h.of('message').map((m) => m.text), ['first connection', 'second connection', 'third connection', 'over xmpp']);
    assert.equal(h.of('file_transfer').filter((f) => f.stage === 'data').length, 0);
  });

  it('a resume is the offer\'s two parties\': a RESUME or ACCEPT from the wrong side, from a third nick, unasked, or for another point chooses nothing; two offers on one port are each their sender\'s', () => {
    const h = new FlowHarness({ server: '198.51.100.7:6667' });
    const asInt = (a: number, b: number, c: number, d: number) => String(((a * 256 + b) * 256 + c) * 256 + d);
    h.send('c', REG).send('s', WELCOME).send('c', 'PRIVMSG bob :\x01DCC SEND a.bin 167837962 5002 10\x01\r\n');
    // alice is the sender: her own RESUME, and an ACCEPT from bob, are not a resume
    h.send('c', 'PRIVMSG bob :\x01DCC RESUME a.bin 5002 4\x01\r\n').send('s', ':bob!b@h PRIVMSG alice :\x01DCC ACCEPT a.bin 5002 6\x01\r\n');
    // bob and carol offer on the same port (a default DCC range); mallory "accepts" bob's; carol's
    // resume is asked and accepted at 600; alice asks bob for 500 and he accepts 400
    h.send('s', `:bob!b@h PRIVMSG alice :\x01DCC SEND b.bin ${asInt(203, 0, 113, 5)} 5000 1000\x01\r\n`);
    h.send('s', `:carol!c@h PRIVMSG alice :\x01DCC SEND c.bin ${asInt(203, 0, 113, 6)} 5000 1000\x01\r\n`);
    h.send('s', ':mallory!m@h PRIVMSG alice :\x01DCC ACCEPT b.bin 5000 90\x01\r\n');
    h.send('c', 'PRIVMSG carol :\x01DCC RESUME c.bin 5000 600\x01\r\n').send('s', ':carol!c@h PRIVMSG alice :\x01DCC ACCEPT c.bin 5000 600\x01\r\n');
    h.send('c', 'PRIVMSG bob :\x01DCC RESUME b.bin 5000 500\x01\r\n').send('s', ':bob!b@h PRIVMSG alice :\x01DCC ACCEPT b.bin 5000 400\x01\r\n').end();
    new FlowHarness({ client: '198.18.0.9:51003', server: '10.1.1.10:5002', engine: h.engine }).send('s', '0123456789').end();
    new FlowHarness({ client: '10.1.1.10:50901', server: '203.0.113.5:5000', engine: h.engine }).send('s', Buffer.alloc(1000, 0x41)).end();
    new FlowHarness({ client: '10.1.1.10:50902', server: '203.0.113.6:5000', engine: h.engine }).send('s', Buffer.alloc(400, 0x42)).end();
    assert.deepEqual(h.of('file_transfer').filter((f) => f.stage === 'data').map((f) => [f.filename, f.observed_size, f.gap_bytes, f.complete]), [
      ['a.bin', 10, undefined, true],
      ['b.bin', 1000, undefined, true],
      ['c.bin', 400, 600, false],
    ]);
  });

  // second review: the user's side was named by its nick, which a capture begun mid-session does not
  // know and a NICK change alters; and any client protocol whose first byte is zero was an ack
  it('a resume the user agreed is the user\'s whatever its nick: unknown (a capture begun mid-session) or changed since the offer', () => {
    const at = 32 * 2 ** 20, size = at + 64;
    const ackAt = (n: number) => { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b; };
    for (const [name, start, before] of [
      ['mid-session', ':bob!b@h PRIVMSG #chan :hello all\r\n', ''],
      ['nick changed', WELCOME, 'NICK alice_away\r\n'],
    ] as const) {
      const h = new FlowHarness({ server: '198.51.100.7:6667' });
      if (name === 'nick changed') h.send('c', REG);
      h.send('s', start).send('c', 'PRIVMSG #chan :hi bob\r\n');
      // 3405803781 = 203.0.113.5
      h.send('s', `:bob!b@h PRIVMSG alice :\x01DCC SEND chan.log 3405803781 5002 ${size}\x01\r\n`);
      if (before) h.send('c', before).send('s', ':alice!a@h NICK :alice_away\r\n');
      h.send('c', `PRIVMSG bob :\x01DCC RESUME chan.log 5002 ${at}\x01\r\n`);
      h.send('s', `:bob!b@h PRIVMSG ${before ? 'alice_away' : 'alice'} :\x01DCC ACCEPT chan.log 5002 ${at}\x01\r\n`).end();
      const tail = crypto.randomBytes(64);
      new FlowHarness({ client: '10.1.1.10:51003', server: '203.0.113.5:5002', engine: h.engine })
        .send('s', tail.subarray(0, 40)).send('c', ackAt(at + 40)).send('s', tail.subarray(40)).send('c', ackAt(at + 64)).end();
      const data = h.of('file_transfer').filter((f) => f.stage === 'data');
      assert.deepEqual(data.map((f) => [f.filename, f.observed_size, f.gap_bytes, f.complete]), [['chan.log', 64, at, false]], name);
    }
  });

  it('a resume with a peer that changed nick since its offer (the offer is the peer\'s under its new nick)', () => {
    const at = 32 * 2 ** 20, size = at + 64;
    const ackAt = (n: number) => { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b; };
    const h = new FlowHarness({ server: '198.51.100.7:6667' });
    h.send('c', REG).send('s', WELCOME);
    h.send('s', `:bob!b@h PRIVMSG alice :\x01DCC SEND chan.log 3405803781 5002 ${size}\x01\r\n`);
    h.send('s', ':bob!b@h NICK :bob|away\r\n');
    // another peer whose nick is the tail of bob's new one changes its nick: bob's offer stays bob's
    h.send('s', ':away!x@h NICK :z\r\n');
    h.send('c', `PRIVMSG bob|away :\x01DCC RESUME chan.log 5002 ${at}\x01\r\n`);
    h.send('s', `:bob|away!b@h PRIVMSG alice :\x01DCC ACCEPT chan.log 5002 ${at}\x01\r\n`).end();
    const tail = crypto.randomBytes(64);
    new FlowHarness({ client: '10.1.1.10:51003', server: '203.0.113.5:5002', engine: h.engine })
      .send('s', tail.subarray(0, 40)).send('c', ackAt(at + 40)).send('s', tail.subarray(40)).send('c', ackAt(at + 64)).end();
    assert.deepEqual(h.of('file_transfer').filter((f) => f.stage === 'data').map((f) => [f.filename, f.observed_size, f.gap_bytes]), [['chan.log', 64, at]]);
  });

  it('a peer\'s offer naming a server the user talks to in a protocol whose first byte is zero (SMB, DNS over TCP, PostgreSQL) takes none of those connections; a receiver\'s 32- and 64-bit acknowledgements still decide', () => {
    const h = new FlowHarness({ server: '198.51.100.7:6667' });
    h.send('c', REG).send('s', WELCOME);
    // 167837954 = 10.1.1.2: bob names the user's file server, its DNS server and its database
    for (const port of [445, 53, 5432]) h.send('s', `:bob!b@h PRIVMSG alice :\x01DCC SEND x${port}.bin 167837954 ${port} 100000\x01\r\n`);
    h.end();
    const openings: Record<number, Buffer> = {
      445: Buffer.concat([Buffer.from([0, 0, 0, 0x54, 0xfe]), Buffer.from('SMB'), crypto.randomBytes(80)]),
      53: Buffer.from('002c12340100000100000000000003777777076578616d706c6503636f6d0000010001', 'hex'),
      5432: Buffer.concat([Buffer.from([0, 0, 0, 0x29, 0, 3, 0, 0]), Buffer.from('user\0alice\0database\0app\0\0')]),
    };
    for (const [port, first] of Object.entries(openings)) {
      new FlowHarness({ client: '10.1.1.10:51003', server: `10.1.1.2:${port}`, engine: h.engine })
        .send('c', first).send('s', Buffer.concat([Buffer.from([0, 0, 0, 0x40]), crypto.randomBytes(60)])).end();
    }
    assert.deepEqual(h.of('file_transfer').filter((f) => f.stage === 'data').map((f) => f.filename), []);
    // a genuine transfer whose file starts like a server line: acknowledged in 32 bits, or in 64
    for (const wide of [false, true]) {
      const g = new FlowHarness({ server: '198.51.100.7:6667' });
      g.send('c', REG).send('s', WELCOME).send('s', ':bob!b@h PRIVMSG alice :\x01DCC SEND log.txt 3405803781 5003 2000\x01\r\n').end();
      const file = Buffer.from(':irc.example.net NOTICE * :*** a log of the channel\r\n'.padEnd(2000, 'x'));
      const ack = (n: number) => { const b = Buffer.alloc(wide ? 8 : 4); if (wide) b.writeBigUInt64BE(BigInt(n)); else b.writeUInt32BE(n); return b; };
      new FlowHarness({ client: '10.1.1.10:51004', server: '203.0.113.5:5003', engine: g.engine })
        .send('s', file.subarray(0, 700)).send('c', Buffer.concat([ack(700), ack(700)])).send('s', file.subarray(700)).send('c', ack(2000)).end();
      assert.deepEqual(g.of('file_transfer').filter((f) => f.stage === 'data').map((f) => [f.filename, f.observed_size, f.complete]), [['log.txt', 2000, true]], wide ? '64-bit' : '32-bit');
    }
  });

  it('IRCv3 echo-message copies of our own PRIVMSG are not reported twice', () => {
    const h = irc([['c', REG], ['s', WELCOME], ['c', 'PRIVMSG #x :once\r\n'], ['s', ':alice!a@h PRIVMSG #x :once\r\n']]);
    assert.equal(h.of('message').length, 1);
  });
});

describe('irc: parser', () => {
  it('parses tags, prefix, numerics and trailing parameters', () => {
    assert.deepEqual(parseLine('@time=x;a=b :nick!u@h PRIVMSG #c :hello :world'), { tags: 'time=x;a=b', prefix: 'nick!u@h', command: 'PRIVMSG', params: ['#c', 'hello :world'] });
    assert.deepEqual(parseLine(':srv 353 me = #c :a @b +c'), { tags: undefined, prefix: 'srv', command: '353', params: ['me', '=', '#c', 'a @b +c'] });
    assert.equal(parseLine('GET / HTTP/1.1')?.command, 'GET');
    assert.equal(parseLine(':onlyprefix'), undefined);
  });

  it('DCC offers: integer, dotted and IPv6 addresses, quoted names, reverse tokens', () => {
    assert.deepEqual(parseDcc('SEND ssh.trace 167772167 59130 1320211'), { kind: 'SEND', name: 'ssh.trace', ip: '10.0.0.7', port: 59130, size: 1320211 });
    assert.deepEqual(parseDcc('SEND "my file.txt" 192.0.2.1 5000 12'), { kind: 'SEND', name: 'my file.txt', ip: '192.0.2.1', port: 5000, size: 12 });
    assert.equal(parseDcc('SEND f 2001:db8::1 5000 12')?.ip, '2001:db8::1');
    assert.deepEqual(parseDcc('SEND f.bin 3232235777 0 99 77'), { kind: 'SEND', name: 'f.bin', ip: '192.168.1.1', port: 0, size: 99, token: '77' });
    assert.equal(parseDcc('SEND f 99999999999 1 1'), undefined);
    assert.equal(parseDcc('SEND f 1.2.3.4 70000 1'), undefined);
    // resume: the name is not read (mIRC writes "file.ext"), numbers from the end, a token after port 0
    assert.deepEqual(parseDccResume('RESUME "my file.txt" 5000 20000000'), [{ kind: 'RESUME', port: 5000, position: 20000000 }]);
    assert.deepEqual(parseDccResume('accept my file.txt 5000 12'), [{ kind: 'ACCEPT', port: 5000, position: 12 }]);
    assert.deepEqual(parseDccResume('RESUME file.ext 0 1234 77'), [{ kind: 'RESUME', port: 0, position: 1234, token: '77' }, { kind: 'RESUME', port: 1234, position: 77 }]);
    assert.deepEqual(parseDccResume('RESUME take 0 5000 100'), [{ kind: 'RESUME', port: 0, position: 5000, token: '100' }, { kind: 'RESUME', port: 5000, position: 100 }], 'a name ending in " 0": both readings');
    for (const bad of ['RESUME f 70000 1', 'RESUME f 5000', 'RESUME 5000 12', 'RESUME f 0 5', 'SEND f 1.2.3.4 5000 1']) assert.deepEqual(parseDccResume(bad), [], bad);
  });

  it('stripFormatting and decodeText', () => {
    assert.equal(stripFormatting('\x0312,4x\x03y\x02z\x0f'), 'xyz');
    assert.equal(decodeText(Buffer.from([0xe9])), 'é');
  });

  boundedIt(__filename, 'seeded fuzz: random bytes through framer, parser and detector never throw and stay bounded', fuzzSeconds(120), () => {
    let seed = fuzzSeed(0x1234567);
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const alphabet = Buffer.from(':@!# \r\n\x01\x02\x03,0123456789PRIVMSGNICKUSERDCCSEND"', 'latin1');
    let lines = 0;
    const f = new LineFramer((l) => {
      lines++;
      assert.ok(l.length <= 8192);
      parseLine(decodeText(l));
      parseDcc(decodeText(l));
    }, () => undefined);
    for (let i = 0, cases = fuzzCases(300); i < cases; i++) {
      const n = Math.floor(rnd() * 2000);
      const b = Buffer.alloc(n);
      for (let j = 0; j < n; j++) b[j] = rnd() < 0.7 ? alphabet[Math.floor(rnd() * alphabet.length)] : Math.floor(rnd() * 256);
      f.push(b);
      const h = new FlowHarness({ server: '198.51.100.7:6667' });
      h.send('c', REG).send(rnd() < 0.5 ? 'c' : 's', b).end();
      assert.equal(h.engine.stats.decoderErrors, 0, `case ${i}`);
    }
    assert.ok(lines > 0);
  });
});

describe('irc: generated captures through the CLI', function () {
  this.timeout(120000);

  it('out-of-order segments, several lines per segment, colours, Latin-1/UTF-8, and a DCC SEND carved byte for byte (acks ignored)', () => {
    const c = new Capture();
    const t = c.tcp('10.1.1.10:40000', '198.51.100.7:6667');
    const file = crypto.randomBytes(200_000);
    const sha = crypto.createHash('sha256').update(file).digest('hex');
    t.open();
    t.send('c', REG);
    t.send('s', WELCOME);
    t.send('c', 'PRIVMSG #dev :segments arrive out of order but the text is whole\r\n', { segment: 9, reorder: [1, 0, 3, 2, 5, 4, 6, 7] });
    // several lines in one segment: mIRC colours, Latin-1, UTF-8
    t.send('c', Buffer.concat([
      Buffer.from('PRIVMSG #dev :\x0304,01red\x03 and \x02bold\x02\r\n'),
      Buffer.from('PRIVMSG #dev :na\xefve caf\xe9\r\n', 'latin1'),
      Buffer.from('PRIVMSG #dev :żółw ✓\r\n', 'utf8'),
    ]));
    t.send('c', 'PRIVMSG bob :\x01DCC SEND "quarterly report.pdf" 167837962 5001 200000\x01\r\n');
    // the receiver (bob, 10.9.9.9) connects to alice's announced address 10.1.1.10:5001
    const d = c.tcp('10.9.9.9:51000', '10.1.1.10:5001');
    d.open();
    sendFile(d, file);
    d.close();
    t.close();
    const events = analyzeCapture(c);
    const msgs = events.filter((e) => e.type === 'message');
    assert.deepEqual(msgs.map((m) => m.text), ['segments arrive out of order but the text is whole', 'red and bold', 'naïve café', 'żółw ✓']);
    const offer = events.find((e) => e.type === 'file_transfer' && e.stage === 'offer');
    assert.equal(offer.filename, 'quarterly report.pdf');
    assert.equal(offer.size, 200000);
    assert.equal(offer.from, 'alice');
    assert.equal(offer.to, 'bob');
    const data = events.find((e) => e.type === 'file_transfer' && e.stage === 'data');
    assert.ok(data, 'carved');
    assert.equal(data.transfer_id, offer.transfer_id);
    assert.equal(data.observed_size, 200000);
    assert.equal(data.complete, true);
    assert.equal(data.sha256, sha);
  });
});

describe('irc: shared real captures', function () {
  this.timeout(180000);
  before(function () {
    if (!havePcaps()) this.skip();
  });

  const mine = ['im/irc-basic.pcap', 'im/irc-dcc-send.pcapng', 'im/irc-twitch-port80-vlan.pcap', 'im/irc-353-null-ipv6.pcap'];
  for (const name of mine) {
    it(`${name} meets its label`, () => {
      const label = labels()[name];
      const r = analyzeFile(path.join(PCAPS_DIR, name));
      const protos = new Set(r.events.filter((e) => e.type === 'session').map((e) => e.protocol));
      for (const p of label.protocols) assert.ok(protos.has(p), `${p} reported`);
      const texts = r.events.filter((e) => e.type === 'message').map((e) => e.text);
      for (const m of label.messages ?? []) assert.ok(texts.some((t) => t.includes(m)), `message "${m}"`);
      const files = r.events.filter((e) => e.type === 'file_transfer').map((e) => e.filename);
      for (const f of label.file_transfers ?? []) assert.ok(files.includes(f), `file ${f}`);
      if (name === 'im/irc-dcc-send.pcapng') {
        // the DCC CHAT side connection is decoded as private messages between the two nicks
        const chat = r.events.filter((e) => e.type === 'message' && e.server.port === 59214).map((e) => [e.from, e.to, e.text]);
        assert.deepEqual(chat, [['tim1', 'tim2', 'hello, are you there?'], ['tim2', 'tim1', 'yes i am!']]);
      }
    });
  }

  it('irc-dcc-send: ssh.trace carved byte for byte (oracle: tshark follow of the DCC stream)', function () {
    if (!haveTshark()) this.skip();
    const file = path.join(PCAPS_DIR, 'im/irc-dcc-send.pcapng');
    const r = shadowim(['analyze', file, '--format', 'jsonl']);
    const data = r.events.find((e) => e.type === 'file_transfer' && e.stage === 'data' && e.filename === 'ssh.trace');
    assert.ok(data, 'ssh.trace carved');
    // the DCC connection is the one to the announced port 59130; the sender is 10.0.0.7
    const out = execFileSync('tshark', ['-r', file, '-q', '-z', 'follow,tcp,raw,10.0.0.7:59130,10.0.0.22:43614'], { maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'ignore'] }).toString();
    const nodes = [...out.matchAll(/^Node ([01]): (.*)$/gm)];
    const senderIsNode0 = nodes.find((n) => n[2] === '10.0.0.7:59130')?.[1] === '0';
    const hex = out.split('\n').filter((l) => /^\t?[0-9a-f]+$/.test(l) && l.startsWith('\t') !== senderIsNode0).map((l) => l.trim()).join('');
    const bytes = Buffer.from(hex, 'hex').subarray(0, 1320211);
    assert.equal(bytes.length, 1320211);
    assert.equal(data.observed_size, 1320211);
    assert.equal(data.complete, true);
    assert.equal(data.sha256, crypto.createHash('sha256').update(bytes).digest('hex'));
  });

  it('message texts agree with tshark\'s IRC dissector', function () {
    if (!haveTshark()) this.skip();
    const file = path.join(PCAPS_DIR, 'im/irc-dcc-send.pcapng');
    // tshark does not parse IRCv3-tagged server lines, so compare what the client sent
    const out = execFileSync('tshark', ['-r', file, '-Y', 'irc.request.command == "PRIVMSG"', '-T', 'fields', '-e', 'irc.request.trailer'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString();
    const expected = out.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('\x01'));
    assert.ok(expected.length >= 4);
    const r = shadowim(['analyze', file, '--format', 'jsonl']);
    const texts = r.events.filter((e) => e.type === 'message' && e.server.port === 6667 && e.direction === 'outbound').map((e) => e.text);
    assert.deepEqual(texts, expected);
  });

  it('negative captures yield nothing from IRC, XMPP or Gadu-Gadu', () => {
    for (const f of fs.readdirSync(path.join(PCAPS_DIR, 'negative'))) {
      const r = shadowim(['analyze', path.join(PCAPS_DIR, 'negative', f), '--format', 'jsonl']);
      const mine = r.events.filter((e) => ['irc', 'xmpp', 'gadugadu'].includes(e.protocol));
      assert.deepEqual(mine, [], f);
    }
  });
});
