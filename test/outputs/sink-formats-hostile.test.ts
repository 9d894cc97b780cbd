// CEF extensions with hostile values at the length cap and with Unicode line breaks, read back by a
// parser that follows the CEF spec (test/helpers/siem.ts): a backslash in an extension value starts \\ \= \n or \r, nothing else.
import assert from 'node:assert/strict';
import { alertJson, cef, leef, LINE_MAX, octets, rfc5424, SD_MAX, SYSLOG_MSG_MAX } from '../../outputs/sinks/formats';
import { parseSinks } from '../../outputs/sinks/config';
import { sinkPayload } from '../../outputs/sinks/sinks';
import type { AlertEvent } from '../../common/events';
import { cefExtension, cefHeader, leefParse, parse5424 } from '../helpers/siem';

const base: AlertEvent = {
  type: 'alert', id: 'a1b2c3', ts: '2024-01-15T09:30:00.000Z', kind: 'unauthorized_im', severity: 'high', protocol: 'irc',
  summary: 'x', users: ['eve', 'bob'], client: { ip: '10.0.0.1', port: 40000 }, server: { ip: '198.51.100.7', port: 6667 },
};

describe('CEF with hostile values', () => {
  it('a value cut at the length cap never ends in half an escape that swallows the next field', () => {
    for (const tail of ['=', '\\', '\n', '\r\n']) {
      for (let pad = 3990; pad <= 4001; pad++) {
        const s = cef({ ...base, summary: 'a'.repeat(pad) + tail + 'b'.repeat(10) });
        const ext = cefExtension(s);
        assert.equal(ext.src, '10.0.0.1', `pad ${pad}, ${JSON.stringify(tail)}: src kept`);
        assert.equal(ext.cs1, 'a1b2c3');
        assert.ok(ext.msg.length <= 4000 && ext.msg.startsWith('a'.repeat(Math.min(pad, 4000))));
      }
    }
  });

  it('Unicode line and paragraph separators and C1 controls (NEL) do not reach the line', () => {
    const s = cef({ ...base, summary: 'one\u2028two\u2029three\u0085four', users: ['e\u2028ve', 'b\u0085ob'] });
    assert.doesNotMatch(s, /[\u0080-\u009f\u2028\u2029\r\n]/);
    const ext = cefExtension(s);
    assert.equal(ext.msg, 'one two three four');
    assert.equal(ext.suser, 'e ve');
  });
});

describe('syslog MSG at its length cap', () => {
  // '=' and '\\' double when CEF escapes them, so 4,000 of them fill 8,000 characters: a summary of
  // them used to push cs1 (the alert id), src and dst past the cut
  const hostile = Array.from({ length: 20000 }, (_, i) => '=\\\n\r'[i % 4]).join('');
  const cases: [string, AlertEvent][] = [
    ['a hostile summary', { ...base, summary: hostile }],
    ['a hostile summary, user names, person and match', { ...base, summary: hostile, users: [hostile, hostile], person: hostile, match: hostile }],
  ];
  const msgOf = (s: string) => {
    assert.doesNotMatch(s, /[\r\n]/, 'one line');
    return s.slice(s.indexOf('\ufeff') + 1);
  };

  for (const [name, a] of cases) {
    it(`CEF with ${name} fits and keeps the alert id, addresses and severity`, () => {
      const whole = rfc5424(a, { facility: 16, payload: 'cef' });
      const msg = msgOf(whole);
      assert.ok(octets(whole) <= LINE_MAX, `${octets(whole)} octets`);
      const ext = cefExtension(msg);
      assert.equal(ext.cs1Label, 'alertId');
      assert.equal(ext.cs1, 'a1b2c3');
      assert.equal(ext.src, '10.0.0.1');
      assert.equal(ext.dst, '198.51.100.7');
      assert.equal(ext.spt, '40000');
      assert.equal(cefHeader(msg)[6], '8', 'severity');
      assert.ok(ext.msg.length > 400 && hostile.replace(/\r/g, '\n').startsWith(ext.msg), 'msg is a prefix of the summary');
      assert.ok(octets(whole) > LINE_MAX - 10, 'the room is used');
    });

    it(`LEEF with ${name} fits and keeps the alert id, addresses and severity`, () => {
      const whole = rfc5424(a, { facility: 16, payload: 'leef' });
      const msg = msgOf(whole);
      assert.ok(octets(whole) <= LINE_MAX, `${octets(whole)} octets`);
      const { attrs } = leefParse(msg);
      assert.equal(attrs.alertId, 'a1b2c3');
      assert.equal(attrs.src, '10.0.0.1');
      assert.equal(attrs.dst, '198.51.100.7');
      assert.equal(attrs.sev, '8');
      assert.ok(attrs.summary.length > 400);
    });

    it(`JSON with ${name} fits and stays JSON`, () => {
      const whole = rfc5424(a, { facility: 16, payload: 'json' });
      const msg = msgOf(whole);
      assert.ok(octets(whole) <= LINE_MAX, `${octets(whole)} octets`);
      const j = JSON.parse(msg);
      assert.equal(j.id, 'a1b2c3');
      assert.equal(j.client.ip, '10.0.0.1');
      assert.equal(j.server.ip, '198.51.100.7');
      assert.equal(j.severity, 'high');
      assert.ok(j.summary.length > 400 && hostile.startsWith(j.summary));
    });
  }

  it('a short alert is not changed by the cap', () => {
    const a = { ...base, summary: 'card = 4111 \\ x', person: 'Lee Park', match: '****1111' };
    assert.equal(cef(a, SYSLOG_MSG_MAX), cef(a));
    const msg = msgOf(rfc5424(a, { facility: 16, payload: 'cef' }));
    assert.equal(msg, cef(a));
    assert.equal(cefExtension(msg).msg, 'card = 4111 \\ x');
    assert.equal(cefExtension(msg).cs4, 'Lee Park');
  });
});

