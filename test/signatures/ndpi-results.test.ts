// Names and addresses that nDPI's own result files give a messenger (github.com/ntop/nDPI
// tests/cfgs/default/result/<capture>.out, read as text; most of those captures are not in
// ../shared/pcaps), each rebuilt as a flow in one generated capture and run through the real CLI:
// a TLS ClientHello with that SNI, an HTTP request with that Host, or bytes to that server address.
// The shared names nDPI also maps to a messenger, which shadowim leaves out on purpose, are negatives.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { Capture } from '../helpers/pcapgen';
import { analyzeCapture } from '../helpers/analyze';
import { tlsClientHello } from './modern-wire';

/** deterministic bytes that are no protocol's first bytes */
const opaque = (seed: string, n: number) => {
  const out: Buffer[] = [];
  for (let i = 0; out.length * 32 < n; i++) out.push(crypto.createHash('sha256').update(`${seed}/${i}`).digest());
  return Buffer.concat(out).subarray(0, n);
};

// [server name, what nDPI says, shadowim's protocol, the result file]
const names: [string, string, string, string][] = [
  ['mmg-fna.whatsapp.net', 'TLS.WhatsAppFiles', 'whatsapp', 'whatsappfiles.pcap.out'],
  ['e13.whatsapp.net', 'DNS.WhatsApp', 'whatsapp', 'whatsapp_login_call.pcap.out'],
  ['apps.skype.com', 'TLS.Skype_Teams', 'skype', 'skype.pcap.out'],
  ['apps.skypeassets.com', 'TLS.Skype_Teams', 'skype', 'skype.pcap.out'],
  ['ui.skype.com', 'DNS.Skype_Teams', 'skype', 'skype.pcap.out'],
  ['335.0.7.7.3.rst13.r.skype.net', 'DNS.Skype_Teams', 'skype', 'skype.pcap.out'],
  ['conn.skype.akadns.net', 'DNS.Skype_Teams', 'skype', 'skype.pcap.out, skype_no_unknown.pcap.out'],
  ['eu-api.asm.skype.com', 'TLS.Skype_Teams', 'skype', 'teams.pcap.out'],
  ['config.teams.microsoft.com', 'TLS.Teams', 'teams', 'teams.pcap.out'],
  ['eu-prod.asyncgw.teams.microsoft.com', 'TLS.Teams', 'teams', 'teams.pcap.out'],
  ['trouter2-asse-a.trouter.teams.microsoft.com', 'TLS.Teams', 'teams', 'teams.pcap.out'],
  ['api.flightproxy.teams.microsoft.com', 'TLS.Teams', 'teams', 'teams.pcap.out'],
  ['www.messenger.com', 'Messenger', 'messenger', "libndpi 4.2's host list (messenger.com)"],
];

// [server name, what nDPI says, the result file, why shadowim does not call it IM]
const sharedNames: [string, string, string, string][] = [
  ['pipe.prd.skypedata.akadns.net', 'DNS.Skype_Teams', 'skype.pcap.out', "Office's telemetry pipe (pipe.skype.com), every Office app"],
  ['a.config.skype.trafficmanager.net', 'DNS.Microsoft', 'skype.pcap.out', "Office's configuration service (config.edge.skype.com)"],
  ['api.microsoftstream.com', 'TLS.Skype_Teams', 'teams.pcap.out', 'Microsoft Stream, a video service'],
  ['euno-1.api.microsoftstream.com', 'TLS.Skype_Teams', 'teams.pcap.out', 'Microsoft Stream, a video service'],
  ['gate.hockeyapp.net', 'TLS.Skype_Teams', 'teams.pcap.out', "HockeyApp crash reports, any vendor's app"],
  ['mqtt.facebook.com', 'DNS.Facebook', 'KakaoTalk_talk.pcap.out', 'the Facebook app as well as Messenger'],
  ['edge-mqtt.facebook.com', 'Messenger', "libndpi 4.2's host list", "the Facebook app's and Instagram's real-time channel as well as Messenger's"],
  ['mqtt-mini.facebook.com', 'Messenger', "libndpi 4.2's host list", "Facebook Lite's real-time channel as well as Messenger's"],
  ['skype.akadns.net', '-', 'skype.pcap.out', 'the parent of the added host: other Skype names there are not known'],
];

