// AIM chat rooms through the real command line: a generated capture of a chat-server connection (room
// info, users joined/left, messages both ways with reflection, UTF-16BE / Windows-1252 / HTML, byte-by-
// byte and reordered segments, several SNACs per segment) and one picked up mid-stream on 443, with
// tshark's aim_chat dissector as the oracle for what it can read (the server's message texts, joined users).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { Capture } from '../helpers/pcapgen';
import { analyzeFile } from '../helpers/analyze';
import { Flaps, bosOpening, bosOn443, chatIncoming, chatRoomInfo, chatSend, chatUsers } from './oscar-wire';

const haveTshark = spawnSync('tshark', ['-v']).status === 0;

const ME = 'CorpAnalyst9';
const ROOM = 'Q3 Pricing';
const UTF16_TEXT = 'Zürich 東京 ok';
const ck = (n: number) => Buffer.from(`5eed000000000a${n.toString(16).padStart(2, '0')}`, 'hex');
const html = (s: string) => Buffer.from(`<HTML><BODY BGCOLOR="#ffffff">${s}</BODY></HTML>`, 'latin1');

describe('oscar chat rooms: analyze on a generated capture', function () {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-oscar-chat-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'chat.pcap');

  /**
   * `stress`: several SNACs per segment, our message byte by byte, one message in reversed 9-byte
   * segments with a retransmission. Without it every SNAC is a segment of its own: tshark's aim
   * dissector shows only the last PDU of a frame in its Info column, the one place it puts chat texts.
   */
  function build(stress: boolean): Capture {
    // the BOS connection on 443 (signed on as ME), then the chat-server connection on 5190
    const bos = bosOn443(ME);
    bos.t.close();
    const cap = bos.cap;
    const t = cap.tcp('10.20.0.5:50400', '64.12.28.10:5190').open();
    const c = new Flaps(0x0300), s = new Flaps(0x7000);
    const send = (d: 'c' | 's', snacs: Buffer[], opts: Parameters<typeof t.send>[2] = {}) => {
      if (stress) t.send(d, Buffer.concat(snacs), opts);
      else for (const x of snacs) t.send(d, x);
    };
    for (const [d, b] of bosOpening(c, s, { cookieBytes: 256 })) t.send(d, b);
    send('s', [
      chatRoomInfo(s, { exchange: 4, cookie: `!aol://2719:10-4-${ROOM.replace(' ', '%20')}`, name: ROOM, occupants: [ME, 'alice'] }),
      chatUsers(s, 3, ['bob.sales']),
    ]);
    // our message and its reflection
    const mine = html('forecast <B>attached</B> &amp; final &gt; draft');
    send('c', [chatSend(c, { cookie: ck(1), text: mine, encoding: 'us-ascii' })], { segment: 1 });
    send('s', [
      chatIncoming(s, { cookie: ck(1), sender: ME, text: mine, encoding: 'us-ascii' }),
      chatIncoming(s, { cookie: ck(2), sender: 'alice', text: Buffer.from('Zürich 東京 <b>ok</b>', 'utf16le').swap16(), encoding: 'unicode-2-0' }),
      chatIncoming(s, { cookie: ck(3), sender: 'bob.sales', text: Buffer.concat([Buffer.from('<HTML>caf'), Buffer.from([0xe9, 0x20, 0x93]), Buffer.from('ok'), Buffer.from([0x94, 0x20, 0x80]), Buffer.from('5</HTML>')]), encoding: 'iso-8859-1' }),
    ]);
    const late = chatIncoming(s, { cookie: ck(4), sender: 'alice', text: html('got them, thanks'), encoding: 'us-ascii' });
    const n = Math.ceil(late.length / 9);
    send('s', [late], { segment: 9, reorder: Array.from({ length: n }, (_, i) => n - 1 - i), retransmit: [3] });
    send('s', [chatUsers(s, 4, ['bob.sales'])]);
    t.close();

    // a chat connection already open when the capture started, on 443: no handshake, the first segment starts inside a SNAC
    const m = cap.tcp('10.20.0.5:50410', '64.12.28.11:443');
    const c2 = new Flaps(0x0900), s2 = new Flaps(0x1200);
    const cut = chatIncoming(s2, { cookie: ck(9), sender: 'carol', text: html('we see only the tail of this') });
    m.send('s', Buffer.concat([cut.subarray(40), chatIncoming(s2, { cookie: ck(10), sender: 'carol', text: html('night shift starts at ten') }), chatIncoming(s2, { cookie: ck(11), sender: 'dave', text: html('copy that') })]));
    m.send('c', chatSend(c2, { cookie: ck(12), text: html('on my way'), reflect: false }));
    m.send('c', chatSend(c2, { cookie: ck(13), text: html('bringing the keys') }));
    return cap;
  }

  const oracleFile = path.join(dir, 'chat-one-snac-per-segment.pcap');
  before(() => {
    fs.writeFileSync(file, build(true).pcap());
    fs.writeFileSync(oracleFile, build(false).pcap());
  });

  it('reports every room message once, as groupchat to the room, with plain text in each charset', () => {
    const ev = analyzeFile(file).events;
    const room = ev.filter((e) => e.type === 'message' && e.server.port === 5190);
    assert.deepEqual(room.map((e) => [e.from, e.to, e.text, e.kind, e.direction]), [
      [ME, ROOM, 'forecast attached & final > draft', 'groupchat', 'outbound'],
      ['alice', ROOM, UTF16_TEXT, 'groupchat', 'inbound'],
      ['bob.sales', ROOM, 'café “ok” €5', 'groupchat', 'inbound'],
      ['alice', ROOM, 'got them, thanks', 'groupchat', 'inbound'],
    ]);
    const sess = ev.filter((e) => e.type === 'session' && e.server.port === 5190);
    assert.equal(sess.length, 1);
    assert.equal(sess[0].protocol, 'aim');
    assert.equal(sess[0].service, 'chat-room');
    assert.deepEqual([...sess[0].users].sort(), [ME, 'alice', 'bob.sales'].sort());
    assert.ok(!sess[0].malformed, `malformed ${sess[0].malformed}`);
    // the BOS connection is still an ordinary AIM session
    const bos = ev.find((e) => e.type === 'session' && e.server.port === 443 && e.server.ip === '64.12.24.50');
    assert.equal(bos?.protocol, 'aim');
    assert.notEqual(bos?.service, 'chat-room');
  });

  it('a chat connection picked up mid-stream on 443 is found and read; its room and our name are unknown', () => {
    const ev = analyzeFile(file).events;
    const sess = ev.filter((e) => e.type === 'session' && e.server.ip === '64.12.28.11');
    assert.equal(sess.length, 1);
    assert.equal(sess[0].protocol, 'aim');
    assert.equal(sess[0].service, 'chat-room');
    const msgs = ev.filter((e) => e.type === 'message' && e.server.ip === '64.12.28.11').map((e) => [e.from, e.to, e.text, e.direction]);
    assert.deepEqual(msgs.sort(), [
      ['(unknown)', '(unknown room)', 'bringing the keys', 'outbound'],
      ['(unknown)', '(unknown room)', 'on my way', 'outbound'],
      ['carol', '(unknown room)', 'night shift starts at ten', 'inbound'],
      ['dave', '(unknown room)', 'copy that', 'inbound'],
    ]);
  });

  it('tshark (aim_chat) reads the same server message texts and joined users', function () {
    if (!haveTshark) this.skip();
    const r = spawnSync('tshark', ['-r', oracleFile, '-o', 'tcp.reassemble_out_of_order:TRUE', '-d', 'tcp.port==5190,aim', '-Y', 'tcp.port == 5190 && aim.fnac.family == 0x000e && !(tcp.payload contains "unicode-2-0")',
      '-T', 'fields', '-e', 'aim.fnac.subtype', '-e', 'aim.buddyname', '-e', '_ws.col.Info'], { encoding: 'utf8', maxBuffer: 16 << 20 });
    assert.equal(r.status, 0, r.stderr);
    const texts: string[] = [];
    const joined: string[] = [];
    for (const line of r.stdout.trim().split('\n')) {
      const [subtype, names, info] = line.split('\t');
      // packet-aim-chat.c puts an incoming text (between <html> and </html>, tags dropped, bytes over 0x7f
      // dropped) in the Info column only; its sender field is read at a fixed offset that misses the name
      const m = /Incoming Message\s*from: .*-> (.*)$/.exec(info);
      if (subtype === '0x0006' && m) texts.push(m[1].trim());
      if (subtype === '0x0003') joined.push(...names.split(',').filter(Boolean));
    }
    for (const f of [file, oracleFile]) {
      const ev = analyzeFile(f).events.filter((e) => e.server?.port === 5190);
      // what tshark can show: the server's 8-bit texts (the reflection of ours included; it has no UTF-16
      // reading, so that SNAC is left out on both sides), our non-ASCII characters dropped as it drops
      // bytes over 0x7f, its entities decoded
      const ours = ev.filter((e) => e.type === 'message' && e.text !== UTF16_TEXT).map((e) => e.text.replace(/[^\x20-\x7e]/g, '')).sort();
      const theirs = texts.map((x) => x.replace(/&gt;/g, '>').replace(/&amp;/g, '&')).sort();
      assert.deepEqual(theirs, ours, f);
      const users = ev.find((e) => e.type === 'session').users;
      assert.deepEqual(joined, ['bob.sales']);
      for (const u of joined) assert.ok(users.includes(u), u);
    }
  });
});
