// YCHT (Yahoo chat rooms) through the engine (FlowHarness). Ground truth: the packet layout of
// libpurple's ycht.c and NO5's YahooChat.cpp, built by hand in ymsg-ycht-wire.ts. tshark 4.0 has no
// YCHT dissector (`tshark -G protocols` lists YMSG only), so there is no second reading to compare.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { REPO } from '../helpers/paths';
import { FlowHarness } from '../helpers/harness';
import { module as ymsg } from '../../signatures/ymsg';
import { YchtFramer, ychtFields, YCHT_HEADER } from '../../signatures/ymsg/ycht';
import type { DetectInput } from '../../signatures/types';
import { randomBytes } from './msn-wire';
import { client, joined, login, packet, server, SVC } from './ymsg-ycht-wire';

const ME = 'corp_user42';
const ROOM = 'Linux, FreeBSD, Solaris:1';
const OTHER = 'sgooki888';

function detectOn(data: string | Buffer, clientBy?: 'syn' | 'port' | 'first') {
  const b = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
  const input = { transport: 'tcp', dir: 0, data: b, other: Buffer.alloc(0), packetIndex: 0, flow: { clientBy } as any, lookup: { host: () => undefined, ip: () => undefined } } as DetectInput;
  return ymsg.detect(input, { id: 'ymsg' });
}

function msgs(h: FlowHarness) {
  return h.of('message').map((m) => [m.from, m.to, m.text, m.direction, (m as any).kind]);
}

/** a whole conversation: login, join, own message and its echo, others' text, an emote, a part */
function conversation(): ['c' | 's', Buffer][] {
  return [
    ['c', login(ME)],
    ['s', server(SVC.LOGIN, [ME, 'badword1,badword2'])],
    ['c', client(SVC.JOIN, [ROOM])],
    ['s', joined(ROOM, 'Questions, problems and discussions about all flavors of Unix.', [OTHER, ME, 'lurker_7'])],
    ['c', client(SVC.SAY, [ROOM, 'hello room'])],
    ['s', server(SVC.SAY, [ROOM, ME, 'hello room'])],
    ['s', server(SVC.SAY, [ROOM, OTHER, '\x1b[#ff0000m<font face="Arial" size="10">hi there</font>'])],
    ['s', server(SVC.EMOTE, [ROOM, OTHER, 'waves'])],
    ['s', server(SVC.PART, [ROOM, OTHER])],
    ['c', client(SVC.PING, [])],
  ];
}

const EXPECTED = [
  [ME, ROOM, 'hello room', 'outbound', 'groupchat'],
  [OTHER, ROOM, 'hi there', 'inbound', 'groupchat'],
  [OTHER, ROOM, `* ${OTHER} waves`, 'inbound', 'groupchat'],
];

