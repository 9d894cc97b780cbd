// Address lists and host names: gaps found by reading nDPI's per-flow verdicts on its own test captures of the messengers
// (tests/cfgs/default/result/*.out, see /work/notes/ndpi-coverage.md), each rebuilt here from the
// protocol, on flows this file generates: addresses and ports are those of the nDPI captures.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { FlowHarness } from '../helpers/harness';
import { tlsClientHello } from './modern-wire';
import { Engine } from '../../signatures/engine';
import { loadRegistry } from '../../signatures/registry';

const sessions = (events: any[]) => events.filter((e) => e.type === 'session');

/** flows of one engine (the endpoint memory is per engine), each with its own start time */
class Calls {
  events: any[] = [];
  engine = new Engine(loadRegistry(), { emit: (e) => this.events.push(e) });
  private n = 0;
  private t0 = Date.UTC(2024, 0, 15, 9, 30, 0) * 1000;

  flow(transport: 'udp' | 'tcp', client: string, server: string, packets: [('c' | 's'), Buffer][], atSeconds = 0): any | undefined {
    const ep = (s: string) => { const [ip, port] = s.split(/:(?=\d+$)/); return { ip, port: +port }; };
    const firstTs = this.t0 + atSeconds * 1e6;
    const h = this.engine.newFlow({ id: `f${++this.n}`, transport, client: ep(client), server: ep(server), firstTs, clientBy: 'first' });
    let ts = firstTs;
    for (const [d, p] of packets) if (h?.wantsData) h.onData(d === 'c' ? 0 : 1, p, (ts += 1000));
    const before = this.events.length;
    h?.onEnd({ packets: packets.length, bytes: 0, packetsC2S: 0, packetsS2C: 0, bytesC2S: 0, bytesS2C: 0, firstTs, lastTs: ts, gapBytes: 0 }, 'capture-end');
    return sessions(this.events.slice(before))[0];
  }
}

function tcp(server: string, packets: [('c' | 's'), Buffer][], client = '192.168.2.12:49355'): any | undefined {
  const h = new FlowHarness({ server, client });
  for (const [d, p] of packets) h.send(d, p);
  return sessions(h.end())[0];
}

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

