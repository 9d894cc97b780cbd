// AIM Direct IM (ODC2): the proposal on the OSCAR connection, the expected peer connection (direct and
// through the AOL rendezvous proxy), ODC2 frames found on their own, charsets, <BINARY> images, framing
// splits, hostile lengths, and analyze on a generated capture with out-of-order segments.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FlowHarness } from '../helpers/harness';
import { Capture } from '../helpers/pcapgen';
import { shadowim } from '../helpers/run';
import { analyzeFile } from '../helpers/analyze';
import { boundedIt } from '../helpers/bounded';
import { Engine } from '../../signatures/engine';
import { loadRegistry } from '../../signatures/registry';
import { detectOscar } from '../../signatures/oscar';
import { ODC_KEEP } from '../../signatures/oscar/odc';
import { MAX_TEXT } from '../../signatures/oscar/parser';
import {
  fragment, messageBlock, outgoingIm, incomingIm,
  DIRECT_IM, Flaps, SEND_FILE, bosOn443, bosOpening, directImProposal, odcFrame, odcTyping, proxyFrame, proxyInitFrame, seeded, u16,
} from './oscar-wire';

const ME = 'CorpUser42';
const BUDDY = 'Outside Friend';
const COOKIE = Buffer.from('0a0b0c0d0e0f1011', 'hex');

function bosStart(h: FlowHarness, c: Flaps, s: Flaps): void {
  for (const [dir, b] of bosOpening(c, s, { me: ME })) h.send(dir, b);
}

/** the OSCAR connection with the proposal, then a harness for the connection it announced */
function proposed(o: { proxied?: boolean; port?: number } = {}) {
  const events: any[] = [];
  const engine = new Engine(loadRegistry(), { emit: (e) => events.push(e) });
  const b = new FlowHarness({ engine, client: '10.1.1.10:40000', server: '64.12.24.50:5190' });
  const c = new Flaps(1), s = new Flaps(9);
  bosStart(b, c, s);
  b.send('c', directImProposal(c, BUDDY, { cookie: COOKIE, ip: o.proxied ? '64.12.200.10' : '10.1.1.10', port: o.port ?? 5191, proxied: o.proxied }));
  b.end();
  const d = o.proxied
    ? new FlowHarness({ engine, client: '10.1.1.10:40002', server: '64.12.200.10:5190' })
    : new FlowHarness({ engine, client: '203.0.113.9:33333', server: '10.1.1.10:5191' });
  return { events, d };
}

const html = (t: string) => Buffer.from(`<HTML><BODY BGCOLOR="#ffffff"><FONT LANG="0">${t}</FONT></BODY></HTML>`, 'latin1');

function sessions(events: any[]) {
  return events.filter((e) => e.type === 'session');
}
function messages(events: any[]) {
  return events.filter((e) => e.type === 'message');
}

