// MSNP2P version 2 (Windows Live Messenger 2009+, MSNP16–21): the MSNSLP file-transfer INVITE
// reassembled across v2 packets in switchboard MSGs (P2P-Dest `user;{guid}`) and in MSNP21 SDGs,
// the file data carved, segment splits, and hostile headers. Ground truth: the packet layout of
// libpurple msn/p2p.c msn_p2p_header_to_wire / Miranda NG msn_p2p.cpp (builders in msn-wire.ts).
import assert from 'node:assert/strict';
import { FlowHarness } from '../helpers/harness';
import { parseP2Pv2 } from '../../signatures/msn/parser';
import { p2p, p2pv2, p2pv2Msg, p2pv2Split, randomBytes, sdgP2P, sha256, slpInvite } from './msn-wire';

const ME = 'alice@example.com';
const BUDDY = 'bob@example.net';
const MY_EP = '{F52973B6-C926-4BAD-9BA8-7C1E840E4AB0}';
const BUDDY_EP = '{1D9C9B2F-6E7A-4C1B-9E0A-3B2C1D0E9F8A}';
const SID = 1980589;

/** an MSNP18 switchboard the client opened; USR/JOI name endpoints */
function sb18() {
  const h = new FlowHarness({ client: '10.1.1.10:40000', server: '203.0.113.9:1863' });
  h.send('c', `USR 1 ${ME};${MY_EP} 1835953129.20013021.2623242\r\n`);
  h.send('s', `USR 1 OK ${ME};${MY_EP} Alice\r\n`);
  h.send('c', `CAL 2 ${BUDDY}\r\n`);
  h.send('s', `CAL 2 RINGING 1835953129\r\nJOI ${BUDDY} Bob 2789003324:48\r\nJOI ${BUDDY};${BUDDY_EP} Bob 2789003324:48\r\n`);
  return h;
}

/** the WLM 2009 sender's side of a transfer: SLP INVITE in v2 packets, ACKs back, then the file */
function transferV2(file: Buffer, name: string) {
  const slp = slpInvite(`${ME};${MY_EP}`, `${BUDDY};${BUDDY_EP}`, SID, name, file.length);
  const invite = p2pv2Split(slp, 500, { id: 0x10000000, tf: 0, pkg: 7, session: 0, syn: true });
  const data = p2pv2Split(file, 1222, { id: 0x20000000, tf: 6, pkg: 8, session: SID });
  return { slp, invite, data };
}

function sendTransfer(h: FlowHarness, file: Buffer, name: string) {
  const { invite, data } = transferV2(file, name);
  let trid = 3;
  const out: Buffer[] = [];
  for (const pkt of invite) out.push(p2pv2Msg(`${trid++} D`, `${BUDDY};${BUDDY_EP}`, `${ME};${MY_EP}`, pkt));
  for (const pkt of data) out.push(p2pv2Msg(`${trid++} D`, `${BUDDY};${BUDDY_EP}`, `${ME};${MY_EP}`, pkt, 2));
  return out;
}

function checkTransfer(h: FlowHarness, file: Buffer, name: string) {
  const fts = h.of('file_transfer');
  const offer = fts.find((f) => f.stage === 'offer');
  assert.ok(offer, JSON.stringify(h.events.map((e) => e.type)));
  assert.deepEqual([offer.filename, offer.size, offer.from, offer.to], [name, file.length, ME, BUDDY]);
  assert.match(offer.transfer_id!, new RegExp(`:p2p:${SID}$`));
  const data = fts.find((f) => f.stage === 'data');
  assert.ok(data);
  assert.equal(data.sha256, sha256(file));
  assert.equal(data.complete, true);
  assert.equal(data.transfer_id, offer.transfer_id);
  assert.equal(h.engine.stats.decoderErrors, 0);
  const s = h.of('session')[0];
  assert.equal(s.malformed ?? 0, 0);
  assert.deepEqual([...s.users].sort(), [ME, BUDDY].sort());
}