describe('ycht: detection', () => {
  it('claims a YCHT header with a consistent length from the first byte, either side, also chained packets', () => {
    const d = detectOn(login(ME)) as any;
    assert.deepEqual([d.protocol, d.evidence.signature], ['yahoo', 'ycht.header']);
    assert.equal((detectOn(server(SVC.LOGIN, [ME, 'x'])) as any).evidence.signature, 'ycht.header');
    assert.equal((detectOn(Buffer.concat([client(SVC.PING, []), client(SVC.JOIN, [ROOM])])) as any).evidence.signature, 'ycht.header');
    assert.equal(detectOn(login(ME).subarray(0, 10)), 'more');
    assert.equal(detectOn('YC'), 'more');
  });

  it('does not claim the magic with random bytes, a length that lies, an unknown service or NULs in the body', () => {
    for (let seed = 1; seed <= 200; seed++) assert.equal(detectOn(Buffer.concat([Buffer.from('YCHT'), randomBytes(120, seed)])), null, `seed ${seed}`);
    const lying = Buffer.from(login(ME));
    lying.writeUInt16BE(5, 14);
    assert.equal(detectOn(lying), null, 'a length that does not match and no header after it');
    assert.equal(detectOn(packet(0x99, Buffer.from('x'))), null, 'service no source names');
    assert.equal(detectOn(packet(SVC.SAY, Buffer.from('a\x00b'))), null, 'NUL in a C-string body');
    assert.equal(detectOn(packet(SVC.SAY, Buffer.from('ab'), { version: 0x10000 })), null, 'version with a high half');
    assert.equal(detectOn('YCHT is an airport code (Charters Towers)\r\n'), null);
  });

  it('"YCHT" inside HTTP or SMTP is not a session, with or without the handshake; mid-stream pickup is', () => {
    const pkt = server(SVC.SAY, [ROOM, OTHER, 'inside']);
    const http = Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${pkt.length}\r\n\r\n`), pkt]);
    const smtp = Buffer.concat([Buffer.from('DATA\r\nSubject: capture\r\n\r\n'), pkt, Buffer.from('\r\n.\r\n')]);
    for (const by of ['syn', 'port'] as const) {
      for (const [what, bytes, dir] of [['http', http, 's'], ['smtp', smtp, 'c']] as const) {
        const h = new FlowHarness({ server: '203.0.113.5:8001', clientBy: by });
        if (what === 'smtp') h.send('s', '220 mail.example.com ESMTP\r\n');
        else h.send('c', 'GET /capture.bin HTTP/1.1\r\nHost: example.com\r\n\r\n');
        h.send(dir, bytes);
        h.end();
        assert.deepEqual(h.of('session').filter((s) => s.protocol === 'yahoo'), [], `${what} ${by}`);
      }
    }
    // without its SYN: 'more' is YMSG waiting for a whole PDU, never a detection
    for (const b of [smtp, http, Buffer.concat([pkt.subarray(30), pkt, Buffer.from('\r\n.\r\n')])]) assert.ok([null, 'more'].includes(detectOn(b, 'port') as any), b.toString('latin1'));
    // picked up without the SYN: the tail of one packet, then whole ones
    const tail = server(SVC.SAY, [ROOM, OTHER, 'cut off']).subarray(20);
    assert.equal((detectOn(Buffer.concat([tail, pkt]), 'port') as any).evidence.signature, 'ycht.midstream');
    assert.equal(detectOn(Buffer.concat([tail, pkt]), 'syn'), null, 'with its SYN a flow must start with the header');
  });
});

describe('ycht: sessions and messages', () => {
  it('join, messages both ways (the echo once), emote, part: users, service ycht, evidence, a cookie credential', () => {
    const h = new FlowHarness({ client: '10.1.1.10:40000', server: '203.0.113.5:8001' });
    for (const [d, b] of conversation()) h.send(d, b);
    h.end();
    assert.deepEqual(msgs(h), EXPECTED);
    const [s] = h.of('session');
    assert.equal(s.protocol, 'yahoo');
    assert.equal((s as any).service, 'ycht');
    assert.equal(s.evidence[0].signature, 'ycht.header');
    assert.deepEqual([...s.users].sort(), [ME, OTHER, 'lurker_7'].sort());
    assert.equal((s as any).malformed, undefined);
    const creds = h.of('credential' as any) as any[];
    assert.deepEqual(creds.map((c) => [c.user, c.mechanism]), [[ME, 'yahoo-y-t-cookies']]);
    assert.ok(!JSON.stringify(h.events).includes('abcdefghijkl'), 'the Y cookie is never carried');
  });

  it('the same text said twice is two messages; another member saying it is not taken for the echo', () => {
    const h = new FlowHarness({ server: '203.0.113.5:8001' });
    h.send('c', login(ME));
    for (let i = 0; i < 2; i++) {
      h.send('c', client(SVC.SAY, [ROOM, 'lol']));
      h.send('s', server(SVC.SAY, [ROOM, ME, 'lol']));
    }
    h.send('c', client(SVC.SAY, [ROOM, 'same']));
    h.send('s', server(SVC.SAY, [ROOM, OTHER, 'same']));
    h.send('s', server(SVC.SAY, [ROOM, ME, 'same']));
    h.end();
    assert.deepEqual(msgs(h).map((m) => [m[0], m[2]]), [[ME, 'lol'], [ME, 'lol'], [ME, 'same'], [OTHER, 'same']]);
  });

  it('login not captured: the first echo names us, so another member saying our line later is not taken for its echo', () => {
    const h = new FlowHarness({ server: '203.0.113.5:8001' });
    h.send('c', client(SVC.SAY, [ROOM, 'hello']));
    h.send('s', server(SVC.SAY, [ROOM, ME, 'hello']));
    h.send('c', client(SVC.SAY, [ROOM, 'brb']));
    h.send('s', server(SVC.SAY, [ROOM, OTHER, 'brb']));
    h.send('s', server(SVC.SAY, [ROOM, ME, 'brb']));
    h.end();
    assert.deepEqual(msgs(h).map((m) => [m[0], m[2], m[3]]), [['(unknown)', 'hello', 'outbound'], [ME, 'brb', 'outbound'], [OTHER, 'brb', 'inbound']]);
  });

  it('split a byte per segment, and all packets in one segment: the same messages', () => {
    const all = conversation();
    const bytewise = new FlowHarness({ server: '203.0.113.5:8001' });
    for (const [d, b] of all) for (let i = 0; i < b.length; i++) bytewise.send(d, b.subarray(i, i + 1));
    bytewise.end();
    assert.deepEqual(msgs(bytewise), EXPECTED);
    const coalesced = new FlowHarness({ server: '203.0.113.5:8001' });
    coalesced.send('c', Buffer.concat(all.filter((x) => x[0] === 'c').slice(0, 2).map((x) => x[1])));
    coalesced.send('s', Buffer.concat(all.filter((x) => x[0] === 's').map((x) => x[1])));
    coalesced.end();
    // the client's own line was not seen before the echo here, so the echo is the message
    assert.deepEqual(msgs(coalesced), [[ME, ROOM, 'hello room', 'inbound', 'groupchat'], ...EXPECTED.slice(1)]);
  });

  it('UTF-8 and Windows-1252 text, decoded like YMSG chat text', () => {
    const h = new FlowHarness({ server: '203.0.113.5:8001' });
    h.send('c', login(ME));
    h.send('c', client(SVC.SAY, [ROOM, Buffer.from('Grüße – 日本語 ✓', 'utf8')]));
    h.send('s', server(SVC.SAY, [ROOM, OTHER, Buffer.from([0x93, 0x63, 0x61, 0x66, 0xe9, 0x94, 0x20, 0x80, 0x35])]));
    h.end();
    assert.deepEqual(msgs(h).map((m) => m[2]), ['Grüße – 日本語 ✓', '\u201ccafé\u201d €5']);
  });

  it('one direction only: the server side alone, the client side alone', () => {
    const s = new FlowHarness({ server: '203.0.113.5:8001' });
    for (const [d, b] of conversation()) if (d === 's') s.send(d, b);
    s.end();
    assert.deepEqual(msgs(s), [[ME, ROOM, 'hello room', 'inbound', 'groupchat'], ...EXPECTED.slice(1)]);
    const c = new FlowHarness({ server: '203.0.113.5:8001' });
    for (const [d, b] of conversation()) if (d === 'c') c.send(d, b);
    c.send('c', client(SVC.EMOTE, [ROOM, 'nods']));
    c.end();
    assert.deepEqual(msgs(c), [EXPECTED[0], [ME, ROOM, `* ${ME} nods`, 'outbound', 'groupchat']]);
    assert.equal(c.of('session')[0].users.join(), ME);
  });

  it('picked up mid-stream (no SYN): the tail of a packet skipped, then decoded', () => {
    const h = new FlowHarness({ server: '203.0.113.5:8001', clientBy: 'port' });
    const cut = server(SVC.SAY, [ROOM, OTHER, 'lost half']);
    h.send('s', Buffer.concat([cut.subarray(17), server(SVC.SAY, [ROOM, OTHER, 'whole one'])]));
    h.send('s', server(SVC.SAY, [ROOM, 'third_guy', 'and another']));
    h.end();
    assert.deepEqual(msgs(h).map((m) => [m[0], m[2]]), [[OTHER, 'whole one'], ['third_guy', 'and another']]);
    assert.equal(h.of('session')[0].evidence[0].signature, 'ycht.midstream');
  });

  it('a client packet is read as a client packet: C0 80 in what the client sends does not name another sender', () => {
    const h = new FlowHarness({ server: '203.0.113.5:8001' });
    h.send('c', login(ME));
    h.send('s', server(SVC.LOGIN, [ME, 'x']));
    const C080 = Buffer.from([0xc0, 0x80]);
    // the server's field layout written by the client: room C0 80 "sender" C0 80 text
    h.send('c', packet(SVC.SAY, Buffer.concat([Buffer.from(ROOM), C080, Buffer.from('ceo_jane'), C080, Buffer.from('approve the wire')])));
    // C0 80 inside the text of an ordinary "room\x01text"
    h.send('c', client(SVC.SAY, [ROOM, Buffer.concat([Buffer.from('a'), C080, Buffer.from('ceo_jane'), C080, Buffer.from('b')])]));
    h.end();
    const got = msgs(h);
    assert.equal(got.length, 2);
    for (const m of got) assert.deepEqual([m[0], m[1], m[3]], [ME, ROOM, 'outbound'], JSON.stringify(m));
    assert.ok(!h.of('session')[0].users.includes('ceo_jane'));
  });

  it('private messages inside the chat (0x45, NO5 layout) are kind chat', () => {
    const h = new FlowHarness({ server: '203.0.113.5:8001' });
    h.send('c', login(ME));
    h.send('c', client(SVC.PM, [ME, OTHER, 'psst']));
    h.send('s', server(SVC.PM, [OTHER, ME, 'yes?']));
    h.end();
    assert.deepEqual(msgs(h), [[ME, OTHER, 'psst', 'outbound', 'chat'], [OTHER, ME, 'yes?', 'inbound', 'chat']]);
  });
});

describe('ycht: hostile input', () => {
  it('a lying length (the stream ends inside), garbage between packets and a header no source writes are counted, decoding goes on', () => {
    const h = new FlowHarness({ server: '203.0.113.5:8001' });
    h.send('c', login(ME));
    h.send('s', Buffer.concat([server(SVC.SAY, [ROOM, OTHER, 'before']), Buffer.from('garbage!'), packet(SVC.SAY, Buffer.from('x'), { version: 0x7fff0000 }), server(SVC.SAY, [ROOM, OTHER, 'after'])]));
    const lying = Buffer.from(server(SVC.SAY, [ROOM, OTHER, 'never whole']));
    lying.writeUInt16BE(60000, 14);
    h.send('s', lying);
    h.end();
    assert.deepEqual(msgs(h).map((m) => m[2]), ['before', 'after']);
    assert.equal((h.of('session')[0] as any).malformed, 2, 'the garbage run once, the cut packet once');
  });

  it('a body of 32,000 separators is read to a bounded number of fields; members are capped', () => {
    const many = Buffer.alloc(64000);
    for (let i = 0; i < many.length; i += 2) many.set([0xc0, 0x80], i);
    assert.ok(ychtFields(many).length <= 256);
    const h = new FlowHarness({ server: '203.0.113.5:8001' });
    h.send('c', login(ME));
    h.send('s', packet(SVC.SAY, many));
    h.send('s', server(SVC.JOIN, [ROOM, 't', 'c', '0', Array.from({ length: 5000 }, (_, i) => `u${i}\x020`).join('\x01')]));
    h.send('s', server(SVC.SAY, [ROOM, OTHER, 'still here']));
    h.end();
    assert.deepEqual(msgs(h).map((m) => m[2]), ['still here']);
    assert.ok(h.of('session')[0].users.length <= 600);
  });

  it('the framer holds at most one packet: 1 MiB of bytes a segment at a time never grows it past 64 KiB', () => {
    let n = 0;
    const f = new YchtFramer(() => n++, () => {});
    const big = packet(SVC.SAY, Buffer.alloc(65535, 0x61));
    let max = 0;
    for (let i = 0; i < 16; i++) {
      for (let o = 0; o < big.length; o += 1000) {
        f.push(big.subarray(o, o + 1000));
        max = Math.max(max, f.buffered);
      }
    }
    assert.equal(n, 16);
    assert.ok(max < YCHT_HEADER + 65535, String(max));
  });

  it('own lines waiting for their echo cost a few bytes each, not their text: 8 flows x 32 lines of 64 KB hold well under 1 MB', function () {
    this.timeout(120_000);
    // before: each waiting line kept room and text as a string, up to 2 MB a flow
    const script = `
      const { FlowHarness } = require('./test/helpers/harness');
      const { client, login, SVC } = require('./test/signatures/ymsg-ycht-wire');
      const held = () => { gc(); gc(); const m = process.memoryUsage(); return m.heapUsed + m.arrayBuffers; };
      const flows = [];
      for (let f = 0; f < 8; f++) { const h = new FlowHarness({ server: '203.0.113.5:8001' }); h.send('c', login('me' + f)); flows.push(h); }
      const before = held();
      for (const h of flows) for (let i = 0; i < 32; i++) h.send('c', client(SVC.SAY, ['room', ' '.repeat(64000 - i)]));
      console.log(JSON.stringify({ held: held() - before, kept: flows.length }));
    `;
    const r = spawnSync(process.execPath, ['--expose-gc', '--max-old-space-size=512', '-r', 'tsx/cjs', '-e', script], { cwd: REPO, encoding: 'utf8', timeout: 100_000, killSignal: 'SIGKILL' });
    assert.equal(r.status, 0, r.stderr.slice(-2000));
    const out = JSON.parse(r.stdout);
    assert.ok(out.held < 1_000_000, `${out.held} bytes held by 256 waiting lines`);
  });
});
