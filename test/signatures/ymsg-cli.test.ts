// Yahoo (YMSG) through the real command line: generated captures with reordered segments, a Y7
// relay upload carved and named, and the real captures against labels.json and tshark.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { Capture } from '../helpers/pcapgen';
import { shadowim } from '../helpers/run';
import { analyzeCapture } from '../helpers/analyze';
import { PCAPS_DIR, havePcaps, labels } from '../helpers/paths';
import { randomBytes, sha256, swapped } from './msn-wire';
import { pdu } from './ymsg-wire';

const ME = 'corp_user42';
const BUDDY = 'outside.friend';

describe('ymsg: through the CLI', function () {
  this.timeout(120000);

  it('messages with reordered segments on a non-standard port, typing excluded', () => {
    const cap = new Capture();
    const t = cap.tcp('10.1.1.10:40000', '203.0.113.5:443');
    t.open();
    t.send('c', pdu(0x57, [[1, ME]]));
    t.send('s', pdu(0x57, [[1, ME], [94, 'challenge'], [13, '0']]));
    const out = pdu(0x06, [[1, ME], [5, BUDDY], [14, '\x1b[#000080m<font face="Tahoma">card 4111 1111 1111 1111</font>'], [97, '1']]);
    t.send('c', out, { segment: 16, reorder: swapped(Math.ceil(out.length / 16)) });
    t.send('s', Buffer.concat([pdu(0x4b, [[5, ME], [4, BUDDY], [14, ' '], [13, '1'], [49, 'TYPING']], 0x16), pdu(0x06, [[5, ME], [4, BUDDY], [14, 'thanks'], [97, '1']], 1)]));
    t.close();
    const ev = analyzeCapture(cap);
    const msgs = ev.filter((e) => e.type === 'message');
    assert.deepEqual(msgs.map((m) => [m.protocol, m.from, m.to]), [['yahoo', ME, BUDDY], ['yahoo', BUDDY, ME]]);
    // colour code and font tag stripped; the card number reaches DLP, which redacts it (last 4 kept)
    assert.match(msgs[0].text, /^card .*1111$/);
    assert.ok(!msgs[0].text.includes('4111 1111 1111 1111') && !msgs[0].text.includes('font'));
    assert.equal(msgs[1].text, 'thanks');
    assert.ok(ev.some((e) => e.type === 'alert' && e.kind === 'sensitive_data' && e.protocol === 'yahoo'));
    const s = ev.filter((e) => e.type === 'session');
    assert.deepEqual(s.map((x) => x.protocol), ['yahoo']);
    assert.deepEqual(s[0].users.sort(), [ME, BUDDY].sort());
  });

  it('Y7 file offer on the session and the relay upload on port 80: offer + carved file with its name', () => {
    const file = randomBytes(30_000, 99);
    const token = 'aB3+xY/9zQ==';
    const cap = new Capture();
    const t = cap.tcp('10.1.1.10:40000', '203.0.113.5:5050');
    t.open();
    t.send('c', pdu(0x57, [[1, ME]]));
    t.send('c', pdu(0xdc, [[1, ME], [5, BUDDY], [265, 'tid-1'], [222, '1'], [27, 'contract.pdf'], [28, String(file.length)]]));
    t.send('c', pdu(0xdd, [[1, ME], [5, BUDDY], [265, 'tid-1'], [27, 'contract.pdf'], [249, '3'], [250, '98.136.112.33'], [251, token]]));
    const r = cap.tcp('10.1.1.10:40100', '98.136.112.33:80');
    r.open();
    r.send('c', Buffer.concat([Buffer.from(`POST /relay?token=${encodeURIComponent(token)}&sender=${ME}&recver=${BUDDY} HTTP/1.1\r\nHost: 98.136.112.33\r\nContent-Length: ${file.length}\r\n\r\n`), file]));
    r.send('s', 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
    r.close();
    t.close();
    const ev = analyzeCapture(cap);
    const offer = ev.find((e) => e.type === 'file_transfer' && e.stage === 'offer');
    const data = ev.find((e) => e.type === 'file_transfer' && e.stage === 'data');
    assert.ok(offer && data, JSON.stringify(ev.map((e) => `${e.type}:${e.stage ?? ''}`)));
    assert.deepEqual([offer.protocol, offer.from, offer.to, offer.filename, offer.size], ['yahoo', ME, BUDDY, 'contract.pdf', file.length]);
    assert.deepEqual([data.filename, data.sha256, data.complete, data.transfer_id], ['contract.pdf', sha256(file), true, offer.transfer_id]);
  });
});

(havePcaps() ? describe : describe.skip)('ymsg: real captures', function () {
  this.timeout(120000);

  it('ymsg-keepalive-in-smtp.pcap: only the YMSG flow is Yahoo (the SMTP flows are not), with its user as tshark reads it', () => {
    const file = path.join(PCAPS_DIR, 'im/ymsg-keepalive-in-smtp.pcap');
    const r = shadowim(['analyze', file, '--format', 'jsonl']);
    const yahoo = r.events.filter((e) => e.type === 'session' && e.protocol === 'yahoo');
    assert.equal(yahoo.length, 1);
    assert.ok(labels()['im/ymsg-keepalive-in-smtp.pcap'].users!.every((u) => yahoo[0].users.includes(u)));
    const t = spawnSync('tshark', ['-r', file, '-Y', 'ymsg', '-T', 'fields', '-e', 'tcp.dstport', '-e', 'ymsg.content-line.value']);
    if (t.status === 0) {
      const [port, user] = t.stdout.toString().trim().split('\t');
      assert.equal(yahoo[0].server.port, Number(port));
      assert.deepEqual(yahoo[0].users, [user]);
    }
    assert.ok(r.events.filter((e) => e.type === 'session' && e.server?.port === 25).every((e) => e.protocol !== 'yahoo'));
  });

  it('ymsg-received-messages.pcap: server-to-client messages, senders and recipients as in the PDUs', () => {
    const r = shadowim(['analyze', path.join(PCAPS_DIR, 'im/ymsg-received-messages.pcap'), '--format', 'jsonl']);
    const msgs = r.events.filter((e) => e.type === 'message');
    const chat = msgs.filter((m) => m.kind === 'chat').map((m) => [m.from, m.to, m.text]);
    assert.deepEqual(chat, [
      ['qq.789', 'drama_stinks', 'hey'],
      ['qq.789', 'jay_dog_thats_whats_up', 'yo'],
    ]);
    // Wireshark's reading of the same MESSAGE PDUs: key 4 sender, 5 recipient, 14 text
    const t = spawnSync('tshark', ['-r', path.join(PCAPS_DIR, 'im/ymsg-received-messages.pcap'), '-Y', 'ymsg.service == 6', '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=|', '-e', 'ymsg.content-line.key', '-e', 'ymsg.content-line.value']);
    if (t.status === 0) {
      const fromTshark = t.stdout.toString().trim().split('\n').map((line) => {
        const [keys, values] = line.split('\t').map((x) => x.split('|'));
        return ['4', '5', '14'].map((k) => values[keys.indexOf(k)]);
      });
      assert.deepEqual(chat, fromTshark);
    }
    const users = r.events.find((e) => e.type === 'session').users;
    for (const u of labels()['im/ymsg-received-messages.pcap'].users!) assert.ok(users.includes(u), u);
  });

  it('ymsg-login.pcap: the signing-in user', () => {
    const r = shadowim(['analyze', path.join(PCAPS_DIR, 'im/ymsg-login.pcap'), '--format', 'jsonl']);
    assert.deepEqual(r.events.filter((e) => e.type === 'session').map((s) => [s.protocol, s.users]), [['yahoo', ['viniduhpoo']]]);
  });

  it('negative captures: nothing is MSN or Yahoo', () => {
    for (const f of fs.readdirSync(path.join(PCAPS_DIR, 'negative'))) {
      const r = shadowim(['analyze', path.join(PCAPS_DIR, 'negative', f), '--format', 'jsonl']);
      const hits = r.events.filter((e) => e.protocol === 'msn' || e.protocol === 'yahoo');
      assert.deepEqual(hits, [], f);
    }
  });
});
