// The decoders that frame a byte stream through a ByteQueue decode the same content however the
// stream is cut: whole segments, one byte per segment, random splits. Every piece is handed over in
// one reused buffer that is overwritten after the call (as the packet path does), so a decoder that
// keeps a view of the caller's buffer or of its queue past the call shows up as corrupted content.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import type { ShadowEvent } from '../../common/events';
import { rng } from '../../common/rng';
import { Engine } from '../../signatures/engine';
import { loadRegistry } from '../../signatures/registry';
import { ByteQueue } from '../../signatures/text';
import { FlowHarness } from '../helpers/harness';
import { dnsQuery, dnsResponse } from './modern-wire';
import { invite, msnftpBlocks, textMsg, typing as msnTyping } from './msn-wire';
import { Flaps, bname, channel4, fragment, incomingIm, messageBlock, oftHeader, outgoingIm, sendFileProposal, tlv, typing, u16, u32 } from './oscar-wire';

/** a third element `true`: this segment is never cut */
type Seg = ['c' | 's', Buffer | string] | ['c' | 's', Buffer | string, true];
interface Script {
  client?: string;
  server: string;
  segs: Seg[];
  /** leading segments sent whole: what detection decides on (detection is not under test here) */
  whole?: number;
}
/** 'whole' segments, one 'byte' per segment, or random splits from a seed */
type Split = 'whole' | 'bytes' | number;
const SPLITS: Split[] = ['whole', 'bytes', 1, 2, 3, 4, 5, 6];

/** Plays flows through one engine, each piece in one reused buffer that is overwritten after the call. */
function play(flows: Script[], split: Split): { events: ShadowEvent[]; engine: Engine } {
  const events: ShadowEvent[] = [];
  const engine = new Engine(loadRegistry(), { emit: (e) => events.push(e) });
  const r = rng(typeof split === 'number' ? split : 0);
  const scratch = Buffer.alloc(1 << 16);
  for (const f of flows) {
    const h = new FlowHarness({ engine, client: f.client, server: f.server });
    f.segs.forEach(([dir, data, keep], i) => {
      const b = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
      for (let o = 0; o < b.length; ) {
        const n = i < (f.whole ?? 1) || keep || split === 'whole' ? b.length : split === 'bytes' ? 1 : 1 + Math.floor(r() * (r() < 0.5 ? 8 : 700));
        const piece = b.subarray(o, o + n);
        const reused = piece.length <= scratch.length ? scratch.subarray(0, piece.length) : Buffer.alloc(piece.length);
        piece.copy(reused);
        h.send(dir, reused);
        reused.fill(0xee);
        o += piece.length;
      }
    });
    h.end();
  }
  assert.equal(engine.stats.decoderErrors, 0);
  return { events, engine };
}

const of = <T extends ShadowEvent['type']>(events: ShadowEvent[], type: T) => events.filter((e) => e.type === type) as Extract<ShadowEvent, { type: T }>[];
const sha256 = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');
/** deterministic bytes (a file to carve) */
function bytes(n: number, seed: number): Buffer {
  const r = rng(seed);
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(r() * 256);
  return b;
}

describe('framing: ByteQueue feed / keepFrom', () => {
  it('frames a length-prefixed stream cut anywhere exactly like framing the whole stream', () => {
    const r = rng(11);
    for (let round = 0; round < 200; round++) {
      const frames: Buffer[] = [];
      for (let k = 0; k < 20; k++) frames.push(bytes(Math.floor(r() * (r() < 0.1 ? 3000 : 40)), round * 100 + k));
      const stream = Buffer.concat(frames.map((f) => Buffer.concat([u16(f.length), f])));
      const q = new ByteQueue();
      const got: string[] = [];
      const scratch = Buffer.alloc(4096);
      for (let o = 0; o < stream.length; ) {
        const n = Math.min(stream.length - o, 1 + Math.floor(r() * (r() < 0.3 ? 3 : 2000)));
        const data = scratch.subarray(0, n);
        stream.copy(data, 0, o, o + n);
        o += n;
        const b = q.feed(data);
        let pos = 0;
        while (b.length - pos >= 2 && b.length - pos >= 2 + b.readUInt16BE(pos)) {
          const len = b.readUInt16BE(pos);
          got.push(b.toString('hex', pos + 2, pos + 2 + len));
          pos += 2 + len;
        }
        q.keepFrom(b, pos);
        data.fill(0xee); // the caller's buffer is reused: what was kept must be a copy
        assert.ok(q.length < 2 + 3000 + 2000);
      }
      assert.deepEqual(got, frames.map((f) => f.toString('hex')));
      assert.equal(q.length, 0);
    }
  });
});

