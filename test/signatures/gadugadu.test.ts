// Gadu-Gadu: detection (welcome + login), UIN, GG 8.0 and older messages with CP1250 text, on
// generated captures through the CLI (tshark's gadu-gadu dissector as the cross-check) and harness.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { FlowHarness } from '../helpers/harness';
import { Capture } from '../helpers/pcapgen';
import { login80, pkt, recvMsg80, sendMsg80, sendMsgOld, u32, welcome } from './gadugadu-wire';
import { shadowim } from '../helpers/run';
import { analyzeCapture } from '../helpers/analyze';
import { haveTshark } from './irc-replay';
import { PacketFramer, msg80 } from '../../signatures/gadugadu/parser';
import { login105Uin, msg110 } from '../../signatures/gadugadu/proto110';
import { boundedIt } from '../helpers/bounded';
import { fuzzCases, fuzzSeconds, fuzzSeed } from '../helpers/fuzz';

/** "Zażółć gęślą jaźń" in CP1250 */
const PL_CP1250 = Buffer.from([0x5a, 0x61, 0xbf, 0xf3, 0xb3, 0xe6, 0x20, 0x67, 0xea, 0x9c, 0x6c, 0xb9, 0x20, 0x6a, 0x61, 0x9f, 0xf1]);
const PL = 'Zażółć gęślą jaźń';

