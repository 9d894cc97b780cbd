// Address lists and host names: gaps found by reading nDPI's per-flow verdicts on its own test captures of the messengers
// (github.com/ntop/nDPI tests/cfgs/default/result/*.out, read as text), each rebuilt here from the
// protocol, on flows this file generates: addresses and ports are those of the nDPI captures.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { tlsClientHello } from './modern-wire';
import { Calls, tcp } from './ndpi-flows';

describe('nDPI coverage: address lists', () => {
  it('WhatsApp chat address from Meta\'s published list, mid-stream (wa_video.pcap 157.240.20.53:5222, no prologue in view)', () => {
    const s = tcp('157.240.20.53:5222', [['c', crypto.randomBytes(133)], ['s', crypto.randomBytes(175)], ['c', crypto.randomBytes(90)]]);
    assert.equal(s?.protocol, 'whatsapp');
    assert.equal(s.evidence[0].signature, 'ip.list');
    // Meta's facebook.com address in the same /16 is not WhatsApp
    assert.equal(tcp('157.240.20.35:443', [['c', crypto.randomBytes(133)], ['s', crypto.randomBytes(175)]]), undefined);
    // an explicit non-IM server name wins over the address
    assert.equal(tcp('157.240.20.53:443', [['c', tlsClientHello({ sni: 'www.facebook.com' })]]), undefined);
  });

  it('LINE call relay in 125.209.252.0/24 (line.pcap LineCall 125.209.252.210:20610)', () => {
    const c = new Calls();
    const rtp = Buffer.concat([Buffer.from('80e0', 'hex'), crypto.randomBytes(170)]);
    assert.equal(c.flow('udp', '10.0.2.15:50835', '125.209.252.210:20610', [['c', rtp], ['s', rtp], ['c', rtp]])?.protocol, 'line');
    assert.equal(c.flow('udp', '10.0.2.15:50836', '125.209.253.210:20610', [['c', rtp], ['s', rtp]]), undefined);
  });
});

describe('nDPI coverage: host names', () => {
  const cases: [string, string][] = [
    ['media.addlive.io', 'snapchat'], ['app.sc-prod.net', 'snapchat'], ['sc-static.net', 'snapchat'],
    ['tupdate.com', 'telegram'], ['signal.tube', 'signal'], ['signal.group', 'signal'], ['signal.link', 'signal'],
    ['gd2.line.naver.jp', 'line'], ['we.chat', 'wechat'], ['teams-ring.msedge.net', 'teams'],
  ];
  for (const [sni, proto] of cases) {
    it(`TLS server name ${sni} → ${proto}`, () => {
      assert.equal(tcp('198.51.100.80:443', [['c', tlsClientHello({ sni })]])?.protocol, proto);
    });
  }
  it('their parents and neighbours stay not IM', () => {
    for (const sni of ['naver.jp', 'www.naver.jp', 'msedge.net', 'config.msedge.net', 'appspot.com', 'chat.example']) {
      assert.equal(tcp('198.51.100.80:443', [['c', tlsClientHello({ sni })]]), undefined, sni);
    }
  });
});