describe('framing: OSCAR (FLAP, HTTP CONNECT tunnel) cut anywhere', () => {
  const ME = 'CorpUser42', BUDDY = 'OutsideFriend';
  const cookie = Buffer.from('a1b2c3d4e5f60708', 'hex');
  const long = Array.from({ length: 900 }, (_, i) => `w${i}`).join(' ');

  function bos(): Script {
    const c = new Flaps(0x100), s = new Flaps(0x2000);
    return {
      client: '10.1.1.10:40000', server: '198.51.100.7:5190', whole: 3,
      segs: [
        ['s', s.hello()],
        ['c', c.flap(1, Buffer.concat([u32(1), tlv(1, ME), tlv(2, Buffer.alloc(8, 0x55))]))],
        ['s', s.snac(1, 0x0f, Buffer.concat([bname(ME), u16(0), u16(0)]))],
        ['c', outgoingIm(c, BUDDY, messageBlock(fragment(Buffer.from('<b>hello</b> &amp; more'), 0)))],
        ['s', incomingIm(s, BUDDY, messageBlock(fragment(Buffer.from('answer ü 日本', 'utf16le').swap16(), 2)))],
        ['c', Buffer.concat([typing(c, BUDDY), outgoingIm(c, BUDDY, messageBlock(fragment(Buffer.from('two in one'), 0))), c.flap(5, Buffer.alloc(0))])],
        ['s', channel4(s, 7654321, ME, 'icq reply', true)],
        ['c', sendFileProposal(c, BUDDY, { cookie, ip: '10.1.1.10', port: 5191, filename: 'plans.pdf', size: 1234 })],
        ['c', outgoingIm(c, BUDDY, messageBlock(fragment(Buffer.from(long), 0)))],
      ],
    };
  }

  it('screen names, message texts, the sign-on and the file offer are the same for every split', () => {
    for (const split of SPLITS) {
      const { events } = play([bos()], split);
      const why = `split ${split}`;
      assert.deepEqual(of(events, 'message').map((m) => [m.from, m.to, m.text.length > 100 ? sha256(Buffer.from(m.text)) : m.text]), [
        [ME, BUDDY, 'hello & more'],
        [BUDDY, ME, 'answer ü 日本'],
        [ME, BUDDY, 'two in one'],
        ['7654321', ME, 'icq reply'],
        [ME, BUDDY, long],
      ].map(([f, t, text]) => [f, t, text.length > 100 ? sha256(Buffer.from(text)) : text]), why);
      assert.deepEqual(of(events, 'credential').map((c) => [c.user, c.mechanism]), [[ME, 'oscar-roasted-password']], why);
      const offer = of(events, 'file_transfer').map((f) => [f.stage, f.filename, f.size, f.transfer_id, f.from, f.to]);
      assert.deepEqual(offer, [['offer', 'plans.pdf', 1234, cookie.toString('hex'), ME, BUDDY]], why);
      const sess = of(events, 'session')[0];
      assert.deepEqual([...sess.users].sort(), [ME, BUDDY, '7654321'].sort(), why);
      assert.equal(sess.malformed ?? 0, 0, why);
    }
  });

  it('OFT2: headers (direct, after AOL proxy frames, an 8 KiB-bound long one, resume) gathered across any cut; files carved whole', () => {
    const file = bytes(20_000, 7);
    const rest = Buffer.from('the second half of the file');
    const rc = Buffer.from('0909090909090909', 'hex');
    const resume = oftHeader(0x0205, { cookie: rc, size: 100 + rest.length, filename: 'r.txt' });
    resume.writeUInt32BE(100, 0x3c);
    const ack = oftHeader(0x0106, { cookie: rc, size: 100 + rest.length, filename: 'r.txt' });
    ack.writeUInt32BE(100, 0x3c);
    const proxyFrame = (cmd: number) => Buffer.concat([u16(10), u16(0x044a), u16(cmd), u32(0), u16(0)]);
    const longHdr = Buffer.concat([oftHeader(0x0101, { cookie: rc, size: 11, filename: 'über.txt' }), Buffer.alloc(4000, 0x41)]);
    longHdr.writeUInt16BE(longHdr.length, 4);
    longHdr.fill(0, 0xc0 + Buffer.byteLength('über.txt', 'latin1'), 256);
    for (const split of SPLITS) {
      const p = new Flaps(9), q = new Flaps(1);
      const { events } = play([
        bos(),
        {
          client: '203.0.113.9:33333', server: '10.1.1.10:5191',
          segs: [
            ['s', oftHeader(0x0101, { cookie: Buffer.alloc(8), size: file.length, filename: 'plans.pdf' })],
            ['c', oftHeader(0x0202, { cookie, size: file.length, filename: 'plans.pdf' })],
            ['s', file],
            ['c', oftHeader(0x0204, { cookie, size: file.length, filename: 'plans.pdf' })],
          ],
        },
        {
          client: '10.1.1.10:40001', server: '203.0.113.9:4443',
          segs: [['s', oftHeader(0x0101, { cookie: rc, size: 127, filename: 'r.txt' })], ['c', resume], ['s', ack], ['c', oftHeader(0x0207, { cookie: rc, size: 127, filename: 'r.txt' })], ['s', rest]],
        },
        {
          client: '10.1.1.10:40002', server: '198.51.100.7:5190', whole: 3,
          segs: [
            ['s', p.hello()],
            ['c', Buffer.concat([q.hello(), q.snac(0x17, 6, tlv(1, ME))])],
            ['s', p.snac(1, 3, Buffer.concat([u16(1), u16(2), u16(3), u16(4)]))],
            ['c', sendFileProposal(q, BUDDY, { cookie: rc, ip: '64.12.200.10', port: 5190, filename: 'p.txt', size: 11, proxied: true })],
          ],
        },
        {
          client: '10.1.1.10:40003', server: '64.12.200.10:5190',
          segs: [['s', proxyFrame(3)], ['s', proxyFrame(5)], ['s', Buffer.concat([longHdr, Buffer.from('hello proxy')])]],
        },
      ], split);
      const data = of(events, 'file_transfer').filter((f) => f.stage === 'data');
      assert.deepEqual(data.map((d) => [d.filename, d.observed_size, d.sha256, d.complete]), [
        ['plans.pdf', file.length, sha256(file), true],
        ['r.txt', rest.length, sha256(rest), false],
        ['über.txt', 11, sha256(Buffer.from('hello proxy')), true],
      ], `split ${split}`);
      assert.deepEqual([data[0].from, data[0].to, data[0].transfer_id], [ME, BUDDY, cookie.toString('hex')]);
    }
  });

  it('OFT2: file data that starts like a resume answer ("OFT2" but not 01 06), tiny or cut anywhere, is carved whole', () => {
    const cookie = Buffer.from('0a0b0c0d0e0f1011', 'hex');
    for (const file of [Buffer.from('OFT2\x01\x00\x01\x07 and the rest of a file that quotes a header', 'latin1'), Buffer.from('OFT2\x01', 'latin1'), Buffer.from('OF', 'latin1')]) {
      for (const split of SPLITS) {
        const { events } = play([{
          client: '10.1.1.10:40010', server: '203.0.113.9:4443',
          segs: [
            ['s', oftHeader(0x0101, { cookie, size: file.length, filename: 'quote.txt' })],
            ['c', oftHeader(0x0202, { cookie, size: file.length, filename: 'quote.txt' })],
            ['s', file],
            ['c', oftHeader(0x0204, { cookie, size: file.length, filename: 'quote.txt' })],
          ],
        }], split);
        const data = of(events, 'file_transfer').filter((f) => f.stage === 'data');
        assert.deepEqual(data.map((d) => [d.filename, d.observed_size, d.sha256, d.complete]), [['quote.txt', file.length, sha256(file), true]], `${file.length} bytes, split ${split}`);
      }
    }
  });

  it('through an HTTP CONNECT proxy: the proxy header ends anywhere, the tunnel is decoded', () => {
    for (const split of SPLITS) {
      const c = new Flaps(1), s = new Flaps(9);
      const { events } = play([{
        client: '10.1.1.10:40100', server: '10.1.1.1:3128',
        segs: [
          ['c', 'CONNECT login.oscar.aol.com:5190 HTTP/1.0\r\nUser-Agent: AIM/30 (Mozilla 1.24b; Windows; I; 32-bit)\r\n\r\n'],
          ['s', Buffer.concat([Buffer.from('HTTP/1.0 200 Connection established\r\nProxy-agent: x\r\n\r\n'), s.hello()])],
          ['c', Buffer.concat([c.hello(), c.snac(0x17, 6, tlv(1, ME))])],
          ['c', outgoingIm(c, BUDDY, messageBlock(fragment(Buffer.from('through the proxy'), 0)))],
          ['s', incomingIm(s, BUDDY, messageBlock(fragment(Buffer.from('back through'), 0)))],
        ],
      }], split);
      const why = `split ${split}`;
      assert.deepEqual(of(events, 'message').map((m) => [m.from, m.to, m.text]), [[ME, BUDDY, 'through the proxy'], [BUDDY, ME, 'back through']], why);
      const sess = of(events, 'session')[0];
      assert.equal(sess.server_name, 'login.oscar.aol.com', why);
      assert.equal(sess.malformed ?? 0, 0, why);
    }
  });
});