describe('oscar: Direct IM (ODC2)', () => {
  it("a proposal naming another service's address and port does not take its flows: a connection there that opens with neither ODC2, OFT2 nor a proxy frame is detected as what it is", () => {
    const { events, d } = proposed();
    d.send('c', 'NICK carol\r\nUSER carol 0 * :Carol\r\n').send('s', ':irc.example.net 001 carol :Welcome carol\r\n').send('c', 'PRIVMSG #ops :not direct IM\r\n');
    d.end();
    const s = sessions(events).find((e) => e.client.ip === '203.0.113.9');
    assert.equal(s?.protocol, 'irc', JSON.stringify(sessions(events)));
    assert.deepEqual(messages(events).map((m) => m.text), ['not direct IM']);
  });

  it('proposal, then messages both ways on the announced connection; typing and cookie frames are not messages', () => {
    const { events, d } = proposed();
    // the buddy connects to us: it sends its cookie frame, we answer with ours (peer_odc_send_cookie)
    d.send('c', odcFrame({ sn: 'OutsideFriend', cookie: COOKIE, flags: 0x0060 }));
    d.send('s', odcFrame({ sn: ME, cookie: COOKIE, flags: 0x0060 }));
    d.send('s', odcTyping(ME, COOKIE, 'typing'));
    d.send('s', odcFrame({ sn: ME, cookie: COOKIE, payload: html('hello over <B>direct</B> IM &amp; more<BR>line 2') }));
    d.send('s', odcTyping(ME, COOKIE, 'stopped'));
    d.send('c', odcTyping('OutsideFriend', COOKIE, 'typed'));
    d.send('c', odcFrame({ sn: 'OutsideFriend', cookie: COOKIE, payload: html('got it'), flags: 0 }));
    d.send('c', odcFrame({ sn: 'OutsideFriend', cookie: COOKIE, payload: html('I am away'), flags: 0x0001 }));
    d.end();
    const m = messages(events);
    assert.deepEqual(m.map((x) => [x.from, x.to, x.text, x.kind, x.direction]), [
      // we (10.1.1.10, the listening side) are on the monitored network
      [ME, BUDDY, 'hello over direct IM & more\nline 2', 'chat', 'outbound'],
      ['OutsideFriend', ME, 'got it', 'chat', 'inbound'],
      ['OutsideFriend', ME, 'I am away', 'auto-response', 'inbound'],
    ]);
    for (const x of m) assert.equal(x.protocol, 'aim');
    const sess = sessions(events).filter((x) => x.server.port === 5191);
    assert.equal(sess.length, 1);
    assert.equal(sess[0].protocol, 'aim');
    assert.equal(sess[0].service, 'direct-im');
    assert.ok(sess[0].users.includes(ME) && sess[0].users.includes('OutsideFriend'));
    assert.ok(sess[0].evidence.some((e: any) => e.signature === 'expected-connection' && /Direct IM/.test(e.reason)));
    assert.equal(sess[0].malformed ?? 0, 0);
  });

  it('through the AOL rendezvous proxy: the proxied proposal is expected on 5190, proxy frames are skipped', () => {
    const { events, d } = proposed({ proxied: true, port: 0x1234 });
    // the buddy joins our proxy session with the pin; the proxy answers READY; then ODC2
    d.send('c', proxyInitFrame('OutsideFriend', COOKIE, DIRECT_IM, 0x1234));
    d.send('s', proxyFrame(5));
    d.send('c', odcFrame({ sn: 'OutsideFriend', cookie: COOKIE, flags: 0x0060 }));
    d.send('s', odcFrame({ sn: ME, cookie: COOKIE, payload: html('via proxy') }));
    d.end();
    assert.deepEqual(messages(events).map((x) => [x.from, x.to, x.text]), [[ME, BUDDY, 'via proxy']]);
  });

  it('found on its own by the ODC2 header on any port (no proposal seen), and behind a proxy CREATE', () => {
    const h = new FlowHarness({ client: '10.1.1.10:40001', server: '203.0.113.9:4443' });
    h.send('c', odcFrame({ sn: 'alpha one', cookie: COOKIE, flags: 0x0060 }));
    h.send('s', odcFrame({ sn: 'BetaTwo', cookie: COOKIE, flags: 0x0060 }));
    h.send('c', odcFrame({ sn: 'alpha one', cookie: COOKIE, payload: html('first') }));
    h.send('s', odcFrame({ sn: 'BetaTwo', cookie: COOKIE, payload: html('second') }));
    h.end();
    assert.deepEqual(h.of('message').map((x) => [x.from, x.to, x.text]), [['alpha one', 'BetaTwo', 'first'], ['BetaTwo', 'alpha one', 'second']]);
    const s = h.of('session');
    assert.equal(s.length, 1);
    assert.equal(s[0].protocol, 'aim');
    assert.match(s[0].evidence[0].reason, /ODC2/);

    // the proposer's own connection to the proxy starts before its proposal: known by the CREATE frame
    const p = new FlowHarness({ client: '10.1.1.10:40003', server: '64.12.200.10:5190' });
    p.send('c', proxyInitFrame(ME, COOKIE, DIRECT_IM));
    p.send('s', proxyFrame(3, Buffer.concat([u16(0x1234), Buffer.from([64, 12, 200, 10])])));
    p.send('s', proxyFrame(5));
    p.send('c', odcFrame({ sn: ME, cookie: COOKIE, payload: html('behind the proxy') }));
    p.end();
    assert.deepEqual(p.of('message').map((x) => [x.from, x.text]), [[ME, 'behind the proxy']]);
    assert.match(p.of('session')[0].evidence[0].reason, /proxy request for Direct IM/);
  });

  it('picked up mid-connection (no SYN): found at the next ODC2 header past the tail of an image, read from there; the same without the tail', () => {
    const img = crypto.randomBytes(3000);
    const imFrame = (sn: string, text: string) => odcFrame({ sn, cookie: COOKIE, payload: html(text) });
    for (const tail of [Buffer.concat([img.subarray(1200), Buffer.from('</DATA></BINARY>')]), Buffer.alloc(0)]) {
      const c = new Capture();
      const t = c.tcp('10.1.1.10:40001', '203.0.113.9:4443');
      // no open(): the capture starts inside a frame the client was sending (an image's last bytes)
      t.send('c', Buffer.concat([tail, imFrame('alpha one', 'first')]), { segment: 500 });
      t.send('s', imFrame('BetaTwo', 'second'), { segment: 31 });
      t.send('c', Buffer.concat([odcFrame({ sn: 'alpha one', cookie: COOKIE, flags: 0x0008 }), imFrame('alpha one', 'third')]));
      const r = shadowim(['analyze', '-', '--format', 'jsonl'], { input: c.pcap() });
      assert.equal(r.status, 0, r.stderr);
      const m = r.events.filter((e) => e.type === 'message');
      // the first message comes before the other side has named itself in a frame
      assert.deepEqual(m.map((x) => [x.from, x.to, x.text]), [['alpha one', '(unknown)', 'first'], ['BetaTwo', 'alpha one', 'second'], ['alpha one', 'BetaTwo', 'third']], `tail ${tail.length}`);
      const s = r.events.filter((e) => e.type === 'session');
      assert.equal(s.length, 1);
      assert.equal(s[0].service, 'direct-im');
      assert.match(s[0].evidence[0].reason, tail.length ? /ODC2 Direct IM header at offset 1\d\d\d \(capture started mid-connection\)/ : /ODC2 Direct IM header/);
      assert.equal(s[0].malformed ?? 0, 0);
    }
    // seen from its SYN, a connection must start with a frame: the same bytes after a SYN are not Direct IM
    const c = new Capture();
    const t = c.tcp('10.1.1.10:40001', '203.0.113.9:4443').open();
    t.send('c', Buffer.concat([img.subarray(0, 500), imFrame('alpha one', 'first')]));
    const r = shadowim(['analyze', '-', '--format', 'jsonl'], { input: c.pcap() });
    assert.equal(r.events.filter((e) => e.type === 'session').length, 0);
    // a bogus "ODC2" in the skipped bytes (wrong type) is passed over
    const bogus = odcFrame({ sn: 'x', cookie: COOKIE, type: 0x0002 });
    const c2 = new Capture();
    c2.tcp('10.1.1.10:40001', '203.0.113.9:4443').send('c', Buffer.concat([img.subarray(0, 100), bogus.subarray(0, 76), img.subarray(100, 300), imFrame('alpha one', 'real')]));
    const r2 = shadowim(['analyze', '-', '--format', 'jsonl'], { input: c2.pcap() });
    assert.deepEqual(r2.events.filter((e) => e.type === 'message').map((x) => x.text), ['real']);
  });

  boundedIt(__filename, 'seeded fuzz: connections picked up mid-stream with mutated frames and junk before them never throw', 120, () => {
    const next = seeded(99);
    const r = () => next() / 2 ** 32;
    const frames = Buffer.concat([odcFrame({ sn: 'alpha one', cookie: COOKIE, payload: html('one') }), odcFrame({ sn: 'alpha one', cookie: COOKIE, flags: 0x0008 }), odcFrame({ sn: 'alpha one', cookie: COOKIE, payload: html('two') })]);
    let read = 0;
    for (let i = 0; i < 3000; i++) {
      const junk = Buffer.alloc(Math.floor(r() * 600));
      for (let k = 0; k < junk.length; k++) junk[k] = r() < 0.05 ? 0x4f : Math.floor(r() * 256);
      if (r() < 0.3) Buffer.from('ODC2').copy(junk, Math.floor(r() * Math.max(1, junk.length - 4)));
      const b = Buffer.concat([junk, frames]);
      const mutate = i % 3 !== 0;
      if (mutate) for (let k = Math.floor(r() * 4); k >= 0; k--) b[junk.length + Math.floor(r() * frames.length)] = Math.floor(r() * 256);
      const h = new FlowHarness({ client: '10.1.1.10:40001', server: '203.0.113.9:4443', clientBy: 'first' });
      for (let o = 0; o < b.length; ) {
        const n = 1 + Math.floor(r() * 200);
        h.send('c', b.subarray(o, o + n));
        o += n;
      }
      h.end();
      for (const e of h.events) JSON.stringify(e);
      if (!mutate && h.of('message').map((m) => m.text).join(',') === 'one,two') read++;
    }
    assert.equal(read, 1000, 'every unmutated connection read');
  });

  boundedIt(__filename, 'seeded fuzz: OSCAR connections picked up mid-stream (the tail of a FLAP, then whole ones) are found; mutated ones never throw', 120, () => {
    const next = seeded(7);
    const r = () => next() / 2 ** 32;
    let read = 0;
    for (let i = 0; i < 3000; i++) {
      const c = new Flaps(1 + Math.floor(r() * 60000)), s = new Flaps(1 + Math.floor(r() * 60000));
      const junk = Buffer.alloc(50 + Math.floor(r() * 300));
      for (let k = 0; k < junk.length; k++) junk[k] = r() < 0.03 ? 0x2a : Math.floor(r() * 256);
      const lost = outgoingIm(c, 'someone', messageBlock(fragment(junk, 0)));
      const cli = Buffer.concat([lost.subarray(1 + Math.floor(r() * (lost.length - 1))), outgoingIm(c, 'someone', messageBlock(fragment(Buffer.from('first'), 0))), outgoingIm(c, 'someone', messageBlock(fragment(Buffer.from('second'), 0)))]);
      const srv = incomingIm(s, 'someone', messageBlock(fragment(Buffer.from('reply'), 0)));
      const mutate = i % 3 !== 0;
      if (mutate) for (let k = Math.floor(r() * 4); k >= 0; k--) cli[Math.floor(r() * cli.length)] = Math.floor(r() * 256);
      const h = new FlowHarness({ client: '10.1.1.10:40001', server: '198.51.100.30:443', clientBy: 'port' });
      for (let o = 0; o < cli.length; ) {
        const n = 1 + Math.floor(r() * 300);
        h.send('c', cli.subarray(o, o + n));
        o += n;
      }
      h.send('s', srv).end();
      for (const e of h.events) JSON.stringify(e);
      if (!mutate && h.of('message').map((m) => m.text).join(',') === 'first,second,reply') read++;
    }
    assert.equal(read, 1000, 'every clean connection read');
  });

  it('ICQ: numeric screen names make the Direct IM session icq', () => {
    const h = new FlowHarness({ server: '203.0.113.9:4443' });
    h.send('c', odcFrame({ sn: '123456789', cookie: COOKIE, payload: Buffer.from('privet') }));
    h.end();
    assert.equal(h.of('session')[0].protocol, 'icq');
    assert.deepEqual(h.of('message').map((x) => [x.protocol, x.from, x.text]), [['icq', '123456789', 'privet']]);
  });

  it('UTF-16BE and ISO-8859-1 bodies per the encoding field (and at libpurple 2.x\'s old offset)', () => {
    const h = new FlowHarness({ server: '203.0.113.9:4443' });
    const u16be = (t: string) => Buffer.from(t, 'utf16le').swap16();
    h.send('c', odcFrame({ sn: 'a', cookie: COOKIE, payload: u16be('<HTML>Zürich, 東京 😀</HTML>'), encoding: 2 }));
    h.send('c', odcFrame({ sn: 'a', cookie: COOKIE, payload: Buffer.from('<B>Café naïve</B>', 'latin1'), encoding: 3 }));
    h.send('c', odcFrame({ sn: 'a', cookie: COOKIE, payload: Buffer.from('plain UTF-8 ✓', 'utf8'), encoding: 0 }));
    // encoding written at @34 with @32 left zero
    const old = odcFrame({ sn: 'a', cookie: COOKIE, payload: u16be('old sender') });
    old.writeUInt16BE(2, 34);
    h.send('c', old);
    // odd-length UTF-16: replaced and counted, never thrown
    h.send('c', odcFrame({ sn: 'a', cookie: COOKIE, payload: Buffer.concat([u16be('odd'), Buffer.from([0x41])]), encoding: 2 }));
    h.end();
    assert.deepEqual(h.of('message').map((x) => x.text), ['Zürich, 東京 😀', 'Café naïve', 'plain UTF-8 ✓', 'old sender', 'odd\ufffd']);
    assert.equal(h.of('session')[0].malformed, 1);
  });

  it('an embedded <BINARY> image is skipped; the text before it is the message, and framing continues after it', () => {
    const h = new FlowHarness({ server: '203.0.113.9:4443' });
    const img = crypto.randomBytes(9894);
    img.write('<binary></DATA>', 100, 'latin1'); // tags inside image bytes must not matter
    const body = Buffer.concat([
      html('look: <IMG SRC="Sample.jpg" ID="1" WIDTH="283" HEIGHT="212" DATASIZE="9894"><BR>nice'),
      Buffer.from('<BINARY><DATA ID="1" SIZE="9894">', 'latin1'), img, Buffer.from('</DATA></BINARY>', 'latin1'),
    ]);
    h.send('c', odcFrame({ sn: 'a', cookie: COOKIE, payload: body }));
    h.send('c', odcFrame({ sn: 'a', cookie: COOKIE, payload: html('after the image') }));
    // UTF-16 body with a UTF-16 <BINARY> section
    const u = Buffer.concat([Buffer.from('<b>pic</b><binary><data id="1" size="4">', 'utf16le').swap16(), Buffer.from('\x89PNG', 'latin1')]);
    h.send('c', odcFrame({ sn: 'a', cookie: COOKIE, payload: u, encoding: 2 }));
    h.end();
    assert.deepEqual(h.of('message').map((x) => x.text), ['look:\nnice', 'after the image', 'pic']);
    assert.equal(h.of('session')[0].malformed ?? 0, 0);
  });

  it('frames split byte by byte and several frames in one segment decode the same', () => {
    const stream = Buffer.concat([
      odcFrame({ sn: 'a', cookie: COOKIE, flags: 0x0060 }),
      odcTyping('a', COOKIE, 'typing'),
      odcFrame({ sn: 'a', cookie: COOKIE, payload: html('one') }),
      odcFrame({ sn: 'a', cookie: COOKIE, payload: Buffer.concat([html('two'), Buffer.from('<BINARY><DATA ID="1" SIZE="3">abc</DATA></BINARY>')]) }),
      odcTyping('a', COOKIE, 'stopped'),
      odcFrame({ sn: 'a', cookie: COOKIE, payload: html('three') }),
    ]);
    const whole = new FlowHarness({ server: '203.0.113.9:4443' });
    whole.send('c', stream).end();
    const bytes = new FlowHarness({ server: '203.0.113.9:4443' });
    for (let i = 0; i < stream.length; i++) bytes.send('c', stream.subarray(i, i + 1));
    bytes.end();
    for (const h of [whole, bytes]) assert.deepEqual(h.of('message').map((x) => x.text), ['one', 'two', 'three']);
  });
});

