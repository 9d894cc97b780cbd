// HTTP: request Host in the IM host tables, or an IM client's User-Agent; anything else is nothing.
import assert from 'node:assert/strict';
import { FlowHarness } from '../helpers/harness';

function request(host: string, ua = 'curl/8.5.0', path = '/'): string {
  return `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: ${ua}\r\nAccept: */*\r\n\r\n`;
}
const sessions = (h: FlowHarness) => h.end().filter((e) => e.type === 'session') as any[];

describe('http: Host and User-Agent', () => {
  it('a request to an IM host → that protocol (split across segments)', () => {
    const h = new FlowHarness({ server: '198.51.100.30:80' });
    const r = request('web.whatsapp.com');
    h.send('c', r.slice(0, 20)).send('c', r.slice(20));
    const [s] = sessions(h);
    assert.equal(s?.protocol, 'whatsapp');
    assert.equal(s.server_name, 'web.whatsapp.com');
    assert.equal(s.evidence[0].signature, 'http.host');
  });

  it('CONNECT through a proxy names the tunnelled host', () => {
    const h = new FlowHarness({ server: '10.0.0.3:3128' });
    h.send('c', 'CONNECT chat.signal.org:443 HTTP/1.1\r\nHost: chat.signal.org:443\r\nUser-Agent: Signal-Desktop/7.0\r\n\r\n');
    h.send('s', 'HTTP/1.1 200 Connection established\r\n\r\n');
    const [s] = sessions(h);
    assert.equal(s?.protocol, 'signal');
    assert.equal(s.server_name, 'chat.signal.org');
    const g = new FlowHarness({ server: '10.0.0.3:3128' });
    g.send('c', 'CONNECT www.google.com:443 HTTP/1.1\r\nHost: www.google.com:443\r\n\r\n');
    assert.deepEqual(sessions(g), []);
  });

  it('an IM client User-Agent → that protocol', () => {
    const h = new FlowHarness({ server: '198.51.100.31:80' });
    h.send('c', request('203.0.113.7', 'Mozilla/5.0 (Linux; Android 13) MicroMessenger/8.0.40'));
    const [s] = sessions(h);
    assert.equal(s?.protocol, 'wechat');
    assert.equal(s.evidence[0].signature, 'http.user-agent');
  });

  it("Facebook Messenger's apps by their FBAN name; the Facebook app itself and WeChat's MicroMessenger are not Messenger", () => {
    for (const [ua, want] of [
      ['Dalvik/2.1.0 (Linux; U; Android 14; Pixel 8) [FBAN/Orca-Android;FBAV/446.0.0.29.110;FBPN/com.facebook.orca]', 'messenger'],
      ['Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) [FBAN/MessengerForiOS;FBAV/450.0.0]', 'messenger'],
      ['Dalvik/2.1.0 (Linux; U; Android 12) [FBAN/MessengerLite;FBAV/350.0.0.6.110]', 'messenger'],
      ['Mozilla/5.0 (Linux; Android 13) MicroMessenger/8.0.40', 'wechat'],
      ['Dalvik/2.1.0 (Linux; U; Android 14; Pixel 8) [FBAN/FB4A;FBAV/447.0.0.44.107;FBPN/com.facebook.katana]', undefined],
    ] as const) {
      const h = new FlowHarness({ server: '198.51.100.31:80' });
      h.send('c', request('203.0.113.7', ua));
      h.send('s', 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
      h.end();
      assert.equal(sessions(h)[0]?.protocol, want, ua);
    }
  });

  for (const host of ['google.com', 'www.google.com', 'microsoft.com', 'example.com', 'facebook.com']) {
    it(`a browser request to ${host} is nothing`, () => {
      const h = new FlowHarness({ server: '198.51.100.32:80' });
      h.send('c', request(host, 'Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0'));
      h.send('s', 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
      assert.deepEqual(h.end(), []);
    });
  }

  it('garbage and endless headers are not HTTP and never throw', () => {
    const h = new FlowHarness({ server: '198.51.100.33:80' });
    h.send('c', 'GET / HTTP/1.1\r\n' + 'X-A: b\r\n'.repeat(2000));
    assert.deepEqual(sessions(h), []);
    const g = new FlowHarness({ server: '198.51.100.33:80' });
    g.send('c', 'GETTY images\r\n\r\n');
    assert.deepEqual(sessions(g), []);
  });
});