describe('framing: MSN (MSNP lines and payloads) cut anywhere', () => {
  const ME = 'alice@example.com', BUDDY = 'bob@example.net';
  const start: Seg[] = [
    ['c', `USR 1 ${ME} 1835953129.20013021.2623242\r\n`],
    ['s', `USR 1 OK ${ME} Alice\r\n`],
    ['c', `CAL 2 ${BUDDY}\r\n`],
    ['s', `CAL 2 RINGING 1835953129\r\nJOI ${BUDDY} Bob 1616756780\r\n`],
  ];

  it('switchboard: users and texts (multi-byte UTF-8 too) are the same for every split; over-long lines are dropped and counted', () => {
    const utf = 'Grüße aus Köln — 東京 🚀';
    for (const split of SPLITS) {
      const { events } = play([{
        client: '10.1.1.10:40000', server: '203.0.113.9:1863', whole: 2,
        segs: [
          ...start,
          ['c', textMsg('3 N', 'Hey Bob, the numbers are in')],
          ['s', Buffer.concat([msnTyping(`${BUDDY} Bob`, BUDDY), textMsg(`${BUDDY} Bob`, utf), Buffer.from('ACK 3\r\n'), textMsg(`${BUDDY} Bob`, 'see you')])],
          // 20000 bytes with a CRLF, then 17000 without one for a while: each dropped to its end, counted once
          ['s', `XYZ ${'a'.repeat(20000)}\r\n`],
          ['s', textMsg(`${BUDDY} Bob`, 'after a long line')],
          ['s', `ABC ${'b'.repeat(17000)}`],
          ['s', `${'c'.repeat(100)}\r\n`],
          ['s', textMsg(`${BUDDY} Bob`, 'after a longer one')],
          ['c', textMsg('4 N', 'x'.repeat(5000))],
        ],
      }], split);
      const why = `split ${split}`;
      assert.deepEqual(of(events, 'message').map((m) => [m.from, m.to, m.text]), [
        [ME, BUDDY, 'Hey Bob, the numbers are in'],
        [BUDDY, ME, utf],
        [BUDDY, ME, 'see you'],
        [BUDDY, ME, 'after a long line'],
        [BUDDY, ME, 'after a longer one'],
        [ME, BUDDY, 'x'.repeat(5000)],
      ], why);
      const sess = of(events, 'session')[0];
      assert.deepEqual([...sess.users].sort(), [ME, BUDDY].sort(), why);
      assert.equal(sess.malformed, 2, why);
    }
  });

  it('MSNFTP: lines, bytes that came before TFR, and 3-byte block headers cut anywhere; the file carved whole', () => {
    // the first block's bytes follow FIL before the receiver's TFR: no LF in them, so they wait as a line
    const file = Buffer.concat([Buffer.alloc(800, 0x41), bytes(9_200, 5)]);
    const blocks = msnftpBlocks(file);
    const cookie = '1234567';
    for (const split of SPLITS) {
      const { events } = play([
        {
          client: '10.1.1.10:40000', server: '203.0.113.9:1863', whole: 2,
          segs: [
            ...start,
            ['c', invite('5 N', { 'Application-Name': 'File Transfer', 'Application-GUID': '{5D3E02AB-6190-11d3-BBBB-00C04F795683}', 'Invitation-Command': 'INVITE', 'Invitation-Cookie': cookie, 'Application-File': 'q3 report.xlsx', 'Application-FileSize': String(file.length) })],
            ['s', invite(`${BUDDY} Bob`, { 'Invitation-Command': 'ACCEPT', 'Invitation-Cookie': cookie, 'Launch-Application': 'FALSE', 'Request-Data': 'IP-Address:' })],
            ['c', invite('6 N', { 'Invitation-Command': 'ACCEPT', 'Invitation-Cookie': cookie, 'IP-Address': '10.1.1.10', 'Port': '6891', 'AuthCookie': '99887766', 'Launch-Application': 'FALSE', 'Request-Data': 'IP-Address:' })],
          ],
        },
        {
          client: '198.51.100.20:51000', server: '10.1.1.10:6891',
          segs: [
            ['c', 'VER MSNFTP\r\n'], ['s', 'VER MSNFTP\r\n'], ['c', `USR ${BUDDY} 99887766\r\n`],
            ['s', Buffer.concat([Buffer.from(`FIL ${file.length}\r\n`), blocks.subarray(0, 700)])],
            ['c', 'TFR\r\n'],
            ['s', blocks.subarray(700)],
            ['c', 'BYE 16777989\r\n'],
          ],
        },
        {
          client: '10.1.1.10:40500', server: '198.51.100.21:6891',
          segs: [
            ['c', 'VER MSNFTP\r\n'], ['s', 'VER MSNFTP\r\n'], ['c', `USR ${ME} 1\r\n`], ['s', `FIL ${file.length}\r\n`], ['c', 'TFR\r\n'],
            ['s', Buffer.concat([msnftpBlocks(file.subarray(0, 2045)), Buffer.from([1, 0, 0])])],
            ['c', 'CCL\r\n'],
          ],
        },
      ], split);
      const why = `split ${split}`;
      const data = of(events, 'file_transfer').filter((f) => f.stage === 'data');
      assert.deepEqual(data.map((d) => [d.filename, d.observed_size, d.sha256, d.complete]), [
        ['q3 report.xlsx', file.length, sha256(file), true],
        ['unknown (MSNFTP)', 2045, sha256(file.subarray(0, 2045)), false],
      ], why);
      assert.deepEqual(data.map((d) => d.to), [BUDDY, ME], why);
      assert.equal(of(events, 'session').reduce((n, x) => n + (x.malformed ?? 0), 0), 0, why);
    }
  });

  it('HTTP gateway and CONNECT tunnel: heads, Content-Length, chunked and until-close bodies, tunnel bytes held before the 2xx', () => {
    const post = (q: string, body: string) =>
      `POST http://gateway.messenger.hotmail.com/gateway/gateway.dll?${q} HTTP/1.1\r\nAccept: */*\r\nUser-Agent: MSMSGS\r\nHost: gateway.messenger.hotmail.com\r\nConnection: Keep-Alive\r\nContent-Type: application/x-msn-messenger\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    const reply = (body: Buffer) => Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nX-MSN-Messenger: SessionID=954547325.13160; GW-IP=207.46.110.18\r\nContent-Type: application/x-msn-messenger\r\nContent-Length: ${body.length}\r\n\r\n`), body]);
    const body = Buffer.concat([Buffer.from(`IRO 1 1 1 ${BUDDY} Bob\r\n`), textMsg(`${BUDDY} Bob`, 'chunked hello')]);
    const chunked = Buffer.concat([
      Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: application/x-msn-messenger\r\nTransfer-Encoding: chunked\r\n\r\n'),
      Buffer.from(`${(30).toString(16)}\r\n`), body.subarray(0, 30), Buffer.from('\r\n'),
      Buffer.from(`${(body.length - 30).toString(16)};ext=1\r\n`), body.subarray(30), Buffer.from('\r\n0\r\nX-Trailer: 1\r\n\r\n'),
    ]);
    for (const split of SPLITS) {
      const { events } = play([
        {
          client: '10.1.1.10:40001', server: '198.51.100.80:80',
          segs: [
            ['c', post('Action=open&Server=SB&IP=207.46.108.38', `USR 1 ${ME} 1835953129.20013021.2623242\r\n`)],
            ['s', reply(Buffer.from(`USR 1 OK ${ME} Alice\r\n`))],
            ['c', post('SessionID=1', `CAL 2 ${BUDDY}\r\n`) + '\r\n' + post('SessionID=1', textMsg('3 N', 'via the gateway').toString('latin1'))],
            ['s', Buffer.concat([reply(Buffer.from(`CAL 2 RINGING 1\r\nJOI ${BUDDY} Bob\r\n`)), reply(textMsg(`${BUDDY} Bob`, 'answer through HTTP'))])],
            ['c', post('SessionID=1', 'PNG\r\n')],
            ['s', chunked],
            ['c', post('SessionID=1', 'PNG\r\n')],
            ['s', Buffer.concat([Buffer.from('HTTP/1.0 200 OK\r\nContent-Type: application/x-msn-messenger\r\n\r\n'), textMsg(`${BUDDY} Bob`, 'until close')])],
          ],
        },
        {
          client: '10.1.1.10:40002', server: '10.1.1.1:3128',
          segs: [
            ['c', 'CONNECT 207.46.108.38:1863 HTTP/1.1\r\nHost: 207.46.108.38:1863\r\n\r\n'],
            // sent before the proxy's answer: held by the client side, then handed to the tunnel
            ['c', `USR 1 ${ME} 1835953129.20013021.2623242\r\nCAL 2 ${BUDDY}\r\n`],
            // (our own name is only in the held USR line)
            ['s', `HTTP/1.1 200 Connection established\r\n\r\nJOI ${BUDDY} Bob 1616756780\r\n`],
            ['c', textMsg('3 N', 'through the tunnel')],
            ['s', textMsg(`${BUDDY} Bob`, 'tunnel reply')],
          ],
        },
      ], split);
      const why = `split ${split}`;
      const sessions = of(events, 'session');
      assert.deepEqual(sessions.map((x) => [x.protocol, x.malformed ?? 0]), [['msn', 0], ['msn', 0]], why);
      assert.equal(sessions[0].server_name, 'gateway.messenger.hotmail.com', why);
      assert.deepEqual(of(events, 'message').map((m) => [m.from, m.to, m.text]), [
        [ME, BUDDY, 'via the gateway'],
        [BUDDY, ME, 'answer through HTTP'],
        [BUDDY, ME, 'chunked hello'],
        [BUDDY, ME, 'until close'],
        [ME, BUDDY, 'through the tunnel'],
        [BUDDY, ME, 'tunnel reply'],
      ], why);
    }
  });
});

