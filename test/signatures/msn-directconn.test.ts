// MSN's direct connection (the TCPv1 bridge): a file offered by MSNSLP on the switchboard, its
// transport negotiated there (a 200 OK naming where the receiver listens), and its bytes sent over a
// TCP connection of their own — libpurple's msn/directconn.c framing, built by test/signatures/
// msn-wire.ts from that source (tshark has no dissector for it). Ground truth: the file the builder
// wrote, byte for byte.
import assert from 'node:assert/strict';
import { Capture } from '../helpers/pcapgen';
import { analyzeCapture } from '../helpers/analyze';
import { FlowHarness } from '../helpers/harness';
import { parseDcEndpoints, parseHeaderLines } from '../../signatures/msn/parser';
import { dcHandshake, dcPacket, dcSenderStream, dcV2SenderStream, invite, p2p, p2pHeader, p2pv2, p2pv2Msg, p2pv2Split, prng, randomBytes, sha256, slpInvite, slpTransResp, swapped } from './msn-wire';
import { msnftpOpening } from '../../signatures/msn/msnftp';
import { boundedIt } from '../helpers/bounded';
import { fuzzCases, fuzzSeconds, fuzzSeed } from '../helpers/fuzz';

const ME = 'alice@example.com';
const BUDDY = 'bob@example.net';
const NONCE = Buffer.from('7b2c3a4e1d9f6b4ea2c85d7e9f1a3b4c', 'hex');
const rev = (s: string) => [...s].reverse().join('');

/** the switchboard: alice offers `name`; bob answers the transport INVITE with where he listens */
function switchboard(cap: Capture, name: string, size: number, session: number, transport: string): void {
  const sb = cap.tcp('10.1.1.10:40000', '203.0.113.9:1863').open();
  sb.send('c', `ANS 1 ${ME} 849102291.520491113 11752013\r\n`);
  sb.send('s', `IRO 1 1 1 ${BUDDY} Bob\r\nANS 1 OK\r\n`);
  const inv = slpInvite(ME, BUDDY, session, name, size);
  sb.send('c', p2p('2 D', BUDDY, { session: 0, id: 100, offset: 0, total: inv.length, flags: 0 }, inv));
  const resp = slpTransResp(BUDDY, ME, transport);
  sb.send('s', p2p(`${BUDDY} Bob`, ME, { session: 0, id: 200, offset: 0, total: resp.length, flags: 0 }, resp));
  sb.close();
}

