// MSN through the real command line (`shadowim analyze FILE --format jsonl`): generated captures with
// reordered and retransmitted segments, an invitation + MSNFTP transfer carved byte for byte, the
// HTTP gateway; and the real captures, checked against labels.json and tshark.
import assert from 'node:assert/strict';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { Capture } from '../helpers/pcapgen';
import { shadowim } from '../helpers/run';
import { analyzeCapture } from '../helpers/analyze';
import { PCAPS_DIR, havePcaps, labels } from '../helpers/paths';
import fs from 'node:fs';
import os from 'node:os';
import { invite, msnftpBlocks, p2pv2Msg, p2pv2Split, randomBytes, sdgP2P, sha256, slpInvite, swapped, textMsg, typing } from './msn-wire';

const ME = 'alice@example.com';
const BUDDY = 'bob@example.net';

describe('msn: through the CLI', function () {
  this.timeout(120000);

  it('switchboard chat on a non-standard port with reordered and retransmitted segments', () => {
    const cap = new Capture();
    const t = cap.tcp('10.1.1.10:40000', '203.0.113.9:8080');
    t.open();
    t.send('c', `USR 1 ${ME} 1835953129.20013021.2623242\r\n`);
    t.send('s', `USR 1 OK ${ME} Alice\r\n`);
    t.send('s', `JOI ${BUDDY} Bob 1616756780\r\n`);
    const out = Buffer.concat([typing('2 U', ME), textMsg('3 N', 'the wire transfer is tomorrow — ok?')]);
    t.send('c', out, { segment: 40, reorder: swapped(Math.ceil(out.length / 40)), retransmit: [1] });
    const back = textMsg(`${BUDDY} Bob`, 'ok, ça marche');
    t.send('s', back, { segment: 30, reorder: swapped(Math.ceil(back.length / 30)) });
    t.close();
    const ev = analyzeCapture(cap);
    const msgs = ev.filter((e) => e.type === 'message');
    assert.deepEqual(msgs.map((m) => [m.protocol, m.from, m.to, m.text]), [
      ['msn', ME, BUDDY, 'the wire transfer is tomorrow — ok?'],
      ['msn', BUDDY, ME, 'ok, ça marche'],
    ]);
    const s = ev.filter((e) => e.type === 'session');
    assert.equal(s.length, 1);
    assert.equal(s[0].protocol, 'msn');
    assert.deepEqual(s[0].users.sort(), [ME, BUDDY].sort());
  });

  it('invitation on the switchboard + MSNFTP side connection: the file is carved byte for byte', () => {
    const file = randomBytes(50_000, 1234);
    const cap = new Capture();
    const t = cap.tcp('10.1.1.10:40000', '203.0.113.9:1863');
    t.open();
    t.send('c', `ANS 1 ${ME} 849102291.520491113 11752013\r\n`);
    t.send('s', `IRO 1 1 1 ${BUDDY} Bob\r\nANS 1 OK\r\n`);
    t.send('c', invite('2 N', { 'Application-Name': 'File Transfer', 'Application-GUID': '{5D3E02AB-6190-11d3-BBBB-00C04F795683}', 'Invitation-Command': 'INVITE', 'Invitation-Cookie': '4242', 'Application-File': 'customers.csv', 'Application-FileSize': String(file.length) }));
    t.send('s', invite(`${BUDDY} Bob`, { 'Invitation-Command': 'ACCEPT', 'Invitation-Cookie': '4242', 'Launch-Application': 'FALSE', 'Request-Data': 'IP-Address:' }));
    t.send('c', invite('3 N', { 'Invitation-Command': 'ACCEPT', 'Invitation-Cookie': '4242', 'IP-Address': '10.1.1.10', 'IP-Address-Internal': '10.1.1.10', 'Port': '6891', 'AuthCookie': '1618033', 'Launch-Application': 'FALSE', 'Request-Data': 'IP-Address:' }));
    const f = cap.tcp('198.51.100.20:51000', '10.1.1.10:6891');
    f.open();
    f.send('c', 'VER MSNFTP\r\n').send('s', 'VER MSNFTP\r\n').send('c', `USR ${BUDDY} 1618033\r\n`).send('s', `FIL ${file.length}\r\n`).send('c', 'TFR\r\n');
    const blocks = msnftpBlocks(file);
    f.send('s', blocks, { reorder: swapped(Math.ceil(blocks.length / 1460)) });
    f.send('c', 'BYE 16777989\r\n');
    f.close();
    t.close();
    const ev = analyzeCapture(cap);
    const offer = ev.find((e) => e.type === 'file_transfer' && e.stage === 'offer');
    const data = ev.find((e) => e.type === 'file_transfer' && e.stage === 'data');
    assert.ok(offer && data, JSON.stringify(ev.map((e) => e.type)));
    assert.deepEqual([offer.protocol, offer.from, offer.to, offer.filename, offer.size], ['msn', ME, BUDDY, 'customers.csv', file.length]);
    assert.equal(data.sha256, sha256(file));
    assert.equal(data.complete, true);
    assert.equal(data.observed_size, file.length);
    assert.equal(data.transfer_id, offer.transfer_id);
  });

  it('the HTTP gateway: MSNP in POST bodies and responses is decoded', () => {
    const body = `USR 6 TWN I ${ME}\r\n`;
    const cap = new Capture();
    const t = cap.tcp('10.1.1.10:40001', '198.51.100.80:80');
    t.open();
    const chat = textMsg('3 N', 'through gateway.dll');
    t.send('c', `POST http://gateway.messenger.hotmail.com/gateway/gateway.dll?SessionID=1.2 HTTP/1.1\r\nUser-Agent: MSMSGS\r\nHost: gateway.messenger.hotmail.com\r\nContent-Type: application/x-msn-messenger\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    t.send('s', `HTTP/1.1 200 OK\r\nX-MSN-Messenger: SessionID=1.2; GW-IP=207.46.110.18\r\nContent-Type: application/x-msn-messenger\r\nContent-Length: 0\r\n\r\n`);
    t.send('c', Buffer.concat([Buffer.from(`POST http://gateway.messenger.hotmail.com/gateway/gateway.dll?SessionID=1.2 HTTP/1.1\r\nHost: gateway.messenger.hotmail.com\r\nContent-Type: application/x-msn-messenger\r\nContent-Length: ${chat.length}\r\n\r\n`), chat]), { segment: 100 });
    t.close();
    const ev = analyzeCapture(cap);
    const s = ev.find((e) => e.type === 'session');
    assert.equal(s.protocol, 'msn');
    assert.deepEqual(s.users, [ME]);
    assert.deepEqual(ev.filter((e) => e.type === 'message').map((m) => [m.from, m.text]), [[ME, 'through gateway.dll']]);
  });
});

describe('msn: MSNP2P v2 through the CLI', function () {
  this.timeout(120000);

  it('WLM 2009 switchboard and MSNP21 SDG transfers with reordered, retransmitted segments: offers and carved files (tshark shows only MSNMS lines)', () => {
    const EP_A = '{F52973B6-C926-4BAD-9BA8-7C1E840E4AB0}', EP_B = '{1D9C9B2F-6E7A-4C1B-9E0A-3B2C1D0E9F8A}';
    const file = randomBytes(20_000, 4321);
    const slp = slpInvite(`${ME};${EP_A}`, `${BUDDY};${EP_B}`, 555, 'Vertrag_2009.docx', file.length);
    const inv = p2pv2Split(slp, 400, { id: 0x1000, tf: 0, pkg: 3, session: 0, syn: true });
    const dat = p2pv2Split(file, 1222, { id: 0x9000, tf: 6, pkg: 4, session: 555 });
    const cap = new Capture();
    const t = cap.tcp('10.1.1.10:40000', '203.0.113.9:1863');
    t.open();
    t.send('c', `USR 1 ${ME};${EP_A} 1835953129.20013021.2623242\r\n`);
    t.send('s', `USR 1 OK ${ME};${EP_A} Alice\r\nJOI ${BUDDY};${EP_B} Bob 2789003324:48\r\n`);
    const sb = Buffer.concat([...inv, ...dat].map((p, i) => p2pv2Msg(`${2 + i} D`, `${BUDDY};${EP_B}`, `${ME};${EP_A}`, p, i < inv.length ? 0 : 2)));
    t.send('c', sb, { segment: 536, reorder: swapped(Math.ceil(sb.length / 536)), retransmit: [3, 8] });
    t.close();
    const n = cap.tcp('10.1.1.10:40001', '65.54.239.20:1863');
    n.open();
    n.send('c', 'VER 1 MSNP21 CVR0\r\n').send('s', 'VER 1 MSNP21\r\n');
    const file2 = randomBytes(7_000, 99);
    const slp2 = slpInvite(ME, BUDDY, 556, 'scan.pdf', file2.length);
    const from = `${ME};epid=${EP_A}`, to = `${BUDDY};epid=${EP_B}`;
    const sdg = Buffer.concat([
      sdgP2P(5, from, to, p2pv2Split(slp2, 600, { id: 1, tf: 0, pkg: 1, session: 0, syn: true })),
      sdgP2P(6, from, to, p2pv2Split(file2, 1222, { id: 9, tf: 6, pkg: 2, session: 556 })),
    ]);
    n.send('c', sdg, { segment: 700, reorder: swapped(Math.ceil(sdg.length / 700)) });
    n.close();
    const ev = analyzeCapture(cap);
    const offers = ev.filter((e) => e.type === 'file_transfer' && e.stage === 'offer');
    const data = ev.filter((e) => e.type === 'file_transfer' && e.stage === 'data');
    assert.deepEqual(offers.map((o) => [o.protocol, o.filename, o.size, o.from, o.to]).sort(), [
      ['msn', 'Vertrag_2009.docx', file.length, ME, BUDDY],
      ['msn', 'scan.pdf', file2.length, ME, BUDDY],
    ].sort());
    const byName = new Map(data.map((d) => [d.filename, d]));
    assert.equal(byName.get('Vertrag_2009.docx')?.sha256, sha256(file));
    assert.equal(byName.get('scan.pdf')?.sha256, sha256(file2));
    assert.ok(data.every((d) => d.complete === true));
    assert.ok(ev.filter((e) => e.type === 'session').every((s) => (s.malformed ?? 0) === 0));
    // Wireshark's MSNMS dissector shows the command lines only; nothing of the binary P2P header
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'msn-p2pv2-'));
    try {
      const f = path.join(dir, 'c.pcap');
      fs.writeFileSync(f, cap.pcap());
      const ts = spawnSync('tshark', ['-r', f, '-Y', 'msnms', '-T', 'fields', '-e', 'frame.number']);
      if (ts.status === 0) {
        assert.ok(ts.stdout.toString().trim().length > 0, 'tshark sees MSNMS');
        const fields = spawnSync('tshark', ['-G', 'fields']).stdout.toString().split('\n').filter((l) => /\tmsnms\./.test(l));
        assert.ok(fields.every((l) => !/p2p|slp/i.test(l)), 'tshark has no MSN P2P fields');
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

(havePcaps() ? describe : describe.skip)('msn: real captures', function () {
  this.timeout(120000);

  it('msn-switchboard-chat.pcap: labelled users and messages, senders as tshark shows them', () => {
    const file = path.join(PCAPS_DIR, 'im/msn-switchboard-chat.pcap');
    const want = labels()['im/msn-switchboard-chat.pcap'];
    const r = shadowim(['analyze', file, '--format', 'jsonl']);
    assert.equal(r.status, 0);
    const msgs = r.events.filter((e) => e.type === 'message');
    const sessions = r.events.filter((e) => e.type === 'session');
    assert.deepEqual(sessions.map((s) => s.protocol), ['msn']);
    for (const u of want.users!) assert.ok(sessions[0].users.includes(u), u);
    for (const m of want.messages!) assert.ok(msgs.some((x) => x.text.includes(m)), m);
    // typing notifications (text/x-msmsgscontrol) are not messages: tshark counts the text/plain MSGs
    const t = spawnSync('tshark', ['-r', file, '-Y', 'msnms && frame contains "text/plain"', '-T', 'fields', '-e', 'frame.number']);
    if (t.status === 0) assert.equal(msgs.length, t.stdout.toString().trim().split('\n').length);
    // the server names the sender of what the client receives
    assert.ok(msgs.filter((m) => m.direction === 'inbound').every((m) => m.from === 'tesla_thomas@hotmail.com'));
    assert.ok(msgs.filter((m) => m.direction === 'outbound').every((m) => m.from === 'tesla_brian@hotmail.com' && m.to === 'tesla_thomas@hotmail.com'));
  });

  it('msn-http-gateway.pcap: the gateway flows are MSN, with the signed-in passport', () => {
    const r = shadowim(['analyze', path.join(PCAPS_DIR, 'im/msn-http-gateway.pcap'), '--format', 'jsonl']);
    const sessions = r.events.filter((e) => e.type === 'session');
    assert.ok(sessions.length >= 1 && sessions.every((s) => s.protocol === 'msn'));
    assert.ok(sessions.some((s) => s.users.includes('phil_sayers@hotmail.com')));
    assert.ok(sessions.every((s) => s.server_name === 'gateway.messenger.hotmail.com'));
  });
});
