// OSCAR (AIM/ICQ) decoder through the engine (FlowHarness): detection, messages, charsets, HTML,
// typing, ICQ channel 4, sign-on credentials, rendezvous + OFT2 carving, hostile lengths.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { FlowHarness } from '../helpers/harness';
import { Engine } from '../../signatures/engine';
import { loadRegistry } from '../../signatures/registry';
import {
  Flaps, SEND_FILE, bname, bosOpening, channel4, fragment, incomingIm, messageBlock, oftHeader, outgoingIm, proxyFrame, proxyInitFrame, sendFileProposal, tlv, typing, u16, u32,
  seeded, serverRelayMessage,
} from './oscar-wire';

const ME = 'CorpUser42';
const BUDDY = 'OutsideFriend';

function session(opts: { server?: string } = {}) {
  const h = new FlowHarness({ client: '10.1.1.10:40000', server: opts.server ?? '198.51.100.7:443' });
  const c = new Flaps(0x0100), s = new Flaps(0x2000);
  return { h, c, s };
}

/** BOS start: server hello, client sign-on with a cookie, server host-online (family 1) */
function bosStart(h: FlowHarness, c: Flaps, s: Flaps): void {
  for (const [dir, b] of bosOpening(c, s)) h.send(dir, b);
}

/** a BOS connection on its own engine, signed on as ME (self-info): the events of every flow on that engine */
function signedOn() {
  const events: any[] = [];
  const engine = new Engine(loadRegistry(), { emit: (e) => events.push(e) });
  const h = new FlowHarness({ engine, client: '10.1.1.10:40000', server: '198.51.100.7:5190' });
  const c = new Flaps(1), s = new Flaps(9);
  bosStart(h, c, s);
  h.send('s', s.snac(1, 0x0f, Buffer.concat([bname(ME), u16(0), u16(0)])));
  return { engine, events, h, c };
}

describe('oscar: detection', () => {
  it('recognises OSCAR on port 443 from its FLAP frames and reports the session', () => {
    const { h, c, s } = session();
    bosStart(h, c, s);
    h.send('c', outgoingIm(c, BUDDY, messageBlock(fragment(Buffer.from('hello'), 0))));
    h.end();
    const sess = h.of('session');
    assert.equal(sess.length, 1);
    assert.equal(sess[0].protocol, 'aim');
    assert.match(sess[0].evidence[0].reason, /FLAP/);
    assert.deepEqual(h.of('message').map((m) => m.text), ['hello']);
  });

  it('random binary on 443 or 5190 is not OSCAR, even when it starts with 0x2a', () => {
    const rnd = seeded(7);
    for (let i = 0; i < 200; i++) {
      const h = new FlowHarness({ server: i % 2 ? '198.51.100.7:5190' : '198.51.100.7:443' });
      const a = Buffer.from(Array.from({ length: 40 + (rnd() % 600) }, () => rnd() & 0xff));
      if (i % 3 === 0) a[0] = 0x2a;
      if (i % 6 === 0) a[1] = 1 + (rnd() % 5);
      const b = Buffer.from(Array.from({ length: 40 + (rnd() % 600) }, () => rnd() & 0xff));
      h.send('c', a).send('s', b).send('c', b).send('s', a);
      h.end();
      assert.equal(h.of('session').filter((x) => x.protocol === 'aim' || x.protocol === 'icq').length, 0, `sample ${i}`);
    }
  });

  it('a single keep-alive alone is not enough; text protocols on 5190 are not OSCAR', () => {
    const h = new FlowHarness({ server: '198.51.100.7:5190' });
    h.send('c', Buffer.from('2a0500600000', 'hex'));
    h.end();
    assert.equal(h.of('session').filter((x) => x.protocol === 'aim').length, 0);
    const h2 = new FlowHarness({ server: '198.51.100.7:5190' });
    h2.send('c', 'GET / HTTP/1.1\r\nHost: x\r\n\r\n').send('s', 'HTTP/1.1 200 OK\r\n\r\n');
    h2.end();
    assert.equal(h2.of('session').filter((x) => x.protocol === 'aim').length, 0);
  });

  it('FLAP headers with broken sequence numbers are not OSCAR', () => {
    const h = new FlowHarness();
    const f = new Flaps(5);
    const a = f.snac(1, 2, Buffer.alloc(4));
    f.seq += 7;
    const b = f.snac(1, 2, Buffer.alloc(4));
    h.send('c', Buffer.concat([a, b]));
    h.end();
    assert.equal(h.of('session').length, 0);
  });
});