describe('msn: MSNP2P v2 (WLM 2009+)', () => {
  it('parses the v2 header, its TLVs and the data header as libpurple p2p.c lays them out', () => {
    const pkt = p2pv2({ id: 0x01020304, opcode: 3, peerInfo: true, tf: 1, pkg: 9, session: 0, remaining: 1234 }, Buffer.from('INVITE'));
    assert.equal(pkt[0], 24); // 8 + 14-byte peer-info TLV, padded to 4
    const r = parseP2Pv2(Buffer.concat([pkt, Buffer.alloc(4)]));
    assert.ok(!('error' in r));
    assert.deepEqual([r.h.headerLen, r.h.opcode, r.h.baseId, r.h.tf, r.h.packageNumber, r.h.sessionId, r.h.remaining, r.data.toString()], [24, 3, 0x01020304, 1, 9, 0, 1234, 'INVITE']);
    const ack = parseP2Pv2(p2pv2({ id: 5, ack: 0x01020310 }));
    assert.ok(!('error' in ack) && ack.h.ack && ack.h.messageLen === 0 && ack.data.length === 0);
  });

  it('MSNP18 switchboard: INVITE in three v2 packets → offer; file data packets → carved', () => {
    const file = randomBytes(5000, 11);
    const name = 'Quartalszahlen_Q3_ünï.xlsx';
    const h = sb18();
    for (const m of sendTransfer(h, file, name)) {
      h.send('c', m);
      // the receiver acknowledges each packet (header TLV 2, no data)
      h.send('s', p2pv2Msg(`${BUDDY};${BUDDY_EP} Bob`, `${ME};${MY_EP}`, `${BUDDY};${BUDDY_EP}`, p2pv2({ id: 77, ack: 1 })));
    }
    h.end();
    checkTransfer(h, file, name);
  });

  it('byte by byte and all in one segment: the same events', () => {
    const file = randomBytes(3000, 12);
    for (const mode of ['bytes', 'coalesced'] as const) {
      const h = sb18();
      const all = Buffer.concat(sendTransfer(h, file, 'a.bin'));
      if (mode === 'coalesced') h.send('c', all);
      else for (let i = 0; i < all.length; i++) h.send('c', all.subarray(i, i + 1));
      h.end();
      checkTransfer(h, file, 'a.bin');
    }
  });

  it('MSNP21 SDG: v2 packets with Bridging-Offsets (several per SDG) → offer and carved file', () => {
    const file = randomBytes(4000, 13);
    const h = new FlowHarness({ client: '10.1.1.10:40000', server: '65.54.239.20:1863' });
    h.send('c', 'VER 1 MSNP21 CVR0\r\n');
    h.send('s', 'VER 1 MSNP21\r\n');
    const { invite, data } = transferV2(file, 'holiday.jpg');
    const from = `${ME};epid=${MY_EP.toLowerCase()}`;
    const to = `${BUDDY};epid=${BUDDY_EP.toLowerCase()}`;
    h.send('c', sdgP2P(5, from, to, invite.slice(0, 2)));
    h.send('c', sdgP2P(6, from, to, invite.slice(2)));
    for (let i = 0; i < data.length; i += 2) h.send('c', sdgP2P(7 + i, from, to, data.slice(i, i + 2)));
    h.end();
    checkTransfer(h, file, 'holiday.jpg');
  });

  it('an SDG without epid carries P2P v1 (48-byte header) and is decoded too', () => {
    const h = new FlowHarness({ client: '10.1.1.10:40000', server: '65.54.239.20:1863' });
    h.send('c', 'VER 1 MSNP21 CVR0\r\n');
    const slp = slpInvite(ME, BUDDY, 42, 'v1.txt', 10);
    const v1 = p2p('x', BUDDY, { session: 0, id: 9, offset: 0, total: slp.length, flags: 0 }, slp);
    const body = v1.subarray(v1.indexOf('\r\n\r\n') + 4);
    h.send('c', sdgP2P(3, ME, BUDDY, [body], { footer: false }));
    h.end();
    const offer = h.of('file_transfer').find((f) => f.stage === 'offer');
    assert.deepEqual([offer?.filename, offer?.size, offer?.from, offer?.to], ['v1.txt', 10, ME, BUDDY]);
  });

  it('hostile v2 headers are counted as malformed, never throw, never produce an offer', () => {
    const dest = `${BUDDY};${BUDDY_EP}`, src = `${ME};${MY_EP}`;
    const slp = slpInvite(ME, BUDDY, 9, 'x.bin', 100);
    const good = p2pv2({ id: 1, tf: 1, pkg: 1, session: 0 }, slp);
    const cases: [string, Buffer][] = [];
    // header length beyond the payload
    const b1 = Buffer.from(good); b1[0] = 250;
    cases.push(['header length beyond the payload', b1]);
    // header length below 8
    const b2 = Buffer.from(good); b2[0] = 4;
    cases.push(['header length below 8', b2]);
    // huge message size
    const b3 = Buffer.from(good); b3.writeUInt16BE(0xffff, 2);
    cases.push(['message size past the payload', b3]);
    // a TLV whose length runs past the header
    cases.push(['overlong TLV', p2pv2({ id: 1, tf: 1, pkg: 1, headerTlvs: Buffer.from([0x01, 200, 0, 0]) }, slp)]);
    // an endless chain: 120 empty TLVs fill a 248-byte header
    cases.push(['endless TLV chain', p2pv2({ id: 1, tf: 1, pkg: 1, headerTlvs: Buffer.from(Array.from({ length: 240 }, (_, i) => (i % 2 ? 0 : 7))) }, slp)]);
    // data header longer than the message
    const b6 = Buffer.from(good); b6[b6[0]] = 0xf0;
    cases.push(['data header past the message', b6]);
    // remaining TLV of the wrong size, and one beyond any real size
    cases.push(['remaining TLV not 8 bytes', p2pv2({ id: 1, tf: 1, pkg: 1, dataTlvs: Buffer.from([0x01, 4, 0, 0, 1, 0]) }, slp)]);
    cases.push(['remaining past 2^53', p2pv2({ id: 1, tf: 1, pkg: 1, remaining: 1n << 62n }, slp)]);
    for (const [what, pkt] of cases) {
      const h = sb18();
      h.send('c', p2pv2Msg('3 D', dest, src, pkt));
      h.end();
      assert.equal(h.engine.stats.decoderErrors, 0, what);
      assert.equal(h.of('file_transfer').length, 0, what);
      assert.ok((h.of('session')[0].malformed ?? 0) >= 1, what);
    }
  });

  it('a lying remaining count, a continuation without its first packet, a v2 header on a v1 session: no offer', () => {
    const dest = `${BUDDY};${BUDDY_EP}`, src = `${ME};${MY_EP}`;
    const slp = slpInvite(ME, BUDDY, 9, 'x.bin', 100);
    const [a, b] = [slp.subarray(0, 300), slp.subarray(300)];
    // the second packet says more remains than the first announced
    let h = sb18();
    h.send('c', p2pv2Msg('3 D', dest, src, p2pv2({ id: 1, tf: 1, pkg: 1, remaining: b.length }, a)));
    h.send('c', p2pv2Msg('4 D', dest, src, p2pv2({ id: 2, tf: 0, pkg: 1, remaining: 5000 }, b)));
    h.end();
    assert.equal(h.of('file_transfer').length, 0);
    assert.equal(h.of('session')[0].malformed, 1);
    // only the continuation
    h = sb18();
    h.send('c', p2pv2Msg('3 D', dest, src, p2pv2({ id: 2, tf: 0, pkg: 1 }, b)));
    h.end();
    assert.equal(h.of('file_transfer').length, 0);
    // P2P-Dest without an endpoint: read as v1, whose 48-byte header this is not
    h = sb18();
    h.send('c', p2pv2Msg('3 D', BUDDY, ME, p2pv2({ id: 1, tf: 1, pkg: 1 }, slp)));
    h.end();
    assert.equal(h.of('file_transfer').length, 0);
    assert.equal(h.engine.stats.decoderErrors, 0);
    // an SDG whose Bridging-Offsets lie
    h = new FlowHarness({ client: '10.1.1.10:40000', server: '65.54.239.20:1863' });
    h.send('c', 'VER 1 MSNP21 CVR0\r\n');
    h.send('c', sdgP2P(3, `${ME};epid=${MY_EP}`, `${BUDDY};epid=${BUDDY_EP}`, [p2pv2({ id: 1, tf: 1, pkg: 1 }, slp)], { offsets: '0,99999' }));
    h.end();
    assert.equal(h.of('file_transfer').length, 0);
    assert.equal(h.of('session')[0].malformed, 1);
  });
});