describe('msn: direct connections (TCPv1)', function () {
  this.timeout(120000);

  it('a file offered on the switchboard and sent over the announced direct connection is carved byte for byte and linked to the offer', () => {
    const file = randomBytes(40_000, 77);
    const cap = new Capture();
    switchboard(cap, 'payroll.xlsx', file.length, 3411, 'IPv4External-Addrs: 203.0.113.50\r\nIPv4External-Port: 4321\r\nIPv4Internal-Addrs: 192.168.5.20 10.9.9.9\r\nIPv4Internal-Port: 4321\r\n');
    // alice connects to bob's internal address (both on one LAN), segments of the data reordered
    const dc = cap.tcp('10.1.1.10:50123', '192.168.5.20:4321').open();
    const out = dcSenderStream(file, 3411, NONCE);
    dc.send('c', out.subarray(0, 60));
    dc.send('s', dcHandshake(5000, NONCE));
    dc.send('c', out.subarray(60), { segment: 1000, reorder: swapped(Math.ceil((out.length - 60) / 1000)) });
    dc.send('s', dcPacket(p2pHeader({ session: 3411, id: 5001, offset: 0, total: file.length, length: 0, flags: 2, ackSize: file.length })));
    dc.close();
    const ev = analyzeCapture(cap);
    const offer = ev.find((e) => e.type === 'file_transfer' && e.stage === 'offer');
    const data = ev.find((e) => e.type === 'file_transfer' && e.stage === 'data');
    assert.ok(offer && data, JSON.stringify(ev.map((e) => [e.type, e.stage])));
    assert.deepEqual([offer.protocol, offer.from, offer.to, offer.filename, offer.size], ['msn', ME, BUDDY, 'payroll.xlsx', file.length]);
    assert.deepEqual([data.protocol, data.filename, data.from, data.to, data.transfer_id], ['msn', 'payroll.xlsx', ME, BUDDY, offer.transfer_id]);
    assert.equal(data.sha256, sha256(file));
    assert.equal(data.complete, true);
    assert.equal(data.observed_size, file.length);
    // the data event names the direct connection's flow, not the switchboard's
    assert.deepEqual([data.client.ip, data.server.ip, data.server.port], ['10.1.1.10', '192.168.5.20', 4321]);
    const sessions = ev.filter((e) => e.type === 'session');
    assert.deepEqual(sessions.map((s) => [s.protocol, s.server.port]).sort(), [['msn', 1863], ['msn', 4321]]);
  });

  it('P2P v2 (WLM 2009): a file offered on a v2 switchboard and sent over the direct connection (foo, 16-byte nonces, v2 packets, 16-byte ACKs) is carved under its offer', () => {
    const EP_A = '{F52973B6-C926-4BAD-9BA8-7C1E840E4AB0}', EP_B = '{1D9C9B2F-6E7A-4C1B-9E0A-3B2C1D0E9F8A}';
    const file = randomBytes(30_000, 2009);
    const cap = new Capture();
    const sb = cap.tcp('10.1.1.10:40000', '203.0.113.9:1863').open();
    sb.send('c', `USR 1 ${ME};${EP_A} 1835953129.20013021.2623242\r\n`);
    sb.send('s', `USR 1 OK ${ME};${EP_A} Alice\r\nJOI ${BUDDY};${EP_B} Bob 2789003324:48\r\n`);
    const inv = p2pv2Split(slpInvite(`${ME};${EP_A}`, `${BUDDY};${EP_B}`, 777, 'Bilanz_2009.xlsx', file.length), 400, { id: 0x1000, tf: 0, pkg: 3, session: 0, syn: true });
    sb.send('c', Buffer.concat(inv.map((p, i) => p2pv2Msg(`${2 + i} D`, `${BUDDY};${EP_B}`, `${ME};${EP_A}`, p))));
    const resp = p2pv2Split(slpTransResp(`${BUDDY};${EP_B}`, `${ME};${EP_A}`, `srddA-lanretxE4vPI: ${rev('192.168.5.21')}\r\ntroP-lanretxE4vPI: ${rev('3777')}\r\n`), 400, { id: 0x2000, tf: 0, pkg: 4, session: 0 });
    sb.send('s', Buffer.concat(resp.map((p) => p2pv2Msg(`${BUDDY};${EP_B} Bob`, `${ME};${EP_A}`, `${BUDDY};${EP_B}`, p))));
    sb.close();
    const dc = cap.tcp('10.1.1.10:50777', '192.168.5.21:3777').open();
    const out = dcV2SenderStream(file, 777, NONCE);
    dc.send('c', out.subarray(0, 28));
    dc.send('s', dcPacket(NONCE));
    dc.send('c', out.subarray(28), { segment: 1200, reorder: swapped(Math.ceil((out.length - 28) / 1200)) });
    for (let i = 0; i < 3; i++) dc.send('s', dcPacket(p2pv2({ id: 0x7000 + i, ack: 0x5000 + i })));
    dc.close();
    const ev = analyzeCapture(cap);
    const offer = ev.find((e) => e.type === 'file_transfer' && e.stage === 'offer');
    const data = ev.find((e) => e.type === 'file_transfer' && e.stage === 'data');
    assert.deepEqual([offer?.filename, offer?.size], ['Bilanz_2009.xlsx', file.length]);
    assert.deepEqual([data?.filename, data?.transfer_id, data?.sha256, data?.complete, data?.server?.port], ['Bilanz_2009.xlsx', offer.transfer_id, sha256(file), true, 3777]);
    // seen alone, it is recognised by foo and the 16-byte handshake, and its file carved unnamed
    const alone = new Capture();
    alone.tcp('10.1.1.10:50778', '192.168.5.21:3778').open().send('c', dcV2SenderStream(file, 778, NONCE), { segment: 500 }).send('s', dcPacket(NONCE)).close();
    const ev2 = analyzeCapture(alone);
    assert.equal(ev2.find((e) => e.type === 'session')?.evidence[0].signature, 'msn.dc');
    const d2 = ev2.find((e) => e.type === 'file_transfer' && e.stage === 'data');
    assert.deepEqual([d2?.filename, d2?.size, d2?.sha256, d2?.complete], ['unknown (MSN direct connection)', file.length, sha256(file), true]);
  });

  it("WLM 2009's reversed transport fields (srddA-lanretxE4vPI) name the endpoint too; not listening, another bridge, a bad port or no address name none", () => {
    const h = parseHeaderLines(`Bridge: TCPv1\r\nListening: true\r\nsrddA-lanretxE4vPI: ${rev('198.51.100.61')}\r\ntroP-lanretxE4vPI: ${rev('2862')}\r\nIPv6-Addrs: 2001:0:4136:e378:8000:63bf:3fff:fdd2 fe80::1\r\nIPv6-Port: 2863\r\n`);
    assert.deepEqual(parseDcEndpoints(h), [{ ip: '198.51.100.61', port: 2862 }, { ip: '2001:0:4136:e378:8000:63bf:3fff:fdd2', port: 2863 }, { ip: 'fe80::1', port: 2863 }]);
    // not listening, another bridge, a bad port, no address: nothing
    for (const t of ['Bridge: TCPv1\r\nListening: false\r\nIPv4Internal-Addrs: 10.0.0.1\r\nIPv4Internal-Port: 80', 'Bridge: TRUDPv1\r\nListening: true\r\nIPv4Internal-Addrs: 10.0.0.1\r\nIPv4Internal-Port: 80',
      'Listening: true\r\nIPv4Internal-Addrs: 10.0.0.1\r\nIPv4Internal-Port: 70000', 'Listening: true\r\nIPv4Internal-Addrs: nobody\r\nIPv4Internal-Port: 80']) {
      assert.deepEqual(parseDcEndpoints(parseHeaderLines(t)), [], t);
    }
    const file = randomBytes(3000, 5);
    const cap = new Capture();
    switchboard(cap, 'notes.txt', file.length, 99, `srddA-lanretxE4vPI: ${rev('198.51.100.61')}\r\ntroP-lanretxE4vPI: ${rev('2862')}\r\n`);
    cap.tcp('10.1.1.10:50200', '198.51.100.61:2862').open().send('c', dcSenderStream(file, 99, NONCE)).send('s', dcHandshake(7, NONCE)).close();
    const ev = analyzeCapture(cap);
    const data = ev.find((e) => e.type === 'file_transfer' && e.stage === 'data');
    assert.deepEqual([data?.filename, data?.sha256, data?.complete], ['notes.txt', sha256(file), true]);
  });

  it('a direct connection seen without its switchboard is recognised by its opening (foo and the nonce handshake) and its file carved unnamed', () => {
    const file = randomBytes(10_000, 9);
    const cap = new Capture();
    cap.tcp('10.1.1.10:50300', '192.168.5.20:6891').open().send('c', dcSenderStream(file, 12, NONCE), { segment: 7 }).send('s', dcHandshake(3, NONCE)).close();
    const ev = analyzeCapture(cap);
    const s = ev.find((e) => e.type === 'session');
    assert.equal(s?.protocol, 'msn');
    assert.equal(s.evidence[0].signature, 'msn.dc');
    const data = ev.find((e) => e.type === 'file_transfer' && e.stage === 'data');
    assert.deepEqual([data?.filename, data?.size, data?.sha256, data?.complete], ['unknown (MSN direct connection)', file.length, sha256(file), true]);
    // nobody is named: the placeholder is no user in the alerts (MSN wrote "unknown" before, which the analyzer took for one)
    const alerts = ev.filter((e) => e.type === 'alert');
    assert.ok(alerts.length >= 2);
    for (const a of alerts) assert.deepEqual(a.users, [], JSON.stringify(a));
    assert.match(alerts.find((a) => a.kind === 'unauthorized_im').summary, /^unauthorized msn use by 10\.1\.1\.10 to /);
  });

  it('"foo" alone, or foo followed by something other than the handshake, is not a direct connection', () => {
    const cap = new Capture();
    cap.tcp('10.1.1.10:50400', '192.168.5.20:7001').open().send('c', Buffer.from([4, 0, 0, 0, 0x66, 0x6f, 0x6f, 0])).close();
    cap.tcp('10.1.1.10:50401', '192.168.5.20:7002').open().send('c', Buffer.concat([Buffer.from([4, 0, 0, 0, 0x66, 0x6f, 0x6f, 0]), dcPacket(p2pHeader({ session: 1, id: 1, offset: 0, total: 4, length: 0, flags: 0 }))])).close();
    const ev = analyzeCapture(cap);
    assert.deepEqual(ev.filter((e) => e.type !== 'stats'), []);
  });

  it('a gap in the direct connection ends its file incomplete; a lying packet length is counted and stops that direction', () => {
    const file = randomBytes(20_000, 3);
    const cap = new Capture();
    switchboard(cap, 'a.bin', file.length, 5, 'IPv4Internal-Addrs: 192.168.5.20\r\nIPv4Internal-Port: 4400\r\n');
    cap.tcp('10.1.1.10:50500', '192.168.5.20:4400').open().send('c', dcSenderStream(file, 5, NONCE), { segment: 1000, drop: [5] }).close();
    const h = new FlowHarness({ server: '192.168.5.20:4401' });
    h.send('c', Buffer.concat([dcSenderStream(Buffer.alloc(0), 6, NONCE), Buffer.from([0xff, 0xff, 0xff, 0x7f]), Buffer.alloc(100)]));
    h.send('c', Buffer.alloc(5000, 0x41));
    h.end();
    const session = h.of('session')[0] as any;
    assert.equal(session?.protocol, 'msn');
    assert.ok(session.malformed >= 1, JSON.stringify(session));
    const ev = analyzeCapture(cap);
    const data = ev.find((e) => e.type === 'file_transfer' && e.stage === 'data');
    assert.equal(data?.filename, 'a.bin');
    assert.equal(data.complete, false);
    assert.ok(data.observed_size < file.length);
  });

  it("an announcement naming another service's address and port does not take its flows: the next connection there is read as what it is", () => {
    const cap = new Capture();
    switchboard(cap, 'x.bin', 100, 8, 'IPv4External-Addrs: 198.51.100.66\r\nIPv4External-Port: 6667\r\n');
    cap.tcp('10.1.1.10:50600', '198.51.100.66:6667').open()
      .send('c', 'NICK carol\r\nUSER carol 0 * :Carol\r\n').send('s', ':irc.example.net 001 carol :Welcome carol\r\n')
      .send('c', 'PRIVMSG #ops :still seen\r\n').close();
    const ev = analyzeCapture(cap);
    const irc = ev.find((e) => e.type === 'session' && e.server.port === 6667);
    assert.equal(irc?.protocol, 'irc', JSON.stringify(ev.filter((e) => e.type === 'session')));
    assert.deepEqual(ev.filter((e) => e.type === 'message').map((m) => m.text), ['still seen']);
  });

  it('the same holds for an MSNFTP connection announced by a legacy invitation: a connection there that does not open with VER MSNFTP is detected as what it is', () => {
    assert.deepEqual(['VER MSNFTP\r\n', 'VER 1 MSNFTP\n', 'VE', 'VER MSNF', 'NICK x\r\n', 'VER MSNP8\r\n'].map((t) => msnftpOpening(Buffer.from(t))), [true, true, 'more', 'more', false, false]);
    const cap = new Capture();
    const sb = cap.tcp('10.1.1.10:40000', '203.0.113.9:1863').open();
    sb.send('c', `ANS 1 ${ME} 849102291.520491113 11752013\r\n`).send('s', `IRO 1 1 1 ${BUDDY} Bob\r\nANS 1 OK\r\n`);
    sb.send('c', invite('2 N', { 'Invitation-Command': 'INVITE', 'Invitation-Cookie': '7', 'Application-File': 'a.txt', 'Application-FileSize': '10' }));
    sb.send('s', invite(`${BUDDY} Bob`, { 'Invitation-Command': 'ACCEPT', 'Invitation-Cookie': '7', 'IP-Address': '198.51.100.66', 'Port': '6667', 'AuthCookie': '1' })).close();
    cap.tcp('10.1.1.10:50601', '198.51.100.66:6667').open()
      .send('c', 'NICK carol\r\nUSER carol 0 * :Carol\r\n').send('s', ':irc.example.net 001 carol :Welcome carol\r\n')
      .send('c', 'PRIVMSG #ops :seen here too\r\n').close();
    const ev = analyzeCapture(cap);
    assert.equal(ev.find((e) => e.type === 'session' && e.server.port === 6667)?.protocol, 'irc');
    assert.deepEqual(ev.filter((e) => e.type === 'message').map((m) => m.text), ['seen here too']);
  });

  it('a connection to the announced endpoint that is not the direct connection (a web client first) gives the expectation back for the one still to come', () => {
    const file = randomBytes(5000, 12);
    const cap = new Capture();
    switchboard(cap, 'later.bin', file.length, 31, 'IPv4Internal-Addrs: 192.168.5.20\r\nIPv4Internal-Port: 4900\r\n');
    cap.tcp('10.1.1.66:50900', '192.168.5.20:4900').open().send('c', 'GET / HTTP/1.1\r\nHost: 192.168.5.20\r\n\r\n').send('s', 'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n').close();
    cap.tcp('10.1.1.67:50901', '192.168.5.20:4900').open().close(); // a port scan's SYN, no bytes
    cap.tcp('10.1.1.10:50902', '192.168.5.20:4900').open().send('c', dcSenderStream(file, 31, NONCE)).send('s', dcHandshake(2, NONCE)).close();
    const data = analyzeCapture(cap).find((e) => e.type === 'file_transfer' && e.stage === 'data');
    assert.deepEqual([data?.filename, data?.sha256, data?.client?.port], ['later.bin', sha256(file), 50902]);
  });

  it('an announced IPv6 address in another spelling (upper case, zeros written out) names the connection all the same', () => {
    const file = randomBytes(2000, 8);
    const cap = new Capture();
    switchboard(cap, 'v6.txt', file.length, 61, 'IPv6-Addrs: 2001:0DB8:0000:0000:0000:0000:0000:0005\r\nIPv6-Port: 4700\r\n');
    cap.tcp('[2001:db8::10]:50700', '[2001:db8::5]:4700').open().send('s', dcHandshake(1, NONCE)).send('c', dcSenderStream(file, 61, NONCE).subarray(8)).close();
    const data = analyzeCapture(cap).find((e) => e.type === 'file_transfer' && e.stage === 'data');
    assert.deepEqual([data?.filename, data?.sha256], ['v6.txt', sha256(file)]);
  });

  it('a flood of tiny file-data packets opens no file; a session carved to its end is not opened again; repeated announcements are expected once', () => {
    const h = new FlowHarness({ server: '192.168.5.20:4800' });
    const empty = dcPacket(p2pHeader({ session: 7, id: 1, offset: 0, total: 0, length: 0, flags: 0x01000030 }));
    const one = dcPacket(Buffer.concat([p2pHeader({ session: 8, id: 2, offset: 0, total: 1, length: 1, flags: 0x01000030 }), Buffer.from('x')]));
    h.send('c', Buffer.concat([dcSenderStream(Buffer.alloc(0), 6, NONCE).subarray(0, 60), ...Array(1000).fill(empty), ...Array(1000).fill(one)]));
    h.end();
    const files = h.of('file_transfer');
    assert.deepEqual(files.map((f: any) => [f.filename, f.observed_size]), [['unknown (MSN direct connection)', 1]]);
    // the switchboard repeats its transport answer: one expectation per endpoint, however often
    const sb = new FlowHarness({ server: '203.0.113.9:1863' });
    sb.send('c', `ANS 1 ${ME} 849102291.520491113 11752013\r\n`).send('s', `IRO 1 1 1 ${BUDDY} Bob\r\nANS 1 OK\r\n`);
    const resp = slpTransResp(BUDDY, ME, 'IPv4Internal-Addrs: 192.168.5.20 192.168.5.21\r\nIPv4Internal-Port: 4321\r\n');
    for (let i = 0; i < 100; i++) sb.send('s', p2p(`${BUDDY} Bob`, ME, { session: 0, id: 300 + i, offset: 0, total: resp.length, flags: 0 }, resp));
    assert.equal((sb.engine as any).expectationCount, 2);
    // and a flow that announces many endpoints holds 64 at most at once
    for (let i = 0; i < 100; i++) {
      const r2 = slpTransResp(BUDDY, ME, `IPv4Internal-Addrs: 10.7.${i}.1 10.7.${i}.2 10.7.${i}.3\r\nIPv4Internal-Port: 4321\r\n`);
      sb.send('s', p2p(`${BUDDY} Bob`, ME, { session: 0, id: 500 + i, offset: 0, total: r2.length, flags: 0 }, r2));
    }
    assert.equal((sb.engine as any).expectationCount, 64);
  });

  boundedIt(__filename, 'direct connections (v1 and v2): 300 mutated streams cut at random points never throw', fuzzSeconds(60), () => {
    const r = prng(fuzzSeed(4400));
    const bases = [
      Buffer.concat([dcSenderStream(randomBytes(5000, 1), 7, NONCE, 700), dcPacket(p2pHeader({ session: 0, id: 9, offset: 0, total: 40, length: 40, flags: 0 })), Buffer.alloc(40, 0x49)]),
      Buffer.concat([dcV2SenderStream(randomBytes(5000, 2), 8, NONCE, 700), dcPacket(p2pv2({ id: 1, ack: 2 })), ...p2pv2Split(slpInvite(ME, BUDDY, 9, 'v.bin', 10), 200, { id: 3, tf: 0, pkg: 1, session: 0 }).map(dcPacket)]),
    ];
    for (let i = 0, cases = fuzzCases(300); i < cases; i++) {
      const b = Buffer.from(bases[i % 2]);
      for (let n = 1 + Math.floor(r() * 8); n > 0; n--) b[8 + Math.floor(r() * (b.length - 8))] = r() < 0.3 ? 0xff : Math.floor(r() * 256);
      const h = new FlowHarness({ server: '192.168.5.20:4500' });
      for (let o = 0; o < b.length; ) {
        const n = 1 + Math.floor(r() * 900);
        h.send(r() < 0.9 ? 'c' : 's', b.subarray(o, o + n));
        o += n;
      }
      h.end();
      assert.equal(h.engine.stats.decoderErrors, 0, `iteration ${i}`);
    }
  });
});