describe('oscar: messages', () => {
  it('outgoing and incoming: from/to, own screen name from the BUCP login, HTML stripped, entities decoded', () => {
    const h = new FlowHarness({ server: '198.51.100.7:5190' });
    const c = new Flaps(1), s = new Flaps(100);
    h.send('s', s.hello());
    h.send('c', c.hello());
    h.send('c', c.snac(0x17, 6, tlv(1, ME)));
    h.send('c', c.snac(0x17, 2, Buffer.concat([tlv(1, ME), tlv(0x25, crypto.randomBytes(16)), tlv(3, 'AOL Instant Messenger')])));
    h.send('c', outgoingIm(c, BUDDY, messageBlock(fragment(Buffer.from('<HTML><BODY><FONT FACE="Arial">Tom &amp; Jerry &lt;3 &#233;t&eacute; <b>bold</b></FONT></BODY></HTML>'), 0))));
    h.send('s', incomingIm(s, BUDDY, messageBlock(fragment(Buffer.from('<html><body>see <a href="http://x">this</a><br>ok &#x263A;</body></html>'), 0))));
    h.end();
    const msgs = h.of('message');
    assert.equal(msgs.length, 2);
    assert.equal(msgs[0].from, ME);
    assert.equal(msgs[0].to, BUDDY);
    assert.equal(msgs[0].text, 'Tom & Jerry <3 été bold');
    assert.equal(msgs[0].direction, 'outbound');
    assert.equal(msgs[1].from, BUDDY);
    assert.equal(msgs[1].to, ME);
    assert.equal(msgs[1].text, 'see this\nok ☺');
    assert.equal(msgs[1].direction, 'inbound');
    for (const m of msgs) assert.doesNotMatch(m.text, /<\/?[a-z]/i);
    const sess = h.of('session')[0];
    assert.deepEqual(new Set(sess.users), new Set([ME, BUDDY]));
    // MD5 login (TLV 0x25) is not a cleartext credential
    assert.equal(h.of('credential').length, 0);
  });

  it('UTF-16BE and ISO-8859-1 fragments; invalid UTF-16 is replaced and counted, never thrown', () => {
    const { h, c, s } = session();
    bosStart(h, c, s);
    const utf16 = Buffer.from('Grüße 日本 🙂', 'utf16le').swap16();
    h.send('c', outgoingIm(c, BUDDY, messageBlock(fragment(utf16, 2))));
    h.send('c', outgoingIm(c, BUDDY, messageBlock(fragment(Buffer.from('caf\xe9 na\xefve', 'latin1'), 3))));
    // lone high surrogate, then an odd byte count
    h.send('c', outgoingIm(c, BUDDY, messageBlock(fragment(Buffer.from([0xd8, 0x3d, 0x00, 0x41, 0x00]), 2))));
    h.end();
    const t = h.of('message').map((m) => m.text);
    assert.deepEqual(t.slice(0, 2), ['Grüße 日本 🙂', 'café naïve']);
    assert.equal(t[2], '\ufffdA\ufffd');
    assert.ok((h.of('session')[0].malformed ?? 0) >= 1);
  });

  it('a message split into 1-byte segments and several FLAPs in one segment', () => {
    const { h, c, s } = session();
    bosStart(h, c, s);
    const one = outgoingIm(c, BUDDY, messageBlock(fragment(Buffer.from('split across segments'), 0)));
    for (let i = 0; i < one.length; i++) h.send('c', one.subarray(i, i + 1));
    const many = Buffer.concat([
      typing(c, BUDDY, 2),
      outgoingIm(c, BUDDY, messageBlock(fragment(Buffer.from('first'), 0))),
      c.flap(5, Buffer.alloc(0)),
      outgoingIm(c, BUDDY, messageBlock(fragment(Buffer.from('second'), 0))),
    ]);
    h.send('c', many.subarray(0, 30)).send('c', many.subarray(30));
    h.end();
    assert.deepEqual(h.of('message').map((m) => m.text), ['split across segments', 'first', 'second']);
  });

  it('typing notifications are not messages', () => {
    const { h, c, s } = session();
    bosStart(h, c, s);
    h.send('c', typing(c, BUDDY, 2)).send('s', typing(s, BUDDY, 1)).send('c', typing(c, BUDDY, 0));
    h.end();
    assert.equal(h.of('message').length, 0);
    assert.ok(h.of('session')[0].users.includes(BUDDY));
  });

  it('ICQ over OSCAR: numeric UIN sign-on makes it icq; channel 4 messages both ways', () => {
    const h = new FlowHarness({ server: '198.51.100.8:5190' });
    const c = new Flaps(1), s = new Flaps(300);
    h.send('s', s.hello());
    h.send('c', c.flap(1, Buffer.concat([u32(1), tlv(1, '123456789'), tlv(3, 'ICQ Inc. - Product of ICQ (TM).2003b.5.56.1.3916.85')])));
    h.send('s', s.snac(1, 3, Buffer.concat([u16(1), u16(2)])));
    h.send('c', channel4(c, 123456789, '987654321', 'hi from icq', false));
    h.send('s', channel4(s, 987654321, '123456789', 'answer', true));
    h.end();
    const sess = h.of('session')[0];
    assert.equal(sess.protocol, 'icq');
    assert.ok(sess.users.includes('123456789'));
    const m = h.of('message');
    assert.deepEqual(m.map((x) => [x.from, x.to, x.text, x.protocol]), [
      ['123456789', '987654321', 'hi from icq', 'icq'],
      ['987654321', '123456789', 'answer', 'icq'],
    ]);
  });
});

