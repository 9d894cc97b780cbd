// YCHT (Yahoo chat rooms) through the real command line on generated captures: a room conversation
// on a port that is not YCHT's, cut byte by byte, coalesced and reordered; and what must not be a
// session (a scan of port 8001, "YCHT" inside HTTP and SMTP, random bytes after the magic).
// tshark 4.0 has no YCHT dissector; where it is installed, its TCP reassembly of the same capture,
// read by hand with the layout of libpurple's ycht.c, gives the messages shadowim reports.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Capture, ether, tcpPacket, SYN, ACK, RST } from '../helpers/pcapgen';
import { analyzeCapture } from '../helpers/analyze';
import { randomBytes, swapped } from './msn-wire';
import { haveTshark, tsharkStream } from './irc-replay';
import { client, joined, login, server, SVC } from './ymsg-ycht-wire';

const ME = 'corp_user42';
const OTHER = 'sgooki888';
const ROOM = 'Linux, FreeBSD, Solaris:1';

/** the chat lines (service, sender, text as UTF-8 or else Latin-1) in server → client bytes, read by hand: 16-byte header, C0 80 fields */
function readServerLines(b: Buffer): [number, string, string][] {
  const out: [number, string, string][] = [];
  for (let o = 0; o + 16 <= b.length; ) {
    assert.equal(b.toString('latin1', o, o + 4), 'YCHT');
    const service = b.readUInt32BE(o + 8), len = b.readUInt16BE(o + 14);
    const fields = b.subarray(o + 16, o + 16 + len).toString('latin1').split('\xc0\x80');
    const utf8 = (x: string) => (Buffer.from(Buffer.from(x, 'latin1').toString('utf8')).equals(Buffer.from(x, 'latin1')) ? Buffer.from(x, 'latin1').toString('utf8') : x);
    if (service === SVC.SAY || service === SVC.EMOTE) out.push([service, fields[1], utf8(fields[2])]);
    o += 16 + len;
  }
  return out;
}