// found by test/outputs/hostile-fuzz.test.ts
describe('SIEM formats: cuts found by the hostile fuzz', () => {
  const LONE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
  const emojiAt = (n: number) => 'x'.repeat(n) + '\u{1f600}'.repeat(20);

  // the 512-character CEF name, the 1,024-character SD values and the 4,000-character CEF/LEEF values
  // were cut inside an emoji: half of it is no UTF-8, a receiver gets U+FFFD or drops the line
  it('a value cut at its cap keeps a surrogate pair whole (CEF name and values, LEEF values, syslog structured data)', () => {
    for (const [cap, field] of [[512, 'summary'], [4000, 'summary'], [1024, 'users']] as const) {
      for (const n of [cap - 1, cap - 2]) {
        const a: AlertEvent = { ...base, summary: field === 'summary' ? emojiAt(n) : 'x', users: field === 'users' ? [emojiAt(n)] : ['eve'] };
        for (const [name, s] of [['cef', cef(a)], ['leef', leef(a)], ['rfc5424', rfc5424(a, { facility: 16, payload: 'text' })]]) {
          const m = LONE.exec(s);
          assert.ok(!m, `${field} of ${n}+ characters, ${name}: ${JSON.stringify(s.slice((m?.index ?? 0) - 5, (m?.index ?? 0) + 5))}`);
        }
      }
    }
    assert.equal(parse5424(rfc5424({ ...base, users: [emojiAt(1023)] }, { facility: 16, payload: 'text' })).sd[0].params.users, 'x'.repeat(1023));
  });

  // cs3Label/cs4Label were written with the fixed fields even when the cap left no room for the match or
  // person they name
  it('a CEF line cut to its cap labels only the values it keeps', () => {
    const a: AlertEvent = { ...base, summary: 's'.repeat(300), users: ['e'.repeat(200)], person: 'Lee Park', match: '************1111' };
    const floor = cef(a, 0).length;
    for (let max = floor; max < floor + 80; max++) {
      const s = cef(a, max);
      assert.ok(s.length <= max, `${s.length} > ${max}`);
      const ext = cefExtension(s);
      assert.equal('cs4' in ext, 'cs4Label' in ext, `max ${max}: ${Object.keys(ext).join(' ')}`);
      assert.equal('cs3' in ext, 'cs3Label' in ext, `max ${max}: ${Object.keys(ext).join(' ')}`);
    }
    assert.equal(cefExtension(cef(a, floor + 200)).cs4Label, 'person');
  });
});