describe('oscar: credentials', () => {
  it('a roasted password in the FLAP sign-on is reported once, without the password', () => {
    const h = new FlowHarness({ server: '198.51.100.7:5190' });
    const c = new Flaps(1), s = new Flaps(9);
    const roasted = Buffer.from('SECRETPW'.split('').map((ch, i) => ch.charCodeAt(0) ^ [0xf3, 0x26, 0x81, 0xc4, 0x39, 0x86, 0xdb, 0x92][i]));
    h.send('s', s.hello());
    h.send('c', c.flap(1, Buffer.concat([u32(1), tlv(1, ME), tlv(2, roasted), tlv(3, 'AOL Instant Messenger (SM), version 2.1')])));
    h.end();
    const cr = h.of('credential');
    assert.equal(cr.length, 1);
    assert.equal(cr[0].user, ME);
    assert.equal(cr[0].mechanism, 'oscar-roasted-password');
    const all = JSON.stringify(h.events);
    assert.ok(!all.includes('SECRETPW') && !all.includes(roasted.toString('hex')) && !all.includes(roasted.toString('latin1')));
  });
});

describe('oscar: file transfer', () => {
  it('rendezvous offer + OFT2 on the announced connection: carved byte for byte', () => {
    const { engine, events, h, c } = signedOn();
    const cookie = Buffer.from('a1b2c3d4e5f60708', 'hex');
    const file = crypto.randomBytes(70_001);
    h.send('c', sendFileProposal(c, BUDDY, { cookie, ip: '10.1.1.10', port: 5191, filename: 'plans.pdf', size: file.length }));
    h.end();
    const offer = events.filter((e) => e.type === 'file_transfer' && e.stage === 'offer');
    assert.equal(offer.length, 1);
    assert.deepEqual([offer[0].from, offer[0].to, offer[0].filename, offer[0].size, offer[0].transfer_id], [ME, BUDDY, 'plans.pdf', file.length, cookie.toString('hex')]);

    // the buddy connects to us on the announced port; we (the sender) prompt, it acks, bytes follow
    const d = new FlowHarness({ engine, client: '203.0.113.9:33333', server: '10.1.1.10:5191' });
    d.send('s', oftHeader(0x0101, { cookie: Buffer.alloc(8), size: file.length, filename: 'plans.pdf' }));
    d.send('c', oftHeader(0x0202, { cookie, size: file.length, filename: 'plans.pdf' }));
    for (let o = 0; o < file.length; o += 1357) d.send('s', file.subarray(o, o + 1357));
    d.send('c', oftHeader(0x0204, { cookie, size: file.length, filename: 'plans.pdf' }));
    d.end();
    const data = events.filter((e) => e.type === 'file_transfer' && e.stage === 'data');
    assert.equal(data.length, 1);
    assert.equal(data[0].sha256, crypto.createHash('sha256').update(file).digest('hex'));
    assert.equal(data[0].observed_size, file.length);
    assert.equal(data[0].complete, true);
    assert.equal(data[0].transfer_id, cookie.toString('hex'));
    assert.deepEqual([data[0].from, data[0].to, data[0].filename], [ME, BUDDY, 'plans.pdf']);
  });

  it('two proposals through one rendezvous proxy, and two to one listener: each connection takes the one its cookie names, whatever the order', () => {
    const { engine, events, h, c } = signedOn();
    const cookies = ['1111111111111111', '2222222222222222', '3333333333333333', '4444444444444444'].map((x) => Buffer.from(x, 'hex'));
    const files = cookies.map(() => crypto.randomBytes(1500 + crypto.randomInt(1000)));
    for (const [i, cookie] of cookies.entries()) {
      const proxied = i < 2;
      h.send('c', sendFileProposal(c, BUDDY, { cookie, ip: proxied ? '64.12.200.10' : '10.1.1.10', port: proxied ? 5190 : 5191, filename: `f${i}.bin`, size: files[i].length, proxied }));
    }
    h.end();
    // through the proxy (our client CREATEd its session before proposing): the buddy JOINs with the
    // pin and the cookie, the proxy says READY and relays our prompt and the file; the second
    // proposal's connection first, and of it only the proxy's side captured (READY, then the prompt
    // naming the cookie)
    for (const i of [1, 0]) {
      const p = new FlowHarness({ engine, client: `203.0.113.9:${41001 + i}`, server: '64.12.200.10:5190' });
      if (i === 0) p.send('c', proxyInitFrame(BUDDY, cookies[i], SEND_FILE, 4000 + i));
      p.send('s', proxyFrame(5)).send('s', Buffer.concat([oftHeader(0x0101, { cookie: cookies[i], size: files[i].length, filename: `f${i}.bin` }), files[i]])).end();
    }
    // to our listener: the buddy connects, our prompt names the proposal's cookie
    for (const i of [3, 2]) {
      const d = new FlowHarness({ engine, client: `203.0.113.9:${33330 + i}`, server: '10.1.1.10:5191' });
      d.send('s', Buffer.concat([oftHeader(0x0101, { cookie: cookies[i], size: files[i].length, filename: `f${i}.bin` }), files[i]])).end();
    }
    const data = events.filter((e) => e.type === 'file_transfer' && e.stage === 'data');
    const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');
    assert.deepEqual(data.map((e) => [e.filename, e.transfer_id, e.sha256]).sort(), files.map((f, i) => [`f${i}.bin`, cookies[i].toString('hex'), sha(f)]));
  });

  it('OFT2 recognised on its own (no offer seen), through an AOL proxy frame too', () => {
    const file = Buffer.from('%PDF-1.4\n' + 'x'.repeat(5000));
    const h = new FlowHarness({ client: '10.1.1.10:40001', server: '203.0.113.9:4443' });
    h.send('s', oftHeader(0x0101, { cookie: Buffer.from('0011223344556677', 'hex'), size: file.length, filename: 'a.pdf' }));
    h.send('s', file);
    h.end();
    const d = h.of('file_transfer');
    assert.equal(d.length, 1);
    assert.equal(d[0].sha256, crypto.createHash('sha256').update(file).digest('hex'));
    assert.equal(d[0].file_type, 'pdf');
    assert.equal(d[0].filename, 'a.pdf');

    const engine = new Engine(loadRegistry(), { emit: (e) => ev.push(e) });
    const ev: any[] = [];
    const b = new FlowHarness({ engine, server: '198.51.100.7:5190' });
    const c = new Flaps(1), s = new Flaps(9);
    bosStart(b, c, s);
    b.send('c', sendFileProposal(c, BUDDY, { cookie: Buffer.from('1111111111111111', 'hex'), ip: '64.12.200.10', port: 5190, filename: 'p.txt', size: 11, proxied: true }));
    b.end();
    const p = new FlowHarness({ engine, client: '10.1.1.10:40002', server: '64.12.200.10:5190' });
    const frame = (cmd: number) => Buffer.concat([u16(10), u16(0x044a), u16(cmd), u32(0), u16(0)]);
    p.send('s', frame(3)).send('s', frame(5));
    p.send('s', Buffer.concat([oftHeader(0x0101, { cookie: Buffer.alloc(8), size: 11, filename: 'p.txt' }), Buffer.from('hello proxy')]));
    p.end();
    const carved = ev.filter((e) => e.type === 'file_transfer' && e.stage === 'data');
    assert.equal(carved.length, 1);
    assert.equal(carved[0].sha256, crypto.createHash('sha256').update('hello proxy').digest('hex'));
  });

  it('a transfer cut short is reported incomplete', () => {
    const h = new FlowHarness({ server: '203.0.113.9:4443' });
    h.send('s', oftHeader(0x0101, { cookie: Buffer.alloc(8), size: 4_000_000_000, filename: 'huge.bin' }));
    h.send('s', Buffer.alloc(1000, 7));
    h.end();
    const d = h.of('file_transfer');
    assert.equal(d.length, 1);
    assert.equal(d[0].complete, false);
    assert.equal(d[0].observed_size, 1000);
  });
});

