// STUN/TURN attribution: gaps found by reading nDPI's per-flow verdicts on its own test captures of the messengers
// (tests/cfgs/default/result/*.out, see /work/notes/ndpi-coverage.md), each rebuilt here from the
// protocol, on flows this file generates: addresses and ports are those of the nDPI captures.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { Calls, tcp } from './ndpi-flows';

const u16 = (n: number) => Buffer.from([n >> 8, n & 0xff]);

/** A STUN message of any type with the magic cookie and the given attributes (padded to 4). */
function stun(type: number, attrs: { type: number; value: Buffer }[] = []): Buffer {
  const body = Buffer.concat(attrs.map((a) => Buffer.concat([u16(a.type), u16(a.value.length), a.value, Buffer.alloc((4 - (a.value.length % 4)) % 4)])));
  return Buffer.concat([u16(type), u16(body.length), Buffer.from('2112a442', 'hex'), crypto.randomBytes(12), body]);
}
const REALM = 0x0014, NONCE = 0x0015, ERROR_CODE = 0x0009, XOR_PEER = 0x0012, LIFETIME = 0x000d;
const realm = (name: string) => ({ type: REALM, value: Buffer.from(name) });
/** TURN 401 challenge, as a relay answers the first Allocate: ERROR-CODE 401, REALM, NONCE */
const challenge = (name: string) => stun(0x0113, [
  { type: ERROR_CODE, value: Buffer.concat([Buffer.from([0, 0, 4, 1]), Buffer.from('Unauthorized')]) },
  realm(name),
  { type: NONCE, value: Buffer.from('0b1a3f5c7d9e2f4a') },
]);
const allocate = () => stun(0x0003, [{ type: 0x0019, value: Buffer.from([17, 0, 0, 0]) }, { type: LIFETIME, value: Buffer.from([0, 0, 0x0e, 0x10]) }]);
function xorPeer(ip: string, port: number): { type: number; value: Buffer } {
  const a = ip.split('.').map(Number);
  const v = Buffer.alloc(8);
  v[1] = 1;
  v.writeUInt16BE(port ^ 0x2112, 2);
  v.writeUInt32BE((((a[0] << 24) | (a[1] << 16) | (a[2] << 8) | a[3]) ^ 0x2112a442) >>> 0, 4);
  return { type: XOR_PEER, value: v };
}

describe('nDPI coverage: STUN/TURN realm', () => {
  it('Signal call relay on Google Cloud: REALM signal.org in the 401 challenge (signal_audiocall.pcapng)', () => {
    const c = new Calls();
    const s = c.flow('udp', '192.168.12.67:45419', '35.219.252.146:3478', [['c', allocate()], ['s', challenge('signal.org')], ['c', allocate()]]);
    assert.equal(s?.protocol, 'signal');
    assert.equal(s.evidence[0].signature, 'stun.realm');
    assert.equal(s.encrypted, true);
  });

  it('the same over TCP port 80 (stun_signal_tcp.pcapng: TURN over TCP to 35.219.252.146:80)', () => {
    const s = tcp('35.219.252.146:80', [['c', allocate()], ['s', challenge('signal.org')]], '192.168.1.117:51296');
    assert.equal(s?.protocol, 'signal');
  });

  it('REALM telegram.org → telegram; a realm that is not an IM host, or not a host name, is nothing', () => {
    const c = new Calls();
    assert.equal(c.flow('udp', '192.168.12.67:42567', '198.51.100.81:1400', [['c', allocate()], ['s', challenge('telegram.org')]])?.protocol, 'telegram');
    assert.equal(c.flow('udp', '192.168.12.67:42568', '198.51.100.81:3478', [['c', allocate()], ['s', challenge('turn.example.net')]]), undefined);
    assert.equal(c.flow('udp', '192.168.12.67:42569', '198.51.100.81:3478', [['c', allocate()], ['s', challenge('"signal org?"')]]), undefined);
  });
});

