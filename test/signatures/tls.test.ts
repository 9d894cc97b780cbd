// TLS: ClientHello SNI → IM host table; split across segments and records; unknown SNI is not IM;
// explicit non-IM SNI beats a DNS guess; truncated and garbage hellos never throw.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FlowHarness } from '../helpers/harness';
import { Capture } from '../helpers/pcapgen';
import { analyzeCapture } from '../helpers/analyze';
import { parseTlsClientHello } from '../../signatures/tls/parser';
import { Engine } from '../../signatures/engine';
import { loadRegistry } from '../../signatures/registry';
import { spawnSync } from 'node:child_process';
import { serverCertificateNames } from '../../signatures/tls/certificate';
import { tls12ServerFlight, tlsClientHello } from './modern-wire';
import { tlsClientHello as helloWith } from '../helpers/tlsWire';

/** a real self-signed certificate (DER) made by openssl, or undefined when openssl is missing */
function opensslCert(cn: string, sans: string[]): Buffer | undefined {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-cert-'));
  const out = path.join(dir, 'c.der');
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', path.join(dir, 'k.pem'),
    '-subj', `/O=Test/CN=${cn}`, '-addext', `subjectAltName=${sans.map((s) => `DNS:${s}`).join(',')}`, '-days', '1', '-outform', 'DER', '-out', out]);
  const der = r.status === 0 ? fs.readFileSync(out) : undefined;
  fs.rmSync(dir, { recursive: true, force: true });
  return der;
}

const sessions = (h: FlowHarness) => h.end().filter((e) => e.type === 'session') as any[];