describe('oscar: hostile input', () => {
  it('lengths that lie, endless TLVs, huge declared sizes: counted malformed, no exception', () => {
    const { h, c, s } = session();
    bosStart(h, c, s);
    // message block fragment claims more than it has
    const lying = Buffer.concat([u16(0x0501), u16(1), u8x(1), u16(0x0101), u16(0xfff0), u16(0), u16(0), Buffer.from('abc')]);
    h.send('c', outgoingIm(c, BUDDY, lying));
    // buddy name length past the end
    h.send('c', c.snac(4, 6, Buffer.concat([Buffer.alloc(8), u16(1), Buffer.from([200]), Buffer.from('short')])));
    // thousands of empty TLVs
    const endless = Buffer.alloc(60_000);
    h.send('c', c.snac(4, 6, Buffer.concat([Buffer.alloc(8), u16(1), bname(BUDDY), endless])));
    // user-info TLV count of 65535
    h.send('s', s.snac(4, 7, Buffer.concat([Buffer.alloc(8), u16(1), bname(BUDDY), u16(0), u16(0xffff), tlv(1, u16(0))])));
    // a rendezvous whose file-info TLV is truncated
    h.send('c', c.snac(4, 6, Buffer.concat([Buffer.alloc(8), u16(2), bname(BUDDY), tlv(5, Buffer.concat([u16(0), Buffer.alloc(8), Buffer.from('094613434c7f11d18222444553540000', 'hex'), u16(0x2711), u16(900), u16(1)]))])));
    // garbage between frames, then a valid message: the reader resynchronises
    h.send('c', Buffer.from('garbage!garbage!'));
    h.send('c', outgoingIm(c, BUDDY, messageBlock(fragment(Buffer.from('still decoding'), 0))));
    h.end();
    const sess = h.of('session')[0];
    assert.ok((sess.malformed ?? 0) >= 3, `malformed ${sess.malformed}`);
    assert.equal(h.engine.stats.decoderErrors, 0);
    assert.deepEqual(h.of('message').map((m) => m.text), ['still decoding']);
  });

  it('an OFT2 header with an impossible length is rejected', () => {
    const h = new FlowHarness({ server: '203.0.113.9:4443' });
    const bad = oftHeader(0x0101, { cookie: Buffer.alloc(8), size: 10, filename: 'x' });
    bad.writeUInt16BE(0x0010, 4);
    h.send('s', bad).send('s', Buffer.alloc(10));
    h.end();
    assert.equal(h.of('file_transfer').length, 0);
    assert.equal(h.of('session').length, 0);
  });
});