describe('oscar: Direct IM hostile input', () => {
  it('lying header and payload lengths: counted malformed, bounded, never a throw', () => {
    const cases: Buffer[] = [
      odcFrame({ sn: 'a', cookie: COOKIE, hdrLen: 10 }), // shorter than the fields it must hold
      Buffer.concat([odcFrame({ sn: 'a', cookie: COOKIE, payload: html('x') }), odcFrame({ sn: 'a', cookie: COOKIE, hdrLen: 0xffff })]),
      odcFrame({ sn: 'a', cookie: COOKIE, payload: html('short'), payloadLen: 0xffffffff }), // past DIRECTIM_MAX_FILESIZE
      odcFrame({ sn: 'a', cookie: COOKIE, payload: html('claims more'), payloadLen: 500 }), // connection ends first
    ];
    const got: any[] = [];
    for (const b of cases) {
      const h = new FlowHarness({ server: '203.0.113.9:4443' });
      h.send('c', b).send('c', crypto.randomBytes(300));
      h.end();
      assert.equal(h.engine.stats.decoderErrors, 0);
      got.push([h.of('message').map((x) => x.text), h.of('session')[0]?.malformed ?? 0]);
    }
    // a too-short header length is not ODC2 at all; the others are found and their damage counted
    assert.deepEqual(got[0], [[], 0]);
    assert.deepEqual(got[1][0], ['x']);
    assert.ok(got[1][1] >= 1);
    assert.deepEqual(got[2], [[], 1]);
    assert.ok(got[3][1] >= 1);
  });

  it('a 2 MiB payload keeps at most its text (64 KiB held), the next frame is still found', () => {
    const h = new FlowHarness({ server: '203.0.113.9:4443' });
    const big = Buffer.concat([html('x'.repeat(10_000)), Buffer.from('<BINARY><DATA ID="1" SIZE="2000000">'), Buffer.alloc(2_000_000, 0x41)]);
    const f = odcFrame({ sn: 'a', cookie: COOKIE, payload: big });
    for (let o = 0; o < f.length; o += 65536) h.send('c', f.subarray(o, o + 65536));
    h.send('c', odcFrame({ sn: 'a', cookie: COOKIE, payload: html('next') }));
    const huge = odcFrame({ sn: 'a', cookie: COOKIE, payload: Buffer.alloc(2 * 1024 * 1024, 0x42) }); // no <BINARY>: text capped
    h.send('s', huge);
    h.end();
    const m = h.of('message');
    assert.deepEqual(m.map((x) => x.text.length), [10_000, 4, MAX_TEXT]);
    assert.ok(ODC_KEEP <= 64 * 1024);
  });

  // the 64 KiB held per frame went through htmlToText, which took seconds on a run of blanks without
  // a newline (its `[ \t]+\n` rescanned the run from each character) or on unclosed <script> tags
  boundedIt(__filename, 'frames of 64 KiB blanks or unclosed <script> tags: their text in linear time', 20, () => {
    const h = new FlowHarness({ server: '203.0.113.9:4443' });
    const bodies = [' '.repeat(65000) + 'hi', 'hi' + '<script>'.repeat(8000), 'hi' + '\t'.repeat(65000)];
    for (let i = 0; i < 12; i++) h.send(i % 2 ? 's' : 'c', odcFrame({ sn: i % 2 ? 'b' : 'a', cookie: COOKIE, payload: Buffer.from(bodies[i % 3], 'latin1') }));
    h.end();
    assert.deepEqual(h.of('message').map((m) => m.text), Array(12).fill('hi'));
    assert.equal(h.engine.stats.decoderErrors, 0);
  });

  it('random bytes after "ODC2", with and without a valid header length: bounded, no exception', () => {
    const rnd = seeded(99);
    for (let i = 0; i < 300; i++) {
      const h = new FlowHarness({ server: '203.0.113.9:4443' });
      const r = Buffer.from(Array.from({ length: 8 + (rnd() % 400) }, () => rnd() & 0xff));
      r.write('ODC2', 0, 'latin1');
      if (i % 2) {
        r.writeUInt16BE(76 + (rnd() % 100), 4);
        r.writeUInt16BE(1, 6);
      }
      h.send('c', r).send('s', r).send('c', Buffer.from(r.subarray(3)));
      h.end();
      assert.equal(h.engine.stats.decoderErrors, 0, `sample ${i}`);
      for (const m of h.of('message')) assert.ok(m.text.length <= MAX_TEXT);
    }
  });

  it('not ODC2: random bytes, near-miss magics, other proxy capabilities', () => {
    const lookup = { host: () => undefined, ip: () => undefined };
    const flow = { id: 'f', transport: 'tcp' as const, client: { ip: '10.0.0.1', port: 1 }, server: { ip: '10.0.0.2', port: 443 }, firstTs: 0, clientBy: 'syn' as const };
    const det = (data: Buffer) => detectOscar({ transport: 'tcp', dir: 0, data, other: Buffer.alloc(0), packetIndex: 0, flow, lookup });
    const good = odcFrame({ sn: 'a', cookie: COOKIE });
    assert.equal((det(good) as any).evidence.signature, 'oscar.odc2');
    for (const magic of ['ODC1', 'ODC3', 'odc2', 'OFC2', 'XDC2']) {
      const b = Buffer.from(good);
      b.write(magic, 0, 'latin1');
      assert.equal(det(b), null, magic);
    }
    const t2 = Buffer.from(good);
    t2.writeUInt16BE(2, 6);
    assert.equal(det(t2), null, 'type other than 0x0001');
    assert.equal(det(proxyInitFrame('a', COOKIE, Buffer.alloc(16, 7))), null, 'proxy request for another capability');
    assert.equal((det(proxyInitFrame('a', COOKIE, SEND_FILE)) as any).evidence.signature, 'oscar.oft2');
    const rnd = seeded(5);
    for (let i = 0; i < 3000; i++) {
      const b = Buffer.from(Array.from({ length: 1 + (rnd() % 200) }, () => rnd() & 0xff));
      if (i % 3 === 0) b.write('OD', 0, 'latin1');
      if (i % 5 === 0 && b.length > 4) b.writeUInt16BE(0x044a, 2);
      const r = det(b);
      assert.ok(r === null || r === 'more', `sample ${i}`);
    }
  });
});