describe('gadugadu', function () {
  this.timeout(120000);

  it('login + messages (GG 8.0 plain part, HTML-only, old CP1250) through the CLI, agreeing with tshark', () => {
    const c = new Capture();
    const t = c.tcp('10.1.1.10:40002', '91.214.237.10:8074');
    t.open();
    t.send('s', welcome);
    t.send('c', login80(1234567));
    t.send('s', pkt(0x35, u32(1)));
    t.send('c', sendMsg80(7654321, '<span style="color:#000000">Zażółć gęślą jaźń</span>', PL_CP1250), { segment: 40, reorder: [1, 0, 2] });
    t.send('s', recvMsg80(7654321, '<b>only</b> html &amp; markup<br>second line', Buffer.alloc(0)));
    t.send('c', Buffer.concat([sendMsgOld(7654321, PL_CP1250), pkt(0x08, Buffer.alloc(0))]));
    // multilogon: a message this account sent from another device, echoed to this session
    const own = recvMsg80(7654321, '', Buffer.from('from my phone'));
    own.writeUInt32LE(0x5a, 0);
    t.send('s', own);
    t.close();
    // tshark reads the capture before it is removed; its answers are checked last
    let uin = '', oldText = '';
    const events = analyzeCapture(c, (f) => {
      if (!haveTshark()) return;
      uin = execFileSync('tshark', ['-r', f, '-Y', 'gadu-gadu.login.uin', '-T', 'fields', '-e', 'gadu-gadu.login.uin'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
      oldText = execFileSync('tshark', ['-o', 'tcp.reassemble_out_of_order:TRUE', '-r', f, '-Y', 'gadu-gadu.msg.text', '-T', 'fields', '-e', 'gadu-gadu.msg.text'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    });
    const s = events.filter((e) => e.type === 'session');
    assert.equal(s.length, 1);
    assert.equal(s[0].protocol, 'gadugadu');
    assert.ok(s[0].users.includes('1234567') && s[0].users.includes('7654321'));
    const msgs = events.filter((e) => e.type === 'message').map((e) => [e.from, e.to, e.text, e.direction]);
    assert.deepEqual(msgs, [
      ['1234567', '7654321', PL, 'outbound'],
      ['7654321', '1234567', 'only html & markup\nsecond line', 'inbound'],
      ['1234567', '7654321', PL, 'outbound'],
      ['1234567', '7654321', 'from my phone', 'outbound'],
    ]);
    assert.equal(events.filter((e) => e.type === 'credential').length, 0, 'a password hash is not a cleartext credential');
    if (!haveTshark()) return;
    assert.equal(uin, '1234567');
    assert.equal(oldText, PL);
  });

  it('not Gadu-Gadu: a welcome-shaped greeting without a login, or a client speaking first', () => {
    const h1 = new FlowHarness({ server: '198.51.100.7:8074' });
    h1.send('s', welcome).send('c', Buffer.from('GET / HTTP/1.1\r\n\r\n')).end();
    assert.equal(h1.of('session').filter((e) => e.protocol === 'gadugadu').length, 0);
    const h2 = new FlowHarness({ server: '198.51.100.7:8074' });
    h2.send('c', Buffer.from([0x05, 0, 0, 0, 0x10, 0, 0, 0, 1, 2, 3])).send('s', Buffer.alloc(40, 7)).end();
    assert.equal(h2.of('session').filter((e) => e.protocol === 'gadugadu').length, 0);
  });

  it('a session picked up after its login (no SYN, no welcome): recognised from a well-formed message, read; tshark finds the same message packets', () => {
    const c = new Capture();
    const t = c.tcp('10.1.1.10:40002', '91.214.237.10:8074');
    // no open(): the capture starts in the middle of a logged-in session
    t.send('c', pkt(0x08, Buffer.alloc(0)));
    t.send('s', pkt(0x07, Buffer.alloc(0)));
    t.send('c', sendMsg80(7654321, '<span>Zażółć gęślą jaźń</span>', PL_CP1250), { segment: 30 });
    t.send('s', Buffer.concat([pkt(0x05, Buffer.concat([u32(2), u32(7654321), u32(1)])), recvMsg80(7654321, '', Buffer.from('got it'))]));
    let theirs: string[] = [];
    const events = analyzeCapture(c, (f) => {
      if (!haveTshark()) return;
      // tshark's gadu-gadu dissector (port 8074) frames the same packets mid-stream: a GG 8.0 message each
      // way, with the peers we report (tshark 4.0 shows no text for GG 8.0 messages)
      theirs = execFileSync('tshark', ['-r', f, '-Y', 'gadu-gadu.msg80.offset_plain', '-T', 'fields', '-e', 'gadu-gadu.msg.recipient', '-e', 'gadu-gadu.msg.sender'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim().split('\n');
    });
    const s = events.filter((e) => e.type === 'session');
    assert.equal(s.length, 1, JSON.stringify(events));
    assert.equal(s[0].protocol, 'gadugadu');
    assert.equal(s[0].evidence[0].signature, 'gadugadu.after-login');
    assert.deepEqual(s[0].client, { ip: '10.1.1.10', port: 40002 }, 'the client is the side away from port 8074');
    const msgs = events.filter((e) => e.type === 'message').map((e) => [e.from, e.to, e.text, e.direction]);
    assert.deepEqual(msgs, [['?', '7654321', PL, 'outbound'], ['7654321', '?', 'got it', 'inbound']]);
    if (!haveTshark()) return;
    assert.deepEqual(theirs, ['7654321\t', '\t7654321']);
  });

  it('without its SYN, a login that arrives before the welcome (a tap\'s two ports slightly out of order) still waits for it', () => {
    const c = new Capture();
    const t = c.tcp('10.1.1.10:40002', '91.214.237.10:8074');
    t.send('c', login80(1234567));
    t.send('s', welcome);
    t.send('c', sendMsg80(7654321, '', Buffer.from('after the login')));
    const r = shadowim(['analyze', '-', '--format', 'jsonl'], { input: c.pcap() });
    assert.equal(r.status, 0, r.stderr);
    const s = r.events.filter((e) => e.type === 'session');
    assert.deepEqual(s.map((x) => [x.protocol, x.evidence[0].signature]), [['gadugadu', 'gadugadu.login']]);
    assert.deepEqual(r.events.filter((e) => e.type === 'message').map((e) => [e.from, e.text]), [['1234567', 'after the login']]);
  });

  it('not picked up as GG: framing alone (pings, acks, status), a message body that does not read as one, other binary protocols on 8074', () => {
    const run = (client: Buffer[], server: Buffer[]) => {
      const c = new Capture();
      const t = c.tcp('10.1.1.10:40002', '91.214.237.10:8074');
      const n = Math.max(client.length, server.length);
      for (let i = 0; i < n; i++) {
        if (client[i]) t.send('c', client[i]);
        if (server[i]) t.send('s', server[i]);
      }
      const r = shadowim(['analyze', '-', '--format', 'jsonl'], { input: c.pcap() });
      assert.equal(r.status, 0, r.stderr);
      return r.events.filter((e) => e.type === 'session');
    };
    const ping = pkt(0x08, Buffer.alloc(0)), pong = pkt(0x07, Buffer.alloc(0));
    assert.deepEqual(run([ping, ping, ping], [pong, pong, pong]), [], 'pings and pongs alone');
    // a message packet whose class is 0, whose offsets point outside, or whose text is empty
    const bad1 = sendMsg80(1, 'x', Buffer.from('hello'));
    bad1.writeUInt32LE(0, 8 + 8);
    const bad2 = sendMsg80(1, 'x', Buffer.from('hello'));
    bad2.writeUInt32LE(4000, 8 + 12);
    const bad3 = sendMsg80(1, '', Buffer.alloc(0));
    assert.deepEqual(run([ping, bad1, bad2, bad3], [pong]), []);
    // a message type in the direction it never travels (a client "receiving" into the server)
    assert.deepEqual(run([recvMsg80(5, '', Buffer.from('hi'))], [pong]), []);
    // little-endian type/length framing with other types (a game or RPC protocol), TLS, text
    assert.deepEqual(run([Buffer.from([0x2d, 0, 0, 0, 4, 0, 0, 0, 1, 2, 3, 4, 0x99, 0, 0, 0, 0, 0, 0, 0])], [Buffer.from([0x99, 0, 0, 0, 0, 0, 0, 0])]), []);
    assert.deepEqual(run([Buffer.from('160301020001', 'hex')], []), []);
    assert.deepEqual(run([Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')], [Buffer.from('HTTP/1.1 200 OK\r\n\r\n')]), []);
  });

  it('an absurd length is counted malformed, no exception; reading resumes at the next segment that starts a packet', () => {
    const h = new FlowHarness({ server: '198.51.100.7:443' });
    h.send('s', welcome).send('c', login80(42));
    h.send('c', Buffer.concat([pkt(0x2d, Buffer.alloc(4)), Buffer.from([0x2d, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f])]));
    // text, then a segment whose header is no packet a client sends: still out of step
    h.send('c', Buffer.from('more of the broken packet, no header here'));
    h.send('c', Buffer.concat([u32(0x2e), u32(12), Buffer.alloc(12)]));
    h.send('c', sendMsg80(1, 'x', Buffer.from('after the loss')));
    h.end();
    const s = h.of('session')[0];
    assert.equal(s.protocol, 'gadugadu');
    assert.ok((s.malformed ?? 0) >= 2, `malformed ${s.malformed}`);
    assert.deepEqual(h.of('message').map((m) => m.text), ['after the loss']);
  });

  it('out of step, the search for a packet start is bounded: hostile segments that almost frame cost a few header checks a byte, and nothing is held', () => {
    let checks = 0;
    const packets: number[] = [];
    const f = new PacketFramer((p) => packets.push(p.type), () => {}, 65536, (type, len) => (checks++, type === 0x0f && len === 0));
    f.gap();
    // 31 empty packets of an accepted type, then a header of none, over and over: every start fails late
    const unit = Buffer.concat([...Array.from({ length: 31 }, () => pkt(0x0f, Buffer.alloc(0))), Buffer.from([0x10, 0, 0, 0, 0, 0, 0, 0])]);
    const chunk = Buffer.concat(Array.from({ length: Math.ceil(65536 / unit.length) + 1 }, () => unit)).subarray(3, 65536 + 3);
    let bytes = 0;
    for (let i = 0; i < 64; i++, bytes += chunk.length) f.push(chunk);
    assert.deepEqual(packets, []);
    assert.equal(f.buffered, 0);
    assert.ok(checks <= 40 * bytes, `${checks} header checks for ${bytes} bytes`);
  });

  // review: a start searched for inside a segment locked onto a packet a peer wrote inside its
  // message, and a login packet met after a loss renamed the account
  it('after a loss, no packet start is taken from inside a message, and no login packet names the account', () => {
    const h = new FlowHarness({ server: '91.214.237.10:8074' });
    h.send('s', welcome).send('c', login80(42));
    const gap = (d: 0 | 1) => (h as any).handler.onGap(d, 100, 0);
    // a long message from 666 whose first segment is lost: its second one holds, in its text, a pong
    // and a whole message "from 1111" that ends with the segment
    const fake = recvMsg80(1111, '', Buffer.from('please wire 5000 PLN to 123'));
    const long = recvMsg80(666, '', Buffer.concat([Buffer.alloc(1200, 0x61), pkt(0x07, Buffer.alloc(0)), fake]));
    h.send('s', long.subarray(0, 1000));
    gap(1);
    h.send('s', long.subarray(1000 + 100));
    h.send('s', recvMsg80(7, '', Buffer.from('real, after the loss')));
    // the client side: after a loss, a login packet among whole packets is no start, nor read later
    gap(0);
    h.send('c', Buffer.concat([pkt(0x08, Buffer.alloc(0)), login80(1111)]));
    h.send('c', pkt(0x08, Buffer.alloc(0)));
    h.send('c', login80(2222));
    h.send('c', sendMsg80(7, '', Buffer.from('mine')));
    h.end();
    assert.deepEqual(h.of('message').map((m) => [m.from, m.to, m.text]), [['7', '42', 'real, after the loss'], ['42', '7', 'mine']]);
    assert.deepEqual(h.of('session')[0].users.sort(), ['42', '7']);
  });

  // one lost segment ended the direction for the rest of the session (GG connections last for hours)
  it('a lost segment costs the packets it held, not the rest of the direction (through the CLI)', () => {
    const c = new Capture();
    const t = c.tcp('10.1.1.10:40002', '91.214.237.10:8074');
    t.open();
    t.send('s', welcome);
    t.send('c', login80(1234567));
    t.send('s', recvMsg80(7654321, '', Buffer.from('before the loss')));
    t.send('s', recvMsg80(7654321, '', Buffer.from('lost with its segment')), { drop: [0] });
    // a long message in three segments, its middle one lost: the third starts inside it
    t.send('s', recvMsg80(7654321, '', Buffer.from('x'.repeat(2500))), { segment: 1000, drop: [1] });
    t.send('s', recvMsg80(7654321, '', Buffer.from('after the loss')));
    t.send('c', sendMsg80(7654321, '', Buffer.from('the other direction never stopped')));
    t.close();
    const events = analyzeCapture(c);
    // (the bytes after a hole are handed on when the reassembler gives up waiting for it: later)
    assert.deepEqual(events.filter((e) => e.type === 'message').map((e) => [e.from, e.text]).sort(), [
      ['1234567', 'the other direction never stopped'],
      ['7654321', 'after the loss'],
      ['7654321', 'before the loss'],
    ]);
    assert.equal(events.find((e) => e.type === 'session')?.malformed, 2, 'each hole counted');
  });

  boundedIt(__filename, 'seeded fuzz: mutated sessions picked up after their login never throw; unmutated ones are found', fuzzSeconds(120), () => {
    let seed = fuzzSeed(11);
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const streams: Array<[Buffer, Buffer]> = [
      [Buffer.concat([pkt(0x08, Buffer.alloc(0)), sendMsg80(7654321, '<b>x</b>', PL_CP1250)]), Buffer.concat([pkt(0x07, Buffer.alloc(0)), recvMsg80(7654321, '', Buffer.from('back'))])],
      [sendMsg80(42, 'only html', Buffer.alloc(0)), pkt(0x05, Buffer.concat([u32(2), u32(42), u32(1)]))],
    ];
    let found = 0;
    const cases = fuzzCases(4000);
    for (let i = 0; i < cases; i++) {
      const [c, s] = streams[i % streams.length].map((b) => Buffer.from(b));
      const mutate = i % 4 !== 0;
      if (mutate) for (const b of [c, s]) for (let k = Math.floor(rnd() * 4); k >= 0; k--) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
      const h = new FlowHarness({ server: '91.214.237.10:8074', clientBy: 'port' });
      // random split points, as segments would arrive
      const cut = Math.floor(rnd() * c.length);
      h.send('c', c.subarray(0, cut)).send('s', s).send('c', c.subarray(cut)).end();
      for (const e of h.events) JSON.stringify(e);
      assert.equal(h.engine.stats.decoderErrors, 0, `case ${i}`);
      if (!mutate && h.of('session').some((x) => x.protocol === 'gadugadu')) found++;
    }
    assert.equal(found, Math.ceil(cases / 4), 'every unmutated session picked up');
  });

  boundedIt(__filename, 'seeded fuzz: random packets never throw', fuzzSeconds(120), () => {
    let seed = fuzzSeed(7);
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    let n = 0;
    const f = new PacketFramer((p) => {
      n++;
      msg80(p);
      // random bytes as GG 10/11 protobuf bodies too (most are refused: they must be refused quietly)
      msg110(p.body, true);
      login105Uin(p.body);
    }, () => undefined);
    for (let i = 0, cases = fuzzCases(300); i < cases; i++) {
      const body = Buffer.alloc(Math.floor(rnd() * 200));
      for (let j = 0; j < body.length; j++) body[j] = Math.floor(rnd() * 256);
      // GG 8 and older, then the GG 10/11 protobuf packets (GG_SEND_MSG110 … GG_LOGIN110_OK, GG_LOGIN105)
      const types = [0x2d, 0x2e, 0x0b, 0x0a, 0x31, 0x7d, 0x7e, 0x82, 0x88, 0x8d, 0x8e, 0x9d, 0x83];
      const type = types[Math.floor(rnd() * types.length)];
      const p = pkt(type, body);
      f.push(p);
      const h = new FlowHarness({ server: '198.51.100.7:8074' });
      h.send('s', welcome).send('c', login80(99)).send([0x2e, 0x0a, 0x7e, 0x82, 0x88, 0x8e, 0x9d].includes(type) ? 's' : 'c', p).end();
      assert.equal(h.engine.stats.decoderErrors, 0, `case ${i}`);
    }
    assert.ok(n > 0);
  });
});