function u8x(v: number): Buffer {
  return Buffer.from([v]);
}

describe('oscar: ICQ by server name', () => {
  it('a connection to an address DNS resolved from login.icq.com is reported as icq', () => {
    const events: any[] = [];
    const engine = new Engine(loadRegistry(), { emit: (e) => events.push(e) });
    engine.kb.learnName('198.51.100.44', 'login.icq.com');
    const h = new FlowHarness({ engine, server: '198.51.100.44:5190' });
    const c = new Flaps(1), s = new Flaps(2);
    bosStart(h, c, s);
    h.end();
    const sess = events.filter((e) => e.type === 'session');
    assert.equal(sess.length, 1);
    assert.equal(sess[0].protocol, 'icq');
    assert.match(sess[0].evidence.map((e: any) => e.reason).join(' '), /FLAP/);
  });
});

describe('oscar: OFT2 resume', () => {
  it('a resumed transfer carves the rest and is reported incomplete, header not mistaken for data', () => {
    const rest = Buffer.from('the second half of the file');
    const h = new FlowHarness({ server: '203.0.113.9:4443' });
    const cookie = Buffer.from('0909090909090909', 'hex');
    h.send('s', oftHeader(0x0101, { cookie, size: 100 + rest.length, filename: 'r.txt' }));
    const resume = oftHeader(0x0205, { cookie, size: 100 + rest.length, filename: 'r.txt' });
    resume.writeUInt32BE(100, 0x3c);
    h.send('c', resume);
    const ack = oftHeader(0x0106, { cookie, size: 100 + rest.length, filename: 'r.txt' });
    ack.writeUInt32BE(100, 0x3c);
    h.send('s', ack);
    h.send('c', oftHeader(0x0207, { cookie, size: 100 + rest.length, filename: 'r.txt' }));
    h.send('s', rest);
    h.end();
    const d = h.of('file_transfer');
    assert.equal(d.length, 1);
    assert.equal(d[0].observed_size, rest.length);
    assert.equal(d[0].sha256, crypto.createHash('sha256').update(rest).digest('hex'));
    assert.equal(d[0].complete, false);
  });
});

