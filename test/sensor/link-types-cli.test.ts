// Frames of a link type the sensor does not read (a Wi-Fi monitor capture, Token Ring, a private DLT)
// are not malformed: `analyze` counts them apart and its summary names the link type and what the
// sensor reads instead, the stats event carries `unsupported_link`, and what the capture holds on
// link types it does read is analysed as before. tshark confirms what the generated files hold.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Capture } from '../helpers/pcapgen';
import { shadowim } from '../helpers/run';
import { haveTshark } from '../helpers/tshark';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-linktypes-'));
const READS = 'Ethernet, Linux cooked, raw IP, loopback, PPP, PPPoE, Cisco HDLC and NFLOG';

/** a beacon behind an 8-byte radiotap header (no fields present) */
function radiotapBeacon(ssid: string): Buffer {
  const rt = Buffer.from([0, 0, 8, 0, 0, 0, 0, 0]);
  const hdr = Buffer.alloc(24);
  hdr[0] = 0x80; // management, beacon
  hdr.fill(0xff, 4, 10); // to broadcast
  Buffer.from([0x02, 0, 0, 0, 0, 1]).copy(hdr, 10);
  Buffer.from([0x02, 0, 0, 0, 0, 1]).copy(hdr, 16);
  const body = Buffer.concat([Buffer.alloc(8), Buffer.from([0x64, 0, 0x01, 0x04]), Buffer.from([0, ssid.length]), Buffer.from(ssid)]);
  return Buffer.concat([rt, hdr, body]);
}

function ircSession(c: Capture): void {
  const t = c.tcp('10.0.0.5:40001', '192.0.2.10:6667');
  t.open().send('c', 'NICK alice\r\nUSER alice 0 * :Alice\r\n').send('s', ':irc.example.net 001 alice :Welcome to IRC alice\r\n');
  t.send('c', 'PRIVMSG #chan :hello\r\n');
  t.close();
}

function run(name: string, data: Buffer) {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, data);
  const r = shadowim(['analyze', file, '--format', 'jsonl']);
  assert.equal(r.status, 0, r.stderr);
  return { file, r, stats: r.events.find((e) => e.type === 'stats') };
}

describe('analyze: frames of link types the sensor does not read', () => {
  it('a Wi-Fi monitor capture (radiotap, 127): counted as such, not malformed, the link type named in the summary with what is read instead', () => {
    const c = new Capture();
    for (let i = 0; i < 3; i++) c.add(radiotapBeacon(`guest-${i}`), 127);
    const { file, r, stats } = run('wifi.pcap', c.pcap({ linktype: 127 }));
    if (haveTshark) {
      const t = spawnSync('tshark', ['-r', file, '-T', 'fields', '-e', 'frame.protocols', '-e', 'wlan.ssid'], { encoding: 'utf8' });
      assert.deepEqual(t.stdout.trim().split('\n').map((l) => l.split('\t')[1]), ['guest-0', 'guest-1', 'guest-2'].map((s) => Buffer.from(s).toString('hex')), t.stdout); // tshark prints an SSID in hex
      assert.match(t.stdout, /^radiotap:wlan_radio:wlan/);
    }
    assert.equal(stats.packets, 3);
    assert.equal(stats.malformed, 0);
    assert.equal(stats.unsupported_link, 3);
    assert.equal(stats.flows, 0);
    assert.match(r.stderr, new RegExp(`, 0 malformed, 0 not TCP/UDP, 3 of link type 127 \\(IEEE 802\\.11 with radiotap header\\), which shadowim does not read \\(it reads ${READS}\\), 0 IM sessions in `));
  });

  it('a pcapng with an Ethernet interface and an 802.11 one: the IRC session on Ethernet is read, the 802.11 frames named', () => {
    const c = new Capture();
    ircSession(c);
    c.add(radiotapBeacon('corp').subarray(8), 105); // bare 802.11
    c.add(radiotapBeacon('corp').subarray(8), 105);
    const { r, stats } = run('mixed.pcapng', c.pcapng());
    assert.equal(stats.unsupported_link, 2);
    assert.equal(stats.malformed, 0);
    assert.ok(r.events.some((e) => e.type === 'session' && e.protocol === 'irc'), r.stdout);
    assert.ok(r.events.some((e) => e.type === 'message' && e.text === 'hello'), r.stdout);
    assert.match(r.stderr, /, 2 of link type 105 \(IEEE 802\.11\), which shadowim does not read \(/);
  });

  it('a link type the names table does not know is named by its number; several are listed in the order seen', () => {
    const c = new Capture();
    c.add(Buffer.from('private framing'), 147); // LINKTYPE_USER0
    c.add(Buffer.from('token ring frame'), 6);
    c.add(Buffer.from('again'), 147);
    const { r, stats } = run('private.pcapng', c.pcapng());
    assert.equal(stats.unsupported_link, 3);
    assert.match(r.stderr, /, 3 of link types 147, 6 \(Token Ring\), which shadowim does not read \(/);
  });

  it('a capture with none of them says nothing about link types', () => {
    const c = new Capture();
    ircSession(c);
    const { r, stats } = run('plain.pcap', c.pcap());
    assert.equal(stats.unsupported_link, undefined);
    assert.doesNotMatch(r.stderr, /does not read/);
  });
});