describe('tls: server name indication', () => {
  it('parses SNI and ALPN', () => {
    const r = parseTlsClientHello(tlsClientHello({ sni: 'teams.microsoft.com', alpn: ['h2', 'http/1.1'] }));
    assert.ok(r && r !== 'more');
    assert.equal(r.sni, 'teams.microsoft.com');
    assert.deepEqual(r.alpn, ['h2', 'http/1.1']);
  });

  for (const [sni, proto] of [
    ['teams.microsoft.com', 'teams'], ['chat.signal.org', 'signal'], ['web.telegram.org', 'telegram'],
    ['g.whatsapp.net', 'whatsapp'], ['chat.google.com', 'googlechat'], ['app.slack.com', 'slack'],
    ['gateway.discord.gg', 'discord'], ['web.wechat.com', 'wechat'], ['web.skype.com', 'skype'], ['web.snapchat.com', 'snapchat'], ['katalk.kakao.com', 'kakaotalk'],
    ['matrix-client.matrix.org', 'matrix'], ['eu-api.asm.skype.com', 'skype'], ['static.dingtalk.com', 'dingtalk'],
    ['www.messenger.com', 'messenger'], ['m.me', 'messenger'],
  ] as const) {
    it(`${sni} → ${proto}`, () => {
      const h = new FlowHarness({ server: '198.51.100.20:443' });
      h.send('c', tlsClientHello({ sni })).send('s', Buffer.from('160303003a02', 'hex'));
      const [s] = sessions(h);
      assert.equal(s?.protocol, proto);
      assert.equal(s.server_name, sni);
      assert.equal(s.encrypted, true);
      assert.equal(s.evidence[0].signature, 'tls.sni');
    });
  }

  for (const sni of ['config.edge.skype.com', 'www.whatsapp.com', 'www.skype.com', 'www.wechat.com', 'www.snapchat.com', 'www.dingtalk.com', 'google.com', 'www.google.com', 'mail.google.com', 'login.microsoftonline.com', 'graph.facebook.com', 'www.facebook.com', 'facebook.com', 'edge-chat.facebook.com', 'edge-mqtt.facebook.com', 'static.xx.fbcdn.net', 'edge-chat.facebook.com.example.org', 'example.org']) {
    it(`${sni} is not IM`, () => {
      const h = new FlowHarness({ server: '198.51.100.20:443' });
      h.send('c', tlsClientHello({ sni }));
      assert.deepEqual(sessions(h), []);
    });
  }

  it('reads an SNI split across two TCP segments (real capture through the CLI)', () => {
    const c = new Capture();
    const t = c.tcp('10.0.0.5:40001', '198.51.100.20:443').open();
    const hello = tlsClientHello({ sni: 'web.whatsapp.com', padTo: 600 });
    t.send('c', hello, { segment: 80 }); // the SNI straddles a segment boundary
    t.send('s', Buffer.from('16030300', 'hex'));
    t.close();
    const s = analyzeCapture(c).filter((e) => e.type === 'session');
    assert.deepEqual(s.map((e) => [e.protocol, e.server_name]), [['whatsapp', 'web.whatsapp.com']]);
  });

  it('an ALPN id that names an IM protocol (IANA: xmpp-client, xmpp-server, irc) is that protocol over TLS, on any port and name; SIP over TLS is not IM', () => {
    // XEP-0368 direct TLS (Conversations, Gajim on 5223 or 443), IRC over TLS, SIP over TLS: before,
    // an unlisted server name made them "not IM"
    const c = new Capture();
    const flows: Array<[string, string | undefined, string[]]> = [
      ['198.51.100.30:5223', 'jabber.example.net', ['xmpp-client']],
      ['198.51.100.31:443', 'chat.example.org', ['h2', 'irc']],
      ['198.51.100.32:8443', 'sip.example.com', ['sip/2']],
      ['198.51.100.36:5061', 'pbx.example.com', []],
      ['198.51.100.33:5269', undefined, ['xmpp-server']],
      ['198.51.100.34:443', 'www.example.com', ['h2', 'http/1.1']],
      ['198.51.100.35:6697', 'irc.example.com', []],
    ];
    flows.forEach(([server, sni, alpn], i) => {
      const t = c.tcp(`10.0.0.5:${41000 + i}`, server).open();
      t.send('c', helloWith({ sni, alpn }));
      t.send('s', Buffer.from('16030300', 'hex'));
      t.close();
    });
    const s = analyzeCapture(c).filter((e) => e.type === 'session');
    assert.deepEqual(s.map((e) => [e.server.port, e.protocol, e.server_name ?? null, e.encrypted, e.evidence[0].signature]).sort(), [
      [443, 'irc', 'chat.example.org', true, 'tls.alpn'],
      [5223, 'xmpp', 'jabber.example.net', true, 'tls.alpn'],
      [5269, 'xmpp', null, true, 'tls.alpn'],
    ], 'web ALPN ids, no ALPN on an IRC port, and SIP over TLS (sip/2, or the SIPS port 5061: desk phones\' calls as much as messages) stay not IM');
  });

  it('ALPN ids quoted in the evidence are printable: control bytes from the wire are not carried', () => {
    const h = new FlowHarness({ server: '198.51.100.20:443' });
    h.send('c', helloWith({ sni: 'teams.microsoft.com', alpn: ['h2', 'x\n\u001b[2J\u007f\u0000y'] }));
    const [s] = sessions(h);
    assert.equal(s?.protocol, 'teams');
    // eslint-disable-next-line no-control-regex
    assert.doesNotMatch(s.evidence[0].reason, /[\u0000-\u001f\u007f-\u009f]/);
    assert.match(s.evidence[0].reason, /\(ALPN h2,x\?\?\[2J\?\?y\)/);
  });

  it('a ClientHello on the side the sensor took for the server (no SYN seen) is still read', () => {
    const h = new FlowHarness({ client: '198.51.100.20:443', server: '10.0.0.5:51515' });
    h.send('s', tlsClientHello({ sni: 'chat.signal.org' }));
    assert.equal(sessions(h)[0]?.protocol, 'signal');
  });

  it('reads a ClientHello spread over several TLS records', () => {
    const h = new FlowHarness({ server: '198.51.100.20:443' });
    const hello = tlsClientHello({ sni: 'discord.com', recordSize: 50 });
    h.send('c', hello.subarray(0, 120)).send('c', hello.subarray(120));
    assert.equal(sessions(h)[0]?.protocol, 'discord');
  });

  it('an explicit non-IM server name beats a DNS-learned IM name for the same (shared) address', () => {
    const engine = new Engine(loadRegistry(), { emit: () => {} });
    engine.kb.learnName('142.250.1.10', 'chat.google.com');
    const h = new FlowHarness({ engine, server: '142.250.1.10:443' });
    engine.opts.emit = (e) => h.events.push(e);
    h.send('c', tlsClientHello({ sni: 'www.google.com' }));
    assert.deepEqual(sessions(h), []);
  });

  it('no SNI, unknown address: the TLS 1.2 server certificate (SAN/CN) names the service', function () {
    const der = opensslCert('edge.example.net', ['*.whatsapp.net', 'edge.example.net']);
    if (!der) this.skip();
    assert.deepEqual(serverCertificateNames(tls12ServerFlight(der!, 300)), ['whatsapp.net', 'edge.example.net']);
    const h = new FlowHarness({ server: '198.51.100.21:443' });
    const flight = tls12ServerFlight(der!);
    h.send('c', tlsClientHello({})).send('s', flight.subarray(0, 500)).send('s', flight.subarray(500));
    const [s] = sessions(h);
    assert.equal(s?.protocol, 'whatsapp');
    assert.equal(s.evidence[0].signature, 'tls.certificate');
    // a certificate of a non-IM service: nothing
    const other = opensslCert('www.example.org', ['www.example.org']);
    const n = new FlowHarness({ server: '198.51.100.22:443' });
    n.send('c', tlsClientHello({})).send('s', tls12ServerFlight(other!));
    assert.deepEqual(sessions(n), []);
  });

  it("no SNI: a platform's certificate that also names an IM brand is the platform's (Facebook's names messenger.com), an IM vendor's is the vendor's", function () {
    const fb = opensslCert('*.facebook.com', ['*.facebook.com', '*.facebook.net', '*.fbcdn.net', '*.messenger.com', 'facebook.com', 'messenger.com']);
    if (!fb) this.skip();
    // KakaoTalk_chat.pcap (nDPI's capture) holds such flows to 31.13.68.84 and 173.252.97.2
    const h = new FlowHarness({ server: '198.51.100.23:443' });
    h.send('c', tlsClientHello({})).send('s', tls12ServerFlight(fb!));
    assert.deepEqual(sessions(h), []);
    for (const [cn, san, want] of [
      ['messenger.com', ['messenger.com', '*.messenger.com'], 'messenger'],
      // an IM vendor's own web page among its names (a not-im entry under its IM domain) does not make it a platform
      ['*.skype.com', ['*.skype.com', 'www.skype.com', 'skype.com'], 'skype'],
    ] as const) {
      const der = opensslCert(cn, [...san]);
      const g = new FlowHarness({ server: '198.51.100.24:443' });
      g.send('c', tlsClientHello({})).send('s', tls12ServerFlight(der!));
      assert.equal(sessions(g)[0]?.protocol, want, cn);
    }
  });

  it('truncated, garbage and hostile ClientHellos never throw', () => {
    const good = tlsClientHello({ sni: 'teams.microsoft.com', alpn: ['h2'] });
    for (let cut = 0; cut < good.length; cut += 7) assert.doesNotThrow(() => parseTlsClientHello(good.subarray(0, cut)));
    const flight = tls12ServerFlight(Buffer.from('3082010a0603550403' + '0c05' + '6162636465' + '0603551d11' + '0481ff30820fff', 'hex'));
    for (let cut = 0; cut <= flight.length; cut += 3) assert.doesNotThrow(() => serverCertificateNames(flight.subarray(0, cut)));
    const bad = Buffer.from(good);
    bad.writeUInt16BE(0xffff, 3); // record length beyond limit
    assert.equal(parseTlsClientHello(bad), null);
    const h = new FlowHarness({ server: '198.51.100.20:443' });
    h.send('c', Buffer.from('1603010005010000ff00', 'hex')).send('c', Buffer.alloc(9000, 0x16));
    assert.deepEqual(sessions(h), []);
  });
});