describe('oscar: ICQ type-2 (server relay) messages', () => {
  it('decodes the text of a channel-2 server-relay message and marks the session icq', () => {
    const h = new FlowHarness({ server: '198.51.100.8:5190' });
    const c = new Flaps(1), s = new Flaps(300);
    h.send('s', s.hello());
    h.send('c', c.flap(1, Buffer.concat([u32(1), tlv(6, crypto.randomBytes(16))])));
    h.send('s', s.snac(1, 3, Buffer.alloc(8)));
    h.send('c', serverRelayMessage(c, '44556677', 'привет, type-2 text'));
    h.end();
    assert.equal(h.of('session')[0].protocol, 'icq');
    assert.deepEqual(h.of('message').map((m) => [m.to, m.text]), [['44556677', 'привет, type-2 text']]);
  });
});

describe('oscar: through an HTTP CONNECT proxy', () => {
  it('decodes OSCAR inside a CONNECT tunnel to a listed AIM host', () => {
    const h = new FlowHarness({ client: '10.1.1.10:40100', server: '10.1.1.1:3128' });
    const c = new Flaps(1), s = new Flaps(9);
    h.send('c', 'CONNECT login.oscar.aol.com:5190 HTTP/1.0\r\nUser-Agent: AIM/30 (Mozilla 1.24b; Windows; I; 32-bit)\r\n\r\n');
    h.send('s', Buffer.concat([Buffer.from('HTTP/1.0 200 Connection established\r\n\r\n'), s.hello()]));
    h.send('c', Buffer.concat([c.hello(), c.snac(0x17, 6, tlv(1, ME))]));
    h.send('c', outgoingIm(c, BUDDY, messageBlock(fragment(Buffer.from('through the proxy'), 0))));
    h.end();
    const sess = h.of('session')[0];
    assert.equal(sess.protocol, 'aim');
    assert.equal(sess.server_name, 'login.oscar.aol.com');
    assert.deepEqual(h.of('message').map((m) => [m.from, m.to, m.text]), [[ME, BUDDY, 'through the proxy']]);
  });

  it('TLS inside the tunnel is reported encrypted; CONNECT to an unlisted host is not OSCAR', () => {
    const h = new FlowHarness({ server: '10.1.1.1:3128' });
    h.send('c', 'CONNECT login.icq.com:443 HTTP/1.1\r\nHost: login.icq.com:443\r\n\r\n');
    h.send('s', 'HTTP/1.1 200 OK\r\n\r\n');
    h.send('c', Buffer.from('160301020001000000', 'hex'));
    h.end();
    const sess = h.of('session')[0];
    assert.equal(sess.protocol, 'icq');
    assert.equal(sess.encrypted, true);
    const o = new FlowHarness({ server: '10.1.1.1:3128' });
    o.send('c', 'CONNECT files.example.com:5190 HTTP/1.1\r\n\r\n').send('s', 'HTTP/1.1 200 OK\r\n\r\n');
    o.end();
    assert.ok(!o.of('session').some((x) => x.protocol === 'aim' || x.protocol === 'icq'));
  });
});