// the total caps: every line a sink sends, header and structured data included, in UTF-8 octets
describe('SIEM formats: the whole line is bounded (docs/integrations.md Length)', () => {
  // 3 octets a character in UTF-8, escaped SD characters, a decoder's mechanism as long as a message
  const wide = '\u4e2d]"\\='.repeat(3000);
  const a: AlertEvent = {
    ...base, kind: 'cleartext_credentials', summary: wide, users: Array.from({ length: 32 }, () => wide.slice(0, 1024)), person: wide, match: wide,
    detector: 'sasl-' + wide, protocol: 'irc', zone: 'vxlan:100', count: 3,
  };
  const sinks = parseSinks([
    ...['text', 'cef', 'leef', 'json'].map((format) => ({ name: `syslog-${format}`, type: 'syslog', transport: 'udp', host: 'h', format })),
    ...['cef', 'leef'].map((format) => ({ name: `webhook-${format}`, type: 'webhook', url: 'https://h/x', format })),
  ], 'c.yaml').sinks;

  it('an RFC 5424 message, structured data and all, is at most LINE_MAX octets and keeps what identifies the alert', () => {
    for (const s of sinks.filter((x) => x.type === 'syslog')) {
      const line = sinkPayload(s, a);
      assert.ok(octets(line) <= LINE_MAX, `${s.name}: ${octets(line)} octets`);
      const m = parse5424(line);
      assert.ok(octets(line.slice(line.indexOf('['), line.indexOf('\ufeff') - 1)) <= SD_MAX, `${s.name}: structured data within SD_MAX`);
      const p = m.sd[0].params;
      assert.deepEqual([p.id, p.kind, p.severity, p.src, p.srcPort, p.dst, p.dstPort, p.count, p.zone], ['a1b2c3', 'cleartext_credentials', 'high', '10.0.0.1', '40000', '198.51.100.7', '6667', '3', 'vxlan:100']);
      assert.ok(p.detector.startsWith('sasl-\u4e2d') && p.detector.length <= 128, `${s.name}: the detector, cut short`);
      assert.ok(p.users.length > 100 && p.match.length > 100, `${s.name}: users and match share the room`);
      assert.ok(m.timestamp === a.ts && m.msg !== undefined);
      if (s.format === 'cef') assert.equal(cefExtension(m.msg!).cs1, 'a1b2c3');
      if (s.format === 'leef') assert.equal(leefParse(m.msg!).attrs.alertId, 'a1b2c3');
      if (s.format === 'json') assert.equal(JSON.parse(m.msg!).id, 'a1b2c3');
    }
  });

  it('a webhook CEF or LEEF line is at most LINE_MAX octets (its JSON body at most twice that), the mechanism cut short', () => {
    for (const s of sinks.filter((x) => x.type === 'webhook')) {
      const body = sinkPayload(s, a);
      const j = JSON.parse(body);
      const line = j[s.format!];
      assert.ok(octets(line) <= LINE_MAX, `${s.name}: ${octets(line)} octets`);
      assert.ok(octets(body) <= 2 * LINE_MAX + 64, `${s.name}: body of ${octets(body)} octets`);
      assert.equal(j.id, 'a1b2c3');
      if (s.format === 'cef') {
        const ext = cefExtension(line);
        assert.deepEqual([ext.cs1, ext.src, ext.dst, ext.cat, cefHeader(line)[6]], ['a1b2c3', '10.0.0.1', '198.51.100.7', 'cleartext_credentials', '8']);
        assert.ok(ext.cs2.startsWith('sasl-') && ext.cs2.length <= 128, `cs2 (detector) of ${ext.cs2.length} characters`);
      } else {
        const { attrs } = leefParse(line);
        assert.deepEqual([attrs.alertId, attrs.src, attrs.dst, attrs.sev], ['a1b2c3', '10.0.0.1', '198.51.100.7', '8']);
        assert.ok(attrs.detector.length <= 128);
      }
    }
  });

  it('the capped builders count UTF-8 octets: a line of 3-octet characters fits its cap', () => {
    for (const build of [cef, leef, alertJson]) {
      const s = build(a, 6000);
      assert.ok(octets(s) <= 6000, `${build.name}: ${octets(s)} octets`);
      assert.ok(octets(s) > 5900, `${build.name}: the room is used (${octets(s)})`);
    }
  });
});