describe('framing: XMPP SOCKS5 bytestream (XEP-0065) cut anywhere', () => {
  it('the SOCKS5 handshake of each side ends anywhere; the file after it is carved whole; a connection to a streamhost that is not SOCKS5 is not taken for the bytestream', () => {
    const C_HDR = "<?xml version='1.0'?><stream:stream to='example.org' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>";
    const S_HDR = "<?xml version='1.0'?><stream:stream from='example.org' id='abc' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>";
    const BIND = "<iq type='result' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>juliet@example.org/balcony</jid></bind></iq>";
    const file = bytes(30_000, 9);
    const hash = Buffer.from(crypto.createHash('sha1').update('vxf9n471bn46romeo@example.net/orchardjuliet@example.org/balcony').digest('hex'));
    for (const split of SPLITS) {
      const { events } = play([
        {
          server: '198.51.100.7:5222', whole: 3,
          segs: [
            ['c', C_HDR], ['s', S_HDR], ['s', BIND],
            ['s', `<iq type='set' id='si2' from='romeo@example.net/orchard' to='juliet@example.org/balcony'><si xmlns='http://jabber.org/protocol/si' id='vxf9n471bn46' profile='http://jabber.org/protocol/si/profile/file-transfer'><file xmlns='http://jabber.org/protocol/si/profile/file-transfer' name='rose.png' size='${file.length}'/></si></iq>`],
            ['s', "<iq type='set' id='hu3vax16' from='romeo@example.net/orchard' to='juliet@example.org/balcony'><query xmlns='http://jabber.org/protocol/bytestreams' sid='vxf9n471bn46' mode='tcp'><streamhost jid='romeo@example.net/orchard' host='203.0.113.5' port='5086'/><streamhost jid='proxy.example.net' host='203.0.113.6' port='7777'/></query></iq>"],
          ],
        },
        {
          client: '10.1.1.10:50500', server: '203.0.113.5:5086',
          segs: [
            ['c', Buffer.from([5, 1, 0])], ['s', Buffer.from([5, 0])],
            ['c', Buffer.concat([Buffer.from([5, 1, 0, 3, 40]), hash, Buffer.from([0, 0])])],
            ['s', Buffer.concat([Buffer.from([5, 0, 0, 3, 40]), hash, Buffer.from([0, 0]), file.subarray(0, 1000)])],
            ['s', file.subarray(1000)],
          ],
        },
        { client: '10.1.1.11:50500', server: '203.0.113.6:7777', segs: [['c', 'GET / HTTP/1.1\r\n\r\n'], ['s', file.subarray(0, 700)]] },
      ], split);
      const why = `split ${split}`;
      const data = of(events, 'file_transfer').filter((f) => f.stage === 'data');
      assert.deepEqual(data.map((d) => [d.filename, d.observed_size, d.sha256, d.complete]), [['rose.png', file.length, sha256(file), true]], why);
      // (before 29 November it was taken, and counted malformed once)
      assert.equal(of(events, 'session').reduce((n, x) => n + (x.malformed ?? 0), 0), 0, why);
      assert.equal(of(events, 'session').find((x) => x.server.port === 7777), undefined, why);
    }
  });
});