describe('oscar: Direct IM through analyze (generated capture, out-of-order segments)', function () {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-odc-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'odc.pcap');

  before(() => {
    const { cap, t, c, s } = bosOn443(ME);
    t.send('c', directImProposal(c, BUDDY, { cookie: COOKIE, ip: '10.20.0.5', port: 5192 }));
    const d = cap.tcp('203.0.113.77:41000', '10.20.0.5:5192').open();
    d.send('c', odcFrame({ sn: 'OutsideFriend', cookie: COOKIE, flags: 0x0060 }));
    d.send('s', odcFrame({ sn: ME, cookie: COOKIE, flags: 0x0060 }));
    const m1 = Buffer.concat([odcTyping(ME, COOKIE, 'typing'), odcFrame({ sn: ME, cookie: COOKIE, payload: html('the merger closes friday') }), odcTyping(ME, COOKIE, 'stopped')]);
    const n = Math.ceil(m1.length / 23);
    const order = Array.from({ length: n }, (_, i) => n - 1 - i); // every segment reversed
    d.send('s', m1, { segment: 23, reorder: order, retransmit: [1] });
    const img = crypto.randomBytes(5000);
    d.send('c', odcFrame({ sn: 'OutsideFriend', cookie: COOKIE, payload: Buffer.concat([html('see attached'), Buffer.from('<BINARY><DATA ID="1" SIZE="5000">'), img, Buffer.from('</DATA></BINARY>')]) }), { segment: 700, reorder: [1, 0, 3, 2, 5, 4, 7, 6] });
    d.close();
    t.close();
    fs.writeFileSync(file, cap.pcap());
  });

  it('reports the Direct IM session and both messages', () => {
    const r = analyzeFile(file);
    const m = r.events.filter((e) => e.type === 'message');
    assert.deepEqual(m.map((x) => [x.from, x.to, x.text]), [[ME, BUDDY, 'the merger closes friday'], ['OutsideFriend', ME, 'see attached']]);
    const s = r.events.filter((e) => e.type === 'session' && e.server.port === 5192);
    assert.equal(s.length, 1);
    assert.equal(s[0].protocol, 'aim');
    assert.equal(s[0].service, 'direct-im');
  });
});