describe('ycht: through the CLI', function () {
  this.timeout(120000);

  it('a room on port 9443: join, lines both ways (echo once), emote, part; byte-by-byte, coalesced and reordered segments', () => {
    const cap = new Capture();
    const t = cap.tcp('10.1.1.10:40000', '203.0.113.5:9443');
    t.open();
    const lg = login(ME);
    t.send('c', lg, { segment: 1 });
    t.send('s', Buffer.concat([server(SVC.LOGIN, [ME, 'x']), joined(ROOM, 'Unix talk', [OTHER, ME])]));
    t.send('c', client(SVC.JOIN, [ROOM]));
    const mine = client(SVC.SAY, [ROOM, Buffer.from('café ☕ at 5', 'utf8')]);
    t.send('c', mine, { segment: 7, reorder: swapped(Math.ceil(mine.length / 7)) });
    const inbound = Buffer.concat([
      server(SVC.SAY, [ROOM, ME, Buffer.from('café ☕ at 5', 'utf8')]),
      server(SVC.SAY, [ROOM, OTHER, Buffer.from([0x93, 0x6f, 0x6b, 0x94, 0x20, 0x80])]),
      server(SVC.EMOTE, [ROOM, OTHER, 'waves']),
      server(SVC.PART, [ROOM, OTHER]),
    ]);
    t.send('s', inbound, { segment: 20, reorder: swapped(Math.ceil(inbound.length / 20)) });
    t.close();
    let viaTshark: [number, string, string][] | undefined;
    const ev = analyzeCapture(cap, (file) => {
      if (!haveTshark()) return;
      const listed = spawnSync('tshark', ['-G', 'protocols']).stdout.toString();
      assert.ok(!/\bycht\b/i.test(listed), 'tshark now has a YCHT dissector: compare with it');
      const st = tsharkStream(file, 0);
      viaTshark = readServerLines(Buffer.concat(st.chunks.filter((c) => c.dir === 's').map((c) => c.data)));
    });
    const msgs = ev.filter((e) => e.type === 'message');
    assert.deepEqual(msgs.map((m) => [m.protocol, m.from, m.to, m.text, m.direction, m.kind]), [
      ['yahoo', ME, ROOM, 'café ☕ at 5', 'outbound', 'groupchat'],
      ['yahoo', OTHER, ROOM, '\u201cok\u201d €', 'inbound', 'groupchat'],
      ['yahoo', OTHER, ROOM, `* ${OTHER} waves`, 'inbound', 'groupchat'],
    ]);
    const s = ev.filter((e) => e.type === 'session');
    assert.deepEqual(s.map((x) => [x.protocol, x.service, x.evidence[0].signature]), [['yahoo', 'ycht', 'ycht.header']]);
    assert.deepEqual([...s[0].users].sort(), [ME, OTHER].sort());
    assert.ok(ev.some((e) => e.type === 'credential' && e.mechanism === 'yahoo-y-t-cookies' && e.user === ME));
    assert.ok(!JSON.stringify(ev).includes('abcdefghijkl'), 'the cookie value is never printed');
    assert.ok(viaTshark || !haveTshark());
    if (viaTshark) {
      // tshark's reassembly read by hand: the same lines (the first is our echo, reported once from the client side)
      assert.deepEqual(viaTshark.map((l) => l[2]), ['café ☕ at 5', '\x93ok\x94 \x80', 'waves']);
      assert.deepEqual(viaTshark.slice(1).map((l) => l[1]), msgs.slice(1).map((m) => m.from));
    }
  });

  it('next to a real room on 8001, no session: a scan of port 8001, "YCHT" in an HTTP body and in a mail, random bytes after the magic on 8001', () => {
    const cap = new Capture();
    // a SYN scan: SYN, SYN-ACK, RST; and a closed port: SYN, RST
    cap.add(ether(tcpPacket('10.1.1.66:51000', '203.0.113.5:8001', 100, SYN)));
    cap.add(ether(tcpPacket('203.0.113.5:8001', '10.1.1.66:51000', 900, SYN | ACK, '', 101)));
    cap.add(ether(tcpPacket('10.1.1.66:51000', '203.0.113.5:8001', 101, RST)));
    cap.add(ether(tcpPacket('10.1.1.66:51001', '203.0.113.6:8001', 100, SYN)));
    cap.add(ether(tcpPacket('203.0.113.6:8001', '10.1.1.66:51001', 0, RST | ACK, '', 101)));
    const pkt = server(SVC.SAY, [ROOM, OTHER, 'inside a body']);
    const web = cap.tcp('10.1.1.10:40010', '203.0.113.7:80');
    web.open();
    web.send('c', 'GET /ycht.bin HTTP/1.1\r\nHost: files.example.com\r\n\r\n');
    web.send('s', Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: ${pkt.length}\r\n\r\n`), pkt]));
    web.close();
    const mail = cap.tcp('10.1.1.10:40011', '203.0.113.8:25');
    mail.open();
    mail.send('s', '220 mail.example.com ESMTP\r\n');
    mail.send('c', 'EHLO pc\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n');
    mail.send('c', Buffer.concat([Buffer.from('Subject: YCHT\r\n\r\n'), pkt, Buffer.from('\r\n.\r\nQUIT\r\n')]));
    mail.close();
    const junk = cap.tcp('10.1.1.10:40012', '203.0.113.9:8001');
    junk.open();
    junk.send('c', Buffer.concat([Buffer.from('YCHT'), randomBytes(300, 8001)]));
    junk.send('s', randomBytes(200, 8002));
    junk.close();
    // the one real room, so that the capture is known to be read
    const real = cap.tcp('10.1.1.10:40013', '203.0.113.10:8001');
    real.open();
    real.send('c', login(ME));
    real.send('s', server(SVC.SAY, [ROOM, OTHER, 'the only line']));
    real.close();
    const ev = analyzeCapture(cap);
    assert.deepEqual(ev.filter((e) => e.type === 'session' || e.type === 'message').map((e) => `${e.type}:${e.protocol}:${e.server.ip}:${e.text ?? ''}`), [
      'message:yahoo:203.0.113.10:the only line',
      'session:yahoo:203.0.113.10:',
    ]);
  });
});