describe('framing: DNS over TCP (2-byte length prefix) cut anywhere', () => {
  it('the names each answered address was resolved from are learned the same for every split; a too-short message is skipped', () => {
    const names = ['web.telegram.org', 'web.whatsapp.com', 'teams.microsoft.com', 'discord.com', 'signal.org', 'example.org'];
    const lp = (m: Buffer) => Buffer.concat([u16(m.length), m]);
    const answers = names.map((n, i) => dnsResponse(n, `198.51.100.${70 + i}`, i % 2 ? `edge${i}.cdn.example.net` : undefined, 0x1000 + i));
    const v6 = dnsResponse('web.telegram.org', '2001:db8::7:1', undefined, 0x2000);
    for (const split of SPLITS) {
      const { engine } = play([{
        client: '10.0.0.5:53002', server: '10.0.0.1:53',
        segs: [
          // each answer follows its query (the same id and question): the first three asked at once
          ['c', Buffer.concat(names.slice(0, 3).map((n, i) => lp(dnsQuery(n, 0x1000 + i))))],
          ['s', Buffer.concat(answers.slice(0, 3).map(lp))],
          ['c', Buffer.concat([...names.slice(3).map((n, i) => lp(dnsQuery(n, 0x1003 + i))), lp(dnsQuery('web.telegram.org', 0x2000))])],
          // a 5-byte "message" between answers (malformed): skipped, framing continues after it
          ['s', Buffer.concat([lp(Buffer.alloc(5, 1)), ...answers.slice(3).map(lp), lp(v6)])],
        ],
      }], split);
      const why = `split ${split}`;
      assert.deepEqual(names.map((_, i) => engine.kb.nameFor(`198.51.100.${70 + i}`)), names, why);
      assert.equal(engine.kb.nameFor('2001:db8::7:1'), 'web.telegram.org', why);
    }
  });
});