// [transport, server address:port, what nDPI says, shadowim's protocol, the result file]
const addresses: ['tcp' | 'udp', string, string, string, string][] = [
  ['tcp', '179.60.195.49:5222', 'WhatsApp [IP: WhatsApp]', 'whatsapp', 'whatsapp.pcap.out'],
  ['tcp', '31.13.83.49:5222', 'WhatsApp [IP: WhatsApp]', 'whatsapp', 'whatsapp.pcap.out'],
  ['tcp', '31.13.93.54:5222', 'WhatsApp [IP: WhatsApp]', 'whatsapp', 'whatsapp.pcap.out'],
  ['tcp', '157.240.20.53:5222', 'WhatsApp, Match by IP', 'whatsapp', 'wa_video.pcap.out'],
  ['tcp', '185.60.216.53:443', 'WhatsAppFiles [IP: WhatsApp]', 'whatsapp', 'whatsappfiles.pcap.out'],
  ['udp', '91.108.8.1:533', 'Telegram [IP: Telegram]', 'telegram', 'telegram.pcap.out'],
  ['udp', '91.108.12.3:530', 'Telegram [IP: Telegram]', 'telegram', 'telegram.pcap.out'],
  ['udp', '91.108.16.3:537', 'Telegram [IP: Telegram]', 'telegram', 'telegram.pcap.out'],
  ['tcp', '149.154.167.91:443', 'Telegram, Match by IP', 'telegram', 'telegram_videocall.pcapng.out'],
  ['udp', '91.108.9.35:1400', 'STUN.TelegramVoip [IP: Telegram]', 'telegram', 'telegram_videocall.pcapng.out'],
];

describe("nDPI result files: names and addresses nDPI gives a messenger, end to end", function () {
  this.timeout(60000);
  const serverOf = new Map<string, string>();
  let sessions: any[] = [];

  before(() => {
    const cap = new Capture();
    let n = 10, port = 50000;
    const tls = (sni: string) => {
      const server = `198.51.100.${n++}`;
      serverOf.set(sni, server);
      cap.tcp(`192.168.2.12:${port++}`, `${server}:443`).open().send('c', tlsClientHello({ sni })).close();
    };
    for (const [sni] of names) tls(sni);
    for (const [sni] of sharedNames) tls(sni);
    // a Teams-range address with Office's telemetry name: the name wins (teams.pcap.out: TLS.Microsoft)
    cap.tcp(`192.168.1.6:${port++}`, '52.114.77.33:443').open().send('c', tlsClientHello({ sni: 'mobile.pipe.aria.microsoft.com' })).close();
    // WeChat's HTTP report to hkminorshort.weixin.qq.com (KakaoTalk_talk.pcap.out: HTTP_Proxy.QQ, User-Agent MicroMessenger)
    serverOf.set('hkminorshort.weixin.qq.com', '203.205.147.215');
    cap.tcp(`10.24.82.188:${port++}`, '203.205.147.215:80').open()
      .send('c', 'POST /cgi-bin/micromsg-bin/rtkvreport HTTP/1.1\r\nHost: hkminorshort.weixin.qq.com\r\nUser-Agent: MicroMessenger Client\r\nContent-Type: application/octet-stream\r\nContent-Length: 4\r\n\r\nabcd').close();
    for (const [t, server] of addresses) {
      const client = `192.168.2.12:${port++}`;
      if (t === 'tcp') cap.tcp(client, server).open().send('c', opaque(server, 133)).send('s', opaque(server + 's', 175)).close();
      else for (let i = 0; i < 4; i++) cap.udp(client, server, opaque(`${server}/${i}`, 106), i % 2 ? 's' : 'c');
    }
    sessions = analyzeCapture(cap).filter((e) => e.type === 'session');
  });
  const at = (ip: string) => sessions.filter((s) => s.server.ip === ip);

  for (const [sni, ndpi, proto, file] of names) {
    it(`${sni} (${file}: ${ndpi}) → ${proto}`, () => {
      assert.deepEqual(at(serverOf.get(sni)!).map((s) => s.protocol), [proto]);
    });
  }

  it('hkminorshort.weixin.qq.com (KakaoTalk_talk.pcap.out: HTTP_Proxy.QQ) → wechat: weixin is WeChat, and the User-Agent says MicroMessenger', () => {
    assert.deepEqual(at('203.205.147.215').map((s) => s.protocol), ['wechat']);
  });

  for (const [t, server, ndpi, proto, file] of addresses) {
    it(`${t.toUpperCase()} to ${server} (${file}: ${ndpi}) → ${proto}, by the address`, () => {
      const ip = server.replace(/:\d+$/, '');
      const s = at(ip);
      assert.deepEqual(s.map((x) => x.protocol), [proto]);
      assert.equal(s[0].evidence[0].signature, 'ip.list');
    });
  }

  for (const [sni, ndpi, file, why] of sharedNames) {
    it(`not IM: ${sni} (${file}: ${ndpi}) — ${why}`, () => {
      assert.deepEqual(at(serverOf.get(sni)!), []);
    });
  }

  it('not IM: mobile.pipe.aria.microsoft.com to 52.114.77.33, in the Teams range (teams.pcap.out: TLS.Microsoft)', () => {
    assert.deepEqual(at('52.114.77.33'), []);
  });
});
