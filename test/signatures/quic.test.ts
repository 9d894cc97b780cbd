// QUIC Initial decryption: RFC 9001 Appendix A key vectors, then real (encrypted) Initial packets
// built by the test with those keys, a ClientHello split over two Initials, and bad input.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { FlowHarness } from '../helpers/harness';
import { Capture } from '../helpers/pcapgen';
import { cryptoFrames, initialKeys, parseInitial, gquicSni } from '../../signatures/quic/parser';
import { clientHelloMessage, clientInitialKeys, cryptoFrame, quicInitial } from './modern-wire';

const RFC_DCID = Buffer.from('8394c8f03e515708', 'hex');

describe('quic: Initial packet decryption', () => {
  it('derives the RFC 9001 Appendix A.1 client Initial keys', () => {
    const k = initialKeys(1, RFC_DCID)!;
    assert.equal(k.key.toString('hex'), '1f369613dd76d5467730efcbe3b1a22d');
    assert.equal(k.iv.toString('hex'), 'fa044b2f42a3fd3b46fb255c');
    assert.equal(k.hp.toString('hex'), '9f50449e04a0e810283a1e9933adedd2');
    // the test's own builder agrees (so the packets below are really encrypted with the spec's keys)
    assert.deepEqual(clientInitialKeys(RFC_DCID), k);
  });

  it('derives the RFC 9001 Appendix A.1 server Initial keys', () => {
    const k = initialKeys(1, RFC_DCID, 'server')!;
    assert.equal(k.key.toString('hex'), 'cf3a5331653c364c88f0f379b6067e37');
    assert.equal(k.iv.toString('hex'), '0ac1493ca1905853b0bba03e');
    assert.equal(k.hp.toString('hex'), 'c206b8d9b9f0f37644430b490eeaa314');
  });

  it('derives the RFC 9369 Appendix A.1 QUIC v2 client Initial keys', () => {
    const k = initialKeys(0x6b3343cf, RFC_DCID)!;
    assert.equal(k.key.toString('hex'), '8b1a0bc121284290a29e0971b5cd045d');
    assert.equal(k.iv.toString('hex'), '91f73e2351d8fa91660e909f');
    assert.equal(k.hp.toString('hex'), '45b95e15235d6f45a6b19cbcb0294ba9');
  });

  it('decrypts an Initial and reads its CRYPTO frame', () => {
    const hello = clientHelloMessage({ sni: 'web.whatsapp.com' });
    const pkt = quicInitial(RFC_DCID, cryptoFrame(0, hello));
    const p = parseInitial(pkt, (v, d) => initialKeys(v, d));
    assert.ok(p?.payload, 'decrypted');
    const frames = cryptoFrames(p!.payload!);
    assert.equal(frames.length, 1);
    assert.deepEqual(frames[0].data, hello);
  });

  it('builds Initials that tshark (an independent QUIC implementation) decrypts to the same SNI', function () {
    if (spawnSync('tshark', ['-v']).status !== 0) this.skip();
    const c = new Capture();
    c.udp('10.0.0.5:50000', '157.240.1.53:443', quicInitial(RFC_DCID, cryptoFrame(0, clientHelloMessage({ sni: 'web.whatsapp.com' }))));
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-quic-')), 'q.pcap');
    fs.writeFileSync(file, c.pcap());
    const r = spawnSync('tshark', ['-r', file, '-T', 'fields', '-e', 'tls.handshake.extensions_server_name'], { encoding: 'utf8' });
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
    assert.equal(r.stdout.trim(), 'web.whatsapp.com');
  });

  it('classifies a QUIC flow by the SNI in its Initial', () => {
    const h = new FlowHarness({ transport: 'udp', server: '157.240.1.53:443' });
    h.send('c', quicInitial(RFC_DCID, cryptoFrame(0, clientHelloMessage({ sni: 'web.whatsapp.com', alpn: ['h3'] }))));
    h.send('s', Buffer.alloc(1200, 0xaa));
    const [s] = h.end().filter((e) => e.type === 'session') as any[];
    assert.equal(s?.protocol, 'whatsapp');
    assert.equal(s.server_name, 'web.whatsapp.com');
    assert.equal(s.encrypted, true);
    assert.equal(s.evidence[0].signature, 'quic.sni');
  });

  it('reassembles a ClientHello split over two Initial packets, second part first', () => {
    const hello = clientHelloMessage({ sni: 'chat.google.com', padTo: 1700 });
    const cut = 900;
    const h = new FlowHarness({ transport: 'udp', server: '142.250.1.1:443' });
    h.send('c', quicInitial(RFC_DCID, cryptoFrame(cut, hello.subarray(cut)), 1));
    h.send('c', quicInitial(RFC_DCID, cryptoFrame(0, hello.subarray(0, cut)), 0));
    const [s] = h.end().filter((e) => e.type === 'session') as any[];
    assert.equal(s?.protocol, 'googlechat');
  });

  it('reassembles CRYPTO frames scattered out of order among PING and PADDING in one Initial (as Chrome sends them)', () => {
    const hello = clientHelloMessage({ sni: 'discord.gg', padTo: 700 });
    const frames = Buffer.concat([
      Buffer.from([0x01]), cryptoFrame(400, hello.subarray(400)), Buffer.alloc(5), Buffer.from([0x01]),
      cryptoFrame(0, hello.subarray(0, 250)), Buffer.alloc(3), cryptoFrame(250, hello.subarray(250, 400)),
    ]);
    const h = new FlowHarness({ transport: 'udp', server: '162.159.1.1:443' });
    h.send('c', quicInitial(RFC_DCID, frames));
    assert.equal((h.end().find((e) => e.type === 'session') as any)?.protocol, 'discord');
  });

  it('reads CRYPTO frames after more than 256 bytes of PADDING between them (Chrome scatters padding among its CRYPTO frames)', () => {
    const hello = clientHelloMessage({ sni: 'web.slack.com', padTo: 600 });
    const frames = Buffer.concat([cryptoFrame(0, hello.subarray(0, 200)), Buffer.alloc(300), Buffer.from([0x01]), cryptoFrame(200, hello.subarray(200))]);
    const h = new FlowHarness({ transport: 'udp', server: '203.0.113.44:443' });
    h.send('c', quicInitial(RFC_DCID, frames));
    const [s] = h.end().filter((e) => e.type === 'session') as any[];
    assert.deepEqual([s?.protocol, s?.server_name], ['slack', 'web.slack.com']);
  });

  it('reports nothing for QUIC to a host that is not IM (google.com)', () => {
    const h = new FlowHarness({ transport: 'udp', server: '142.250.1.1:443' });
    h.send('c', quicInitial(RFC_DCID, cryptoFrame(0, clientHelloMessage({ sni: 'www.google.com' }))));
    assert.deepEqual(h.end().filter((e) => e.type === 'session'), []);
  });

  it('survives bogus lengths, wrong keys and truncation without an exception', () => {
    const good = quicInitial(RFC_DCID, cryptoFrame(0, clientHelloMessage({ sni: 'signal.org' })));
    const cases: Buffer[] = [
      good.subarray(0, 30),
      Buffer.concat([good.subarray(0, 5), Buffer.from([0xff]), good.subarray(6)]), // DCID length 255
      (() => { const b = Buffer.from(good); b[good.indexOf(Buffer.from('c0ffee01', 'hex')) + 5] = 0xbf; return b; })(), // huge length varint
      (() => { const b = Buffer.from(good); b[b.length - 1] ^= 1; return b; })(), // bad tag
      Buffer.from([0xc0, 0, 0, 0, 1]),
    ];
    for (const c of cases) {
      assert.doesNotThrow(() => parseInitial(c, (v, d) => initialKeys(v, d)));
      const h = new FlowHarness({ transport: 'udp', server: '203.0.113.9:443' });
      h.send('c', c);
      assert.deepEqual(h.end().filter((e) => e.type === 'session'), []);
    }
    assert.doesNotThrow(() => cryptoFrames(Buffer.from([0x06, 0xff, 0xff, 0x02, 0x40])));
  });

  it('reads the SNI tag of a Google QUIC CHLO', () => {
    const sni = Buffer.from('chat.google.com');
    const tags = Buffer.concat([Buffer.from('SNI\0'), Buffer.from([sni.length, 0, 0, 0])]);
    const chlo = Buffer.concat([Buffer.from('CHLO'), Buffer.from([1, 0, 0, 0]), tags, sni]);
    const pkt = Buffer.concat([Buffer.from([0x0d]), Buffer.alloc(8, 1), Buffer.from('Q043'), Buffer.alloc(16), chlo]);
    assert.equal(gquicSni(pkt), 'chat.google.com');
  });
});
