// MSRP attribution against a hostile peer (the second to fourth reviews of 29 November): who sent a
// chunk to whom must not be something a peer can choose by the addresses (or host names) it writes in
// its SDP paths, by a path it reused from another session, or by filling one direction's open messages.
import assert from 'node:assert/strict';
import { Capture } from '../helpers/pcapgen';
import { analyzeCapture } from '../helpers/analyze';
import { dnsQuery, dnsResponse } from './modern-wire';
import { msrpCall, msrpSend as send } from './msrp-wire';
import { NameCache } from '../../signatures/engine';
import { hostIs } from '../../signatures/sip/msrp';

const msgs = (ev: any[]) => ev.filter((e) => e.type === 'message').map((m) => [m.from, m.to, m.text]);
const MALLORY = 'mallory@evil.example', ALICE = 'alice@example.com';
/** mallory (198.51.100.66) invites alice (10.0.0.5) offering `offer`; alice answers with `answer` */
const malloryCalls = (c: Capture, callId: string, offer: string, answer: string) =>
  msrpCall(c, { a: '198.51.100.66:5060', b: '10.0.0.5:5060', caller: MALLORY, callee: ALICE, callId, offer, answer });

describe('MSRP: who sent what, against a hostile peer', () => {
  it('a peer whose SDP path names the user\'s address cannot make its chunks the user\'s', () => {
    const c = new Capture();
    // mallory (honest From/To) announces "her" path at alice's host
    const M = 'msrp://10.0.0.5:2855/mS;tcp', A = 'msrp://10.0.0.5:2855/aS;tcp';
    malloryCalls(c, 'fh-1', M, A);
    c.tcp('198.51.100.66:40000', '10.0.0.5:2855').open().send('c', send('t1', M, A, 'I resign - alice')).close();
    assert.deepEqual(msgs(analyzeCapture(c)), [[MALLORY, ALICE, 'I resign - alice']]);
  });

  it('… nor when the connection is claimed by alice\'s own path and the forged one comes later', () => {
    const c = new Capture();
    const M = 'msrp://10.0.0.5:9/mS;tcp', A = 'msrp://10.0.0.5:2855/aS;tcp', R = 'msrp://198.51.100.66:2855/real;tcp';
    malloryCalls(c, 'fh-2', M, A);
    const t = c.tcp('198.51.100.66:40000', '10.0.0.5:2855').open();
    t.send('c', send('t0', A, R, 'hello alice')).send('c', send('t1', M, R, 'I resign - alice')).close();
    assert.deepEqual(msgs(analyzeCapture(c)), [[MALLORY, ALICE, 'hello alice'], [MALLORY, ALICE, 'I resign - alice']]);
  });

  it('… nor by naming the user\'s address by a host name DNS answered for it', () => {
    const c = new Capture();
    c.udp('10.0.0.5:5353', '10.0.0.1:53', dnsQuery('a.evil.example'));
    c.udp('10.0.0.5:5353', '10.0.0.1:53', dnsResponse('a.evil.example', '10.0.0.5'), 's');
    const M = 'msrp://a.evil.example:2855/mS;tcp', A = 'msrp://10.0.0.5:2855/aS;tcp';
    malloryCalls(c, 'fh-3', M, A);
    c.tcp('198.51.100.66:40000', '10.0.0.5:2855').open().send('c', send('t1', M, A, 'I resign - alice')).close();
    assert.deepEqual(msgs(analyzeCapture(c)), [[MALLORY, ALICE, 'I resign - alice']]);
  });

  // the check that keeps a peer from naming the user's address by a host name must see that name also
  // when other names were asked for the address since (it saw the last one only)
  it('a path\'s host name is its address\'s while it is among the last four names DNS answered for it', () => {
    const kb = new NameCache(100);
    kb.learnName('10.0.0.5', 'a.evil.example', 1);
    kb.learnName('10.0.0.5', 'b.evil.example', 2);
    kb.learnName('10.0.0.5', 'c.evil.example', 3, 'vxlan:7'); // another zone's
    assert.equal(hostIs(kb, undefined, 'A.Evil.Example.', '10.0.0.5'), true);
    assert.equal(hostIs(kb, 'vxlan:7', 'a.evil.example', '10.0.0.5'), false);
    for (const n of ['c', 'd', 'e']) kb.learnName('10.0.0.5', `${n}.evil.example`, 4);
    assert.equal(hostIs(kb, undefined, 'a.evil.example', '10.0.0.5'), false); // the fifth name asked pushed it out
    assert.equal(hostIs(kb, undefined, 'b.evil.example', '10.0.0.5'), true);
  });

  it('… nor through a proxy: the leg to the proxy remembered the path, the leg to the user revokes it', () => {
    const c = new Capture();
    const M = 'msrp://10.0.0.5:2855/mS;tcp', A = 'msrp://10.0.0.5:2855/aS;tcp';
    // mallory → proxy (the INVITE alone), then proxy → alice (the INVITE again, and alice's answer)
    msrpCall(c, { a: '198.51.100.66:5060', b: '192.0.2.10:5060', caller: MALLORY, callee: ALICE, callId: 'fh-4', offer: M });
    msrpCall(c, { a: '192.0.2.10:5060', b: '10.0.0.5:5060', caller: MALLORY, callee: ALICE, callId: 'fh-4', offer: M, answer: A, offerIp: '198.51.100.66' });
    c.tcp('198.51.100.66:40000', '10.0.0.5:2855').open().send('c', send('t1', M, A, 'I resign - alice')).close();
    assert.deepEqual(msgs(analyzeCapture(c)), [[MALLORY, ALICE, 'I resign - alice']]);
  });

  // fifth review: a revocation reached every call's claim of a path, and a flood of revocations
  // evicted the one that mattered
  it('a peer cannot unname the session by revoking its paths from other calls (the user\'s path sent back to her, its own to itself)', () => {
    const c = new Capture();
    const M = 'msrp://198.51.100.66:2855/mS;tcp', A = 'msrp://10.0.0.5:2855/aS;tcp';
    malloryCalls(c, 'k1', M, A);
    msrpCall(c, { a: '198.51.100.66:5060', b: '10.0.0.5:5060', caller: MALLORY, callee: ALICE, callId: 'k2', offer: A, offerIp: '198.51.100.66' });
    msrpCall(c, { a: '198.51.100.67:5060', b: '198.51.100.66:5060', caller: 'x@evil.example', callee: MALLORY, callId: 'k3', offer: M });
    const t = c.tcp('198.51.100.66:40000', '10.0.0.5:2855').open();
    t.send('c', send('t1', A, M, 'hi alice')).send('s', send('t2', M, A, 'secret from alice')).close();
    assert.deepEqual(msgs(analyzeCapture(c)), [[MALLORY, ALICE, 'hi alice'], [ALICE, MALLORY, 'secret from alice']]);
  });

  it('… and a revoked claim stays revoked however many others follow', () => {
    const c = new Capture();
    const M = 'msrp://10.0.0.5:2855/mS;tcp', A = 'msrp://10.0.0.5:2855/aS;tcp';
    msrpCall(c, { a: '198.51.100.66:5060', b: '192.0.2.10:5060', caller: MALLORY, callee: ALICE, callId: 'fh-5', offer: M });
    msrpCall(c, { a: '192.0.2.10:5060', b: '10.0.0.5:5060', caller: MALLORY, callee: ALICE, callId: 'fh-5', offer: M, answer: A, offerIp: '198.51.100.66' });
    for (let k = 0; k < 257; k++) {
      const junk = Array.from({ length: 16 }, (_, j) => `msrp://10.0.0.5:2855/j${k}x${j};tcp`);
      msrpCall(c, { a: '198.51.100.66:5060', b: '10.0.0.5:5060', caller: MALLORY, callee: ALICE, callId: `j${k}`, offer: junk, offerIp: '198.51.100.66' });
    }
    c.tcp('198.51.100.66:40000', '10.0.0.5:2855').open().send('c', send('t1', M, A, 'I resign - alice')).close();
    assert.deepEqual(msgs(analyzeCapture(c)), [[MALLORY, ALICE, 'I resign - alice']]);
  });

  it('… nor when the peer floods the claims by call between the two legs of its call (the store\'s entry is the call\'s own)', () => {
    const c = new Capture();
    const M = 'msrp://10.0.0.5:2855/mS;tcp', A = 'msrp://10.0.0.5:2855/aS;tcp';
    msrpCall(c, { a: '198.51.100.66:5060', b: '192.0.2.10:5060', caller: MALLORY, callee: ALICE, callId: 'fh-9', offer: M });
    for (let k = 0; k < 4100; k++) msrpCall(c, { a: '198.51.100.66:5060', b: '192.0.2.10:5060', caller: MALLORY, callee: 'x@example.com', callId: `f${k}`, offer: 'msrp://198.51.100.66:2855/junk;tcp' });
    msrpCall(c, { a: '192.0.2.10:5060', b: '10.0.0.5:5060', caller: MALLORY, callee: ALICE, callId: 'fh-9', offer: M, answer: A, offerIp: '198.51.100.66' });
    c.tcp('198.51.100.66:40000', '10.0.0.5:2855').open().send('c', send('t1', M, A, 'I resign - alice')).close();
    assert.deepEqual(msgs(analyzeCapture(c)), [[MALLORY, ALICE, 'I resign - alice']]);
  });

  it('the peer\'s 64 never-finished messages do not hide the user\'s', () => {
    const c = new Capture();
    const M = 'msrp://198.51.100.66:2855/mS;tcp', A = 'msrp://10.0.0.5:2855/aS;tcp';
    malloryCalls(c, 'cap-1', M, A);
    const t = c.tcp('198.51.100.66:40000', '10.0.0.5:2855').open();
    t.send('c', Array.from({ length: 64 }, (_, i) => send(`x${i}`, A, M, 'x', '+')).join(''));
    t.send('s', send('t1', M, A, 'alice says hi')).close();
    assert.deepEqual(msgs(analyzeCapture(c)), [[ALICE, MALLORY, 'alice says hi']]);
  });

  it('alice\'s chunk on a reused connection to mallory\'s path (first named in mallory\'s INVITE to the CEO) stays alice\'s', () => {
    const c = new Capture();
    const MH = '198.51.100.66';
    const M0 = `msrp://${MH}:2855/m0;tcp`, M1 = `msrp://${MH}:2855/m1;tcp`, A0 = 'msrp://10.0.0.5:2855/a0;tcp', A2 = 'msrp://10.0.0.5:2855/a2;tcp';
    // mallory invites the CEO (honestly) with path M1; the CEO never answers
    msrpCall(c, { a: `${MH}:5060`, b: '192.0.2.10:5060', caller: MALLORY, callee: 'ceo@corp.example', callId: 'r-1', offer: M1 });
    // alice invites mallory: session 0, on a connection alice opens to mallory's host
    const aliceCalls = (callId: string, offer: string, answer: string) =>
      msrpCall(c, { a: '10.0.0.5:5060', b: '192.0.2.10:5060', caller: ALICE, callee: MALLORY, callId, offer, answer, answerIp: MH });
    aliceCalls('r-0', A0, M0);
    const t = c.tcp('10.0.0.5:51000', `${MH}:2855`).open();
    t.send('c', send('t0', M0, A0, 'hi mallory'));
    // session 2: alice invites mallory again, mallory answers with M1, the connection is reused (RFC 4975 §7.1)
    aliceCalls('r-2', A2, M1);
    t.send('c', send('t2', M1, A2, 'second session text')).close();
    assert.deepEqual(msgs(analyzeCapture(c)), [[ALICE, MALLORY, 'hi mallory'], [ALICE, MALLORY, 'second session text']]);
  });

  // the address check must not catch a relay on the SIP proxy's host
  for (const relayHost of ['203.0.113.9', '192.0.2.10']) it(`the user's relay at ${relayHost} (the SIP proxy is 192.0.2.10) is still followed and read`, () => {
    const c = new Capture();
    const R = `msrp://${relayHost}:2856/rC;tcp`, C = 'msrp://10.0.0.6:2855/cS;tcp', D = 'msrp://198.51.100.8:2855/dS;tcp';
    msrpCall(c, { a: '10.0.0.6:5060', b: '192.0.2.10:5060', caller: 'carol@example.com', callee: 'dave@example.org', callId: 'rl-1', offer: `${R} ${C}`, answer: D, answerIp: '198.51.100.8' });
    const r = c.tcp('10.0.0.6:51000', `${relayHost}:2856`).open();
    r.send('c', send('t3', `${R} ${D}`, C, 'carol to dave')).send('s', send('t4', C, `${R} ${D}`, 'dave to carol')).close();
    assert.deepEqual(msgs(analyzeCapture(c)), [['carol@example.com', 'dave@example.org', 'carol to dave'], ['dave@example.org', 'carol@example.com', 'dave to carol']]);
  });
});
