// MSRP attribution against a hostile peer (second and third reviews of 29 November): who sent a chunk
// to whom must not be something a peer can choose by the addresses it writes in its SDP paths, by a
// path it reused from another session, or by filling one direction's open messages.
import assert from 'node:assert/strict';
import { Capture } from '../helpers/pcapgen';
import { analyzeCapture } from '../helpers/analyze';
import { dnsQuery, dnsResponse } from './modern-wire';

function sip(start: string, headers: Record<string, string>, body = ''): string {
  const h = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  return `${start}\r\n${h}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}
const sdp = (ip: string, path: string, port = 2855) => `v=0\r\no=- 1 1 IN IP4 ${ip}\r\ns=-\r\nc=IN IP4 ${ip}\r\nt=0 0\r\nm=message ${port} TCP/MSRP *\r\na=path:${path}\r\n`;
const send = (tid: string, to: string, from: string | undefined, text: string, flag = '$') =>
  `MSRP ${tid} SEND\r\nTo-Path: ${to}\r\n${from ? `From-Path: ${from}\r\n` : ''}Message-ID: ${tid}\r\nByte-Range: 1-${text.length}/${text.length}\r\nContent-Type: text/plain\r\n\r\n${text}\r\n-------${tid}${flag}\r\n`;
const msgs = (ev: any[]) => ev.filter((e) => e.type === 'message').map((m) => [m.from, m.to, m.text]);

describe('MSRP: who sent what, against a hostile peer', () => {
  it('a peer whose SDP path names the user\'s address cannot make its chunks the user\'s', () => {
    const c = new Capture();
    // mallory (honest From/To) announces "her" path with alice's host
    const M = 'msrp://10.0.0.5:2855/mS;tcp', A = 'msrp://10.0.0.5:2855/aS;tcp';
    const hdr = { Via: 'SIP/2.0/UDP 198.51.100.66:5060;branch=z9hG4bKx', From: '<sip:mallory@evil.example>;tag=m1', 'Call-ID': 'fh-1', 'Content-Type': 'application/sdp' };
    c.udp('198.51.100.66:5060', '10.0.0.5:5060', sip('INVITE sip:alice@example.com SIP/2.0', { ...hdr, To: '<sip:alice@example.com>', CSeq: '1 INVITE' }, sdp('198.51.100.66', M)));
    c.udp('198.51.100.66:5060', '10.0.0.5:5060', sip('SIP/2.0 200 OK', { ...hdr, To: '<sip:alice@example.com>;tag=a1', CSeq: '1 INVITE' }, sdp('10.0.0.5', A)), 's');
    const t = c.tcp('198.51.100.66:40000', '10.0.0.5:2855').open();
    t.send('c', send('t1', M, A, 'I resign - alice'));
    t.close();
    assert.deepEqual(msgs(analyzeCapture(c)), [['mallory@evil.example', 'alice@example.com', 'I resign - alice']]);
  });
  it('same, the connection claimed by alice\'s own path (mallory names only her forged path in To-Path after opening)', () => {
    const c = new Capture();
    const M = 'msrp://10.0.0.5:9/mS;tcp', A = 'msrp://10.0.0.5:2855/aS;tcp', R = 'msrp://198.51.100.66:2855/real;tcp';
    const hdr = { Via: 'SIP/2.0/UDP 198.51.100.66:5060;branch=z9hG4bKy', From: '<sip:mallory@evil.example>;tag=m1', 'Call-ID': 'fh-2', 'Content-Type': 'application/sdp' };
    c.udp('198.51.100.66:5060', '10.0.0.5:5060', sip('INVITE sip:alice@example.com SIP/2.0', { ...hdr, To: '<sip:alice@example.com>', CSeq: '1 INVITE' }, sdp('198.51.100.66', M)));
    c.udp('198.51.100.66:5060', '10.0.0.5:5060', sip('SIP/2.0 200 OK', { ...hdr, To: '<sip:alice@example.com>;tag=a1', CSeq: '1 INVITE' }, sdp('10.0.0.5', A)), 's');
    const t = c.tcp('198.51.100.66:40000', '10.0.0.5:2855').open();
    t.send('c', send('t0', A, R, 'hello alice'));
    t.send('c', send('t1', M, R, 'I resign - alice'));
    t.close();
    assert.deepEqual(msgs(analyzeCapture(c)), [['mallory@evil.example', 'alice@example.com', 'hello alice'], ['mallory@evil.example', 'alice@example.com', 'I resign - alice']]);
  });

  it('the peer\'s 64 never-finished messages do not hide the user\'s', () => {
    const c = new Capture();
    const M = 'msrp://198.51.100.66:2855/mS;tcp', A = 'msrp://10.0.0.5:2855/aS;tcp';
    const hdr = { Via: 'SIP/2.0/UDP 198.51.100.66:5060;branch=z9hG4bKz', From: '<sip:mallory@evil.example>;tag=m1', 'Call-ID': 'cap-1', 'Content-Type': 'application/sdp' };
    c.udp('198.51.100.66:5060', '10.0.0.5:5060', sip('INVITE sip:alice@example.com SIP/2.0', { ...hdr, To: '<sip:alice@example.com>', CSeq: '1 INVITE' }, sdp('198.51.100.66', M)));
    c.udp('198.51.100.66:5060', '10.0.0.5:5060', sip('SIP/2.0 200 OK', { ...hdr, To: '<sip:alice@example.com>;tag=a1', CSeq: '1 INVITE' }, sdp('10.0.0.5', A)), 's');
    const t = c.tcp('198.51.100.66:40000', '10.0.0.5:2855').open();
    t.send('c', Array.from({ length: 64 }, (_, i) => send(`x${i}`, A, M, 'x', '+')).join(''));
    t.send('s', send('t1', M, A, 'alice says hi'));
    t.close();
    assert.deepEqual(msgs(analyzeCapture(c)), [['alice@example.com', 'mallory@evil.example', 'alice says hi']]);
  });

  it('alice\'s chunk on a reused connection to mallory\'s path (first named in mallory\'s INVITE to the CEO) stays alice\'s', () => {
    const c = new Capture();
    const MH = '198.51.100.66';
    const M0 = `msrp://${MH}:2855/m0;tcp`, M1 = `msrp://${MH}:2855/m1;tcp`, A0 = 'msrp://10.0.0.5:2855/a0;tcp', A2 = 'msrp://10.0.0.5:2855/a2;tcp';
    // mallory invites the CEO (honestly) with path M1 (the CEO never answers)
    const h1 = { Via: `SIP/2.0/UDP ${MH}:5060;branch=z9hG4bK1`, From: '<sip:mallory@evil.example>;tag=m1', 'Call-ID': 'r-1', 'Content-Type': 'application/sdp' };
    c.udp(`${MH}:5060`, '192.0.2.10:5060', sip('INVITE sip:ceo@corp.example SIP/2.0', { ...h1, To: '<sip:ceo@corp.example>', CSeq: '1 INVITE' }, sdp(MH, M1)));
    // alice invites mallory: session 0
    const h0 = { Via: 'SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK0', From: '<sip:alice@example.com>;tag=a0', 'Call-ID': 'r-0', 'Content-Type': 'application/sdp' };
    c.udp('10.0.0.5:5060', '192.0.2.10:5060', sip('INVITE sip:mallory@evil.example SIP/2.0', { ...h0, To: '<sip:mallory@evil.example>', CSeq: '1 INVITE' }, sdp('10.0.0.5', A0)));
    c.udp('10.0.0.5:5060', '192.0.2.10:5060', sip('SIP/2.0 200 OK', { ...h0, To: '<sip:mallory@evil.example>;tag=m0', CSeq: '1 INVITE' }, sdp(MH, M0)), 's');
    const t = c.tcp('10.0.0.5:51000', `${MH}:2855`).open();
    t.send('c', send('t0', M0, A0, 'hi mallory'));
    // session 2: alice invites mallory again; mallory answers with M1; the connection is reused (RFC 4975 7.1)
    const h2 = { ...h0, 'Call-ID': 'r-2', Via: 'SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK2' };
    c.udp('10.0.0.5:5060', '192.0.2.10:5060', sip('INVITE sip:mallory@evil.example SIP/2.0', { ...h2, To: '<sip:mallory@evil.example>', CSeq: '1 INVITE' }, sdp('10.0.0.5', A2)));
    c.udp('10.0.0.5:5060', '192.0.2.10:5060', sip('SIP/2.0 200 OK', { ...h2, To: '<sip:mallory@evil.example>;tag=m2', CSeq: '1 INVITE' }, sdp(MH, M1)), 's');
    t.send('c', send('t2', M1, A2, 'second session text'));
    t.close();
    assert.deepEqual(msgs(analyzeCapture(c)), [['alice@example.com', 'mallory@evil.example', 'hi mallory'], ['alice@example.com', 'mallory@evil.example', 'second session text']]);
  });
  // fourth review: the address check could be passed by a host name, or behind a proxy; a relay on
  // the proxy's host must not be caught by it
  it('nor by naming the user\'s address by a host name DNS answered for it', () => {
    const c = new Capture();
    c.udp('10.0.0.5:5353', '10.0.0.1:53', dnsQuery('a.evil.example'));
    c.udp('10.0.0.5:5353', '10.0.0.1:53', dnsResponse('a.evil.example', '10.0.0.5'), 's');
    const M = 'msrp://a.evil.example:2855/mS;tcp', A = 'msrp://10.0.0.5:2855/aS;tcp';
    const hdr = { Via: 'SIP/2.0/UDP 198.51.100.66:5060;branch=z9hG4bKx', From: '<sip:mallory@evil.example>;tag=m1', 'Call-ID': 'fh-1', 'Content-Type': 'application/sdp' };
    c.udp('198.51.100.66:5060', '10.0.0.5:5060', sip('INVITE sip:alice@example.com SIP/2.0', { ...hdr, To: '<sip:alice@example.com>', CSeq: '1 INVITE' }, sdp('198.51.100.66', M)));
    c.udp('198.51.100.66:5060', '10.0.0.5:5060', sip('SIP/2.0 200 OK', { ...hdr, To: '<sip:alice@example.com>;tag=a1', CSeq: '1 INVITE' }, sdp('10.0.0.5', A)), 's');
    const t = c.tcp('198.51.100.66:40000', '10.0.0.5:2855').open();
    t.send('c', send('t1', M, A, 'I resign - alice'));
    t.close();
    const r = msgs(analyzeCapture(c));
    assert.deepEqual(r, [['mallory@evil.example', 'alice@example.com', 'I resign - alice']]);
  });
  it('nor through a proxy: the leg to the proxy remembered the path, the leg to the user revokes it', () => {
    const c = new Capture();
    const M = 'msrp://10.0.0.5:2855/mS;tcp', A = 'msrp://10.0.0.5:2855/aS;tcp';
    const hdr = { Via: 'SIP/2.0/UDP 198.51.100.66:5060;branch=z9hG4bKx', From: '<sip:mallory@evil.example>;tag=m1', 'Call-ID': 'fh-1', 'Content-Type': 'application/sdp' };
    c.udp('198.51.100.66:5060', '192.0.2.10:5060', sip('INVITE sip:alice@example.com SIP/2.0', { ...hdr, To: '<sip:alice@example.com>', CSeq: '1 INVITE' }, sdp('198.51.100.66', M)));
    c.udp('192.0.2.10:5060', '10.0.0.5:5060', sip('INVITE sip:alice@example.com SIP/2.0', { ...hdr, To: '<sip:alice@example.com>', CSeq: '1 INVITE' }, sdp('198.51.100.66', M)));
    c.udp('192.0.2.10:5060', '10.0.0.5:5060', sip('SIP/2.0 200 OK', { ...hdr, To: '<sip:alice@example.com>;tag=a1', CSeq: '1 INVITE' }, sdp('10.0.0.5', A)), 's');
    const t = c.tcp('198.51.100.66:40000', '10.0.0.5:2855').open();
    t.send('c', send('t1', M, A, 'I resign - alice'));
    t.close();
    const r = msgs(analyzeCapture(c));
    assert.deepEqual(r, [['mallory@evil.example', 'alice@example.com', 'I resign - alice']]);
  });
  for (const relayHost of ['203.0.113.9', '192.0.2.10']) it(`the user's relay at ${relayHost} (the SIP proxy is 192.0.2.10) is still followed and read`, () => {
    const c = new Capture();
    const sdp = (ip: string, path: string) => `v=0\r\no=- 1 1 IN IP4 ${ip}\r\ns=-\r\nc=IN IP4 ${ip}\r\nt=0 0\r\nm=message 49200 TCP/MSRP *\r\na=path:${path}\r\n`;
    const R = `msrp://${relayHost}:2856/rC;tcp`, C = 'msrp://10.0.0.6:2855/cS;tcp', D = 'msrp://198.51.100.8:2855/dS;tcp';
    const hdr3 = { Via: 'SIP/2.0/UDP 10.0.0.6:5060;branch=z9hG4bKrl', From: '<sip:carol@example.com>;tag=c1', 'Call-ID': 'rl-1', 'Content-Type': 'application/sdp' };
    c.udp('10.0.0.6:5060', '192.0.2.10:5060', sip('INVITE sip:dave@example.org SIP/2.0', { ...hdr3, To: '<sip:dave@example.org>', CSeq: '1 INVITE' }, sdp('10.0.0.6', `${R} ${C}`)));
    c.udp('10.0.0.6:5060', '192.0.2.10:5060', sip('SIP/2.0 200 OK', { ...hdr3, To: '<sip:dave@example.org>;tag=d1', CSeq: '1 INVITE' }, sdp('198.51.100.8', D)), 's');
    const r = c.tcp('10.0.0.6:51000', `${relayHost}:2856`).open();
    r.send('c', send('t3', `${R} ${D}`, C, 'carol to dave'));
    r.send('s', send('t4', C, `${R} ${D}`, 'dave to carol'));
    r.close();
    const ev = analyzeCapture(c);
    assert.deepEqual(msgs(ev), [['carol@example.com', 'dave@example.org', 'carol to dave'], ['dave@example.org', 'carol@example.com', 'dave to carol']]);
  });
});
