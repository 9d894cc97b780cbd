// OSCAR through the real command line: generated captures (reordered and retransmitted segments,
// OSCAR on 443, rendezvous + OFT2) and the shared real capture, with tshark as the oracle.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { Capture } from '../helpers/pcapgen';
import { analyzeFile } from '../helpers/analyze';
import { PCAPS_DIR, havePcaps, labels } from '../helpers/paths';
import { Flaps, bosOn443, fragment, incomingIm, messageBlock, oftHeader, outgoingIm, sendFileProposal, tlv, typing, u32 } from './oscar-wire';

const haveTshark = spawnSync('tshark', ['-v']).status === 0;

function tshark(args: string[]): string {
  const r = spawnSync('tshark', args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

/** tshark shows the raw AIM HTML: the oracle strips tags and the few entities the test uses */
function plain(html: string): string {
  return html.replace(/<[^>]+>/g, '').replace(/&gt;/g, '>').replace(/&lt;/g, '<').replace(/&amp;/g, '&').trim();
}

describe('oscar: analyze on generated captures', function () {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-oscar-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const ME = 'AcmeAnalyst7', BUDDY = 'rival.buyer';
  const file = path.join(dir, 'aim443.pcap');
  const payload = crypto.randomBytes(200_000);
  const cookie = Buffer.from('5a5b5c5d5e5f6061', 'hex');

  before(() => {
    const { cap, t, c, s } = bosOn443(ME);
    // one message over 7 segments delivered out of order, one retransmitted
    const q3 = outgoingIm(c, BUDDY, messageBlock(fragment(Buffer.from('<HTML><BODY>Q3 forecast &amp; pricing sheet attached &gt; read it</BODY></HTML>'), 0)));
    const n = Math.ceil(q3.length / 17);
    const swapped = Array.from({ length: n }, (_, i) => (i % 2 === 0 ? Math.min(i + 1, n - 1) : i - 1));
    if (n % 2) swapped[n - 1] = n - 1;
    t.send('c', q3, { segment: 17, reorder: swapped, retransmit: [2] });
    // several FLAPs in one segment: typing, message, typing
    t.send('c', Buffer.concat([
      typing(c, BUDDY, 2),
      outgoingIm(c, BUDDY, messageBlock(fragment(Buffer.from('second one'), 0))),
      typing(c, BUDDY, 0),
    ]));
    t.send('s', incomingIm(s, BUDDY, messageBlock(fragment(Buffer.from('<html><body><font color="#000">got it, thanks</font></body></html>'), 0))));
    t.send('s', incomingIm(s, BUDDY, messageBlock(fragment(Buffer.from('Zürich, 東京', 'utf16le').swap16(), 2))));
    t.send('c', sendFileProposal(c, BUDDY, { cookie, ip: '10.20.0.5', port: 5190, filename: 'pricing.xlsx', size: payload.length }));
    // the buddy connects to our announced address; we prompt, it acks, bytes follow
    const d = cap.tcp('203.0.113.77:41000', '10.20.0.5:5190').open();
    d.send('s', oftHeader(0x0101, { cookie: Buffer.alloc(8), size: payload.length, filename: 'pricing.xlsx' }));
    d.send('c', oftHeader(0x0202, { cookie, size: payload.length, filename: 'pricing.xlsx' }));
    d.send('s', payload, { segment: 1400, reorder: undefined });
    d.send('c', oftHeader(0x0204, { cookie, size: payload.length, filename: 'pricing.xlsx' }));
    d.close();
    t.close();
    fs.writeFileSync(file, cap.pcap());
  });

  it('reports the session, messages (plain text), offer and the carved file', () => {
    const ev = analyzeFile(file).events;
    const sess = ev.filter((e) => e.type === 'session' && e.server.port === 443);
    assert.equal(sess.length, 1);
    assert.equal(sess[0].protocol, 'aim');
    assert.ok(sess[0].users.includes(ME) && sess[0].users.includes(BUDDY));
    // each direction in order (the two directions may interleave differently)
    const msgs = ev.filter((e) => e.type === 'message').sort((a, b) => (a.direction === b.direction ? 0 : a.direction === 'outbound' ? -1 : 1));
    assert.deepEqual(msgs.map((m) => [m.from, m.to, m.text]), [
      [ME, BUDDY, 'Q3 forecast & pricing sheet attached > read it'],
      [ME, BUDDY, 'second one'],
      [BUDDY, ME, 'got it, thanks'],
      [BUDDY, ME, 'Zürich, 東京'],
    ]);
    const offer = ev.filter((e) => e.type === 'file_transfer' && e.stage === 'offer');
    assert.deepEqual(offer.map((o) => [o.filename, o.size, o.transfer_id]), [['pricing.xlsx', payload.length, cookie.toString('hex')]]);
    const data = ev.filter((e) => e.type === 'file_transfer' && e.stage === 'data');
    assert.equal(data.length, 1);
    assert.equal(data[0].sha256, crypto.createHash('sha256').update(payload).digest('hex'));
    assert.equal(data[0].complete, true);
    assert.equal(data[0].transfer_id, cookie.toString('hex'));
  });

  it('tshark (packet-aim) reads the same message texts from the capture', function () {
    if (!haveTshark) this.skip();
    const out = tshark(['-r', file, '-o', 'tcp.reassemble_out_of_order:TRUE', '-d', 'tcp.port==443,aim', '-Y', 'aim.messageblock.charset == 0', '-T', 'fields', '-e', 'aim.messageblock.message']);
    const theirs = out.trim().split('\n').map(plain).sort();
    const ours = analyzeFile(file).events.filter((e) => e.type === 'message').map((e) => e.text).filter((t) => /^[\x20-\x7e]*$/.test(t)).sort();
    assert.equal(theirs.length, 3);
    assert.deepEqual(ours, theirs);
  });
});

describe('oscar: analyze with lost segments', function () {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-oscar-gap-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'gap.pcap');
  const payload = crypto.randomBytes(30_000);

  before(() => {
    const cap = new Capture();
    const t = cap.tcp('10.20.0.6:50200', '198.51.100.20:5190').open();
    const c = new Flaps(10), s = new Flaps(20);
    t.send('s', s.hello());
    t.send('c', c.flap(1, Buffer.concat([u32(1), tlv(6, crypto.randomBytes(16))])));
    t.send('s', s.snac(1, 3, Buffer.alloc(8)));
    t.send('c', outgoingIm(c, 'peer1', messageBlock(fragment(Buffer.from('before the loss'), 0))));
    // the middle segment of this message never reaches the capture point
    t.send('c', outgoingIm(c, 'peer1', messageBlock(fragment(Buffer.from('x'.repeat(200) + ' lost message'), 0))), { segment: 80, drop: [1] });
    t.send('c', outgoingIm(c, 'peer1', messageBlock(fragment(Buffer.from('after the loss'), 0))));
    t.close();
    const d = cap.tcp('10.20.0.6:50201', '203.0.113.5:4443').open();
    d.send('s', oftHeader(0x0101, { cookie: Buffer.from('0102030405060708', 'hex'), size: payload.length, filename: 'leak.bin' }));
    d.send('s', payload, { segment: 1000, drop: [7] });
    d.close();
    fs.writeFileSync(file, cap.pcap());
  });

  it('resynchronises after the gap and reports the carved file incomplete', () => {
    const ev = analyzeFile(file).events;
    assert.deepEqual(ev.filter((e) => e.type === 'message').map((e) => e.text), ['before the loss', 'after the loss']);
    const sess = ev.find((e) => e.type === 'session' && e.server.port === 5190);
    assert.ok(sess && sess.gaps > 0);
    const f = ev.filter((e) => e.type === 'file_transfer' && e.stage === 'data');
    assert.equal(f.length, 1);
    assert.equal(f[0].complete, false);
    assert.equal(f[0].observed_size, payload.length - 1000);
  });
});

describe('oscar: analyze on a capture that starts mid-connection', function () {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-oscar-mid-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('finds the FLAP boundary after a partial PDU (no SYN seen) and decodes what follows', () => {
    const file = path.join(dir, 'mid.pcap');
    const cap = new Capture();
    const t = cap.tcp('10.20.0.9:50300', '198.51.100.30:443'); // no handshake: the capture starts here
    const c = new Flaps(77);
    const lost = outgoingIm(c, 'someone', messageBlock(fragment(Buffer.from('we only see the tail of this'), 0)));
    const a = outgoingIm(c, 'someone', messageBlock(fragment(Buffer.from('first whole message'), 0)));
    const b = outgoingIm(c, 'someone', messageBlock(fragment(Buffer.from('second whole message'), 0)));
    const third = outgoingIm(c, 'someone', messageBlock(fragment(Buffer.from('third whole message'), 0)));
    t.send('c', Buffer.concat([lost.subarray(25), a, b, third]));
    t.close();
    fs.writeFileSync(file, cap.pcap());
    const ev = analyzeFile(file).events;
    assert.ok(ev.some((e) => e.type === 'session' && e.protocol === 'aim'));
    assert.deepEqual(ev.filter((e) => e.type === 'message').map((e) => e.text), ['first whole message', 'second whole message', 'third whole message']);
  });

  it('two FLAPs that end where the bytes end, after bytes that are no FLAP and with no FLAP the other way, wait for what follows: a pcap file being downloaded', () => {
    // a server's two-FLAP segment inside a downloaded capture file, a download segment ending right after it (near-miss seed 20261174)
    const pick = (after: Buffer, reply?: Buffer) => {
      const file = path.join(dir, 'two.pcap');
      const cap = new Capture();
      const t = cap.tcp('10.20.0.9:50301', '198.51.100.31:80');
      const s = new Flaps(300);
      const tcpHeader = Buffer.from('000c29df4638080045000048000040004006000040f018320a0900051446000000000013aa50180fff0000', 'hex');
      t.send('s', Buffer.concat([tcpHeader, s.hello(), s.snac(1, 3, Buffer.from([0, 1, 0, 2, 0, 3, 0, 4]))]));
      if (after.length) t.send('s', after);
      if (reply) t.send('c', reply);
      t.close();
      fs.writeFileSync(file, cap.pcap());
      return analyzeFile(file).events.filter((e) => e.type === 'session').map((e) => e.protocol);
    };
    assert.deepEqual(pick(Buffer.from('d4c3b2a1 more of the capture file', 'latin1')), []);
    assert.deepEqual(pick(Buffer.alloc(0)), [], 'nothing after them and nothing from the other side');
    // what follows is a FLAP, or the other side speaks OSCAR: a connection picked up mid-stream
    assert.deepEqual(pick(new Flaps(302).snac(1, 0x17, Buffer.from([0, 1, 0, 3]))), ['aim']);
    const c = new Flaps(90);
    assert.deepEqual(pick(Buffer.alloc(0), c.snac(1, 2, Buffer.alloc(0))), ['aim']);
  });
});

describe('oscar: the shared real capture (aim-puzzle1-filetransfer)', function () {
  const name = 'im/aim-puzzle1-filetransfer.pcap';
  const file = path.join(PCAPS_DIR, name);
  before(function () {
    if (!havePcaps() || !fs.existsSync(file)) this.skip();
  });

  it('meets its labels: aim, Sec558user1, the messages and recipe.docx', () => {
    const want = labels()[name];
    const ev = analyzeFile(file).events;
    const sessions = ev.filter((e) => e.type === 'session');
    for (const p of want.protocols) assert.ok(sessions.some((s) => s.protocol === p), `protocol ${p}`);
    for (const u of want.users ?? []) assert.ok(sessions.some((s) => s.users.includes(u)), `user ${u}`);
    const texts = ev.filter((e) => e.type === 'message').map((e) => e.text.toLowerCase());
    for (const m of want.messages ?? []) assert.ok(texts.some((t) => t.includes(m.toLowerCase())), `message ${m}`);
    const files = ev.filter((e) => e.type === 'file_transfer').map((e) => e.filename);
    for (const f of want.file_transfers ?? []) assert.ok(files.includes(f), `file ${f}`);
    // text is plain: the HTML in the incoming messages is gone
    assert.ok(texts.every((t) => !/<\/?(html|body|font)/i.test(t)));
  });

  it('carves recipe.docx byte for byte (oracle: tshark follow of the OFT connection)', function () {
    if (!haveTshark) this.skip();
    // the OFT connection: the TCP stream whose payload starts with "OFT2"
    const streams = tshark(['-r', file, '-Y', 'tcp.payload[0:4] == "OFT2"', '-T', 'fields', '-e', 'tcp.stream']).trim().split('\n');
    const stream = streams[0];
    const follow = tshark(['-r', file, '-q', '-z', `follow,tcp,raw,${stream}`]);
    const lines = follow.split('\n');
    const start = lines.findIndex((l) => l.startsWith('Node 1:')) + 1;
    const byNode: Buffer[][] = [[], []];
    for (const l of lines.slice(start)) {
      if (!l.trim() || l.startsWith('=')) continue;
      byNode[l.startsWith('\t') ? 1 : 0].push(Buffer.from(l.trim(), 'hex'));
    }
    let oracle: string | undefined;
    let declared = 0;
    for (const parts of byNode) {
      const b = Buffer.concat(parts);
      if (b.toString('latin1', 0, 4) !== 'OFT2' || b.readUInt16BE(6) !== 0x0101) continue; // the prompting side sends the file
      const hl = b.readUInt16BE(4);
      declared = b.readUInt32BE(0x20);
      oracle = crypto.createHash('sha256').update(b.subarray(hl, hl + declared)).digest('hex');
    }
    assert.ok(oracle, 'tshark shows an OFT2 prompt');
    const data = analyzeFile(file).events.filter((e) => e.type === 'file_transfer' && e.stage === 'data');
    assert.equal(data.length, 1);
    assert.equal(data[0].filename, 'recipe.docx');
    assert.equal(data[0].size, declared);
    assert.equal(data[0].observed_size, declared);
    assert.equal(data[0].sha256, oracle);
    assert.equal(data[0].complete, true);
    assert.equal(data[0].file_type, 'docx');
    assert.equal(data[0].to, 'Sec558user1');
  });
});