describe('nDPI coverage: WhatsApp call STUN', () => {
  it('message types 0x0800-0x0805 (not 0x0803) to a Meta relay (wa_voice.pcap 31.13.86.48:3478)', () => {
    const c = new Calls();
    const s = c.flow('udp', '192.168.2.12:56328', '31.13.86.48:3478', [['c', stun(0x0801, [{ type: 0x4002, value: crypto.randomBytes(16) }])]]);
    assert.equal(s?.protocol, 'whatsapp');
    assert.equal(s.evidence[0].signature, 'stun.message-type');
    assert.equal(c.flow('udp', '192.168.2.12:56329', '31.13.86.48:3478', [['c', stun(0x0803)]]), undefined);
  });

  it('attributes 0x4000-0x4004, 0x4007 in a Binding request; a plain Binding to the same relay is nothing', () => {
    const c = new Calls();
    const s = c.flow('udp', '192.168.2.12:56330', '157.240.193.48:3478', [['c', stun(0x0001, [{ type: 0x4000, value: Buffer.from('0001', 'hex') }])]]);
    assert.equal(s?.protocol, 'whatsapp');
    assert.equal(s.evidence[0].signature, 'stun.vendor-attribute');
    assert.equal(c.flow('udp', '192.168.2.12:56331', '157.240.193.48:3478', [['c', stun(0x0001)], ['s', stun(0x0101)]]), undefined);
  });
});

describe('nDPI coverage: call endpoints already attributed', () => {
  it('a peer check from the socket of an attributed relay flow is the same app (signal_audiocall.pcapng 45419 → 35.219.226.11:54116)', () => {
    const c = new Calls();
    assert.equal(c.flow('udp', '192.168.12.67:45419', '35.219.252.146:3478', [['c', allocate()], ['s', challenge('signal.org')]])?.protocol, 'signal');
    const s = c.flow('udp', '192.168.12.67:45419', '35.219.226.11:54116', [['c', stun(0x0001)], ['s', stun(0x0101)]], 2);
    assert.equal(s?.protocol, 'signal');
    assert.equal(s.evidence[0].signature, 'stun.endpoint');
    assert.match(s.evidence[0].reason, /192\.168\.12\.67:45419 .*realm signal\.org/);
    // the peer calling in: the remembered socket is the flow's server side
    assert.equal(c.flow('udp', '93.35.168.30:45251', '192.168.12.67:45419', [['c', stun(0x0001)]], 3)?.protocol, 'signal');
    // another socket of the same host is not
    assert.equal(c.flow('udp', '192.168.12.67:45420', '35.219.226.11:54116', [['c', stun(0x0001)]], 4), undefined);
    // nor the same socket ten minutes later (ports are reused)
    assert.equal(c.flow('udp', '192.168.12.67:45419', '35.219.226.11:54117', [['c', stun(0x0001)]], 700), undefined);
    // nor non-STUN datagrams on it
    assert.equal(c.flow('udp', '192.168.12.67:45419', '198.51.100.90:9999', [['c', crypto.randomBytes(100)]], 5), undefined);
  });

  it('a TURN peer named by an attributed message (telegram_videocall.pcapng: peer 93.36.13.115:35393 of relay 91.108.9.35:1400)', () => {
    const c = new Calls();
    const permit = stun(0x0008, [xorPeer('93.36.13.115', 35393)]);
    assert.equal(c.flow('udp', '192.168.12.169:40643', '91.108.9.35:1400', [['c', permit]])?.protocol, 'telegram');
    const s = c.flow('udp', '192.168.12.169:42405', '93.36.13.115:35393', [['c', stun(0x0001)], ['s', stun(0x0101)]], 1);
    assert.equal(s?.protocol, 'telegram');
    assert.match(s.evidence[0].reason, /TURN peer 93\.36\.13\.115:35393/);
  });

  it('a public STUN server taken as the client side (its answer seen first) is never remembered as the app\'s', () => {
    const c = new Calls();
    const answer = stun(0x0101, [{ type: 0x8022, value: Buffer.from('WhatsApp 2.23') }]);
    assert.equal(c.flow('udp', '74.125.250.129:19302', '192.168.1.5:50000', [['c', answer]])?.protocol, 'whatsapp');
    // a browser's WebRTC check to the same Google STUN server stays plain STUN
    assert.equal(c.flow('udp', '192.168.1.7:61000', '74.125.250.129:19302', [['c', stun(0x0001)], ['s', stun(0x0101)]], 1), undefined);
  });

  it('the memory is bounded: the oldest endpoints are forgotten', () => {
    const c = new Calls();
    c.flow('udp', '10.9.0.1:40000', '35.219.252.146:3478', [['s', challenge('signal.org')]]);
    for (let i = 0; i < 4200; i++) c.flow('udp', `10.9.${1 + (i >> 8)}.${i & 0xff}:40000`, '35.219.252.146:3478', [['s', challenge('signal.org')]]);
    assert.equal(c.flow('udp', '10.9.0.1:40000', '198.51.100.91:3478', [['c', stun(0x0001)]]), undefined);
    assert.equal(c.flow('udp', '10.9.17.0:40000', '198.51.100.91:3478', [['c', stun(0x0001)]])?.protocol, 'signal');
  });
});
